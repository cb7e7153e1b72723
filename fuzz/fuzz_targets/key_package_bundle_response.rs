#![no_main]
libfuzzer_sys::fuzz_target!(
    |data: &[u8]| mimi_ds_model::fuzzing::key_package_bundle_response(data)
);

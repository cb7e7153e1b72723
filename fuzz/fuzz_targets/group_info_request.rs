#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mimi_ds_model::fuzzing::group_info_request(data));

#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mimi_ds_model::fuzzing::json_round_trip(data));

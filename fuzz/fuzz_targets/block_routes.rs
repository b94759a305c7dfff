#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hbf_fuzz_harness::block_routes(data));

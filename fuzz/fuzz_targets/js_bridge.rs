#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hbf_fuzz_harness::js_bridge(data));

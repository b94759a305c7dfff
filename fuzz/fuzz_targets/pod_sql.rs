#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hbf_fuzz_harness::pod_sql(data));

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = crowsnest_catalog::rpm::header::parse(data);
});

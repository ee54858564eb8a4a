//! CISA KEV catalog JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = crowsnest_feeds::kev::parse_kev(data);
});

//! One OSV JSON record: parsed and validated, or rejected with a reason.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = crowsnest_feeds::osv::parse_advisory(data);
});

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = crowsnest_catalog::lang::analyze(
        "/usr/local/bundle/specifications/x-1.0.gemspec",
        data.len() as u64,
        &mut &data[..],
    );
});

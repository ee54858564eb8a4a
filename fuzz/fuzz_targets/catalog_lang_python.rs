#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = crowsnest_catalog::lang::analyze(
        "/usr/lib/python3/dist-packages/x-1.0.dist-info/METADATA",
        data.len() as u64,
        &mut &data[..],
    );
});

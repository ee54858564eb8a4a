#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = crowsnest_catalog::lang::analyze(
        "/app/node_modules/x/package.json",
        data.len() as u64,
        &mut &data[..],
    );
});

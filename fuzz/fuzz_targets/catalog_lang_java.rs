#![no_main]

use libfuzzer_sys::fuzz_target;

// A versioned file name, so the file-name rules of the identity derivation run too.
fuzz_target!(|data: &[u8]| {
    let _ = crowsnest_catalog::lang::analyze("/app/lib/spring-beans-5.3.17.jar", data.len() as u64, &mut &data[..]);
});

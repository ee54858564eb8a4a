#![no_main]

use crowsnest_catalog::ReleaseFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks which release file the rest of the input pretends to be.
    if let Some((&which, rest)) = data.split_first() {
        let file = ReleaseFile::ALL[which as usize % ReleaseFile::ALL.len()];
        let _ = crowsnest_catalog::release::parse(file, &mut &rest[..]);
    }
});

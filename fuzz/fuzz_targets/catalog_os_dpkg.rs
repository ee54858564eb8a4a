#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = crowsnest_catalog::dpkg::parse_status(
        &mut &data[..],
        crowsnest_catalog::dpkg::StatusFile::Status,
    );
    let _ = crowsnest_catalog::dpkg::parse_list(&mut &data[..]);
    let _ = crowsnest_catalog::dpkg::parse_md5sums(&mut &data[..]);
});

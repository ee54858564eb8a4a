//! OSV all.zip archives: any bytes give advisories, named bad members or an error.
#![no_main]

use crowsnest_feeds::osv::{OsvLimits, read_osv_zip};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = OsvLimits {
        max_members: 1_000,
        max_member_bytes: 1 << 20,
    };
    let _ = read_osv_zip(std::io::Cursor::new(data), &limits, |_, _| Ok::<_, ()>(()));
});

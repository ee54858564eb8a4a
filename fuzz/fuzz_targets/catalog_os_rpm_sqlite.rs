#![no_main]

use crowsnest_catalog::rpm::{DbFormat, parse_db};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_db(DbFormat::Sqlite, &mut &data[..]);
});

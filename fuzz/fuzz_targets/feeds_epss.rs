//! EPSS scores: the gzip container and the CSV inside it.
#![no_main]

use crowsnest_feeds::epss::{EpssLimits, parse_epss_csv, parse_epss_gz};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = EpssLimits {
        max_uncompressed_bytes: 16 << 20,
        max_rows: 100_000,
    };
    let _ = parse_epss_gz(data, &limits);
    let _ = parse_epss_csv(data, &limits);
});

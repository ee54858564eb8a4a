//! The layer walk on arbitrary blob bytes: sniffed as plain tar, gzip or zstd, walked with
//! small limits. Any bytes give contents or an error, never a panic; an uncompressed blob
//! that walks must report its own size and digest as the diffID.
#![no_main]

use std::io::Read;

use crowsnest_acquire::walk::{LayerExpectations, Limits, digest_of, walk_layer};
use crowsnest_model::digest::Algorithm;
use crowsnest_model::layer::LayerAnalyzer;
use libfuzzer_sys::fuzz_target;

/// Wants every regular file and reads at most a prefix of it, so the walk also has to
/// skip the rest of an entry the analyzer left unread.
struct PrefixReader;

impl LayerAnalyzer for PrefixReader {
    type Output = usize;

    fn cache_key(&self) -> String {
        "fuzz-prefix-reader".to_string()
    }

    fn wants(&self, _path: &str, _size: u64, _mode: u32) -> bool {
        true
    }

    fn analyze(&self, _path: &str, _size: u64, content: &mut dyn Read) -> Result<usize, String> {
        let mut prefix = [0u8; 64];
        content.read(&mut prefix).map_err(|e| e.to_string())
    }
}

const LIMITS: Limits = Limits {
    max_layer_bytes: 8 << 20,
    max_entries: 10_000,
    ..Limits::DEFAULT
};

fuzz_target!(|data: &[u8]| {
    let walked = walk_layer(data, &LayerExpectations::default(), &PrefixReader, &LIMITS);
    let Ok(contents) = walked else {
        return;
    };
    assert!(contents.uncompressed_size <= LIMITS.max_layer_bytes);
    assert!(contents.entries.len() <= LIMITS.max_entries);
    let compressed = data.starts_with(&[0x1f, 0x8b]) || data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]);
    if !compressed {
        assert_eq!(contents.uncompressed_size, data.len() as u64);
        assert_eq!(contents.diff_id, digest_of(Algorithm::Sha256, data));
    }
});

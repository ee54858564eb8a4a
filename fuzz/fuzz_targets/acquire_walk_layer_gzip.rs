//! The layer walk behind a valid gzip wrapper: the fuzzer's bytes are the tar stream, so
//! mutations reach the tar walk instead of dying in inflate. The blob digest and diffID
//! given to the walk are the true ones, so neither may be reported as a mismatch, and
//! intact gzip may never be reported as corrupt.
#![no_main]

use std::io::{Read, Write};

use crowsnest_acquire::walk::{LayerExpectations, Limits, WalkError, digest_of, walk_layer};
use crowsnest_model::digest::Algorithm;
use crowsnest_model::layer::LayerAnalyzer;
use flate2::Compression;
use flate2::write::GzEncoder;
use libfuzzer_sys::fuzz_target;

/// Wants every regular file and reads at most a prefix of it.
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

fuzz_target!(|tar: &[u8]| {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(tar).expect("gzip into memory");
    let blob = encoder.finish().expect("gzip into memory");

    let expect = LayerExpectations {
        blob_digest: Some(digest_of(Algorithm::Sha256, &blob)),
        diff_id: Some(digest_of(Algorithm::Sha256, tar)),
    };
    match walk_layer(&blob[..], &expect, &PrefixReader, &LIMITS) {
        Ok(contents) => {
            assert_eq!(contents.uncompressed_size, tar.len() as u64);
            assert_eq!(contents.diff_id, digest_of(Algorithm::Sha256, tar));
            assert!(contents.entries.len() <= LIMITS.max_entries);
        }
        Err(WalkError::Tar(_) | WalkError::TooLarge { .. }) => {}
        Err(e) => panic!("valid gzip with true digests failed as: {e}"),
    }
});

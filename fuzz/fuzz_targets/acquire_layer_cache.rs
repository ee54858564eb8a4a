//! The layer cache's read path on arbitrary file contents: a cached result is read back
//! as the catalog's per-layer output. Any bytes give a result or `None` (recomputed),
//! never a panic; a result handed back carries the diffID it was filed under and hard
//! links that point at analyses it holds.
#![no_main]

use crowsnest_acquire::cache::decode;
use crowsnest_catalog::Artifact;
use crowsnest_model::Digest;
use crowsnest_model::digest::Algorithm;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The seeds are filed under the all-zero diffID.
    let diff_id = Digest::from_bytes(Algorithm::Sha256, &[0; 32]);
    if let Some(contents) = decode::<Artifact>(data, &diff_id) {
        assert_eq!(contents.diff_id, diff_id);
        for link in &contents.hardlinks {
            assert!(link.analyzed < contents.analyzed.len());
        }
    }
});

//! Per-layer results cached by the layer's diffID and the analyzer's cache key, so a
//! layer shared by many images is read once.
//!
//! Entries are JSON files written atomically (temp file + rename). A cache entry that
//! cannot be read back is ignored and recomputed: the cache is never a source of truth.

use std::path::PathBuf;

use crowsnest_model::Digest;
use crowsnest_model::digest::Algorithm;
use crowsnest_model::layer::LayerContents;
use serde::Serialize;
use serde::de::DeserializeOwned;

#[derive(Clone, Debug)]
pub struct LayerCache {
    dir: PathBuf,
}

impl LayerCache {
    pub fn new(dir: PathBuf) -> LayerCache {
        LayerCache { dir }
    }

    fn path(&self, diff_id: &Digest, key: &str) -> PathBuf {
        // The key is free text from the analyzer: hash it into a file name.
        let key_hash = crate::walk::digest_of(Algorithm::Sha256, key.as_bytes());
        self.dir
            .join("layers")
            .join(format!("{}-{}", diff_id.algorithm().name(), diff_id.hex()))
            .join(format!("{}.json", &key_hash.hex()[..24]))
    }

    pub fn get<O: DeserializeOwned>(
        &self,
        diff_id: &Digest,
        key: &str,
    ) -> Option<LayerContents<O>> {
        let bytes = std::fs::read(self.path(diff_id, key)).ok()?;
        let contents: LayerContents<O> = serde_json::from_slice(&bytes).ok()?;
        // A file renamed or edited under another diffID is not trusted.
        (contents.diff_id == *diff_id).then_some(contents)
    }

    /// Stores a result; failures (read-only or full disk) only cost a future re-walk.
    pub fn put<O: Serialize>(&self, diff_id: &Digest, key: &str, contents: &LayerContents<O>) {
        let path = self.path(diff_id, key);
        let write = || -> std::io::Result<()> {
            let dir = path.parent().expect("cache paths have a parent");
            std::fs::create_dir_all(dir)?;
            let tmp = dir.join(format!(".tmp-{}", std::process::id()));
            std::fs::write(
                &tmp,
                serde_json::to_vec(contents).map_err(std::io::Error::other)?,
            )?;
            std::fs::rename(&tmp, &path)
        };
        if let Err(e) = write() {
            tracing::warn!(path = %path.display(), error = %e, "could not write the layer cache");
        }
    }
}

//! Per-layer results cached by the layer's diffID and the analyzer's cache key, so a
//! layer shared by many images is read once.
//!
//! Entries are JSON files written atomically (temp file + rename). A cache entry that
//! cannot be read back is ignored and recomputed: the cache is never a source of truth.
//!
//! The cache is bounded: one layer's result larger than [`LayerCache::max_entry_bytes`]
//! is not stored, and after each write the least recently used results (by modification
//! time, which a hit refreshes) are removed until the whole cache fits its budget.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use crowsnest_model::Digest;
use crowsnest_model::digest::Algorithm;
use crowsnest_model::layer::LayerContents;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Default bound on the cache's total size.
pub const DEFAULT_MAX_BYTES: u64 = 4 << 30;

/// The cache's layout version: results of another layout are never read.
const LAYOUT: &str = "layers-v2";

#[derive(Clone, Debug)]
pub struct LayerCache {
    dir: PathBuf,
    max_bytes: u64,
}

/// Distinguishes temp files of concurrent writers in one process.
static TEMP_SEQ: AtomicU64 = AtomicU64::new(0);

impl LayerCache {
    /// A cache under `dir` holding at most `max_bytes` of results.
    pub fn new(dir: PathBuf, max_bytes: u64) -> LayerCache {
        LayerCache { dir, max_bytes }
    }

    /// The largest single result stored: a quarter of the budget, so one hostile layer
    /// cannot evict everything else.
    pub fn max_entry_bytes(&self) -> u64 {
        self.max_bytes / 4
    }

    fn root(&self) -> PathBuf {
        self.dir.join(LAYOUT)
    }

    fn path(&self, diff_id: &Digest, key: &str) -> PathBuf {
        // The key is free text from the analyzer: hash it into a file name.
        let key_hash = crate::walk::digest_of(Algorithm::Sha256, key.as_bytes());
        self.root()
            .join(format!("{}-{}", diff_id.algorithm().name(), diff_id.hex()))
            .join(format!("{}.json", &key_hash.hex()[..24]))
    }

    pub fn get<O: DeserializeOwned>(
        &self,
        diff_id: &Digest,
        key: &str,
    ) -> Option<LayerContents<O>> {
        let path = self.path(diff_id, key);
        let file = std::fs::File::open(&path).ok()?;
        if file.metadata().ok()?.len() > self.max_entry_bytes() {
            return None;
        }
        let contents = decode(std::io::BufReader::new(&file), diff_id)?;
        // Recently used: evicted last. Failing to record it only makes eviction less fair.
        let _ = std::fs::File::options()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_modified(SystemTime::now()));
        Some(contents)
    }

    /// Stores a result; failures (read-only or full disk) only cost a future re-walk.
    pub fn put<O: Serialize>(&self, diff_id: &Digest, key: &str, contents: &LayerContents<O>) {
        let path = self.path(diff_id, key);
        let write = || -> std::io::Result<bool> {
            let bytes = serde_json::to_vec(contents).map_err(std::io::Error::other)?;
            if bytes.len() as u64 > self.max_entry_bytes() {
                return Ok(false);
            }
            let dir = path.parent().expect("cache paths have a parent");
            std::fs::create_dir_all(dir)?;
            let tmp = dir.join(format!(
                ".tmp-{}-{}",
                std::process::id(),
                TEMP_SEQ.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::write(&tmp, bytes)?;
            std::fs::rename(&tmp, &path)?;
            Ok(true)
        };
        match write() {
            Ok(true) => {}
            Ok(false) => {
                tracing::info!(layer = %diff_id, limit = self.max_entry_bytes(), "layer result too large to cache");
                return;
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "could not write the layer cache");
                return;
            }
        }
        if let Err(e) = self.evict() {
            tracing::warn!(dir = %self.root().display(), error = %e, "could not trim the layer cache");
        }
    }

    /// Removes least recently used results until the cache fits its budget.
    pub fn evict(&self) -> std::io::Result<()> {
        let mut files = Vec::new();
        let mut total = 0u64;
        for layer_dir in read_dir_or_empty(&self.root())? {
            let layer_dir = layer_dir?.path();
            for file in read_dir_or_empty(&layer_dir)? {
                let file = file?;
                let meta = file.metadata()?;
                if !meta.is_file() {
                    continue;
                }
                total += meta.len();
                files.push((
                    meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                    meta.len(),
                    file.path(),
                ));
            }
        }
        if total <= self.max_bytes {
            return Ok(());
        }
        files.sort();
        for (_, len, path) in files {
            if total <= self.max_bytes {
                break;
            }
            match std::fs::remove_file(&path) {
                Ok(()) => total -= len,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => total -= len,
                Err(e) => return Err(e),
            }
            if let Some(dir) = path.parent() {
                // Only succeeds once the layer's directory is empty.
                let _ = std::fs::remove_dir(dir);
            }
        }
        Ok(())
    }

    /// Bytes the cache holds now.
    pub fn size(&self) -> std::io::Result<u64> {
        let mut total = 0;
        for layer_dir in read_dir_or_empty(&self.root())? {
            for file in read_dir_or_empty(&layer_dir?.path())? {
                total += file?.metadata()?.len();
            }
        }
        Ok(total)
    }
}

/// Reads one cached result back. The file is not trusted: it must parse, carry the
/// diffID it is filed under (a file renamed or edited under another diffID is refused),
/// and its hard links must point at analyses it holds.
pub fn decode<O: DeserializeOwned>(
    bytes: impl std::io::Read,
    diff_id: &Digest,
) -> Option<LayerContents<O>> {
    let contents: LayerContents<O> = serde_json::from_reader(bytes).ok()?;
    let links_ok = contents
        .hardlinks
        .iter()
        .all(|l| l.analyzed < contents.analyzed.len());
    (contents.diff_id == *diff_id && links_ok).then_some(contents)
}

fn read_dir_or_empty(dir: &Path) -> std::io::Result<Vec<std::io::Result<std::fs::DirEntry>>> {
    match std::fs::read_dir(dir) {
        Ok(entries) => Ok(entries.collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(n: u8, entries: usize) -> LayerContents<String> {
        LayerContents {
            diff_id: Digest::from_bytes(Algorithm::Sha256, &[n; 32]),
            entries: (0..entries)
                .map(|i| crowsnest_model::layer::FileEntry {
                    path: format!("/usr/share/file-{i:08}"),
                    kind: crowsnest_model::layer::EntryKind::File,
                    size: 1,
                    mode: 0o644,
                })
                .collect(),
            whiteouts: vec![],
            opaque_dirs: vec![],
            analyzed: vec![],
            hardlinks: vec![],
            errors: vec![],
            uncompressed_size: 0,
        }
    }

    #[test]
    fn the_cache_stays_within_its_budget_evicting_the_least_recently_used() {
        let dir = tempfile::tempdir().unwrap();
        // Each result is ~7 KB; the budget holds five of them.
        let cache = LayerCache::new(dir.path().to_path_buf(), 40_000);
        let first = layer(0, 100);
        cache.put(&first.diff_id, "k", &first);
        for n in 1..10u8 {
            // Keep the first one in use: it must survive the evictions.
            std::thread::sleep(std::time::Duration::from_millis(20));
            assert!(cache.get::<String>(&first.diff_id, "k").is_some(), "{n}");
            let l = layer(n, 100);
            cache.put(&l.diff_id, "k", &l);
            assert!(cache.size().unwrap() <= 40_000);
        }
        assert!(cache.get::<String>(&first.diff_id, "k").is_some());
        assert!(cache.get::<String>(&layer(1, 0).diff_id, "k").is_none());
        assert!(cache.get::<String>(&layer(9, 0).diff_id, "k").is_some());
    }

    #[test]
    fn a_result_over_the_per_layer_cap_is_not_stored() {
        let dir = tempfile::tempdir().unwrap();
        let cache = LayerCache::new(dir.path().to_path_buf(), 40_000);
        let big = layer(1, 1000);
        cache.put(&big.diff_id, "k", &big);
        assert_eq!(cache.size().unwrap(), 0);
        assert!(cache.get::<String>(&big.diff_id, "k").is_none());
    }
}

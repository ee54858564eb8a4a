//! The contract between the layer walker (acquire) and the analyzers (catalog), and the
//! squashed view of an image's layers.
//!
//! A layer is read once, as a stream. For every entry the walker records a [`FileEntry`]
//! (metadata only) and, for the few regular files an analyzer [`wants`](LayerAnalyzer::wants),
//! hands the content to [`LayerAnalyzer::analyze`]. The per-layer result,
//! [`LayerContents`], is cacheable by the layer's diffID plus the analyzer's cache key.
//! Layers are then stacked into a [`SquashedFs`], which applies whiteouts and tells which
//! layer each visible file came from.

use std::collections::BTreeMap;
use std::io::Read;

use serde::{Deserialize, Serialize};

use crate::Digest;
use crate::path::{is_within, join_link, parent};

/// What kind of filesystem object a tar entry creates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "type", content = "target")]
pub enum EntryKind {
    File,
    Dir,
    /// Symbolic link, with its target as written in the layer.
    Symlink(String),
    /// Hard link to another (normalized) path.
    Hardlink(String),
    /// Device nodes, FIFOs and other special files.
    Other,
}

/// Metadata of one entry in a layer. `path` is normalized (see [`crate::path`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub kind: EntryKind,
    pub size: u64,
    pub mode: u32,
}

/// A problem with one entry of a layer: the entry is skipped, the walk goes on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryError {
    /// The entry name as it appears in the layer (not normalized: it may be the problem).
    pub entry: String,
    pub reason: String,
}

/// How many entry errors a layer records; the rest are counted in one last error.
pub const MAX_ENTRY_ERRORS: usize = 1000;

/// An analyzer's output for one file, or why the file could not be analyzed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Analyzed<O> {
    pub path: String,
    pub result: Result<O, String>,
}

/// A hard link to a file analyzed earlier in the same layer. It shares that analysis
/// (by index) instead of carrying a copy, so a star of 100,000 links to one package
/// database costs 100,000 small records, not 100,000 copies of its packages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedAnalysis {
    /// The hard link's (normalized) path.
    pub path: String,
    /// Index into [`LayerContents::analyzed`] of the file whose content it shares.
    pub analyzed: usize,
}

/// Path-matched analysis of file contents, run while a layer streams past.
///
/// Implementations must be cheap in [`wants`](Self::wants) (it is called for every entry)
/// and must bound their own reads in [`analyze`](Self::analyze): the reader yields at
/// most `size` bytes, but an analyzer should not buffer more than it needs.
pub trait LayerAnalyzer: Sync {
    type Output: Clone + Send + Serialize + for<'de> Deserialize<'de>;

    /// Names the analyzer and its version; per-layer results are cached under the layer's
    /// diffID plus this key, so it must change whenever the output could change.
    fn cache_key(&self) -> String;

    /// Whether the content of the regular file at `path` is needed.
    fn wants(&self, path: &str, size: u64, mode: u32) -> bool;

    /// Analyzes one file. An `Err` is recorded against the file; the walk goes on.
    fn analyze(
        &self,
        path: &str,
        size: u64,
        content: &mut dyn Read,
    ) -> Result<Self::Output, String>;
}

/// Everything a walk of one layer yields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerContents<O> {
    /// Digest of the uncompressed layer tar.
    pub diff_id: Digest,
    /// Entries in tar order; a later entry for the same path replaces an earlier one.
    pub entries: Vec<FileEntry>,
    /// Paths removed from lower layers by `.wh.<name>` files.
    pub whiteouts: Vec<String>,
    /// Directories whose lower-layer contents are hidden (`.wh..wh..opq`).
    pub opaque_dirs: Vec<String>,
    pub analyzed: Vec<Analyzed<O>>,
    /// Hard links, at paths the analyzer wants, to files in `analyzed`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hardlinks: Vec<SharedAnalysis>,
    /// Entries skipped, with the reason (at most [`MAX_ENTRY_ERRORS`], then a summary).
    pub errors: Vec<EntryError>,
    /// Uncompressed size of the layer in bytes.
    pub uncompressed_size: u64,
}

/// A visible file in the squashed filesystem, and the index of the layer it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Visible {
    pub entry: FileEntry,
    pub layer: usize,
}

/// The image filesystem as a container would see it: layers applied in order.
#[derive(Clone, Debug, Default)]
pub struct SquashedFs {
    files: BTreeMap<String, Visible>,
    layers: Vec<Digest>,
}

/// How many symlinks a lookup follows before giving up (the kernel's limit).
const MAX_SYMLINK_HOPS: usize = 40;

impl SquashedFs {
    /// Stacks layers, lowest first, applying whiteouts and opaque directories.
    pub fn build<'a, O: 'a>(layers: impl IntoIterator<Item = &'a LayerContents<O>>) -> SquashedFs {
        let mut fs = SquashedFs::default();
        for (index, layer) in layers.into_iter().enumerate() {
            fs.layers.push(layer.diff_id.clone());
            for dir in &layer.opaque_dirs {
                fs.remove_below(dir);
            }
            for gone in &layer.whiteouts {
                fs.files.remove(gone);
                fs.remove_below(gone);
            }
            for entry in &layer.entries {
                // A non-directory replacing a directory hides everything under it.
                if entry.kind != EntryKind::Dir
                    && fs
                        .files
                        .get(&entry.path)
                        .is_some_and(|v| v.entry.kind == EntryKind::Dir)
                {
                    fs.remove_below(&entry.path);
                }
                fs.files.insert(
                    entry.path.clone(),
                    Visible {
                        entry: entry.clone(),
                        layer: index,
                    },
                );
            }
        }
        fs
    }

    fn remove_below(&mut self, dir: &str) {
        let prefix = if dir == "/" {
            "/".to_string()
        } else {
            format!("{dir}/")
        };
        let doomed: Vec<String> = self
            .files
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .map(|(p, _)| p.clone())
            .collect();
        for p in doomed {
            self.files.remove(&p);
        }
    }

    /// The diffIDs of the stacked layers, lowest first.
    pub fn layers(&self) -> &[Digest] {
        &self.layers
    }

    /// The entry at exactly `path` (no symlink resolution).
    pub fn get(&self, path: &str) -> Option<&Visible> {
        self.files.get(path)
    }

    /// Whether the file that `layer` wrote at `path` is still visible at the top.
    pub fn is_visible(&self, layer: usize, path: &str) -> bool {
        self.files.get(path).is_some_and(|v| v.layer == layer)
    }

    /// All visible entries, sorted by path.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Visible)> {
        self.files.iter().map(|(p, v)| (p.as_str(), v))
    }

    /// Visible entries at or below `dir`.
    pub fn walk<'s>(&'s self, dir: &'s str) -> impl Iterator<Item = (&'s str, &'s Visible)> + 's {
        self.files
            .range(dir.to_string()..)
            .take_while(move |(p, _)| is_within(p, dir))
            .map(|(p, v)| (p.as_str(), v))
    }

    /// Resolves symlinks (in every component) and hard links the way a chrooted process
    /// would: targets are clamped to the image root, and loops end with an error after
    /// [`MAX_SYMLINK_HOPS`] links.
    pub fn resolve(&self, path: &str) -> Result<String, ResolveError> {
        let mut hops = 0usize;
        let mut current = path.to_string();
        'restart: loop {
            // Walk components left to right, replacing the first symlinked prefix.
            let comps: Vec<&str> = current.split('/').filter(|c| !c.is_empty()).collect();
            let mut prefix = String::new();
            for (i, comp) in comps.iter().enumerate() {
                prefix.push('/');
                prefix.push_str(comp);
                let link = match self.files.get(&prefix).map(|v| &v.entry.kind) {
                    Some(EntryKind::Symlink(target)) => join_link(&prefix, target),
                    Some(EntryKind::Hardlink(target)) if i + 1 == comps.len() => target.clone(),
                    _ => continue,
                };
                hops += 1;
                if hops > MAX_SYMLINK_HOPS {
                    return Err(ResolveError::TooManyLinks(path.to_string()));
                }
                let rest: Vec<&str> = comps[i + 1..].to_vec();
                current = if rest.is_empty() {
                    link
                } else if link == "/" {
                    format!("/{}", rest.join("/"))
                } else {
                    format!("{link}/{}", rest.join("/"))
                };
                continue 'restart;
            }
            return Ok(if current.is_empty() {
                "/".to_string()
            } else {
                current
            });
        }
    }

    /// Resolves `path` and returns the visible regular file there, if any.
    pub fn lookup(&self, path: &str) -> Result<Option<&Visible>, ResolveError> {
        let resolved = self.resolve(path)?;
        Ok(self
            .files
            .get(&resolved)
            .filter(|v| v.entry.kind == EntryKind::File))
    }

    /// Whether a directory (possibly implied by its children) is visible at `path`.
    pub fn dir_exists(&self, path: &str) -> bool {
        path == "/"
            || self
                .files
                .get(path)
                .is_some_and(|v| v.entry.kind == EntryKind::Dir)
            || self.walk(path).any(|(p, _)| parent(p) == path)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ResolveError {
    #[error("too many levels of symbolic links resolving {0:?}")]
    TooManyLinks(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(n: u8) -> Digest {
        Digest::from_bytes(crate::digest::Algorithm::Sha256, &[n; 32])
    }

    fn file(path: &str) -> FileEntry {
        FileEntry {
            path: path.into(),
            kind: EntryKind::File,
            size: 1,
            mode: 0o644,
        }
    }

    fn link(path: &str, target: &str) -> FileEntry {
        FileEntry {
            path: path.into(),
            kind: EntryKind::Symlink(target.into()),
            size: 0,
            mode: 0o777,
        }
    }

    fn layer(
        n: u8,
        entries: Vec<FileEntry>,
        whiteouts: &[&str],
        opaque: &[&str],
    ) -> LayerContents<()> {
        LayerContents {
            diff_id: digest(n),
            entries,
            whiteouts: whiteouts.iter().map(|s| s.to_string()).collect(),
            opaque_dirs: opaque.iter().map(|s| s.to_string()).collect(),
            analyzed: vec![],
            hardlinks: vec![],
            errors: vec![],
            uncompressed_size: 0,
        }
    }

    #[test]
    fn whiteouts_and_opaque_dirs_hide_lower_files() {
        let l0 = layer(
            0,
            vec![file("/a/x"), file("/a/y"), file("/b/z"), file("/c")],
            &[],
            &[],
        );
        let l1 = layer(1, vec![file("/a/new")], &["/c"], &["/a"]);
        let l2 = layer(2, vec![file("/c")], &[], &[]);
        let fs = SquashedFs::build([&l0, &l1, &l2]);
        assert!(fs.get("/a/x").is_none());
        assert!(fs.get("/a/y").is_none());
        assert_eq!(fs.get("/a/new").unwrap().layer, 1);
        assert_eq!(fs.get("/b/z").unwrap().layer, 0);
        // Deleted in layer 1, re-added in layer 2: visible, from layer 2.
        assert_eq!(fs.get("/c").unwrap().layer, 2);
        assert!(fs.is_visible(2, "/c"));
        assert!(!fs.is_visible(0, "/c"));
    }

    #[test]
    fn whiteout_of_directory_removes_its_tree() {
        let l0 = layer(
            0,
            vec![file("/usr/lib/python3/dist-packages/x/METADATA")],
            &[],
            &[],
        );
        let l1 = layer(1, vec![], &["/usr/lib/python3"], &[]);
        let fs = SquashedFs::build([&l0, &l1]);
        assert_eq!(fs.iter().count(), 0);
    }

    #[test]
    fn resolves_symlinks_in_any_component_and_clamps_to_root() {
        let l0 = layer(
            0,
            vec![
                file("/usr/lib/os-release"),
                link("/etc/os-release", "../usr/lib/os-release"),
                link("/lib", "usr/lib"),
                link("/escape", "../../../../usr/lib/os-release"),
            ],
            &[],
            &[],
        );
        let fs = SquashedFs::build([&l0]);
        assert_eq!(
            fs.resolve("/etc/os-release").unwrap(),
            "/usr/lib/os-release"
        );
        assert_eq!(
            fs.resolve("/lib/os-release").unwrap(),
            "/usr/lib/os-release"
        );
        assert_eq!(fs.resolve("/escape").unwrap(), "/usr/lib/os-release");
        assert!(fs.lookup("/lib/os-release").unwrap().is_some());
    }

    #[test]
    fn symlink_loops_end_with_an_error() {
        let l0 = layer(
            0,
            vec![link("/a", "/b"), link("/b", "/a"), link("/self", "self")],
            &[],
            &[],
        );
        let fs = SquashedFs::build([&l0]);
        assert!(matches!(
            fs.resolve("/a/x"),
            Err(ResolveError::TooManyLinks(_))
        ));
        assert!(matches!(
            fs.resolve("/self"),
            Err(ResolveError::TooManyLinks(_))
        ));
    }
}

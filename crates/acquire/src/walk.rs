//! One streaming pass over a layer: verify the compressed digest, decompress, verify the
//! diffID, walk the tar entries, and hand wanted files to the analyzer. Nothing is
//! written to disk and memory stays bounded by the limits, whatever the layer holds.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher as _};
use std::io::{self, BufRead, BufReader, Read};

use crowsnest_model::Digest;
use crowsnest_model::digest::Algorithm;
use crowsnest_model::layer::{
    Analyzed, EntryError, EntryKind, FileEntry, LayerAnalyzer, LayerContents, MAX_ENTRY_ERRORS,
    SharedAnalysis,
};
use crowsnest_model::path::{self, MAX_PATH_BYTES, normalize, shorten};
use sha2::{Digest as _, Sha256, Sha512};

pub use crate::budget::Limits;
use crate::budget::{BudgetExceeded, ImageBudget, grouped};
use crate::framing::{ExtensionGuard, RecordTooLarge};

/// Why a layer could not be walked. The caller adds which blob it was.
#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    #[error("digest mismatch: expected {expected}, content hashes to {actual}")]
    DigestMismatch { expected: Digest, actual: Digest },
    #[error(
        "uncompressed layer digest (diffID) mismatch: config says {expected}, content hashes to {actual}"
    )]
    DiffIdMismatch { expected: Digest, actual: Digest },
    #[error(
        "{} {what}, limit {} (raise the limit if the image is genuine)",
        grouped(*used),
        grouped(*limit)
    )]
    TooLarge {
        what: &'static str,
        used: u64,
        limit: u64,
    },
    #[error("{0}")]
    Budget(#[from] BudgetExceeded),
    #[error("{0}")]
    RecordTooLarge(RecordTooLarge),
    #[error("corrupt or truncated {compression} stream: {source}")]
    Decompress {
        compression: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("malformed tar stream: {0}")]
    Tar(#[source] io::Error),
    #[error("reading the blob failed: {0}")]
    Io(#[source] io::Error),
}

/// How a layer blob is compressed. Detected from the bytes, not trusted from media types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    fn name(self) -> &'static str {
        match self {
            Compression::None => "uncompressed",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }

    fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// Hashes everything read through it; the digest is checked by [`HashingReader::verify`].
struct HashingReader<R> {
    inner: R,
    hasher: Hasher,
    count: u64,
}

enum Hasher {
    Sha256(Sha256),
    Sha512(Sha512),
}

impl Hasher {
    fn new(alg: Algorithm) -> Hasher {
        match alg {
            Algorithm::Sha256 => Hasher::Sha256(Sha256::new()),
            Algorithm::Sha512 => Hasher::Sha512(Sha512::new()),
        }
    }
    fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }
    fn finish(self) -> Digest {
        match self {
            Hasher::Sha256(h) => Digest::from_bytes(Algorithm::Sha256, &h.finalize()),
            Hasher::Sha512(h) => Digest::from_bytes(Algorithm::Sha512, &h.finalize()),
        }
    }
}

impl<R: Read> HashingReader<R> {
    fn new(inner: R, alg: Algorithm) -> Self {
        HashingReader {
            inner,
            hasher: Hasher::new(alg),
            count: 0,
        }
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// Fails the read once more than the layer's limit of bytes have passed, or the image's
/// budget (bytes, wall time, cancellation) is used up.
struct LimitedReader<'b, R> {
    inner: R,
    read: u64,
    limit: u64,
    budget: &'b ImageBudget,
}

/// Errors raised below the tar reader are tagged so that, however the tar crate wraps
/// them, the walk can report the real cause (a bomb, a corrupt stream) and not "bad tar".
#[derive(Debug)]
enum StreamFault {
    LimitExceeded { used: u64 },
    Budget(BudgetExceeded),
    Decode(io::Error),
}

impl std::fmt::Display for StreamFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StreamFault::LimitExceeded { .. } => f.write_str("uncompressed size limit exceeded"),
            StreamFault::Budget(e) => write!(f, "{e}"),
            StreamFault::Decode(e) => write!(f, "{e}"),
        }
    }
}
impl std::error::Error for StreamFault {}

impl<R: Read> Read for LimitedReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.limit {
            return Err(io::Error::other(StreamFault::LimitExceeded {
                used: self.read,
            }));
        }
        self.budget
            .charge_bytes(n as u64)
            .map_err(|e| io::Error::other(StreamFault::Budget(e)))?;
        Ok(n)
    }
}

/// The decompressor for a layer, owning the compressed stream so it can be handed back
/// for draining and digest checking at the end.
enum Decoder<R: BufRead> {
    Plain(R),
    // Boxed: the inflate state is large and the other variants are small.
    Gzip(Box<flate2::bufread::MultiGzDecoder<R>>),
    Zstd(zstd::stream::read::Decoder<'static, R>),
}

impl<R: BufRead> Decoder<R> {
    fn into_inner(self) -> R {
        match self {
            Decoder::Plain(r) => r,
            Decoder::Gzip(d) => d.into_inner(),
            Decoder::Zstd(d) => d.finish(),
        }
    }
}

impl<R: BufRead> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Plain(r) => r.read(buf),
            Decoder::Gzip(d) => d.read(buf),
            Decoder::Zstd(d) => d.read(buf),
        }
    }
}

/// Tags every error of the decompressor as a [`StreamFault::Decode`].
struct DecodeTagged<R>(R);

impl<R: Read> Read for DecodeTagged<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0
            .read(buf)
            .map_err(|e| io::Error::new(e.kind(), StreamFault::Decode(e)))
    }
}

/// Finds an error of type `T` anywhere in an error's source chain.
fn find_in_chain<T: std::error::Error + 'static>(e: &io::Error) -> Option<&T> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = e.get_ref().map(|r| r as _);
    while let Some(err) = cur {
        if let Some(fault) = err.downcast_ref::<T>() {
            return Some(fault);
        }
        cur = err
            .downcast_ref::<io::Error>()
            .and_then(|io| io.get_ref().map(|r| r as _))
            .or_else(|| err.source());
    }
    None
}

/// Maps an error seen while reading the (decompressed) tar stream to its real cause.
fn classify(e: io::Error, compression: Compression, limits: &Limits) -> WalkError {
    if let Some(record) = find_in_chain::<RecordTooLarge>(&e) {
        return WalkError::RecordTooLarge(RecordTooLarge { ..*record });
    }
    match find_in_chain::<StreamFault>(&e) {
        Some(StreamFault::LimitExceeded { used }) => WalkError::TooLarge {
            what: "uncompressed bytes",
            used: *used,
            limit: limits.max_layer_bytes,
        },
        Some(StreamFault::Budget(b)) => WalkError::Budget(b.clone()),
        Some(StreamFault::Decode(_)) if compression != Compression::None => WalkError::Decompress {
            compression: compression.name(),
            source: e,
        },
        Some(StreamFault::Decode(_)) => WalkError::Io(e),
        None => WalkError::Tar(e),
    }
}

/// What the walk is told about the layer beforehand; all optional for local tarballs.
#[derive(Clone, Debug, Default)]
pub struct LayerExpectations {
    /// Digest of the blob as stored (compressed): checked while streaming.
    pub blob_digest: Option<Digest>,
    /// The diffID from the image config: checked against the uncompressed stream.
    pub diff_id: Option<Digest>,
}

/// Walks one layer blob in a single streaming pass, as the only layer of its image.
pub fn walk_layer<A: LayerAnalyzer>(
    blob: impl Read,
    expect: &LayerExpectations,
    analyzer: &A,
    limits: &Limits,
) -> Result<LayerContents<A::Output>, WalkError> {
    walk_layer_within(blob, expect, analyzer, &ImageBudget::new(limits))
}

/// Walks one layer blob in a single streaming pass, charging what it costs to the
/// budget of its image (shared with the image's other layers).
pub fn walk_layer_within<A: LayerAnalyzer>(
    blob: impl Read,
    expect: &LayerExpectations,
    analyzer: &A,
    budget: &ImageBudget,
) -> Result<LayerContents<A::Output>, WalkError> {
    let limits = budget.limits();
    let blob_alg = expect
        .blob_digest
        .as_ref()
        .map_or(Algorithm::Sha256, |d| d.algorithm());
    let mut compressed = BufReader::with_capacity(256 << 10, HashingReader::new(blob, blob_alg));

    let compression = Compression::sniff(compressed.fill_buf().map_err(WalkError::Io)?);

    let decoder = match compression {
        Compression::None => Decoder::Plain(compressed),
        Compression::Gzip => {
            Decoder::Gzip(Box::new(flate2::bufread::MultiGzDecoder::new(compressed)))
        }
        Compression::Zstd => Decoder::Zstd(
            zstd::stream::read::Decoder::with_buffer(compressed).map_err(|source| {
                WalkError::Decompress {
                    compression: "zstd",
                    source,
                }
            })?,
        ),
    };
    let diff_alg = expect
        .diff_id
        .as_ref()
        .map_or(Algorithm::Sha256, |d| d.algorithm());
    let mut tar_stream = HashingReader::new(
        LimitedReader {
            inner: DecodeTagged(decoder),
            read: 0,
            limit: limits.max_layer_bytes,
            budget,
        },
        diff_alg,
    );

    let mut walker = EntryWalker::new(analyzer, budget);
    let walked = walk_entries(&mut tar_stream, &mut walker, compression, limits).and_then(|()| {
        // Drain what follows the end-of-archive marker so both digests (and the gzip
        // trailer's CRC) cover the whole blob.
        io::copy(&mut tar_stream, &mut io::sink())
            .map(drop)
            .map_err(|e| classify(e, compression, limits))
    });
    let HashingReader {
        inner: limited,
        hasher: diff_hasher,
        count: uncompressed_size,
    } = tar_stream;
    let actual_diff = diff_hasher.finish();
    // Out of time or cancelled: stop now, not after reading the rest of the blob.
    if let Err(e @ WalkError::Budget(BudgetExceeded::Time { .. } | BudgetExceeded::Cancelled)) =
        walked
    {
        return Err(e);
    }
    let mut compressed = limited.inner.0.into_inner();
    // Even when the walk failed, hash the rest of the blob: a corrupted or substituted
    // blob usually breaks inflate or tar first, and the digest mismatch is the real cause.
    let drained = io::copy(&mut compressed, &mut io::sink());
    let actual_blob = compressed.into_inner().hasher.finish();
    if let (Err(walk_error), Some(expected)) = (&walked, &expect.blob_digest) {
        if drained.is_ok() && *expected != actual_blob {
            return Err(WalkError::DigestMismatch {
                expected: expected.clone(),
                actual: actual_blob,
            });
        }
        tracing::debug!(error = %walk_error, "layer walk failed");
    }
    walked?;
    drained.map_err(WalkError::Io)?;

    if let Some(expected) = &expect.blob_digest
        && *expected != actual_blob
    {
        return Err(WalkError::DigestMismatch {
            expected: expected.clone(),
            actual: actual_blob,
        });
    }
    let diff_id = match &expect.diff_id {
        Some(expected) if *expected != actual_diff => {
            return Err(WalkError::DiffIdMismatch {
                expected: expected.clone(),
                actual: actual_diff,
            });
        }
        _ => actual_diff,
    };
    Ok(walker.finish(diff_id, uncompressed_size))
}

/// Walks the tar entries of a decompressed layer stream.
fn walk_entries<R: Read, A: LayerAnalyzer>(
    stream: &mut R,
    walker: &mut EntryWalker<'_, A>,
    compression: Compression,
    limits: &Limits,
) -> Result<(), WalkError> {
    let mut archive = tar::Archive::new(ExtensionGuard::new(stream, limits.max_extension_record));
    let entries = archive
        .entries()
        .map_err(|e| classify(e, compression, limits))?;
    for (seen, entry) in entries.enumerate() {
        if seen >= limits.max_entries {
            return Err(WalkError::TooLarge {
                what: "tar entries",
                used: seen as u64 + 1,
                limit: limits.max_entries as u64,
            });
        }
        walker.budget.charge_entries(1)?;
        walker.budget.check()?;
        let mut entry = entry.map_err(|e| classify(e, compression, limits))?;
        walker
            .visit(&mut entry)
            .map_err(|e| classify(e, compression, limits))?;
        if let Some(exceeded) = walker.exceeded.take() {
            return Err(exceeded.into());
        }
    }
    Ok(())
}

/// Per-layer state while entries stream past.
struct EntryWalker<'a, A: LayerAnalyzer> {
    analyzer: &'a A,
    budget: &'a ImageBudget,
    entries: Vec<FileEntry>,
    whiteouts: Vec<String>,
    opaque_dirs: Vec<String>,
    analyzed: Vec<Analyzed<A::Output>>,
    hardlinks: Vec<SharedAnalysis>,
    errors: Vec<EntryError>,
    /// Entries rejected beyond [`MAX_ENTRY_ERRORS`]: counted, not kept.
    errors_dropped: u64,
    /// Hashes of the paths seen so far, to check hard-link targets without quadratic scans.
    seen_paths: HashSet<u64>,
    /// Which analysis each analyzed path (or hard link to one) has: a hard link is
    /// resolved by one lookup, however long its chain.
    analysis_at: HashMap<String, usize>,
    /// The image budget ran out while an analyzer was reading.
    exceeded: Option<BudgetExceeded>,
}

const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE_MARKER: &str = ".wh..wh..opq";

impl<'a, A: LayerAnalyzer> EntryWalker<'a, A> {
    fn new(analyzer: &'a A, budget: &'a ImageBudget) -> Self {
        EntryWalker {
            analyzer,
            budget,
            entries: Vec::new(),
            whiteouts: Vec::new(),
            opaque_dirs: Vec::new(),
            analyzed: Vec::new(),
            hardlinks: Vec::new(),
            errors: Vec::new(),
            errors_dropped: 0,
            seen_paths: HashSet::new(),
            analysis_at: HashMap::new(),
            exceeded: None,
        }
    }

    fn reject(&mut self, raw: &str, reason: impl Into<String>) {
        if self.errors.len() >= MAX_ENTRY_ERRORS {
            self.errors_dropped += 1;
            return;
        }
        self.errors.push(EntryError {
            entry: shorten(raw).to_string(),
            reason: reason.into(),
        });
    }

    /// Records one entry. Only an I/O failure of the stream itself is an `Err`; problems
    /// with the entry are recorded and the walk goes on.
    fn visit<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> io::Result<()> {
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let path = match normalize(&raw) {
            Ok(p) => p,
            Err(e) => {
                self.reject(&raw, e.to_string());
                return Ok(());
            }
        };
        let name = path::file_name(&path);
        if name == OPAQUE_MARKER {
            self.opaque_dirs.push(path::parent(&path).to_string());
            return Ok(());
        }
        if let Some(hidden) = name.strip_prefix(WHITEOUT_PREFIX) {
            // `.wh..wh.*` other than the opaque marker is aufs bookkeeping: not a deletion.
            if !hidden.starts_with(WHITEOUT_PREFIX) && !hidden.is_empty() {
                let parent = path::parent(&path);
                let gone = if parent == "/" {
                    format!("/{hidden}")
                } else {
                    format!("{parent}/{hidden}")
                };
                self.whiteouts.push(gone);
            }
            return Ok(());
        }
        let header = entry.header();
        let mode = header.mode().unwrap_or(0);
        let size = entry.size();
        let link_target = || -> Option<String> {
            entry
                .link_name_bytes()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
        };
        let mut shared = None;
        let kind = match header.entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                EntryKind::File
            }
            tar::EntryType::Directory => EntryKind::Dir,
            tar::EntryType::Symlink => match link_target() {
                Some(t) if t.len() > MAX_PATH_BYTES => {
                    self.reject(
                        &raw,
                        format!(
                            "symbolic link target is {} bytes long, limit {MAX_PATH_BYTES}",
                            t.len()
                        ),
                    );
                    return Ok(());
                }
                Some(t) if !t.is_empty() && !t.contains('\0') => EntryKind::Symlink(t),
                _ => {
                    self.reject(&raw, "symbolic link without a target");
                    return Ok(());
                }
            },
            tar::EntryType::Link => {
                let target = link_target().map(|t| normalize(&t));
                match target {
                    Some(Ok(t)) => {
                        if !self.seen_paths.contains(&path_hash(&t)) {
                            self.reject(
                                &raw,
                                format!("hard link to {t}, which is not earlier in this layer"),
                            );
                        }
                        shared = self.analysis_at.get(&t).copied();
                        EntryKind::Hardlink(t)
                    }
                    Some(Err(e)) => {
                        self.reject(&raw, format!("hard link target: {e}"));
                        return Ok(());
                    }
                    None => {
                        self.reject(&raw, "hard link without a target");
                        return Ok(());
                    }
                }
            }
            tar::EntryType::XGlobalHeader | tar::EntryType::XHeader => return Ok(()),
            _ => EntryKind::Other,
        };
        if kind == EntryKind::File && self.analyzer.wants(&path, size, mode) {
            let mut counted = BudgetedReader {
                inner: &mut *entry,
                budget: self.budget,
                exceeded: &mut self.exceeded,
            };
            let result = self.analyzer.analyze(&path, size, &mut counted);
            if self.exceeded.is_some() {
                return Ok(());
            }
            self.analysis_at.insert(path.clone(), self.analyzed.len());
            self.analyzed.push(Analyzed {
                path: path.clone(),
                result,
            });
            // The analyzer may stop early; make sure a stream failure is not mistaken for
            // the end of the entry by reading what it left (tar would skip it anyway).
            io::copy(entry, &mut io::sink())?;
        } else if let Some(index) = shared.filter(|_| self.analyzer.wants(&path, size, mode)) {
            // A hard link where the analyzer would look shares its target's analysis.
            self.analysis_at.insert(path.clone(), index);
            self.hardlinks.push(SharedAnalysis {
                path: path.clone(),
                analyzed: index,
            });
        } else if !self.analysis_at.is_empty() {
            // Whatever replaced an analyzed path in this layer has no analysis.
            self.analysis_at.remove(&path);
        }
        self.seen_paths.insert(path_hash(&path));
        self.entries.push(FileEntry {
            path,
            kind,
            size,
            mode,
        });
        Ok(())
    }

    fn finish(mut self, diff_id: Digest, uncompressed_size: u64) -> LayerContents<A::Output> {
        if self.errors_dropped > 0 {
            self.errors.push(EntryError {
                entry: String::new(),
                reason: format!(
                    "{} more entries were rejected (only the first {MAX_ENTRY_ERRORS} are listed)",
                    grouped(self.errors_dropped)
                ),
            });
        }
        LayerContents {
            diff_id,
            entries: self.entries,
            whiteouts: self.whiteouts,
            opaque_dirs: self.opaque_dirs,
            analyzed: self.analyzed,
            hardlinks: self.hardlinks,
            errors: self.errors,
            uncompressed_size,
        }
    }
}

/// What an analyzer reads, charged to the image's budget. Once the budget is used up
/// the reads fail and the walk stops after the analyzer returns.
struct BudgetedReader<'r, R> {
    inner: R,
    budget: &'r ImageBudget,
    exceeded: &'r mut Option<BudgetExceeded>,
}

impl<R: Read> Read for BudgetedReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.exceeded.is_some() {
            return Err(io::Error::other("the image's analysis budget is used up"));
        }
        let n = self.inner.read(buf)?;
        if let Err(e) = self.budget.charge_analyzed(n as u64) {
            *self.exceeded = Some(e);
            return Err(io::Error::other("the image's analysis budget is used up"));
        }
        Ok(n)
    }
}

fn path_hash(path: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    path.hash(&mut h);
    h.finish()
}

/// Computes the digest of a byte slice (manifests, configs).
pub fn digest_of(alg: Algorithm, bytes: &[u8]) -> Digest {
    let mut h = Hasher::new(alg);
    h.update(bytes);
    h.finish()
}

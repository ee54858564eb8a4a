//! Hostile layers, each built in memory (gzip keeps them small: the attack is in what
//! they decompress to), walked in a child process of its own so that the child's peak
//! resident memory (VmHWM from /proc/self/status) measures that case alone.
//!
//! Each case asserts the bound the walk promises (docs/security.md): the outcome (a
//! clear error, or entries skipped and reported), peak memory, and that it finishes
//! (a generous wall-clock cut-off kills a runaway child; it is not a timing assertion).

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crowsnest_acquire::budget::{ImageBudget, Limits};
use crowsnest_acquire::walk::{LayerExpectations, WalkError, walk_layer, walk_layer_within};
use crowsnest_model::layer::{LayerAnalyzer, MAX_ENTRY_ERRORS};

/// Keeps the bytes of files under /etc (up to 1 MiB each): an output as large as the
/// file, so copying it per hard link would show in memory.
struct EtcKeeper {
    calls: AtomicUsize,
}

impl EtcKeeper {
    fn new() -> EtcKeeper {
        EtcKeeper {
            calls: AtomicUsize::new(0),
        }
    }
}

impl LayerAnalyzer for EtcKeeper {
    type Output = Vec<u8>;
    fn cache_key(&self) -> String {
        "hostile/1".into()
    }
    fn wants(&self, path: &str, _size: u64, _mode: u32) -> bool {
        path.starts_with("/etc/")
    }
    fn analyze(&self, _path: &str, _size: u64, content: &mut dyn Read) -> Result<Vec<u8>, String> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let mut out = Vec::new();
        content
            .take(1 << 20)
            .read_to_end(&mut out)
            .map_err(|e| e.to_string())?;
        Ok(out)
    }
}

/// A tar stream written straight into a gzip encoder, so building a hostile layer costs
/// its compressed size in memory, not what it decompresses to. Long runs of the same
/// bytes are appended as one gzip member compressed once and repeated: the walk reads
/// concatenated gzip members as one stream, as gzip itself does.
struct Layer {
    done: Vec<u8>,
    gz: flate2::write::GzEncoder<Vec<u8>>,
}

fn encoder() -> flate2::write::GzEncoder<Vec<u8>> {
    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast())
}

impl Layer {
    fn new() -> Layer {
        Layer {
            done: Vec::new(),
            gz: encoder(),
        }
    }

    /// One 512-byte header with a raw name and link name.
    fn header(&mut self, kind: u8, name: &str, link: &str, size: u64) {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::new(kind));
        h.set_size(size);
        h.set_mode(0o644);
        let old = h.as_old_mut();
        old.name.fill(0);
        old.name[..name.len()].copy_from_slice(name.as_bytes());
        old.linkname.fill(0);
        old.linkname[..link.len()].copy_from_slice(link.as_bytes());
        h.set_cksum();
        self.gz.write_all(h.as_bytes()).unwrap();
    }

    /// One entry: a header, then `size` bytes from `fill`, padded to the block.
    fn entry(&mut self, kind: u8, name: &str, link: &str, size: u64, fill: &mut dyn Read) {
        self.header(kind, name, link, size);
        let copied = std::io::copy(&mut fill.take(size), &mut self.gz).unwrap();
        assert_eq!(copied, size);
        let pad = (512 - size % 512) % 512;
        self.gz.write_all(&vec![0; pad as usize]).unwrap();
    }

    /// `mib` MiB of `a/a/a/…` as data, block-aligned, compressed once.
    fn deep_path_mib(&mut self, mib: usize) {
        let mut member = encoder();
        std::io::copy(&mut deep_path_bytes().take(1 << 20), &mut member).unwrap();
        let member = member.finish().unwrap();
        let before = std::mem::replace(&mut self.gz, encoder());
        self.done.extend(before.finish().unwrap());
        for _ in 0..mib {
            self.done.extend_from_slice(&member);
        }
    }

    fn file(&mut self, name: &str, data: &[u8]) {
        self.entry(b'0', name, "", data.len() as u64, &mut &data[..]);
    }

    fn hard_link(&mut self, name: &str, target: &str) {
        self.entry(b'1', name, target, 0, &mut std::io::empty());
    }

    fn finish(mut self) -> Vec<u8> {
        self.gz.write_all(&[0; 1024]).unwrap();
        self.done.extend(self.gz.finish().unwrap());
        self.done
    }
}

/// `a/a/a/…` forever.
fn deep_path_bytes() -> impl Read {
    Cycle(b"a/", 0)
}

struct Cycle(&'static [u8], usize);
impl Read for Cycle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        for b in buf.iter_mut() {
            *b = self.0[self.1];
            self.1 = (self.1 + 1) % self.0.len();
        }
        Ok(buf.len())
    }
}

/// Peak resident memory of this process, in KiB.
fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

const CASE_VAR: &str = "CROWSNEST_HOSTILE_CASE";
const RESULT_PREFIX: &str = "HOSTILE-RESULT ";

/// Runs `child_<case>` of this test binary in a child process and returns what the case
/// printed and the child's peak memory in MiB.
fn run_isolated(case: &str) -> (String, u64) {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "--exact",
            &format!("child_{case}"),
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CASE_VAR, case)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let started = Instant::now();
    // Generous: a bounded case takes seconds; an unbounded one takes hours or dies.
    let cut_off = Duration::from_secs(300);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > cut_off {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("case {case} did not finish within {cut_off:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let status = child.wait().unwrap();
    let line = out
        .lines()
        .find_map(|l| l.split_once(RESULT_PREFIX).map(|(_, rest)| rest))
        .unwrap_or_else(|| panic!("case {case} printed no result ({status}):\n{out}"));
    let (hwm, outcome) = line.split_once(' ').unwrap();
    let mib = hwm.parse::<u64>().unwrap() / 1024;
    // Shown with --nocapture: the figures docs/security.md records.
    println!(
        "case {case}: peak {mib} MiB, {:.1} s: {outcome}",
        started.elapsed().as_secs_f64()
    );
    (outcome.to_string(), mib)
}

/// In the child: runs the case if it is the one asked for, and prints its outcome.
fn child_case(case: &str, run: impl FnOnce() -> String) {
    if std::env::var(CASE_VAR).as_deref() != Ok(case) {
        return;
    }
    let outcome = run();
    println!("{RESULT_PREFIX}{} {outcome}", vm_hwm_kib());
}

fn walk_outcome(gz: &[u8], analyzer: &EtcKeeper) -> String {
    match walk_layer(
        gz,
        &LayerExpectations::default(),
        analyzer,
        &Limits::default(),
    ) {
        Ok(layer) => format!(
            "ok entries={} analyzed={} hardlinks={} errors={} last_error={:?}",
            layer.entries.len(),
            layer.analyzed.len(),
            layer.hardlinks.len(),
            layer.errors.len(),
            layer
                .errors
                .last()
                .map(|e| e.reason.clone())
                .unwrap_or_default()
        ),
        Err(e) => format!("err {e}"),
    }
}

/// Memory a bounded case may use: the test harness, one layer's state, buffers.
const BOUND_MIB: u64 = 160;

// --- 1. Extension records and names -----------------------------------------------

/// A GNU long-name record of 512 MiB (about 1 MiB gzipped).
fn huge_long_name() -> String {
    let mut layer = Layer::new();
    layer.header(b'L', "././@LongLink", "", 512 << 20);
    layer.deep_path_mib(512);
    layer.file("etc/after", b"x");
    walk_outcome(&layer.finish(), &EtcKeeper::new())
}

#[test]
fn child_long_name() {
    child_case("long_name", huge_long_name);
}

#[test]
fn a_huge_gnu_long_name_fails_at_its_header_in_bounded_memory() {
    let (outcome, mib) = run_isolated("long_name");
    assert!(
        outcome.starts_with("err the GNU long-name record at byte 0 of the layer declares 536,870,912 bytes, limit 65,536"),
        "{outcome}"
    );
    assert!(mib < BOUND_MIB, "peak {mib} MiB");
}

/// A PAX extended header of 512 MiB.
fn huge_pax() -> String {
    let mut layer = Layer::new();
    layer.header(b'x', "PaxHeader/f", "", 512 << 20);
    layer.deep_path_mib(512);
    layer.file("etc/after", b"x");
    walk_outcome(&layer.finish(), &EtcKeeper::new())
}

#[test]
fn child_pax() {
    child_case("pax", huge_pax);
}

#[test]
fn a_huge_pax_header_fails_at_its_header_in_bounded_memory() {
    let (outcome, mib) = run_isolated("pax");
    assert!(
        outcome.starts_with("err the PAX extended header at byte 0"),
        "{outcome}"
    );
    assert!(mib < BOUND_MIB, "peak {mib} MiB");
}

/// 5,000 entries whose long names (60 KiB each, under the record limit) are `a/a/a/…`:
/// each is refused by normalisation, and only the first errors are kept.
fn deep_names() -> String {
    let mut layer = Layer::new();
    let name_len = 60 << 10;
    for _ in 0..5_000 {
        layer.entry(b'L', "././@LongLink", "", name_len, &mut deep_path_bytes());
        layer.file("x", b"");
    }
    layer.file("etc/after", b"x");
    walk_outcome(&layer.finish(), &EtcKeeper::new())
}

#[test]
fn child_deep_names() {
    child_case("deep_names", deep_names);
}

#[test]
fn deep_names_are_rejected_and_their_errors_capped() {
    let (outcome, mib) = run_isolated("deep_names");
    assert!(
        outcome.starts_with(&format!(
            "ok entries=1 analyzed=1 hardlinks=0 errors={}",
            MAX_ENTRY_ERRORS + 1
        )),
        "{outcome}"
    );
    assert!(
        outcome.contains("4,000 more entries were rejected"),
        "{outcome}"
    );
    assert!(mib < BOUND_MIB, "peak {mib} MiB");
}

// --- 2. Hard links ------------------------------------------------------------------

const LINKS: usize = 100_000;

/// One analyzed 1 MiB file and 100,000 hard links to it, as a star or as a chain.
fn links(chain: bool) -> String {
    let mut layer = Layer::new();
    layer.file("etc/db", &vec![b'p'; 1 << 20]);
    for i in 0..LINKS {
        let target = if chain && i > 0 {
            format!("etc/l{}", i - 1)
        } else {
            "etc/db".to_string()
        };
        layer.hard_link(&format!("etc/l{i}"), &target);
    }
    let analyzer = EtcKeeper::new();
    let outcome = walk_outcome(&layer.finish(), &analyzer);
    format!("{outcome} calls={}", analyzer.calls.load(Ordering::Relaxed))
}

#[test]
fn child_link_star() {
    child_case("link_star", || links(false));
}

#[test]
fn child_link_chain() {
    child_case("link_chain", || links(true));
}

#[test]
fn hard_link_stars_and_chains_share_one_analysis() {
    for case in ["link_star", "link_chain"] {
        let (outcome, mib) = run_isolated(case);
        assert_eq!(
            outcome,
            format!(
                "ok entries={} analyzed=1 hardlinks={LINKS} errors=0 last_error=\"\" calls=1",
                LINKS + 1
            ),
            "{case}"
        );
        assert!(mib < BOUND_MIB, "{case}: peak {mib} MiB");
    }
}

// --- 3. Budgets ---------------------------------------------------------------------

#[test]
fn the_image_budget_spans_layers() {
    let limits = Limits {
        max_image_entries: 150,
        ..Limits::default()
    };
    let budget = ImageBudget::new(&limits);
    let layer = || {
        let mut l = Layer::new();
        for i in 0..100 {
            l.file(&format!("f{i}"), b"");
        }
        l.finish()
    };
    let analyzer = EtcKeeper::new();
    walk_layer_within(
        &layer()[..],
        &LayerExpectations::default(),
        &analyzer,
        &budget,
    )
    .unwrap();
    let err = walk_layer_within(
        &layer()[..],
        &LayerExpectations::default(),
        &analyzer,
        &budget,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "151 tar entries across the image's layers, limit 150"
    );
}

#[test]
fn bytes_handed_to_analyzers_are_budgeted() {
    let limits = Limits {
        max_analyzed_bytes: 3 << 20,
        ..Limits::default()
    };
    let mut layer = Layer::new();
    for i in 0..10 {
        layer.file(&format!("etc/f{i}"), &vec![b'z'; 1 << 20]);
    }
    let err = walk_layer_within(
        &layer.finish()[..],
        &LayerExpectations::default(),
        &EtcKeeper::new(),
        &ImageBudget::new(&limits),
    )
    .unwrap_err();
    assert!(
        matches!(err, WalkError::Budget(_))
            && err
                .to_string()
                .contains("bytes handed to analyzers across the image's layers, limit 3,145,728"),
        "{err}"
    );
}

#[test]
fn the_per_layer_entry_limit_names_the_count() {
    let limits = Limits {
        max_entries: 10,
        ..Limits::default()
    };
    let mut layer = Layer::new();
    for i in 0..50 {
        layer.file(&format!("f{i}"), b"");
    }
    let err = walk_layer(
        &layer.finish()[..],
        &LayerExpectations::default(),
        &EtcKeeper::new(),
        &limits,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "11 tar entries, limit 10 (raise the limit if the image is genuine)"
    );
}

#[test]
fn a_cancelled_walk_stops() {
    let flag = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let budget = ImageBudget::new(&Limits::default()).with_cancel(flag);
    let mut layer = Layer::new();
    layer.file("etc/a", b"x");
    let err = walk_layer_within(
        &layer.finish()[..],
        &LayerExpectations::default(),
        &EtcKeeper::new(),
        &budget,
    )
    .unwrap_err();
    assert!(err.to_string().contains("cancelled"), "{err}");
}

/// Writes an OCI layout holding one image made of `layers` (gzipped tars), lowest first.
fn oci_layout(dir: &std::path::Path, layers: &[Vec<u8>]) {
    use crowsnest_acquire::walk::digest_of;
    use crowsnest_model::digest::Algorithm;
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| {
        let d = digest_of(Algorithm::Sha256, bytes);
        std::fs::write(blobs.join(d.hex()), bytes).unwrap();
        serde_json::json!({"digest": d.to_string(), "size": bytes.len()})
    };
    let mut descriptors = Vec::new();
    let mut diff_ids = Vec::new();
    for gz in layers {
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut tar)
            .unwrap();
        diff_ids.push(digest_of(Algorithm::Sha256, &tar).to_string());
        let mut d = put(gz);
        d["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip".into();
        descriptors.push(d);
    }
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    });
    let mut config_desc = put(&serde_json::to_vec(&config).unwrap());
    config_desc["mediaType"] = "application/vnd.oci.image.config.v1+json".into();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config_desc,
        "layers": descriptors,
    });
    let mut manifest_desc = put(&serde_json::to_vec(&manifest).unwrap());
    manifest_desc["mediaType"] = "application/vnd.oci.image.manifest.v1+json".into();
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [manifest_desc]});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
}

async fn walk_image(
    dir: &std::path::Path,
    analyzer: Arc<EtcKeeper>,
    limits: Limits,
) -> Result<Vec<crowsnest_model::layer::LayerContents<Vec<u8>>>, String> {
    use crowsnest_acquire::image::{AcquireOptions, Image};
    let reference = format!("oci:{}", dir.display()).parse().unwrap();
    let opts = AcquireOptions {
        limits,
        ..AcquireOptions::default()
    };
    let image = Image::open(&reference, &opts).await.unwrap();
    image
        .walk_layers(analyzer, &opts, None)
        .await
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn a_repeated_layer_is_analysed_once_and_counted_each_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut base = Layer::new();
    base.file("etc/os-release", b"ID=test\n");
    let mut other = Layer::new();
    other.file("etc/other", b"x");
    let (base, other) = (base.finish(), other.finish());
    oci_layout(dir.path(), &[base.clone(), other, base]);

    let analyzer = Arc::new(EtcKeeper::new());
    let layers = walk_image(dir.path(), Arc::clone(&analyzer), Limits::default())
        .await
        .unwrap();
    assert_eq!(layers.len(), 3);
    assert_eq!(layers[0], layers[2]);
    assert_eq!(analyzer.calls.load(Ordering::Relaxed), 2);

    // Each copy costs entries like the first: three layers of one entry each.
    let tight = Limits {
        max_image_entries: 2,
        ..Limits::default()
    };
    let err = walk_image(dir.path(), Arc::new(EtcKeeper::new()), tight)
        .await
        .unwrap_err();
    assert!(
        err.contains("layer 2 (sha256:")
            && err.contains("3 tar entries across the image's layers, limit 2"),
        "{err}"
    );
}

#[tokio::test]
async fn too_many_layers_fail_the_image_before_any_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let layers: Vec<Vec<u8>> = (0..5)
        .map(|i| {
            let mut l = Layer::new();
            l.file(&format!("f{i}"), b"");
            l.finish()
        })
        .collect();
    oci_layout(dir.path(), &layers);
    let analyzer = Arc::new(EtcKeeper::new());
    let limits = Limits {
        max_layers: 4,
        ..Limits::default()
    };
    let err = walk_image(dir.path(), analyzer, limits).await.unwrap_err();
    assert!(
        err.ends_with("5 layers, limit 4 (raise the limit if the image is genuine)"),
        "{err}"
    );
}

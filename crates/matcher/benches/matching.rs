//! Matching speed against the full advisory database built from ../shared/feeds.
//!
//! - `full sync`: `crowsnest db sync` from ../shared/feeds into an empty directory.
//! - `match_1000_packages_cold`: one synthetic 1,000-package inventory (Debian bullseye
//!   OS packages plus PyPI, Go, crates.io, npm and Maven packages, all with advisories)
//!   through a new index over a new SQLite connection: every package's advisories are
//!   queried, decoded and compiled. What a one-off `crowsnest scan` pays.
//! - `match_1000_packages_indexed`: the same inventory against an index that already
//!   holds those packages. The target: under 50 ms.
//! - `full index load`: every (ecosystem, name) of the database compiled into one index,
//!   its time and the process's resident memory before and after.
//! - `reassess`: after a feed update, stored inventories re-matched against one shared,
//!   loaded index: the real test images' packages (ground truth of debian-bullseye,
//!   debian-bookworm, app-bookworm) and synthetic 1,000-package inventories, each
//!   reported per inventory and extrapolated to 10,000 (target: under 10 s).

#[path = "../tests/match_db.rs"]
mod match_db;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use crowsnest_feeds::AdvisoryDb;
use crowsnest_matcher::{AdvisoryIndex, match_packages};
use crowsnest_model::{Distro, Package};
use match_db::{DbSource, SyntheticInventories, fixture_inventory, open_real_db};

/// Resident set size of this process in MiB (Linux `/proc/self/status`).
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

/// Re-matches `inventories` in turn against `index` for about `budget`, and prints the
/// time per inventory and its extrapolation to 10,000.
fn reassess(
    label: &str,
    index: &AdvisoryIndex<DbSource>,
    inventories: &[Vec<Package>],
    distro: &Distro,
    budget: Duration,
) {
    let started = Instant::now();
    let mut runs = 0usize;
    let mut findings = 0usize;
    while started.elapsed() < budget && runs < 10_000 {
        let inventory = &inventories[runs % inventories.len()];
        findings += match_packages(index, inventory, Some(distro))
            .unwrap()
            .findings
            .len();
        runs += 1;
    }
    let per = started.elapsed().as_secs_f64() / runs as f64;
    let packages: usize = inventories.iter().map(Vec::len).sum::<usize>() / inventories.len();
    println!(
        "reassess {label}: {runs} inventories of ~{packages} packages, {:.3} ms each \
         ({} findings each); 10,000 would take {:.1} s (target < 10 s: {})",
        per * 1e3,
        findings / runs,
        per * 10_000.0,
        if per * 10_000.0 < 10.0 {
            "met"
        } else {
            "NOT met"
        }
    );
}

fn bench(c: &mut Criterion) {
    // A full sync from the mirror into an empty data directory (target: under 60 s).
    let fresh = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("match-bench-full-sync");
    let _ = std::fs::remove_dir_all(fresh.join("data"));
    let started = Instant::now();
    let synced = open_real_db("match-bench-full-sync");
    let took = started.elapsed().as_secs_f64();
    println!(
        "full sync from the mirror: {} advisories in {took:.1} s (target < 60 s: {})",
        synced.advisory_count().unwrap(),
        if took < 60.0 { "met" } else { "NOT met" }
    );
    drop(synced);

    drop(open_real_db("match-bench-db"));
    let db_path = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("match-bench-db/data/advisories.db");
    let open = || DbSource(AdvisoryDb::open(&db_path).unwrap());
    let synthetic = SyntheticInventories::from_mirror();
    let bullseye = SyntheticInventories::distro();
    let one = synthetic.inventory(0);
    assert_eq!(one.len(), 1000);

    let mut group = c.benchmark_group("matching");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("match_1000_packages_cold", |b| {
        b.iter(|| {
            let index = AdvisoryIndex::new(open());
            let report = match_packages(&index, black_box(&one), Some(&bullseye)).unwrap();
            black_box(report.findings.len())
        })
    });
    let warm = AdvisoryIndex::new(open());
    match_packages(&warm, &one, Some(&bullseye)).unwrap();
    group.bench_function("match_1000_packages_indexed", |b| {
        b.iter(|| {
            let report = match_packages(&warm, black_box(&one), Some(&bullseye)).unwrap();
            black_box(report.findings.len())
        })
    });
    group.finish();
    drop(warm);

    // The index of a new feed version, loaded in full before re-assessment.
    let keys = AdvisoryDb::open(&db_path).unwrap().package_keys().unwrap();
    let rss_before = rss_mib();
    let started = Instant::now();
    let index = AdvisoryIndex::new(open());
    for (ecosystem, name) in &keys {
        index.prepare(ecosystem, name).unwrap();
    }
    println!(
        "full index load: {} (ecosystem, name) keys compiled in {:.2} s; resident memory \
         {:.0} MiB before, {:.0} MiB after",
        index.compiled_packages(),
        started.elapsed().as_secs_f64(),
        rss_before,
        rss_mib()
    );

    let budget = Duration::from_secs(10);
    for image in ["debian-bullseye", "debian-bookworm", "app-bookworm"] {
        match fixture_inventory(image) {
            Some((packages, distro)) => {
                reassess(image, &index, &[packages], &distro, budget);
            }
            None => println!("reassess {image}: skipped, the test images are not built"),
        }
    }
    let stored: Vec<Vec<Package>> = (0..50).map(|v| synthetic.inventory(v)).collect();
    reassess("synthetic", &index, &stored, &bullseye, budget);
}

criterion_group!(benches, bench);
criterion_main!(benches);

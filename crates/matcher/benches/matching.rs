//! Matching speed against the full advisory database built from ../shared/feeds.
//!
//! - `match_1000_packages`: one 1,000-package inventory (Debian bullseye OS packages
//!   plus PyPI, Go, crates.io, npm and Maven packages) against the database, cold:
//!   every lookup goes to SQLite. Target: under 50 ms.
//! - `reassess_inventories`: after a feed update, re-matching stored inventories with
//!   one memoized source shared by all of them (images share base layers, so most
//!   lookups repeat). The run reports the per-inventory time; multiply by 10,000 for
//!   the target (under 10 s).

#[path = "../tests/match_db.rs"]
mod match_db;

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use crowsnest_feeds::AdvisoryDb;
use crowsnest_matcher::{MemoizedSource, match_packages};
use crowsnest_model::{Distro, Package, PackageKind, SourcePackage};
use match_db::{DbSource, open_real_db};

/// Number of packages per inventory, by ecosystem (1,000 in all), roughly the mix of a
/// Debian-based application image.
const MIX: &[(&str, PackageKind, usize)] = &[
    ("Debian:11", PackageKind::Deb, 500),
    ("PyPI", PackageKind::Python, 180),
    ("Go", PackageKind::Go, 180),
    ("crates.io", PackageKind::Cargo, 129),
    ("npm", PackageKind::Npm, 4),
    ("Maven", PackageKind::Maven, 7),
];

/// Package names that have advisories in `ecosystem` (so every lookup finds some and
/// range evaluation does real work), each at the first fixed version its advisories
/// name, read from the mirror's archive.
fn names_with_advisories(ecosystem: &str) -> Vec<(String, String)> {
    let dir = ecosystem.split(':').next().unwrap();
    let zip_path = crowsnest_testbed::shared()
        .join("feeds/osv")
        .join(dir)
        .join("all.zip");
    let mut zip = zip::ZipArchive::new(std::fs::File::open(zip_path).unwrap()).unwrap();
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for i in 0..zip.len() {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut zip.by_index(i).unwrap(), &mut text).unwrap();
        let a: crowsnest_model::advisory::Advisory = serde_json::from_str(&text).unwrap();
        for e in &a.affected {
            let Some(p) = &e.package else { continue };
            if p.ecosystem != ecosystem && p.ecosystem.split(':').next() != Some(ecosystem) {
                continue;
            }
            let version = e
                .ranges
                .iter()
                .flat_map(|r| &r.events)
                .find_map(|ev| match ev {
                    crowsnest_model::advisory::Event::Fixed(v) => Some(v.clone()),
                    _ => None,
                });
            if let Some(v) = version {
                out.entry(p.name.clone()).or_insert(v);
            }
        }
    }
    out.into_iter().collect()
}

/// Per ecosystem: its name, (package, version) candidates and the package kind.
type Pool = (String, Vec<(String, String)>, PackageKind);

/// One inventory: `variant` shifts which names are taken, so inventories differ.
fn inventory(pool: &[Pool], variant: usize) -> Vec<Package> {
    let mut packages = Vec::new();
    for ((_, names, kind), (_, _, count)) in pool.iter().zip(MIX) {
        for i in 0..*count {
            let (name, version) = &names[(i * 7 + variant) % names.len()];
            let version = if *kind == PackageKind::Go && !version.starts_with('v') {
                format!("v{version}")
            } else {
                version.clone()
            };
            packages.push(Package {
                kind: *kind,
                name: name.clone(),
                version: version.clone(),
                epoch: None,
                arch: None,
                source: kind.is_os().then(|| SourcePackage {
                    name: name.clone(),
                    version: version.clone(),
                }),
                purl: format!("pkg:{}/{name}@{version}", kind.purl_type()),
                licenses: vec![],
                layer: None,
                evidence: vec![],
            });
        }
    }
    packages
}

fn bench(c: &mut Criterion) {
    drop(open_real_db("match-bench-db"));
    let db_path = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("match-bench-db/data/advisories.db");
    let pool: Vec<Pool> = MIX
        .iter()
        .map(|(eco, kind, _)| (eco.to_string(), names_with_advisories(eco), *kind))
        .collect();
    let bullseye = Distro {
        id: "debian".into(),
        version_id: "11".into(),
        ..Default::default()
    };
    let one = inventory(&pool, 0);
    assert_eq!(one.len(), 1000);

    let mut group = c.benchmark_group("matching");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("match_1000_packages_cold", |b| {
        b.iter(|| {
            // A fresh connection each time: no SQLite page cache carried over.
            let source = DbSource(AdvisoryDb::open(&db_path).unwrap());
            let report = match_packages(&source, black_box(&one), Some(&bullseye)).unwrap();
            black_box(report.findings.len())
        })
    });
    group.finish();

    // Re-assessment: as many stored inventories as fit in about 20 s of one core.
    let source = MemoizedSource::new(DbSource(AdvisoryDb::open(&db_path).unwrap()));
    let stored: Vec<Vec<Package>> = (0..50).map(|v| inventory(&pool, v)).collect();
    let started = Instant::now();
    let mut inventories = 0usize;
    let mut findings = 0usize;
    while started.elapsed() < Duration::from_secs(20) && inventories < 10_000 {
        let inv = &stored[inventories % stored.len()];
        let report = match_packages(&source, inv, Some(&bullseye)).unwrap();
        findings += report.findings.len();
        inventories += 1;
    }
    let elapsed = started.elapsed();
    let per = elapsed / inventories as u32;
    println!(
        "reassess_inventories: {inventories} inventories of 1,000 packages in {:.2} s \
         ({:.2} ms each, {findings} findings); extrapolated to 10,000: {:.1} s",
        elapsed.as_secs_f64(),
        per.as_secs_f64() * 1000.0,
        per.as_secs_f64() * 10_000.0
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);

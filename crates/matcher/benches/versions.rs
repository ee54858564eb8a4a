//! Version comparison speed: 100k Debian and 100k PyPI pairs drawn from the shared test
//! vectors (read at start-up, never copied into the repository), plus OSV range
//! evaluation. Prints ns per comparison through criterion's per-iteration time.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use crowsnest_matcher::VersionScheme;

const PAIRS: usize = 100_000;

/// The `A op B` pairs of a vector file, repeated to `PAIRS` entries.
fn pairs(file: &str) -> Vec<(String, String)> {
    let path = crowsnest_testbed::shared()
        .join("testvectors/versions")
        .join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let base: Vec<(String, String)> = text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("//"))
        .filter_map(|l| {
            let mut f = l.split(' ');
            let (a, _, b) = (f.next()?, f.next()?, f.next()?);
            Some((a.to_owned(), b.to_owned()))
        })
        .collect();
    assert!(!base.is_empty(), "{file} has no pairs");
    base.iter().cycle().take(PAIRS).cloned().collect()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("compare_100k");
    group.sample_size(10);
    group.throughput(Throughput::Elements(PAIRS as u64));
    for (name, scheme, file) in [
        ("dpkg", VersionScheme::Dpkg, "debian-versions-generated.txt"),
        (
            "pep440",
            VersionScheme::Pep440,
            "pypi-versions-generated.txt",
        ),
        ("apk", VersionScheme::Apk, "alpine-versions-generated.txt"),
        (
            "maven",
            VersionScheme::Maven,
            "maven-versions-generated.txt",
        ),
    ] {
        let pairs = pairs(file);
        group.bench_function(name, |b| {
            b.iter(|| {
                for (x, y) in &pairs {
                    black_box(scheme.compare(black_box(x), black_box(y)).ok());
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

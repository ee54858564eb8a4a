//! Full sync from the local mirror (../shared/feeds as a directory), then an incremental
//! re-sync of unchanged feeds (target: the full sync under 60 s); then the time to look
//! up the advisories of 1,000 real package names, the query a matcher makes per package.
//!
//! Run: `cargo bench -p crowsnest-feeds --bench sync` (optionally with
//! `CROWSNEST_BENCH_RUNS=N`). Prints the median, min and max of each.

use std::time::{Duration, Instant};

use crowsnest_feeds::{AdvisoryDb, SourceSpec, SyncOptions, db_path, sync};

fn main() {
    let runs: usize = std::env::var("CROWSNEST_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let mirror = crowsnest_testbed::shared().join("feeds");
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let mut full = Vec::new();
    let mut incremental = Vec::new();
    let mut records = 0;
    let mut lookups = Vec::new();
    let names = package_names(&mirror, 1_000);
    for _ in 0..runs {
        let data = tempfile::tempdir().expect("temp dir");
        let opts = SyncOptions::new(data.path(), SourceSpec::Directory(mirror.clone()));
        let started = Instant::now();
        rt.block_on(sync(&opts, |_| {})).expect("full sync");
        full.push(started.elapsed());
        let started = Instant::now();
        rt.block_on(sync(&opts, |_| {})).expect("incremental sync");
        incremental.push(started.elapsed());
        let db = AdvisoryDb::open(&db_path(data.path())).expect("open");
        records = db.advisory_count().expect("count");
        let started = Instant::now();
        let mut found = 0;
        for (ecosystem, name) in &names {
            found += db.advisories_for(ecosystem, name).expect("query").len();
        }
        lookups.push(started.elapsed());
        assert!(found >= names.len(), "every name comes from an advisory");
    }
    report("full sync from the directory mirror", &mut full);
    report("re-sync, nothing changed", &mut incremental);
    report(&format!("advisories_for x {}", names.len()), &mut lookups);
    println!("advisory records: {records}");
}

/// (ecosystem, name) pairs named by advisories of the mirror, spread over ecosystems.
fn package_names(mirror: &std::path::Path, count: usize) -> Vec<(String, String)> {
    let mut names = std::collections::BTreeSet::new();
    let ecosystems = [
        "Debian",
        "Alpine",
        "PyPI",
        "Go",
        "crates.io",
        "AlmaLinux",
        "Maven",
        "npm",
    ];
    for eco in ecosystems {
        let file = std::fs::File::open(mirror.join("osv").join(eco).join("all.zip")).expect("zip");
        let mut zip = zip::ZipArchive::new(file).expect("zip");
        let per_ecosystem = names.len() + count / ecosystems.len();
        for i in 0..zip.len() {
            if names.len() >= per_ecosystem {
                break;
            }
            let mut text = String::new();
            std::io::Read::read_to_string(&mut zip.by_index(i).expect("member"), &mut text)
                .expect("read");
            let advisory: crowsnest_model::advisory::Advisory =
                serde_json::from_str(&text).expect("json");
            for p in advisory.affected.iter().filter_map(|a| a.package.as_ref()) {
                names.insert((p.ecosystem.clone(), p.name.clone()));
            }
        }
    }
    names.into_iter().take(count).collect()
}

fn report(name: &str, times: &mut [Duration]) {
    times.sort();
    println!(
        "{name}: median {:.2?}, min {:.2?}, max {:.2?} ({} runs)",
        times[times.len() / 2],
        times[0],
        times[times.len() - 1],
        times.len()
    );
}

//! Finding-query latency of the REST API on a store holding 2,000 images and 500,000
//! findings (synthetic, shaped like real ones), under concurrent clients on loopback.
//! Run through `scripts/bench/api`; prints p50/p99 per query kind and overall against
//! the target p99 < 50 ms.
//!
//! Environment: BENCH_IMAGES (2000), BENCH_FINDINGS_PER_IMAGE (250), BENCH_REQUESTS
//! (4000), BENCH_CONCURRENCY (32), BENCH_POSTGRES_URL (PostgreSQL instead of SQLite),
//! BENCH_DATA_DIR (keep the SQLite store there, e.g. for `crowsnest serve` to serve the
//! console benchmark of docs/benchmarks.md; default: a temporary directory).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crowsnest_api::{ApiConfig, ApiOptions, ApiState, auth};
use crowsnest_model::finding::{
    Exploitability, Finding, FindingPackage, FixStatus, KevStatus, Priority,
};
use crowsnest_model::{Digest, Package, PackageKind, Severity};
use crowsnest_store::{
    AnyStore, Assessment, ClusterSnapshot, ImageSighting, Inventory, PgOptions, PgStore,
    SqliteStore, Store, TokenRole,
};
use serde_json::json;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn digest(i: usize) -> Digest {
    format!("sha256:{i:064x}").parse().unwrap()
}

/// Deterministic pseudo-random numbers (xorshift), so runs compare.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn finding(rng: &mut Rng) -> Finding {
    let cve = rng.below(20_000);
    let pkg = rng.below(3_000);
    let severity = match rng.below(100) {
        0..5 => Severity::Critical,
        5..25 => Severity::High,
        25..65 => Severity::Medium,
        65..90 => Severity::Low,
        _ => Severity::Negligible,
    };
    let kev = rng.below(100) < 2;
    let exploit = kev || rng.below(100) < 5;
    let fix = match rng.below(10) {
        0..6 => FixStatus::FixAvailable,
        6..8 => FixStatus::NoFixAvailable,
        8 => FixStatus::WontFix,
        _ => FixStatus::Unknown,
    };
    Finding {
        id: format!("CVE-{}-{:05}", 2015 + cve % 10, cve),
        aliases: vec![format!("DEBIAN-CVE-{cve}")],
        package: FindingPackage {
            name: format!("lib{pkg}"),
            version: format!("1.{}.{}", pkg % 7, pkg % 13),
            kind: PackageKind::Deb,
            purl: format!(
                "pkg:deb/debian/lib{pkg}@1.{}.{}?arch=amd64",
                pkg % 7,
                pkg % 13
            ),
            ecosystem: "Debian:12".into(),
            layer: None,
            matched_source: None,
            identity: None,
        },
        installed_version: format!("1.{}.{}", pkg % 7, pkg % 13),
        fixed_versions: if fix == FixStatus::FixAvailable {
            vec![format!("1.{}.{}", pkg % 7, pkg % 13 + 1)]
        } else {
            vec![]
        },
        fix_status: fix,
        severity,
        severity_source: Some("CVSS_V3".into()),
        cvss: None,
        summary: Some(format!(
            "A flaw in lib{pkg} allows attackers to do something bad (CVE {cve})."
        )),
        references: vec![],
        exploitability: Exploitability {
            in_kev: kev,
            exploit_published: exploit,
            kev: kev.then(|| KevStatus {
                date_added: "2024-01-02".into(),
                due_date: None,
                ransomware: false,
            }),
            ..Default::default()
        },
        priority: Priority {
            score: rng.below(100) as f64,
            reasons: vec!["severity".into()],
        },
        advisories: vec![format!("DSA-{cve}")],
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let images = env("BENCH_IMAGES", 2_000);
    let per_image = env("BENCH_FINDINGS_PER_IMAGE", 250);
    let requests = env("BENCH_REQUESTS", 4_000);
    let concurrency = env("BENCH_CONCURRENCY", 32);
    let temporary = tempfile::tempdir().unwrap();
    let dir = std::env::var_os("BENCH_DATA_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| temporary.path().to_path_buf());
    let (store, backend) = match std::env::var("BENCH_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            client
                .batch_execute("DROP SCHEMA IF EXISTS api_bench CASCADE")
                .await
                .unwrap();
            let options = PgOptions {
                schema: Some("api_bench".into()),
                max_connections: 16,
                ..PgOptions::default()
            };
            (
                AnyStore::Postgres(PgStore::connect(&url, &options).await.unwrap()),
                "PostgreSQL",
            )
        }
        _ => (
            AnyStore::Sqlite(SqliteStore::open_dir(&dir).await.unwrap()),
            "SQLite",
        ),
    };
    let store = Arc::new(store);
    eprintln!("populating {backend}: {images} images × {per_image} findings");
    let started = Instant::now();
    let reg = store
        .upsert_registry("https://registry.bench")
        .await
        .unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for i in 0..images {
        let repo = store
            .upsert_repository(reg, &format!("team{}/app{}", i % 20, i % 100))
            .await
            .unwrap();
        let d = digest(i + 1);
        store
            .record_image(
                repo,
                &ImageSighting {
                    digest: d.clone(),
                    media_type: "application/vnd.oci.image.manifest.v1+json".into(),
                    platform: Some("linux/amd64".into()),
                    created: None,
                    pushed: Some(time::OffsetDateTime::now_utc()),
                    tags: vec![format!("v{i}")],
                },
            )
            .await
            .unwrap();
        let inventory = Inventory {
            cataloger_version: "bench".into(),
            distro: None,
            packages: vec![Package {
                kind: PackageKind::Deb,
                name: "libc6".into(),
                version: "2.36".into(),
                epoch: None,
                arch: None,
                source: None,
                purl: "pkg:deb/debian/libc6@2.36".into(),
                licenses: vec![],
                layer: None,
                evidence: vec![],
                identity: None,
            }],
            created: None,
        };
        store.put_inventory(&d, &inventory).await.unwrap();
        let findings = (0..per_image).map(|_| finding(&mut rng)).collect();
        store
            .put_assessment(
                &d,
                &Assessment {
                    cataloger_version: "bench".into(),
                    feed_version: "bench".into(),
                    assessed: time::OffsetDateTime::now_utc(),
                    findings,
                },
            )
            .await
            .unwrap();
        if (i + 1) % 500 == 0 {
            eprintln!("  {} images in {:.0?}", i + 1, started.elapsed());
        }
    }
    // 300 images run in 30 namespaces of one cluster.
    let pods: Vec<_> = (0..300)
        .map(|i| json!({
            "metadata": {"namespace": format!("ns-{}", i % 30), "name": format!("pod-{i}")},
            "spec": {"containers": [{"name": "c", "image": format!("registry.bench/app@{}", digest(i * 5 + 1))}]},
        }))
        .collect();
    store
        .put_cluster_snapshot(&ClusterSnapshot {
            cluster_id: "bench".into(),
            taken: time::OffsetDateTime::now_utc(),
            status: "ok".into(),
            snapshot: json!({"objects": {"pods": pods}}),
        })
        .await
        .unwrap();
    eprintln!("populated in {:.1?}", started.elapsed());

    let token = auth::generate_token().unwrap();
    store
        .create_api_token("bench", TokenRole::Read, &auth::token_hash(&token))
        .await
        .unwrap();
    let state = ApiState::new(Arc::clone(&store), ApiConfig::new(dir.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(crowsnest_api::serve_on(
        listener,
        ApiOptions::default(),
        state,
        std::future::pending(),
    ));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();

    // A cursor into the middle of the unfiltered list, for the "next page" query.
    let first: serde_json::Value = client
        .get(format!("{base}/api/v1/findings?limit=100"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cursor = first["next"].as_str().unwrap().to_string();
    let kinds: Vec<(&str, String)> = vec![
        ("all, first page", "/api/v1/findings".into()),
        (
            "all, next page",
            format!("/api/v1/findings?cursor={cursor}"),
        ),
        (
            "severity=critical",
            "/api/v1/findings?severity=critical".into(),
        ),
        (
            "severity=critical,high&fixStatus=FixAvailable",
            "/api/v1/findings?severity=critical,high&fixStatus=FixAvailable".into(),
        ),
        ("kev=true", "/api/v1/findings?kev=true".into()),
        (
            "exploit=true&severity=high",
            "/api/v1/findings?exploit=true&severity=high".into(),
        ),
        ("package=lib1234", "/api/v1/findings?package=lib1234".into()),
        (
            "cve=CVE-2019-01234",
            "/api/v1/findings?cve=CVE-2019-01234".into(),
        ),
        (
            "image=<digest>",
            format!("/api/v1/findings?image={}", digest(777)),
        ),
        ("namespace=ns-7", "/api/v1/findings?namespace=ns-7".into()),
        (
            "namespace=ns-7&severity=critical",
            "/api/v1/findings?namespace=ns-7&severity=critical".into(),
        ),
    ];
    // Warm-up: every query once.
    for (_, path) in &kinds {
        let r = client
            .get(format!("{base}{path}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
    }
    let work: Vec<usize> = (0..requests).map(|i| i % kinds.len()).collect();
    let started = Instant::now();
    let results: Vec<(usize, Duration, bool)> = futures::stream::iter(work)
        .map(|k| {
            let r = client
                .get(format!("{base}{}", kinds[k].1))
                .bearer_auth(&token);
            async move {
                let t = Instant::now();
                let ok = match r.send().await {
                    Ok(resp) => resp.status().is_success() && resp.bytes().await.is_ok(),
                    Err(_) => false,
                };
                (k, t.elapsed(), ok)
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let wall = started.elapsed();
    let errors = results.iter().filter(|r| !r.2).count();
    let pct = |mut v: Vec<Duration>, p: f64| -> f64 {
        v.sort();
        let i = ((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1;
        v[i].as_secs_f64() * 1000.0
    };
    println!(
        "backend: {backend}; {images} images, {} findings; {requests} requests, {concurrency} concurrent; {:.0} req/s; errors: {errors}",
        images * per_image,
        requests as f64 / wall.as_secs_f64()
    );
    println!(
        "{:<48} {:>9} {:>9}",
        "query (limit=100)", "p50 ms", "p99 ms"
    );
    for (k, (name, _)) in kinds.iter().enumerate() {
        let times: Vec<Duration> = results.iter().filter(|r| r.0 == k).map(|r| r.1).collect();
        println!(
            "{:<48} {:>9.1} {:>9.1}",
            name,
            pct(times.clone(), 0.5),
            pct(times, 0.99)
        );
    }
    let all: Vec<Duration> = results.iter().map(|r| r.1).collect();
    let p99 = pct(all.clone(), 0.99);
    println!(
        "{:<48} {:>9.1} {:>9.1}   target p99 < 50 ms: {}",
        "all",
        pct(all, 0.5),
        p99,
        if p99 < 50.0 { "met" } else { "NOT met" }
    );
}

use futures::StreamExt as _;

//! `kill -9` of a real worker process in the middle of its job, on both back ends.
//!
//! The worker is this test binary itself, started again as a child process that runs
//! only [`crash_child_worker`]: it claims the job, keeps its lease alive, and writes
//! inventories in a loop, printing each one it has committed, until it is killed. The
//! parent then checks that every inventory the child reported is stored whole, that no
//! half-written inventory exists, that data written before is untouched, and that the job
//! is claimed again once the dead worker's lease runs out.

#[macro_use]
mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{Harness, digest, distro, package};
use crowsnest_store::{
    AnyStore, ImageSighting, Inventory, JobSpec, JobState, PgOptions, PgStore, SqliteStore, Store,
};

/// Tells the child which database to use: `sqlite|<file>|` or `postgres|<url>|<schema>`.
const CHILD_ENV: &str = "CROWSNEST_STORE_CRASH_CHILD";
const PACKAGES_PER_INVENTORY: usize = 5_000;
const CHILD_LEASE: Duration = Duration::from_millis(1_500);

both_backends!(killed_worker_loses_nothing_and_its_job_is_reclaimed);

fn inventory(n: usize) -> Inventory {
    Inventory {
        cataloger_version: "catalog-1".into(),
        distro: Some(distro()),
        packages: (0..n).map(package).collect(),
        created: None,
    }
}

fn sighting(d: &crowsnest_model::Digest) -> ImageSighting {
    ImageSighting {
        digest: d.clone(),
        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        platform: None,
        created: None,
        pushed: None,
        tags: vec![],
    }
}

async fn killed_worker_loses_nothing_and_its_job_is_reclaimed(h: Harness) {
    // Data committed before the crash.
    let reg = h
        .store
        .upsert_registry("https://registry.test")
        .await
        .unwrap();
    let repo = h.store.upsert_repository(reg, "app").await.unwrap();
    let before = digest();
    h.store
        .record_image(repo, &sighting(&before))
        .await
        .unwrap();
    h.store
        .put_inventory(&before, &inventory(10))
        .await
        .unwrap();
    let job = h
        .store
        .enqueue(&JobSpec::new(
            "scan-image",
            "app@latest",
            serde_json::json!({"repo": repo.0}),
        ))
        .await
        .unwrap()
        .id();

    let (backend, location, schema) = h.location();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "crash_child_worker",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, format!("{backend}|{location}|{schema}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the worker process");
    let (lines_tx, lines) = mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut committed = Vec::new();
    let mut commit_times = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut claimed = None;
    // Kill once the child has committed three inventories and is inside the next one.
    while committed.len() < 3 {
        let line = lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the worker process stopped reporting");
        // libtest may print `test crash_child_worker ... ` ahead of the child's first line.
        if let Some(rest) = after(&line, "CLAIMED ") {
            claimed = Some(rest.to_string());
        } else if let Some(d) = after(&line, "COMMITTED ") {
            committed.push(d.parse::<crowsnest_model::Digest>().unwrap());
            commit_times.push(Instant::now());
        }
    }
    // Half a write cycle after the last commit: inside the next inventory's transaction
    // (inserting the rows is most of a cycle).
    let cycle = (commit_times[2] - commit_times[0]) / 2;
    std::thread::sleep(cycle / 2);
    child.kill().expect("kill -9 the worker"); // SIGKILL on Unix
    child.wait().unwrap();
    // Lines the child printed before it died still count as commits it reported.
    while let Ok(line) = lines.try_recv() {
        if let Some(d) = after(&line, "COMMITTED ") {
            committed.push(d.parse().unwrap());
        }
    }
    let claimed = claimed.expect("the worker claimed the job");
    assert_eq!(claimed, job.0.to_string());

    // Nothing committed is lost; nothing half-written exists.
    let before_inv = h
        .store
        .inventory(&before, "catalog-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(before_inv.packages.len(), 10);
    for d in &committed {
        let inv = h.store.inventory(d, "catalog-1").await.unwrap();
        let inv = inv.unwrap_or_else(|| panic!("committed inventory of {d} is missing"));
        assert_eq!(inv.packages, inventory(PACKAGES_PER_INVENTORY).packages);
    }
    let inventories = h.raw_count("SELECT COUNT(*) FROM inventories").await;
    let rows = h.raw_count("SELECT COUNT(*) FROM inventory_packages").await;
    assert!(
        inventories == 1 + committed.len() as i64 || inventories == 2 + committed.len() as i64,
        "{inventories} inventories for {} reported commits",
        committed.len()
    );
    assert_eq!(
        rows,
        10 + (inventories - 1) * PACKAGES_PER_INVENTORY as i64,
        "an inventory is stored partly"
    );
    eprintln!(
        "worker killed {:?} into a {cycle:?} write cycle, after {} reported commits; \
         {} inventory committed unreported",
        cycle / 2,
        committed.len(),
        inventories - 1 - committed.len() as i64
    );

    // The dead worker's job: held until its lease runs out, then claimed again.
    let held = h.store.job(job).await.unwrap().unwrap();
    assert_eq!(held.state, JobState::Running);
    assert!(held.lease_owner.unwrap().starts_with("child-"));
    let lease = loop {
        if let Some(lease) = h
            .store
            .claim("survivor", Duration::from_secs(60))
            .await
            .unwrap()
        {
            break lease;
        }
        assert!(Instant::now() < deadline, "the job was never released");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!((lease.job, lease.attempt), (job, 2));
    h.store.complete(&lease).await.unwrap();
    assert_eq!(
        h.store.job(job).await.unwrap().unwrap().state,
        JobState::Done
    );
}

/// The worker process of the test above; does nothing unless started by it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs only as the child process of killed_worker_loses_nothing_and_its_job_is_reclaimed"]
async fn crash_child_worker() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mut parts = spec.splitn(3, '|');
    let (backend, location, schema) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let store = match backend {
        "sqlite" => AnyStore::Sqlite(SqliteStore::open_file(location.as_ref()).await.unwrap()),
        _ => AnyStore::Postgres(
            PgStore::connect(
                location,
                &PgOptions {
                    schema: Some(schema.to_string()),
                    ..PgOptions::default()
                },
            )
            .await
            .unwrap(),
        ),
    };
    let store = std::sync::Arc::new(store);
    let worker = format!("child-{}", std::process::id());
    let lease = store.claim(&worker, CHILD_LEASE).await.unwrap().unwrap();
    println!("CLAIMED {}", lease.job.0);
    let heartbeat = {
        let store = store.clone();
        let mut lease = lease.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(CHILD_LEASE / 4).await;
                lease = store.renew(&lease, CHILD_LEASE).await.unwrap();
            }
        })
    };
    let reg = store
        .upsert_registry("https://registry.test")
        .await
        .unwrap();
    let repo = store.upsert_repository(reg, "app").await.unwrap();
    let big = inventory(PACKAGES_PER_INVENTORY);
    for _ in 0..1_000 {
        let d = digest_for_child();
        store.record_image(repo, &sighting(&d)).await.unwrap();
        store.put_inventory(&d, &big).await.unwrap();
        println!("COMMITTED {d}");
    }
    heartbeat.abort();
    panic!("the worker was not killed in time");
}

fn after<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    line.find(marker).map(|i| &line[i + marker.len()..])
}

/// Digests unique across the parent and child processes.
fn digest_for_child() -> crowsnest_model::Digest {
    let local = digest();
    format!("sha256:{:08x}{}", std::process::id(), &local.hex()[8..])
        .parse()
        .unwrap()
}

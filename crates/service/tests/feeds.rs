//! Feed syncs through the service's worker, against the real feeds of ../shared/feeds
//! used as a mirror directory.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crowsnest_service::config::Config;
use crowsnest_service::worker::{self, WorkerOptions};
use crowsnest_service::{CancellationToken, Service, assess, jobs};
use crowsnest_store::{Store, TargetKind, TargetStatus};

fn config(data_dir: &Path, mirror: &Path) -> Config {
    let text = format!(
        "data_dir = {data_dir:?}\n[feeds]\nmirror = {mirror:?}\n\
         [schedules]\nretry_base = \"1s\"\nretry_max = \"2s\"\njob_lease = \"6s\"\n"
    );
    Config::parse(&text, "test.toml").unwrap()
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

async fn feeds_status(service: &Service) -> Option<TargetStatus> {
    service
        .store
        .target_statuses()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.kind == TargetKind::Feeds)
}

/// Runs one worker until `done` holds (bounded), then stops it.
async fn work_until<F, Fut>(service: &Arc<Service>, what: &str, done: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let shutdown = CancellationToken::new();
    let worker = tokio::spawn(worker::run(
        Arc::clone(service),
        WorkerOptions::new("test-worker"),
        shutdown.clone(),
    ));
    let start = Instant::now();
    while !done().await {
        assert!(
            start.elapsed() < Duration::from_secs(180),
            "timed out: {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    shutdown.cancel();
    worker.await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_feed_sync_keeps_the_old_database_and_shows_in_the_feeds_status() {
    let feeds = crowsnest_testbed::shared().join("feeds");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let good = Arc::new(Service::open(config(&data, &feeds)).await.unwrap());

    good.store.enqueue(&jobs::sync_feeds()).await.unwrap();
    work_until(&good, "the first sync", || async {
        feeds_status(&good)
            .await
            .is_some_and(|s| s.last_success.is_some())
    })
    .await;
    let version = assess::feed_version(&data).expect("a database after the sync");
    let old = crowsnest_feeds::AdvisoryDb::open(&crowsnest_feeds::db_path(&data))
        .unwrap()
        .advisory_count()
        .unwrap();
    assert!(old > 0);

    // The same mirror with one archive damaged: the sync must fail and change nothing.
    let broken_mirror = dir.path().join("broken");
    copy_tree(&feeds, &broken_mirror);
    std::fs::write(
        broken_mirror.join("osv/Debian/all.zip"),
        b"PK\x03\x04 not a zip",
    )
    .unwrap();
    let broken = Arc::new(Service {
        config: config(&data, &broken_mirror),
        store: Arc::clone(&good.store),
        scan_observer: std::sync::OnceLock::new(),
        advisories: std::sync::Mutex::new(None),
    });
    broken.store.enqueue(&jobs::sync_feeds()).await.unwrap();
    work_until(&broken, "the failed sync", || async {
        feeds_status(&broken)
            .await
            .is_some_and(|s| s.consecutive_failures >= 1)
    })
    .await;
    let status = feeds_status(&broken).await.unwrap();
    let error = status.last_error.clone().unwrap();
    assert!(error.contains("Debian"), "{error}");
    assert!(status.last_success.is_some());
    assert!(status.next_attempt.is_some());
    assert_eq!(
        assess::feed_version(&data).as_deref(),
        Some(version.as_str())
    );
    let kept = crowsnest_feeds::AdvisoryDb::open(&crowsnest_feeds::db_path(&data))
        .unwrap()
        .advisory_count()
        .unwrap();
    assert_eq!(kept, old);
}

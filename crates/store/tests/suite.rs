//! The store's behaviour, run identically against SQLite and PostgreSQL.

#[macro_use]
mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use common::{Harness, digest, distro, finding, package};
use crowsnest_model::Severity;
use crowsnest_model::finding::FixStatus;
use crowsnest_store::{
    Assessment, ClusterSnapshot, Enqueued, FindingQuery, ImageQuery, ImageSighting, Inventory,
    JobQuery, JobSpec, JobState, RetryPolicy, Store, StoreError, TargetKind, TargetStatus,
    TokenRole, schema,
};
use time::OffsetDateTime;
use time::macros::datetime;

both_backends!(
    migrations_are_idempotent,
    newer_schema_is_refused,
    images_tags_and_locations,
    inventories_round_trip_and_replace,
    assessments_replace_and_follow_inventory,
    cluster_snapshots_latest,
    jobs_unique_key_and_order,
    expired_lease_is_reclaimed,
    renewed_lease_is_kept,
    failures_back_off_then_give_up,
    lease_expiring_on_last_attempt_fails_job,
    concurrent_workers_never_share_a_job,
    corrupt_rows_are_errors_naming_the_row,
    failed_inventory_write_leaves_nothing_half_done,
    schema_is_the_same_on_both_backends,
    repository_images_follow_polls,
    target_status_round_trip,
    findings_filter_and_paginate,
    placements_follow_the_latest_snapshot,
    lists_of_registries_images_snapshots_jobs,
    api_tokens_store_only_hashes,
);

fn sighting(
    d: &crowsnest_model::Digest,
    tags: &[&str],
    pushed: Option<OffsetDateTime>,
) -> ImageSighting {
    ImageSighting {
        digest: d.clone(),
        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        platform: Some("linux/amd64".into()),
        created: Some(datetime!(2024-05-01 10:00 UTC)),
        pushed,
        tags: tags.iter().map(|t| t.to_string()).collect(),
    }
}

fn inventory(version: &str, n: usize) -> Inventory {
    Inventory {
        cataloger_version: version.into(),
        distro: Some(distro()),
        packages: (0..n).map(package).collect(),
        created: None,
    }
}

/// Records an image in a fresh registry/repository and returns its digest.
async fn recorded_image(h: &Harness) -> crowsnest_model::Digest {
    let reg = h
        .store
        .upsert_registry("https://registry.test")
        .await
        .unwrap();
    let repo = h.store.upsert_repository(reg, "library/app").await.unwrap();
    let d = digest();
    h.store
        .record_image(
            repo,
            &sighting(&d, &["v1"], Some(OffsetDateTime::now_utc())),
        )
        .await
        .unwrap();
    d
}

async fn migrations_are_idempotent(h: Harness) {
    let latest = schema::latest_version();
    assert_eq!(h.store.schema_version().await.unwrap(), latest);
    let d = recorded_image(&h).await;
    // A second and third open (as a restart or another worker would) change nothing.
    for _ in 0..2 {
        let again = h.reopen().await.unwrap();
        assert_eq!(again.schema_version().await.unwrap(), latest);
        assert!(again.image(&d).await.unwrap().is_some());
    }
    assert_eq!(
        h.raw_count("SELECT COUNT(*) FROM schema_migrations").await,
        latest
    );
}

async fn newer_schema_is_refused(h: Harness) {
    h.raw("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'from a newer build', 0)")
        .await;
    let err = h
        .reopen()
        .await
        .err()
        .expect("a newer schema must be refused");
    assert!(
        matches!(err, StoreError::SchemaTooNew { found: 999, .. }),
        "{err}"
    );
}

async fn images_tags_and_locations(h: Harness) {
    let s = &h.store;
    let reg = s.upsert_registry("https://registry.test").await.unwrap();
    assert_eq!(
        s.upsert_registry("https://registry.test").await.unwrap(),
        reg
    );
    let app = s.upsert_repository(reg, "team/app").await.unwrap();
    let mirror = s.upsert_repository(reg, "mirror/app").await.unwrap();
    assert_eq!(s.upsert_repository(reg, "team/app").await.unwrap(), app);
    assert_ne!(app, mirror);

    let old = digest();
    let new = digest();
    let long_ago = datetime!(2020-01-01 0:00 UTC);
    let recent = OffsetDateTime::now_utc() - time::Duration::days(1);
    s.record_image(app, &sighting(&old, &["latest", "v1"], Some(long_ago)))
        .await
        .unwrap();
    s.record_image(mirror, &sighting(&old, &["v1"], Some(long_ago)))
        .await
        .unwrap();
    // `latest` moves to the new digest.
    s.record_image(app, &sighting(&new, &["latest", "v2"], Some(recent)))
        .await
        .unwrap();

    let img = s.image(&old).await.unwrap().unwrap();
    assert_eq!(img.digest, old);
    assert_eq!(img.platform.as_deref(), Some("linux/amd64"));
    assert_eq!(img.created, Some(datetime!(2024-05-01 10:00 UTC)));
    let places: Vec<_> = img
        .locations
        .iter()
        .map(|l| (l.repository.as_str(), l.tags.clone()))
        .collect();
    assert_eq!(
        places,
        vec![
            ("mirror/app", vec!["v1".to_string()]),
            ("team/app", vec!["v1".to_string()])
        ]
    );
    let img = s.image(&new).await.unwrap().unwrap();
    assert_eq!(img.locations[0].tags, vec!["latest", "v2"]);
    assert_eq!(
        img.locations[0].pushed.map(|t| t.unix_timestamp()),
        Some(recent.unix_timestamp())
    );

    let since = OffsetDateTime::now_utc() - time::Duration::days(90);
    assert_eq!(
        s.images_pushed_since(since).await.unwrap(),
        vec![new.clone()]
    );

    // Deleted from the registry: it drops out of the results.
    assert!(s.forget_image(app, &new).await.unwrap());
    assert!(!s.forget_image(app, &new).await.unwrap());
    assert!(s.images_pushed_since(since).await.unwrap().is_empty());
    assert!(s.image(&new).await.unwrap().unwrap().locations.is_empty());
    assert!(s.image(&digest()).await.unwrap().is_none());
}

async fn inventories_round_trip_and_replace(h: Harness) {
    let s = &h.store;
    let d = recorded_image(&h).await;
    let inv = inventory("catalog-1", 25);
    s.put_inventory(&d, &inv).await.unwrap();
    let got = s.inventory(&d, "catalog-1").await.unwrap().unwrap();
    assert_eq!(got.packages, inv.packages);
    assert_eq!(got.distro, inv.distro);
    assert!(got.created.is_some());

    // Same cataloger version: replaced, not added to.
    s.put_inventory(&d, &inventory("catalog-1", 3))
        .await
        .unwrap();
    assert_eq!(
        s.inventory(&d, "catalog-1")
            .await
            .unwrap()
            .unwrap()
            .packages
            .len(),
        3
    );
    // A new cataloger version keeps its own inventory beside the old one.
    s.put_inventory(&d, &inventory("catalog-2", 7))
        .await
        .unwrap();
    assert_eq!(
        s.inventory(&d, "catalog-1")
            .await
            .unwrap()
            .unwrap()
            .packages
            .len(),
        3
    );
    assert_eq!(
        s.inventory(&d, "catalog-2")
            .await
            .unwrap()
            .unwrap()
            .packages
            .len(),
        7
    );
    assert!(s.inventory(&d, "catalog-3").await.unwrap().is_none());

    // An empty inventory (a scratch image) is still an inventory.
    let empty = Inventory {
        distro: None,
        ..inventory("catalog-1", 0)
    };
    s.put_inventory(&d, &empty).await.unwrap();
    let got = s.inventory(&d, "catalog-1").await.unwrap().unwrap();
    assert!(got.packages.is_empty() && got.distro.is_none());

    // An inventory of an image never recorded is refused.
    let err = s
        .put_inventory(&digest(), &inventory("catalog-1", 1))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("inventory of sha256:"), "{err}");
    assert_eq!(
        h.raw_count("SELECT COUNT(*) FROM inventory_packages").await,
        7
    );
}

async fn assessments_replace_and_follow_inventory(h: Harness) {
    let s = &h.store;
    let d = recorded_image(&h).await;
    let assessment = |feed: &str, n: usize| Assessment {
        cataloger_version: "catalog-1".into(),
        feed_version: feed.into(),
        assessed: datetime!(2025-01-01 12:00 UTC),
        findings: (0..n).map(finding).collect(),
    };
    let err = s
        .put_assessment(&d, &assessment("feed-1", 2))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }), "{err}");

    s.put_inventory(&d, &inventory("catalog-1", 10))
        .await
        .unwrap();
    s.put_assessment(&d, &assessment("feed-1", 12))
        .await
        .unwrap();
    assert_eq!(
        s.assessment(&d).await.unwrap().unwrap(),
        assessment("feed-1", 12)
    );
    // After a feed update the findings are recomputed from the stored inventory and
    // replace the old ones as a whole.
    s.put_assessment(&d, &assessment("feed-2", 4))
        .await
        .unwrap();
    assert_eq!(
        s.assessment(&d).await.unwrap().unwrap(),
        assessment("feed-2", 4)
    );
    assert_eq!(h.raw_count("SELECT COUNT(*) FROM findings").await, 4);
    assert_eq!(
        h.raw_count("SELECT COUNT(*) FROM findings WHERE in_kev AND severity = 'high'")
            .await,
        2,
        "filter columns are filled"
    );
    // Re-extracting the inventory invalidates the assessment made from it.
    s.put_inventory(&d, &inventory("catalog-1", 10))
        .await
        .unwrap();
    assert!(s.assessment(&d).await.unwrap().is_none());
    assert_eq!(h.raw_count("SELECT COUNT(*) FROM findings").await, 0);
}

async fn cluster_snapshots_latest(h: Harness) {
    let s = &h.store;
    assert!(s.latest_cluster_snapshot("prod").await.unwrap().is_none());
    let snap = |taken, status: &str, n: i64| ClusterSnapshot {
        cluster_id: "prod".into(),
        taken,
        status: status.into(),
        snapshot: serde_json::json!({"pods": n, "names": ["a", "b"]}),
    };
    s.put_cluster_snapshot(&snap(datetime!(2025-01-01 10:00 UTC), "ok", 1))
        .await
        .unwrap();
    s.put_cluster_snapshot(&snap(datetime!(2025-01-01 11:00 UTC), "unreachable", 2))
        .await
        .unwrap();
    s.put_cluster_snapshot(&snap(datetime!(2025-01-01 09:00 UTC), "ok", 3))
        .await
        .unwrap();
    assert_eq!(
        s.latest_cluster_snapshot("prod").await.unwrap().unwrap(),
        snap(datetime!(2025-01-01 11:00 UTC), "unreachable", 2)
    );
    assert!(s.latest_cluster_snapshot("other").await.unwrap().is_none());
    let empty = ClusterSnapshot {
        cluster_id: String::new(),
        ..snap(OffsetDateTime::now_utc(), "ok", 0)
    };
    assert!(matches!(
        s.put_cluster_snapshot(&empty).await,
        Err(StoreError::Invalid { .. })
    ));
}

const LEASE: Duration = Duration::from_secs(60);

async fn jobs_unique_key_and_order(h: Harness) {
    let s = &h.store;
    let scan = JobSpec::new("scan-image", "sha256:aa", serde_json::json!({"repo": "x"}));
    let Enqueued::New(first) = s.enqueue(&scan).await.unwrap() else {
        panic!("first enqueue must add the job")
    };
    // The same kind and key while queued: not added again.
    assert_eq!(
        s.enqueue(&scan).await.unwrap(),
        Enqueued::AlreadyActive(first)
    );
    // Same key, other kind: a different job.
    let sync = JobSpec::new("sync-feeds", "sha256:aa", serde_json::json!(null));
    let second = s.enqueue(&sync).await.unwrap();
    assert!(matches!(second, Enqueued::New(id) if id != first));
    let later = JobSpec {
        not_before: Some(OffsetDateTime::now_utc() + time::Duration::hours(1)),
        ..JobSpec::new("snapshot", "prod", serde_json::json!({}))
    };
    s.enqueue(&later).await.unwrap();
    let depth = s.queue_depth().await.unwrap();
    assert_eq!((depth.ready, depth.delayed, depth.running), (2, 1, 0));

    let a = s.claim("w1", LEASE).await.unwrap().unwrap();
    assert_eq!(
        (a.job, a.kind.as_str(), a.attempt),
        (first, "scan-image", 1)
    );
    assert_eq!(a.payload, serde_json::json!({"repo": "x"}));
    // Running: still not queued again.
    assert_eq!(
        s.enqueue(&scan).await.unwrap(),
        Enqueued::AlreadyActive(first)
    );
    let b = s.claim("w1", LEASE).await.unwrap().unwrap();
    assert_eq!(b.job, second.id());
    // The delayed job is not claimable yet.
    assert!(s.claim("w1", LEASE).await.unwrap().is_none());
    assert_eq!(s.queue_depth().await.unwrap().running, 2);

    s.complete(&a).await.unwrap();
    assert_eq!(s.job(first).await.unwrap().unwrap().state, JobState::Done);
    assert!(matches!(
        s.complete(&a).await,
        Err(StoreError::LeaseLost { .. })
    ));
    // Finished: the key is free again.
    assert!(matches!(s.enqueue(&scan).await.unwrap(), Enqueued::New(id) if id != first));

    let invalid = JobSpec {
        max_attempts: 0,
        ..scan.clone()
    };
    assert!(matches!(
        s.enqueue(&invalid).await,
        Err(StoreError::Invalid { .. })
    ));
    assert!(
        s.job(crowsnest_store::JobId(987_654))
            .await
            .unwrap()
            .is_none()
    );
}

async fn expired_lease_is_reclaimed(h: Harness) {
    let s = &h.store;
    let id = s
        .enqueue(&JobSpec::new("scan-image", "k", serde_json::json!(1)))
        .await
        .unwrap()
        .id();
    let first = s
        .claim("dead-worker", Duration::from_millis(300))
        .await
        .unwrap()
        .unwrap();
    assert!(
        s.claim("w2", LEASE).await.unwrap().is_none(),
        "lease still held"
    );
    tokio::time::sleep(Duration::from_millis(450)).await;
    let second = s
        .claim("w2", LEASE)
        .await
        .unwrap()
        .expect("expired lease is claimable");
    assert_eq!(
        (second.job, second.attempt, second.worker.as_str()),
        (id, 2, "w2")
    );
    // The first worker comes back too late: everything it tries is refused.
    assert!(matches!(
        s.renew(&first, LEASE).await,
        Err(StoreError::LeaseLost { .. })
    ));
    assert!(matches!(
        s.complete(&first).await,
        Err(StoreError::LeaseLost { .. })
    ));
    assert!(matches!(
        s.fail(&first, "late", &RetryPolicy::default()).await,
        Err(StoreError::LeaseLost { .. })
    ));
    s.complete(&second).await.unwrap();
    let job = s.job(id).await.unwrap().unwrap();
    assert_eq!(
        (job.state, job.attempts, job.lease_owner.as_deref()),
        (JobState::Done, 2, Some("w2"))
    );
}

async fn renewed_lease_is_kept(h: Harness) {
    let s = &h.store;
    s.enqueue(&JobSpec::new("scan-image", "k", serde_json::json!(1)))
        .await
        .unwrap();
    let short = Duration::from_millis(400);
    let mut lease = s.claim("w1", short).await.unwrap().unwrap();
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let renewed = s.renew(&lease, short).await.unwrap();
        assert!(renewed.until >= lease.until);
        lease = renewed;
        assert!(
            s.claim("w2", LEASE).await.unwrap().is_none(),
            "renewed lease was taken"
        );
    }
    s.complete(&lease).await.unwrap();
}

async fn failures_back_off_then_give_up(h: Harness) {
    let s = &h.store;
    let retry = RetryPolicy {
        base: Duration::from_millis(400),
        max: Duration::from_secs(10),
    };
    let spec = JobSpec {
        max_attempts: 2,
        ..JobSpec::new("scan-image", "flaky", serde_json::json!(1))
    };
    let id = s.enqueue(&spec).await.unwrap().id();
    let lease = s.claim("w1", LEASE).await.unwrap().unwrap();
    assert_eq!(
        s.fail(&lease, "registry said 503", &retry).await.unwrap(),
        JobState::Queued
    );
    let job = s.job(id).await.unwrap().unwrap();
    assert_eq!(job.last_error.as_deref(), Some("registry said 503"));
    assert_eq!(s.queue_depth().await.unwrap().delayed, 1);
    assert!(
        s.claim("w1", LEASE).await.unwrap().is_none(),
        "claimed during backoff"
    );
    // Still one active job for the key while it waits.
    assert_eq!(s.enqueue(&spec).await.unwrap(), Enqueued::AlreadyActive(id));
    tokio::time::sleep(Duration::from_millis(550)).await;
    let lease = s
        .claim("w1", LEASE)
        .await
        .unwrap()
        .expect("claimable after backoff");
    assert_eq!(lease.attempt, 2);
    assert_eq!(
        s.fail(&lease, "again", &retry).await.unwrap(),
        JobState::Failed
    );
    let job = s.job(id).await.unwrap().unwrap();
    assert_eq!((job.state, job.attempts), (JobState::Failed, 2));
    assert!(s.claim("w1", LEASE).await.unwrap().is_none());
    // The failure stays findable by key (what quarantines a failing image), and only
    // under its own kind and key.
    let last = s.last_failed_job("scan-image", "flaky").await.unwrap();
    assert_eq!(
        last.map(|j| (j.id, j.last_error)),
        Some((id, Some("again".into())))
    );
    assert!(
        s.last_failed_job("scan-image", "other")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.last_failed_job("poll-registry", "flaky")
            .await
            .unwrap()
            .is_none()
    );
}

async fn lease_expiring_on_last_attempt_fails_job(h: Harness) {
    let s = &h.store;
    let spec = JobSpec {
        max_attempts: 1,
        ..JobSpec::new("scan-image", "crashy", serde_json::json!(1))
    };
    let id = s.enqueue(&spec).await.unwrap().id();
    s.claim("w1", Duration::from_millis(200))
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(s.claim("w2", LEASE).await.unwrap().is_none());
    let job = s.job(id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Failed);
    assert!(
        job.last_error.unwrap().contains("w1"),
        "the error names the worker"
    );
}

async fn concurrent_workers_never_share_a_job(h: Harness) {
    const JOBS: usize = 60;
    for i in 0..JOBS {
        h.store
            .enqueue(&JobSpec::new(
                "scan-image",
                format!("image-{i}"),
                serde_json::json!(i),
            ))
            .await
            .unwrap();
    }
    // Two independent handles (as two worker processes would have), two tasks each.
    let handles = [
        Arc::new(h.reopen().await.unwrap()),
        Arc::new(h.reopen().await.unwrap()),
    ];
    let mut tasks = Vec::new();
    for (n, store) in handles
        .iter()
        .flat_map(|s| [s.clone(), s.clone()])
        .enumerate()
    {
        tasks.push(tokio::spawn(async move {
            let worker = format!("worker-{n}");
            let mut mine = Vec::new();
            while let Some(lease) = store.claim(&worker, LEASE).await.unwrap() {
                mine.push(lease.job);
                // Hold the job across a yield so claims interleave.
                tokio::time::sleep(Duration::from_millis(2)).await;
                store.complete(&lease).await.unwrap();
            }
            mine
        }));
    }
    let mut seen = HashSet::new();
    let mut per_worker = Vec::new();
    for t in tasks {
        let mine = t.await.unwrap();
        per_worker.push(mine.len());
        for id in mine {
            assert!(seen.insert(id), "job {id:?} was claimed twice");
        }
    }
    assert_eq!(seen.len(), JOBS, "every job ran exactly once");
    assert!(
        per_worker.iter().filter(|n| **n > 0).count() >= 2,
        "work was shared: {per_worker:?}"
    );
    let depth = h.store.queue_depth().await.unwrap();
    assert_eq!((depth.ready, depth.running), (0, 0));
}

async fn corrupt_rows_are_errors_naming_the_row(h: Harness) {
    let s = &h.store;
    let d = recorded_image(&h).await;
    s.put_inventory(&d, &inventory("catalog-1", 3))
        .await
        .unwrap();

    h.raw("UPDATE inventory_packages SET package_json = '{\"kind\": \"deb\", \"nam' WHERE ordinal = 1")
        .await;
    let err = s.inventory(&d, "catalog-1").await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert!(
        err.to_string()
            .contains(&format!("package #1 of the inventory of {d}")),
        "{err}"
    );

    // Valid JSON of the wrong shape.
    h.raw("UPDATE inventory_packages SET package_json = '[1, 2, 3]' WHERE ordinal = 1")
        .await;
    assert!(matches!(
        s.inventory(&d, "catalog-1").await,
        Err(StoreError::Corrupt { .. })
    ));

    // A lost row: the header's count no longer matches.
    h.raw("DELETE FROM inventory_packages WHERE ordinal = 1")
        .await;
    let err = s.inventory(&d, "catalog-1").await.unwrap_err();
    assert!(
        err.to_string().contains("records 3 packages but has 2"),
        "{err}"
    );

    // A digest that is not one (the raw insert bypasses the store's checks).
    h.raw(
        "INSERT INTO images (digest, media_type, first_seen) VALUES ('sha256:../../etc/passwd', 'x', 0);
         INSERT INTO image_locations (repository_id, digest, pushed_at, last_seen)
         SELECT id, 'sha256:../../etc/passwd', 4102444800000, 0 FROM repositories;",
    )
    .await;
    let err = s
        .images_pushed_since(time::macros::datetime!(2000-01-01 0:00 UTC))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");

    // A time far outside what a date can hold.
    h.raw(&format!(
        "UPDATE images SET first_seen = {} WHERE digest = '{d}'",
        i64::MAX
    ))
    .await;
    let err = s.image(&d).await.unwrap_err();
    assert!(err.to_string().contains(&format!("image {d}")), "{err}");

    // Jobs: an unknown state and a payload that is not JSON.
    let id = s
        .enqueue(&JobSpec::new("scan-image", "k", serde_json::json!(1)))
        .await
        .unwrap()
        .id();
    h.raw(&format!(
        "UPDATE jobs SET payload_json = 'not json' WHERE id = {}",
        id.0
    ))
    .await;
    let err = s.job(id).await.unwrap_err();
    assert!(err.to_string().contains(&format!("job {}", id.0)), "{err}");
    assert!(matches!(
        s.claim("w1", LEASE).await,
        Err(StoreError::Corrupt { .. })
    ));

    s.put_cluster_snapshot(&ClusterSnapshot {
        cluster_id: "prod".into(),
        taken: OffsetDateTime::now_utc(),
        status: "ok".into(),
        snapshot: serde_json::json!({}),
    })
    .await
    .unwrap();
    h.raw("UPDATE cluster_snapshots SET snapshot_json = '{\"unterminated'")
        .await;
    let err = s.latest_cluster_snapshot("prod").await.unwrap_err();
    assert!(err.to_string().contains("cluster prod"), "{err}");
}

async fn failed_inventory_write_leaves_nothing_half_done(h: Harness) {
    let s = &h.store;
    let d = recorded_image(&h).await;
    s.put_inventory(&d, &inventory("catalog-1", 10))
        .await
        .unwrap();
    // A real fault from the database: a trigger that rejects the 500th package row, so
    // the write fails after 499 rows went in.
    if h.is_postgres() {
        h.raw(
            "CREATE FUNCTION reject_500th() RETURNS trigger AS $$
             BEGIN IF NEW.ordinal = 499 THEN RAISE EXCEPTION 'injected fault'; END IF; RETURN NEW; END;
             $$ LANGUAGE plpgsql;
             CREATE TRIGGER reject_500th BEFORE INSERT ON inventory_packages
             FOR EACH ROW EXECUTE FUNCTION reject_500th();",
        )
        .await;
    } else {
        h.raw(
            "CREATE TRIGGER reject_500th BEFORE INSERT ON inventory_packages
             WHEN NEW.ordinal = 499 BEGIN SELECT RAISE(ABORT, 'injected fault'); END;",
        )
        .await;
    }
    let err = s
        .put_inventory(&d, &inventory("catalog-1", 2_000))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains(&format!("inventory of {d}")),
        "{err}"
    );
    // The old inventory is whole, and none of the new rows stayed.
    let kept = s.inventory(&d, "catalog-1").await.unwrap().unwrap();
    assert_eq!(kept.packages, inventory("catalog-1", 10).packages);
    assert_eq!(
        h.raw_count("SELECT COUNT(*) FROM inventory_packages").await,
        10
    );
    assert_eq!(h.raw_count("SELECT COUNT(*) FROM inventories").await, 1);
}

/// The two dialects' migrations must produce the same tables and columns. Each back
/// end's test compares its live catalogue with the list below, so a column added to one
/// dialect only fails one of them.
async fn schema_is_the_same_on_both_backends(h: Harness) {
    let expected: &[(&str, &str)] = &[
        (
            "assessments",
            "assessed_at,digest,feed_version,finding_count,inventory_id",
        ),
        (
            "cluster_snapshots",
            "cluster_id,id,snapshot_json,status,taken_at",
        ),
        (
            "findings",
            "digest,exploit_published,finding_json,fix_status,in_kev,ordinal,package_name,severity,vulnerability_id",
        ),
        (
            "image_locations",
            "digest,last_seen,pushed_at,repository_id",
        ),
        ("image_tags", "digest,repository_id,tag"),
        ("images", "created_at,digest,first_seen,media_type,platform"),
        (
            "inventories",
            "cataloger_version,created_at,digest,distro_json,id,package_count",
        ),
        (
            "inventory_packages",
            "inventory_id,kind,name,ordinal,package_json,purl,version",
        ),
        (
            "jobs",
            "attempts,created_at,id,job_key,kind,last_error,lease_owner,lease_until,max_attempts,not_before,payload_json,state,updated_at",
        ),
        ("registries", "created_at,id,url"),
        ("repositories", "id,name,registry_id"),
        ("schema_migrations", "applied_at,name,version"),
        (
            "target_status",
            "consecutive_failures,id,kind,last_attempt,last_error,last_success,next_attempt",
        ),
        (
            "image_placements",
            "cluster_id,container,digest,image,namespace,pod,snapshot_id",
        ),
        ("api_tokens", "created_at,last_used,name,role,token_sha256"),
        (
            "console_sessions",
            "created_at,csrf_sha256,expires_at,id_sha256,token_name",
        ),
        (
            "setting_overrides",
            "kind,name,settings_json,updated_at,updated_by",
        ),
        ("settings_audit", "actor,at,id,kind,name,new_json,old_json"),
        (
            "saved_queries",
            "cluster,created_at,id,name,query_text,token_name",
        ),
    ];
    for (table, columns) in expected {
        let n = columns.split(',').count() as i64;
        let sql = if h.is_postgres() {
            format!(
                "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = current_schema()
                 AND table_name = '{table}' AND column_name IN ('{}')",
                columns.replace(',', "','")
            )
        } else {
            format!(
                "SELECT COUNT(*) FROM pragma_table_info('{table}') WHERE name IN ('{}')",
                columns.replace(',', "','")
            )
        };
        assert_eq!(h.raw_count(&sql).await, n, "columns of {table}");
    }
    let tables = if h.is_postgres() {
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()"
    } else {
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'"
    };
    assert_eq!(h.raw_count(tables).await, expected.len() as i64);
}

async fn repository_images_follow_polls(h: Harness) {
    let s = &h.store;
    let reg = s.upsert_registry("https://registry.test").await.unwrap();
    let repo = s.upsert_repository(reg, "team/app").await.unwrap();
    let other = s.upsert_repository(reg, "team/other").await.unwrap();
    assert!(s.repository_images(repo).await.unwrap().is_empty());
    let (a, b) = (digest(), digest());
    for d in [&a, &b] {
        s.record_image(repo, &sighting(d, &[], None)).await.unwrap();
    }
    s.record_image(other, &sighting(&a, &[], None))
        .await
        .unwrap();
    let mut both = vec![a.clone(), b.clone()];
    both.sort();
    assert_eq!(s.repository_images(repo).await.unwrap(), both);
    assert!(s.forget_image(repo, &a).await.unwrap());
    assert_eq!(s.repository_images(repo).await.unwrap(), vec![b.clone()]);
    assert_eq!(s.repository_images(other).await.unwrap(), vec![a.clone()]);
}

async fn target_status_round_trip(h: Harness) {
    let s = &h.store;
    assert!(s.target_statuses().await.unwrap().is_empty());
    let failing = TargetStatus {
        kind: TargetKind::Registry,
        id: "https://registry.test".into(),
        last_attempt: Some(datetime!(2025-01-01 10:00 UTC)),
        last_success: None,
        last_error: Some("connection refused".into()),
        consecutive_failures: 3,
        next_attempt: Some(datetime!(2025-01-01 10:04 UTC)),
    };
    let cluster = TargetStatus {
        kind: TargetKind::Cluster,
        id: "prod".into(),
        last_attempt: Some(datetime!(2025-01-01 10:00 UTC)),
        last_success: Some(datetime!(2025-01-01 10:00 UTC)),
        last_error: None,
        consecutive_failures: 0,
        next_attempt: None,
    };
    s.put_target_status(&failing).await.unwrap();
    s.put_target_status(&cluster).await.unwrap();
    assert_eq!(
        s.target_statuses().await.unwrap(),
        vec![cluster.clone(), failing.clone()]
    );
    // A later success replaces the row as a whole.
    let recovered = TargetStatus {
        last_success: Some(datetime!(2025-01-01 10:05 UTC)),
        last_error: None,
        consecutive_failures: 0,
        next_attempt: None,
        ..failing.clone()
    };
    s.put_target_status(&recovered).await.unwrap();
    assert_eq!(s.target_statuses().await.unwrap(), vec![cluster, recovered]);
    h.raw("UPDATE target_status SET kind = 'feeds', consecutive_failures = -1 WHERE id = 'prod'")
        .await;
    let err = s.target_statuses().await.unwrap_err();
    assert!(err.to_string().contains("status of feeds prod"), "{err}");
}

/// Stores an assessed image with `n` findings (see `common::finding` for which are high,
/// KEV, exploited) in a repository and returns its digest.
async fn assessed_image(h: &Harness, repo: &str, n: usize) -> crowsnest_model::Digest {
    let s = &h.store;
    let reg = s.upsert_registry("https://registry.test").await.unwrap();
    let repo = s.upsert_repository(reg, repo).await.unwrap();
    let d = digest();
    s.record_image(
        repo,
        &sighting(&d, &["v1"], Some(datetime!(2025-01-01 10:00 UTC))),
    )
    .await
    .unwrap();
    s.put_inventory(&d, &inventory("catalog-1", 1))
        .await
        .unwrap();
    s.put_assessment(
        &d,
        &Assessment {
            cataloger_version: "catalog-1".into(),
            feed_version: "feed-1".into(),
            assessed: datetime!(2025-01-01 12:00 UTC),
            findings: (0..n).map(finding).collect(),
        },
    )
    .await
    .unwrap();
    d
}

async fn findings_filter_and_paginate(h: Harness) {
    let s = &h.store;
    let a = assessed_image(&h, "team/a", 30).await;
    let b = assessed_image(&h, "team/b", 12).await;
    let all = |q: FindingQuery| async move {
        let mut q = FindingQuery { limit: 7, ..q };
        let mut out = Vec::new();
        loop {
            let page = s.findings(&q).await.unwrap();
            assert!(page.items.len() <= 7);
            out.extend(page.items);
            match page.next {
                Some(next) => q.after = Some(next),
                None => return out,
            }
        }
    };
    let every = all(FindingQuery::default()).await;
    assert_eq!(every.len(), 42);
    let mut keys: Vec<_> = every.iter().map(|f| f.key.clone()).collect();
    keys.dedup();
    assert_eq!(keys.len(), 42, "pages neither repeat nor skip");
    assert!(keys.windows(2).all(|w| w[0] < w[1]));

    let high = all(FindingQuery {
        severities: vec![Severity::High],
        ..Default::default()
    })
    .await;
    assert_eq!(high.len(), 15 + 6);
    assert!(high.iter().all(|f| f.finding.severity == Severity::High));
    let kev_b = all(FindingQuery {
        in_kev: Some(true),
        digest: Some(b.clone()),
        ..Default::default()
    })
    .await;
    assert_eq!(kev_b.len(), 6);
    assert!(
        kev_b
            .iter()
            .all(|f| f.key.digest == b && f.finding.exploitability.in_kev)
    );
    let not_exploited = all(FindingQuery {
        exploit_published: Some(false),
        ..Default::default()
    })
    .await;
    assert_eq!(not_exploited.len(), 20 + 8);
    let one = all(FindingQuery {
        vulnerability: Some("CVE-2024-00007".into()),
        package: Some("pkg7".into()),
        fix_status: Some(FixStatus::FixAvailable),
        ..Default::default()
    })
    .await;
    assert_eq!(one.len(), 2);
    let none = all(FindingQuery {
        fix_status: Some(FixStatus::WontFix),
        ..Default::default()
    })
    .await;
    assert!(none.is_empty());
    let hostile = all(FindingQuery {
        package: Some("x' OR '1'='1".into()),
        ..Default::default()
    })
    .await;
    assert!(hostile.is_empty());

    // Counts per severity for the metrics.
    let counts = s.finding_counts().await.unwrap();
    assert_eq!(counts.iter().map(|(_, n)| n).sum::<u64>(), 42);
    assert!(counts.contains(&(Severity::High, 21)), "{counts:?}");

    // Page sizes out of range are refused, not clamped silently.
    for limit in [0, 1_001] {
        let err = s
            .findings(&FindingQuery {
                limit,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Invalid { .. }), "{err}");
    }

    // An image deleted from its registry drops out of the results.
    let reg = s.upsert_registry("https://registry.test").await.unwrap();
    let repo = s.upsert_repository(reg, "team/a").await.unwrap();
    assert!(s.forget_image(repo, &a).await.unwrap());
    let left = all(FindingQuery::default()).await;
    assert_eq!(left.len(), 12);
    assert!(left.iter().all(|f| f.key.digest == b));

    h.raw("UPDATE findings SET finding_json = '{broken' WHERE ordinal = 3")
        .await;
    let err = s
        .findings(&FindingQuery {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("finding #3 of sha256:"), "{err}");
}

fn pods_snapshot(pods: &[(&str, &str, &crowsnest_model::Digest)]) -> serde_json::Value {
    let pods: Vec<_> = pods
        .iter()
        .map(|(ns, name, d)| {
            serde_json::json!({
                "metadata": {"namespace": ns, "name": name},
                "spec": {"containers": [{"name": "main", "image": "registry.test/app:v1"}]},
                "status": {"containerStatuses": [
                    {"name": "main", "imageID": format!("registry.test/app@{d}")}]}
            })
        })
        .collect();
    serde_json::json!({"clusterId": "prod", "objects": {"pods": pods}})
}

async fn placements_follow_the_latest_snapshot(h: Harness) {
    let s = &h.store;
    let a = assessed_image(&h, "team/a", 4).await;
    let b = assessed_image(&h, "team/b", 6).await;
    let put = |taken, snapshot: serde_json::Value, status: &str| {
        let snap = ClusterSnapshot {
            cluster_id: "prod".into(),
            taken,
            status: status.into(),
            snapshot,
        };
        async move { s.put_cluster_snapshot(&snap).await.unwrap() }
    };
    put(
        datetime!(2025-01-01 10:00 UTC),
        pods_snapshot(&[
            ("shop", "web-1", &a),
            ("shop", "web-2", &a),
            ("ops", "tool", &b),
        ]),
        "ok",
    )
    .await;
    let placed = s.image_placements(&a).await.unwrap();
    assert_eq!(placed.len(), 2);
    assert_eq!(
        (
            placed[0].namespace.as_str(),
            placed[0].pod.as_str(),
            placed[0].image.as_str()
        ),
        ("shop", "web-1", "registry.test/app:v1")
    );
    let in_ns = |ns: &str| FindingQuery {
        namespace: Some(ns.into()),
        limit: 100,
        ..Default::default()
    };
    let shop = s.findings(&in_ns("shop")).await.unwrap().items;
    assert_eq!(shop.len(), 4);
    assert!(shop.iter().all(|f| f.key.digest == a));
    assert_eq!(s.findings(&in_ns("ops")).await.unwrap().items.len(), 6);
    let elsewhere = FindingQuery {
        cluster: Some("staging".into()),
        ..in_ns("shop")
    };
    assert!(s.findings(&elsewhere).await.unwrap().items.is_empty());

    // A failed snapshot (no pod list) keeps what was running; an older snapshot
    // arriving late changes nothing; a newer one replaces the placements.
    put(
        datetime!(2025-01-01 11:00 UTC),
        serde_json::json!({"status": "unreachable"}),
        "unreachable",
    )
    .await;
    assert_eq!(s.findings(&in_ns("shop")).await.unwrap().items.len(), 4);
    put(
        datetime!(2025-01-01 09:00 UTC),
        pods_snapshot(&[("old", "x", &a)]),
        "ok",
    )
    .await;
    assert!(s.findings(&in_ns("old")).await.unwrap().items.is_empty());
    put(
        datetime!(2025-01-01 12:00 UTC),
        pods_snapshot(&[("shop", "web-1", &b)]),
        "ok",
    )
    .await;
    let shop = s.findings(&in_ns("shop")).await.unwrap().items;
    assert_eq!(shop.len(), 6);
    assert!(shop.iter().all(|f| f.key.digest == b));
    assert!(s.image_placements(&a).await.unwrap().is_empty());
}

async fn lists_of_registries_images_snapshots_jobs(h: Harness) {
    let s = &h.store;
    let a = assessed_image(&h, "team/a", 2).await;
    let reg = s.upsert_registry("https://registry.test").await.unwrap();
    let other_reg = s.upsert_registry("https://other.test").await.unwrap();
    let repo_b = s.upsert_repository(reg, "team/b").await.unwrap();
    let bare = digest();
    s.record_image(repo_b, &sighting(&bare, &["latest"], None))
        .await
        .unwrap();
    s.record_image(
        repo_b,
        &sighting(&a, &["copy"], Some(datetime!(2025-02-01 10:00 UTC))),
    )
    .await
    .unwrap();

    let registries = s.registries().await.unwrap();
    assert_eq!(
        registries
            .iter()
            .map(|r| (r.url.as_str(), r.repositories))
            .collect::<Vec<_>>(),
        vec![("https://other.test", 0), ("https://registry.test", 2)]
    );
    assert!(s.repositories(Some(other_reg)).await.unwrap().is_empty());
    let repos = s.repositories(None).await.unwrap();
    assert_eq!(
        repos
            .iter()
            .map(|r| (r.name.as_str(), r.images))
            .collect::<Vec<_>>(),
        vec![("team/a", 1), ("team/b", 2)]
    );

    let page = s
        .images(&ImageQuery {
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    let rest = s
        .images(&ImageQuery {
            limit: 10,
            after: page.next.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 1);
    assert!(rest.next.is_none());
    let mut both: Vec<_> = page.items.iter().chain(&rest.items).collect();
    both.sort_by(|x, y| x.digest.cmp(&y.digest));
    let img_a = both.iter().find(|i| i.digest == a).unwrap();
    assert_eq!(img_a.repositories, 2);
    assert_eq!(img_a.findings, Some(2));
    assert_eq!(img_a.last_pushed, Some(datetime!(2025-02-01 10:00 UTC)));
    let img_bare = both.iter().find(|i| i.digest == bare).unwrap();
    assert_eq!((img_bare.findings, img_bare.assessed), (None, None));
    let only_b = s
        .images(&ImageQuery {
            repository: Some(repo_b),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(only_b.items.len(), 2);
    let none = s
        .images(&ImageQuery {
            registry: Some(other_reg),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(none.items.is_empty());

    for (cluster, hour) in [("prod", 10), ("prod", 11), ("dev", 9)] {
        s.put_cluster_snapshot(&ClusterSnapshot {
            cluster_id: cluster.into(),
            taken: datetime!(2025-01-01 00:00 UTC) + time::Duration::hours(hour),
            status: "ok".into(),
            snapshot: serde_json::json!({"hour": hour}),
        })
        .await
        .unwrap();
    }
    let clusters = s.clusters().await.unwrap();
    assert_eq!(
        clusters
            .iter()
            .map(|c| (c.cluster_id.as_str(), c.snapshots))
            .collect::<Vec<_>>(),
        vec![("dev", 1), ("prod", 2)]
    );
    let prod = &clusters[1];
    assert_eq!(prod.taken, datetime!(2025-01-01 11:00 UTC));
    let got = s
        .cluster_snapshot(prod.latest_snapshot)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.snapshot, serde_json::json!({"hour": 11}));
    assert!(s.cluster_snapshot(987_654).await.unwrap().is_none());
    let first = s.cluster_snapshots(None, None, 2).await.unwrap();
    assert_eq!(first.items.len(), 2);
    assert!(first.items[0].id > first.items[1].id);
    let second = s.cluster_snapshots(None, first.next, 2).await.unwrap();
    assert_eq!(second.items.len(), 1);
    assert!(second.next.is_none());
    assert_eq!(
        s.cluster_snapshots(Some("dev"), None, 5)
            .await
            .unwrap()
            .items
            .len(),
        1
    );

    for key in ["a", "b", "c"] {
        s.enqueue(&JobSpec::new("scan-image", key, serde_json::json!({})))
            .await
            .unwrap();
    }
    s.enqueue(&JobSpec::new("sync-feeds", "all", serde_json::json!({})))
        .await
        .unwrap();
    let lease = s.claim("w", LEASE).await.unwrap().unwrap();
    s.complete(&lease).await.unwrap();
    let scans = s
        .jobs(&JobQuery {
            kind: Some("scan-image".into()),
            limit: 2,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        scans
            .items
            .iter()
            .map(|j| j.key.as_str())
            .collect::<Vec<_>>(),
        vec!["c", "b"]
    );
    let last = s
        .jobs(&JobQuery {
            kind: Some("scan-image".into()),
            limit: 2,
            before: scans.next,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(last.items.len(), 1);
    assert_eq!(last.items[0].state, JobState::Done);
    let queued = s
        .jobs(&JobQuery {
            state: Some(JobState::Queued),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(queued.items.len(), 3);
}

async fn api_tokens_store_only_hashes(h: Harness) {
    let s = &h.store;
    let hash = "ab".repeat(32);
    let t = s
        .create_api_token("ci-reader", TokenRole::Read, &hash)
        .await
        .unwrap();
    assert_eq!(
        (t.name.as_str(), t.role, t.last_used),
        ("ci-reader", TokenRole::Read, None)
    );
    let err = s
        .create_api_token("ci-reader", TokenRole::Admin, &"cd".repeat(32))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("ci-reader"), "{err}");
    for (name, hash) in [
        ("bad name!", "ab".repeat(32)),
        ("ok", "zz".repeat(32)),
        ("ok", "ab".into()),
    ] {
        assert!(matches!(
            s.create_api_token(name, TokenRole::Read, &hash).await,
            Err(StoreError::Invalid { .. })
        ));
    }
    s.create_api_token("ops", TokenRole::Admin, &"cd".repeat(32))
        .await
        .unwrap();
    assert!(s.use_api_token(&"ef".repeat(32)).await.unwrap().is_none());
    let used = s.use_api_token(&"AB".repeat(32)).await.unwrap().unwrap();
    assert_eq!(used.name, "ci-reader");
    assert!(used.last_used.is_some());
    let listed = s.api_tokens().await.unwrap();
    assert_eq!(
        listed.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        vec!["ci-reader", "ops"]
    );
    assert!(listed[0].last_used.is_some() && listed[1].last_used.is_none());
    assert_eq!(h.raw_count("SELECT COUNT(*) FROM api_tokens WHERE token_sha256 = 'abababababababababababababababababababababababababababababababab'").await, 1);
    assert!(s.revoke_api_token("ci-reader").await.unwrap());
    assert!(!s.revoke_api_token("ci-reader").await.unwrap());
    assert!(s.use_api_token(&hash).await.unwrap().is_none());
}

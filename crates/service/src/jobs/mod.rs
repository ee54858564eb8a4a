//! The job kinds the workers run, the specs the scheduler (and the API) enqueue, and the
//! dispatch from a claimed lease to its handler.
//!
//! | kind               | key             | does                                              |
//! |--------------------|-----------------|---------------------------------------------------|
//! | `poll-registry`    | registry name   | list, record sightings, forget deleted, enqueue scans |
//! | `scan-image`       | manifest digest | pull once, inventory, assess                      |
//! | `sync-feeds`       | `feeds`         | sync the advisory database, enqueue `reassess`    |
//! | `reassess`         | `all`           | re-match stored inventories, no pull              |
//! | `snapshot-cluster` | cluster name    | read-only snapshot, stored                        |
//!
//! The store runs at most one job per (kind, key) at a time, so a slow poll is never
//! doubled by the next tick and two pushes of one digest scan it once.

mod cluster;
mod feeds;
mod poll;
mod scan;

use crowsnest_model::Digest;
use crowsnest_store::{AnyStore, Job, JobSpec, Lease, Store, StoreError, TargetKind};
use serde::{Deserialize, Serialize};

use crate::Service;

pub use scan::CATALOGER_VERSION;

pub const POLL_REGISTRY: &str = "poll-registry";
pub const SCAN_IMAGE: &str = "scan-image";
pub const SYNC_FEEDS: &str = "sync-feeds";
pub const REASSESS: &str = "reassess";
pub const SNAPSHOT_CLUSTER: &str = "snapshot-cluster";

/// Attempts of one job before it is given up as failed; periodic jobs are enqueued
/// again at their next tick anyway.
const MAX_ATTEMPTS: u32 = 5;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryPayload {
    registry: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScanPayload {
    registry: String,
    repository: String,
    digest: Digest,
    /// The cataloger the scan ran with: a failure quarantines the image only until the
    /// cataloger changes.
    #[serde(default)]
    cataloger: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClusterPayload {
    cluster: String,
}

fn spec(kind: &str, key: &str, payload: serde_json::Value) -> JobSpec {
    JobSpec {
        max_attempts: MAX_ATTEMPTS,
        ..JobSpec::new(kind, key, payload)
    }
}

/// Poll the registry called `registry` in the configuration.
pub fn poll_registry(registry: &str) -> JobSpec {
    spec(
        POLL_REGISTRY,
        registry,
        serde_json::json!(RegistryPayload {
            registry: registry.to_string()
        }),
    )
}

/// Scan the image `digest`, found in `repository` of the registry called `registry`.
pub fn scan_image(registry: &str, repository: &str, digest: &Digest) -> JobSpec {
    spec(
        SCAN_IMAGE,
        &digest.to_string(),
        serde_json::json!(ScanPayload {
            registry: registry.to_string(),
            repository: repository.to_string(),
            digest: digest.clone(),
            cataloger: Some(scan::CATALOGER_VERSION.clone()),
        }),
    )
}

/// Why an image is not scanned again by every poll: its last scan job used all its
/// attempts and failed under the current cataloger. An admin retry (a new scan job) or
/// a new cataloger version lifts it.
pub async fn quarantine(store: &AnyStore, digest: &Digest) -> Result<Option<Job>, StoreError> {
    let Some(job) = store
        .last_failed_job(SCAN_IMAGE, &digest.to_string())
        .await?
    else {
        return Ok(None);
    };
    let cataloger = serde_json::from_value::<ScanPayload>(job.payload.clone())
        .ok()
        .and_then(|p| p.cataloger);
    Ok((cataloger.as_deref() == Some(scan::CATALOGER_VERSION.as_str())).then_some(job))
}

pub fn sync_feeds() -> JobSpec {
    spec(SYNC_FEEDS, "feeds", serde_json::json!({}))
}

pub fn reassess() -> JobSpec {
    spec(REASSESS, "all", serde_json::json!({}))
}

/// Snapshot the cluster called `cluster` in the configuration (also what the API
/// enqueues for an on-demand snapshot).
pub fn snapshot_cluster(cluster: &str) -> JobSpec {
    spec(
        SNAPSHOT_CLUSTER,
        cluster,
        serde_json::json!(ClusterPayload {
            cluster: cluster.to_string()
        }),
    )
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("unknown job kind {0:?}")]
    UnknownKind(String),
    #[error("job {kind}/{key}: payload: {reason}")]
    Payload {
        kind: String,
        key: String,
        reason: String,
    },
    #[error("{what} {name:?} is not in the configuration (removed since the job was queued?)")]
    NotConfigured { what: &'static str, name: String },
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("registry {registry}: {reason}")]
    Registry { registry: String, reason: String },
    #[error("image {image}: {reason}")]
    Image { image: String, reason: String },
    #[error("feeds: {0}")]
    Feeds(String),
    #[error("cluster {cluster}: {reason}")]
    Cluster { cluster: String, reason: String },
    #[error("{0}")]
    Assess(#[from] crate::assess::AssessError),
    #[error("the job's task failed: {0}")]
    Task(String),
}

fn payload<T: serde::de::DeserializeOwned>(lease: &Lease) -> Result<T, JobError> {
    serde_json::from_value(lease.payload.clone()).map_err(|e| JobError::Payload {
        kind: lease.kind.clone(),
        key: lease.key.clone(),
        reason: e.to_string(),
    })
}

/// The registry, cluster or feeds a job works on, for its status.
pub fn target_of(service: &Service, lease: &Lease) -> Option<(TargetKind, String)> {
    match lease.kind.as_str() {
        POLL_REGISTRY => {
            let p: RegistryPayload = payload(lease).ok()?;
            let host = service.config.registry(&p.registry)?.host().to_string();
            Some((TargetKind::Registry, host))
        }
        SNAPSHOT_CLUSTER => {
            let p: ClusterPayload = payload(lease).ok()?;
            Some((TargetKind::Cluster, p.cluster))
        }
        SYNC_FEEDS => Some((TargetKind::Feeds, crate::status::FEEDS_ID.to_string())),
        _ => None,
    }
}

/// A job's work, boxed so the worker can spawn it on the runtime.
type JobFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), JobError>> + Send + 'a>>;

/// Runs the job a lease holds.
pub fn run<'a>(service: &'a Service, lease: &'a Lease) -> JobFuture<'a> {
    match lease.kind.as_str() {
        POLL_REGISTRY => match payload::<RegistryPayload>(lease) {
            Ok(p) => Box::pin(async move { poll::run(service, &p.registry).await }),
            Err(e) => Box::pin(std::future::ready(Err(e))),
        },
        SCAN_IMAGE => match payload::<ScanPayload>(lease) {
            Ok(p) => Box::pin(async move {
                scan::run_limited(service, &p.registry, &p.repository, &p.digest).await
            }),
            Err(e) => Box::pin(std::future::ready(Err(e))),
        },
        SYNC_FEEDS => Box::pin(feeds::sync(service)),
        REASSESS => Box::pin(feeds::reassess(service)),
        SNAPSHOT_CLUSTER => match payload::<ClusterPayload>(lease) {
            Ok(p) => Box::pin(async move { cluster::run(service, &p.cluster).await }),
            Err(e) => Box::pin(std::future::ready(Err(e))),
        },
        other => Box::pin(std::future::ready(Err(JobError::UnknownKind(
            other.to_string(),
        )))),
    }
}

#[cfg(test)]
mod quarantine_tests {
    use super::*;
    use crowsnest_store::{RetryPolicy, SqliteStore};

    async fn fail_for_good(store: &AnyStore, spec: &JobSpec) {
        let spec = JobSpec {
            max_attempts: 1,
            ..spec.clone()
        };
        store.enqueue(&spec).await.unwrap();
        let lease = store
            .claim("w", std::time::Duration::from_secs(60))
            .await
            .unwrap()
            .unwrap();
        store
            .fail(&lease, "layer 0: boom", &RetryPolicy::default())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_failed_scan_quarantines_the_image_until_the_cataloger_changes() {
        let dir = tempfile::tempdir().unwrap();
        let store = AnyStore::Sqlite(
            SqliteStore::open_file(&dir.path().join("db"))
                .await
                .unwrap(),
        );
        let digest: Digest = format!("sha256:{}", "e".repeat(64)).parse().unwrap();
        assert!(quarantine(&store, &digest).await.unwrap().is_none());

        // Failed under an older cataloger: scanned again by the current one.
        let mut old = scan_image("reg", "app", &digest);
        old.payload["cataloger"] = "catalog/0".into();
        fail_for_good(&store, &old).await;
        assert!(quarantine(&store, &digest).await.unwrap().is_none());

        fail_for_good(&store, &scan_image("reg", "app", &digest)).await;
        let job = quarantine(&store, &digest).await.unwrap().unwrap();
        assert_eq!(job.last_error.as_deref(), Some("layer 0: boom"));
    }
}

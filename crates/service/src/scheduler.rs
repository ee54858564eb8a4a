//! The scheduler: enqueues the periodic jobs when they are due. The store drops a job
//! whose (kind, key) is already queued or running, so a slow or backing-off target is
//! never stacked up.
//!
//! The schedule lives in memory: at start every poll and snapshot is due at once (a
//! restarted service looks at its targets straight away), and the feed sync is due when
//! the database is missing or older than `feed_sync`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crowsnest_store::{JobSpec, Store};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::{Service, jobs};

/// Wait before trying again when the store refused an enqueue.
const ENQUEUE_RETRY: Duration = Duration::from_secs(5);

struct Periodic {
    spec: JobSpec,
    every: Duration,
    due: Instant,
}

/// The periodic jobs the configuration asks for, each with its first due time.
fn plan(service: &Service) -> Vec<Periodic> {
    let config = &service.config;
    let now = Instant::now();
    let mut out = Vec::new();
    for r in config
        .registries
        .iter()
        .filter(|r| r.assessment_enabled(&config.extensions))
    {
        out.push(Periodic {
            spec: jobs::poll_registry(&r.name),
            every: config.schedules.registry_poll.0,
            due: now,
        });
    }
    for c in config
        .clusters
        .iter()
        .filter(|c| c.discovery_enabled(&config.extensions))
    {
        out.push(Periodic {
            spec: jobs::snapshot_cluster(&c.name),
            every: config.schedules.cluster_snapshot.0,
            due: now,
        });
    }
    let every = config.schedules.feed_sync.0;
    let age = std::fs::metadata(crowsnest_feeds::db_path(&config.data_dir))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok());
    out.push(Periodic {
        spec: jobs::sync_feeds(),
        every,
        due: match age {
            Some(age) if age < every => now + (every - age),
            _ => now,
        },
    });
    out
}

/// Runs until `shutdown` is cancelled.
pub async fn run(service: Arc<Service>, shutdown: CancellationToken) {
    let mut periodic = plan(&service);
    tracing::info!(
        jobs = periodic.len(),
        registry_poll = %service.config.schedules.registry_poll,
        feed_sync = %service.config.schedules.feed_sync,
        cluster_snapshot = %service.config.schedules.cluster_snapshot,
        "scheduler started"
    );
    loop {
        let now = Instant::now();
        for p in periodic.iter_mut().filter(|p| p.due <= now) {
            match service.store.enqueue(&p.spec).await {
                Ok(outcome) => {
                    tracing::debug!(kind = %p.spec.kind, key = %p.spec.key, ?outcome, "scheduled");
                    p.due = now + p.every;
                }
                Err(e) => {
                    tracing::error!(kind = %p.spec.kind, key = %p.spec.key, error = %e, "enqueueing failed");
                    p.due = now + ENQUEUE_RETRY;
                }
            }
        }
        let next = periodic
            .iter()
            .map(|p| p.due)
            .min()
            .unwrap_or(now + ENQUEUE_RETRY);
        tokio::select! {
            () = tokio::time::sleep_until(next) => {}
            () = shutdown.cancelled() => break,
        }
    }
    tracing::info!("scheduler stopped");
}

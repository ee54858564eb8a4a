//! Workers: claim a job with a lease, keep the lease alive while working, and record the
//! outcome. A worker that dies leaves its lease to expire; another worker then claims
//! the job again (the store's queue guarantees one holder at a time).

use std::sync::Arc;
use std::time::Duration;

use crowsnest_store::{JobState, Lease, RetryPolicy, Store, StoreError};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use crate::{Service, jobs, status};

/// How a worker paces itself.
#[derive(Clone, Debug)]
pub struct WorkerOptions {
    /// Names the worker in leases and logs (unique per process and worker).
    pub name: String,
    /// How long a claim holds a job without a heartbeat. A killed worker's job is
    /// claimed again after this.
    pub lease: Duration,
    /// Wait between claims when the queue is empty.
    pub idle_poll: Duration,
    /// On shutdown, how long the current job may still run before it is interrupted
    /// and handed back to the queue.
    pub shutdown_grace: Duration,
}

impl WorkerOptions {
    pub fn new(name: impl Into<String>) -> Self {
        WorkerOptions {
            name: name.into(),
            lease: Duration::from_secs(60),
            idle_poll: Duration::from_millis(500),
            shutdown_grace: Duration::from_secs(20),
        }
    }
}

/// Runs one worker until `shutdown` is cancelled.
pub async fn run(service: Arc<Service>, opts: WorkerOptions, shutdown: CancellationToken) {
    tracing::info!(worker = %opts.name, "worker started");
    while !shutdown.is_cancelled() {
        match service.store.claim(&opts.name, opts.lease).await {
            Ok(Some(lease)) => work(&service, &opts, lease, &shutdown).await,
            Ok(None) => idle(opts.idle_poll, &shutdown).await,
            Err(e) => {
                tracing::error!(worker = %opts.name, error = %e, "claiming a job failed");
                idle(opts.idle_poll.max(Duration::from_secs(2)), &shutdown).await;
            }
        }
    }
    tracing::info!(worker = %opts.name, "worker stopped");
}

async fn idle(wait: Duration, shutdown: &CancellationToken) {
    tokio::select! {
        () = tokio::time::sleep(wait) => {}
        () = shutdown.cancelled() => {}
    }
}

/// How one claimed job ended.
enum Ended {
    Finished(Result<(), jobs::JobError>),
    /// Another worker holds the job now (this one stalled past its lease).
    LeaseLost,
    /// Shutdown came and the grace period ran out.
    Interrupted,
}

async fn work(
    service: &Arc<Service>,
    opts: &WorkerOptions,
    lease: Lease,
    shutdown: &CancellationToken,
) {
    let started = std::time::Instant::now();
    tracing::info!(worker = %opts.name, job = lease.job.0, kind = %lease.kind, key = %lease.key, attempt = lease.attempt, "job started");
    // The job runs in its own task: a panic in it is a failed attempt, not a dead worker.
    let task = {
        let service = Arc::clone(service);
        let lease = lease.clone();
        tokio::spawn(async move { jobs::run(&service, &lease).await })
    };
    let mut task = std::pin::pin!(task);
    let mut held = lease.clone();
    let heartbeat = opts.lease / 3;
    let mut grace_until: Option<tokio::time::Instant> = None;
    let ended = loop {
        let grace = async {
            match grace_until {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            joined = &mut task => {
                break Ended::Finished(joined.unwrap_or_else(|e| Err(jobs::JobError::Task(e.to_string()))));
            }
            () = tokio::time::sleep(heartbeat) => {
                match service.store.renew(&held, opts.lease).await {
                    Ok(renewed) => held = renewed,
                    Err(StoreError::LeaseLost { .. }) => break Ended::LeaseLost,
                    // A transient database error: keep working, the next beat retries
                    // well before the lease runs out.
                    Err(e) => tracing::warn!(job = held.job.0, error = %e, "renewing the lease failed"),
                }
            }
            () = shutdown.cancelled(), if grace_until.is_none() => {
                tracing::info!(job = held.job.0, grace_seconds = opts.shutdown_grace.as_secs(), "shutdown: finishing the current job");
                grace_until = Some(tokio::time::Instant::now() + opts.shutdown_grace);
            }
            () = grace => break Ended::Interrupted,
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    match ended {
        Ended::Finished(Ok(())) => match service.store.complete(&held).await {
            Ok(()) => {
                tracing::info!(job = held.job.0, kind = %held.kind, key = %held.key, seconds, "job done");
                if let Some((kind, id)) = jobs::target_of(service, &held) {
                    let next = service
                        .next_run(&held.kind)
                        .map(|d| OffsetDateTime::now_utc() + d);
                    if let Err(e) = status::succeeded(&service.store, kind, &id, next).await {
                        tracing::warn!(error = %e, "recording the target status failed");
                    }
                }
            }
            Err(e) => {
                tracing::warn!(job = held.job.0, error = %e, "completing the job failed (it will run again)")
            }
        },
        Ended::Finished(Err(error)) => {
            let text = error.to_string();
            let retry = service.retry_policy();
            match service.store.fail(&held, &text, &retry).await {
                Ok(state) => {
                    tracing::warn!(job = held.job.0, kind = %held.kind, key = %held.key, attempt = held.attempt, state = state.as_str(), error = %text, seconds, "job failed");
                    if let Some((kind, id)) = jobs::target_of(service, &held) {
                        let next = match state {
                            JobState::Queued => {
                                Some(OffsetDateTime::now_utc() + retry.delay(held.attempt))
                            }
                            _ => service
                                .next_run(&held.kind)
                                .map(|d| OffsetDateTime::now_utc() + d),
                        };
                        if let Err(e) = status::failed(&service.store, kind, &id, &text, next).await
                        {
                            tracing::warn!(error = %e, "recording the target status failed");
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(job = held.job.0, error = %e, "recording the failure failed (the lease will expire)")
                }
            }
        }
        Ended::LeaseLost => {
            task.abort();
            tracing::warn!(
                job = held.job.0,
                "lease lost to another worker: stopped working on the job"
            );
        }
        Ended::Interrupted => {
            task.abort();
            // Handed back at once rather than after the lease: the next worker (or this
            // process after a restart) takes it up without waiting. It counts as an
            // attempt.
            let now = RetryPolicy {
                base: Duration::ZERO,
                max: Duration::ZERO,
            };
            match service
                .store
                .fail(&held, "interrupted by shutdown", &now)
                .await
            {
                Ok(_) => tracing::info!(
                    job = held.job.0,
                    "job interrupted by shutdown and handed back"
                ),
                Err(e) => {
                    tracing::warn!(job = held.job.0, error = %e, "handing the job back failed (the lease will expire)")
                }
            }
        }
    }
}

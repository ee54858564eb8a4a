//! The continuous assessment service behind `crowsnest serve` and `crowsnest worker`.
//!
//! - [`config`]: the TOML configuration with environment overrides.
//! - [`scheduler`]: enqueues periodic jobs (registry polls, feed syncs, cluster snapshots).
//! - [`worker`]: claims jobs from the store's leased queue and runs them ([`jobs`]).
//! - [`run_service`] / [`run_workers`]: what the two commands run, until shutdown.
//!
//! Architecture invariants: everything the service knows is in the store (the
//! scheduler's in-memory timetable is rebuilt from scratch at start), so any process
//! can be killed at any moment and a restart carries on; credentials are resolved from
//! their references only when a job uses them and never enter the store or a log line.

pub mod assess;
pub mod config;
pub mod jobs;
pub mod scan_limits;
pub mod scheduler;
pub mod status;
pub mod worker;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use config::{Config, Registry};
use crowsnest_acquire::image::{AcquireError, AcquireOptions};
use crowsnest_acquire::registry::{RegistryClient, RegistryOptions};
use crowsnest_store::{AnyStore, RetryPolicy};

pub use tokio_util::sync::CancellationToken;

/// What every part of the service shares: the configuration and the store.
pub struct Service {
    pub config: Config,
    /// Shared with the API server.
    pub store: Arc<AnyStore>,
    /// Told how long each image scan took (pull, inventory, match, store), when someone
    /// listens: `crowsnest serve` feeds the API's scan-duration metric with it.
    pub scan_observer: std::sync::OnceLock<ScanObserver>,
    /// The advisory index of the current feed version, shared by every scan of this
    /// process so each package's advisories are compiled once per feed version rather
    /// than once per image (replaced when a sync swaps in a new database).
    pub advisories: std::sync::Mutex<Option<Arc<assess::Advisories>>>,
}

/// See [`Service::scan_observer`].
pub type ScanObserver = Box<dyn Fn(std::time::Duration) + Send + Sync>;

impl Service {
    /// Opens the store the configuration names (PostgreSQL when `database_url` is set,
    /// else SQLite under `data_dir`), running migrations.
    pub async fn open(config: Config) -> Result<Service, crowsnest_store::StoreError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            crowsnest_store::StoreError::Invalid {
                what: "data directory",
                reason: format!("{}: {e}", config.data_dir.display()),
            }
        })?;
        let store = AnyStore::open(
            config
                .database_url
                .as_ref()
                .map(config::DatabaseUrl::expose),
            &config.data_dir,
        )
        .await?;
        Ok(Service {
            config,
            store: Arc::new(store),
            scan_observer: std::sync::OnceLock::new(),
            advisories: std::sync::Mutex::new(None),
        })
    }

    /// The advisory index for the database now in the data directory: the cached one
    /// while the feed version is unchanged, else a newly opened one.
    pub fn advisories(&self) -> Result<Arc<assess::Advisories>, assess::AssessError> {
        let dir = &self.config.data_dir;
        let version = assess::feed_version(dir)
            .ok_or_else(|| assess::AssessError::NoDatabase(crowsnest_feeds::db_path(dir)))?;
        let mut cached = self
            .advisories
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(current) = cached.as_ref().filter(|a| a.feed_version == version) {
            return Ok(Arc::clone(current));
        }
        let opened = Arc::new(assess::Advisories::open(dir)?);
        *cached = Some(Arc::clone(&opened));
        Ok(opened)
    }

    /// Where per-layer catalog results are cached (by diffID and cataloger version).
    pub fn layer_cache_dir(&self) -> PathBuf {
        self.config.data_dir.join("layers")
    }

    /// The backoff of failed jobs.
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            base: self.config.schedules.retry_base.0,
            max: self.config.schedules.retry_max.0,
        }
    }

    /// The interval of a periodic job kind.
    pub fn next_run(&self, kind: &str) -> Option<Duration> {
        let s = &self.config.schedules;
        match kind {
            jobs::POLL_REGISTRY => Some(s.registry_poll.0),
            jobs::SNAPSHOT_CLUSTER => Some(s.cluster_snapshot.0),
            jobs::SYNC_FEEDS => Some(s.feed_sync.0),
            _ => None,
        }
    }

    /// Registry access for one configured registry, credentials resolved now.
    pub fn registry_options(
        &self,
        registry: &Registry,
    ) -> Result<RegistryOptions, RegistryAccessError> {
        let credentials = match &registry.credentials {
            Some(r) => Some(r.resolve(registry.host())?),
            None => None,
        };
        Ok(RegistryOptions {
            insecure: registry.insecure,
            ca_file: registry.ca_file.clone(),
            credentials,
            ..RegistryOptions::default()
        })
    }

    pub fn registry_client(
        &self,
        registry: &Registry,
    ) -> Result<Arc<RegistryClient>, RegistryAccessError> {
        let acquire = self.acquire_options(registry)?;
        Ok(crowsnest_acquire::image::registry_client(
            registry.host(),
            &acquire,
        )?)
    }

    /// How images of `registry` are pulled and walked.
    pub fn acquire_options(
        &self,
        registry: &Registry,
    ) -> Result<AcquireOptions, RegistryAccessError> {
        Ok(AcquireOptions {
            registry: self.registry_options(registry)?,
            platform: registry.platform.clone(),
            cache_dir: Some(self.layer_cache_dir()),
            cache_max_bytes: self.config.scan.layer_cache_bytes(),
            limits: self.config.scan.limits(),
            ..AcquireOptions::default()
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryAccessError {
    #[error(transparent)]
    Credentials(#[from] config::CredentialError),
    #[error(transparent)]
    Acquire(#[from] AcquireError),
}

/// A unique worker name prefix for this process.
pub fn process_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".into());
    format!("{host}:{}", std::process::id())
}

/// Runs `workers` workers until `shutdown` is cancelled and they have stopped.
pub async fn run_workers(service: Arc<Service>, workers: usize, shutdown: CancellationToken) {
    let prefix = process_name();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..workers.max(1) {
        let mut opts = worker::WorkerOptions::new(format!("{prefix}/{i}"));
        opts.lease = service.config.schedules.job_lease.0;
        set.spawn(worker::run(Arc::clone(&service), opts, shutdown.clone()));
    }
    while let Some(joined) = set.join_next().await {
        if let Err(e) = joined {
            tracing::error!(error = %e, "a worker task ended abnormally");
        }
    }
}

/// Runs the scheduler, `workers` workers and `api` (the REST server, given the service
/// and the shutdown signal) until `shutdown` is cancelled and all three have stopped.
/// When the API fails (it cannot bind its address, say) everything is shut down and its
/// error returned.
pub async fn run_service<A, F, E>(
    service: Arc<Service>,
    workers: usize,
    shutdown: CancellationToken,
    api: A,
) -> Result<(), E>
where
    A: FnOnce(Arc<Service>, CancellationToken) -> F,
    F: Future<Output = Result<(), E>> + Send + 'static,
    E: Send + 'static,
{
    let scheduler = tokio::spawn(scheduler::run(Arc::clone(&service), shutdown.clone()));
    let api = {
        let served = api(Arc::clone(&service), shutdown.clone());
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let result = served.await;
            if result.is_err() {
                shutdown.cancel();
            }
            result
        })
    };
    run_workers(service, workers, shutdown).await;
    if let Err(e) = scheduler.await {
        tracing::error!(error = %e, "the scheduler task ended abnormally");
    }
    match api.await {
        Ok(result) => result,
        Err(e) => {
            tracing::error!(error = %e, "the API task ended abnormally");
            Ok(())
        }
    }
}

/// Cancels `shutdown` on SIGINT or SIGTERM.
pub async fn cancel_on_signal(shutdown: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers: stop the service with SIGKILL");
        return;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!(signal = "SIGTERM", "shutting down"),
        _ = int.recv() => tracing::info!(signal = "SIGINT", "shutting down"),
    }
    shutdown.cancel();
}

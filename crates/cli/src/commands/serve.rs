//! `crowsnest serve` (scheduler + workers + REST API) and `crowsnest worker` (workers
//! only, for several processes sharing a PostgreSQL store).

use std::sync::Arc;

use anyhow::Context;
use crowsnest_api::{ApiConfig, ApiOptions, ApiState, TriggerFn, TriggerKind};
use crowsnest_service::config::{Config, Overrides};
use crowsnest_service::{CancellationToken, Service, jobs};

use crate::args::{GlobalArgs, ServeArgs, ServiceArgs, WorkerArgs};

fn load(args: &ServiceArgs, listen: Option<&str>) -> anyhow::Result<Config> {
    let mut config = Config::load(&args.config)?;
    config.apply_overrides(&Overrides {
        data_dir: args.data_dir.clone(),
        database_url: args.database_url.clone(),
        listen: listen.map(str::to_string),
        workers: args.workers,
    })?;
    Ok(config)
}

async fn open(config: Config) -> anyhow::Result<Arc<Service>> {
    let data_dir = config.data_dir.clone();
    let database = config
        .database_url
        .as_ref()
        .map_or_else(|| "sqlite".to_string(), ToString::to_string);
    let service = Service::open(config).await.with_context(|| {
        format!(
            "opening the store ({database}, data directory {})",
            data_dir.display()
        )
    })?;
    Ok(Arc::new(service))
}

/// A shutdown signal that SIGINT and SIGTERM trigger.
fn shutdown_on_signals() -> CancellationToken {
    let shutdown = CancellationToken::new();
    tokio::spawn(crowsnest_service::cancel_on_signal(shutdown.clone()));
    shutdown
}

pub async fn serve(args: ServeArgs, _global: &GlobalArgs) -> anyhow::Result<i32> {
    let config = load(&args.service, args.listen.as_deref())?;
    let service = open(config).await?;
    let c = &service.config;
    tracing::info!(
        listen = %c.listen,
        data_dir = %c.data_dir.display(),
        database = %c.database_url.as_ref().map_or_else(|| "sqlite".to_string(), ToString::to_string),
        workers = c.workers,
        registries = c.registries.len(),
        clusters = c.clusters.len(),
        "crowsnest serve starting"
    );
    let workers = c.workers;
    let shutdown = shutdown_on_signals();
    crowsnest_service::run_service(service, workers, shutdown, api).await?;
    tracing::info!("crowsnest serve stopped");
    Ok(crate::exit::OK)
}

/// The REST API on the service's store, run until `shutdown`.
async fn api(service: Arc<Service>, shutdown: CancellationToken) -> anyhow::Result<()> {
    let c = &service.config;
    let mut config = ApiConfig::new(c.data_dir.clone());
    config.feed_db = Some(crowsnest_feeds::db_path(&c.data_dir));
    config.settings = c.settings();
    let known = c.clone();
    let trigger: TriggerFn = Arc::new(move |kind, target| match kind {
        TriggerKind::RegistryPoll => known
            .registry_by_name_or_url(target)
            .map(|r| jobs::poll_registry(&r.name))
            .ok_or_else(|| format!("no registry {target:?} in the configuration")),
        TriggerKind::ClusterSnapshot => known
            .cluster(target)
            .map(|cl| jobs::snapshot_cluster(&cl.name))
            .ok_or_else(|| format!("no cluster {target:?} in the configuration")),
    });
    config.trigger = Some(trigger);
    config.site = Some(Arc::new(crowsnest_console::respond));
    let known = c.clone();
    config.rescan = Some(Arc::new(move |registry_url, repository, digest| {
        known
            .registry_by_name_or_url(registry_url)
            .map(|r| jobs::scan_image(&r.name, repository, digest))
            .ok_or_else(|| format!("no registry {registry_url:?} in the configuration"))
    }));
    let options = ApiOptions {
        listen: c.listen,
        tls: c.tls.as_ref().map(|t| (t.cert.clone(), t.key.clone())),
        ..ApiOptions::default()
    };
    let state = ApiState::new(Arc::clone(&service.store), config);
    let metrics = state.clone();
    // Only the first API of a process registers (there is one).
    let _ = service
        .scan_observer
        .set(Box::new(move |took| metrics.metrics().record_scan(took)));
    tracing::info!(listen = %options.listen, tls = options.tls.is_some(), "API listening");
    crowsnest_api::serve(options, state, async move { shutdown.cancelled().await })
        .await
        .context("the REST API")
}

pub async fn worker(args: WorkerArgs, _global: &GlobalArgs) -> anyhow::Result<i32> {
    let config = load(&args.service, None)?;
    let service = open(config).await?;
    let workers = service.config.workers;
    tracing::info!(
        workers,
        worker = %crowsnest_service::process_name(),
        "crowsnest worker starting"
    );
    let shutdown = shutdown_on_signals();
    crowsnest_service::run_workers(service, workers, shutdown).await;
    tracing::info!("crowsnest worker stopped");
    Ok(crate::exit::OK)
}

//! `scan-image`: pull once, inventory, store, assess.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};

use crowsnest_acquire::image::Image;
use crowsnest_acquire::reference::{ImageRef, RegistryRef};
use crowsnest_catalog::Cataloger;
use crowsnest_model::Digest;
use crowsnest_model::layer::LayerAnalyzer;
use crowsnest_store::{Inventory, Store};

use super::JobError;
use crate::Service;
use crate::assess::AssessError;

/// The cataloger's cache key (`catalog/N`): an image is re-extracted exactly when it has
/// no inventory under this version.
pub static CATALOGER_VERSION: LazyLock<String> = LazyLock::new(|| Cataloger.cache_key());

async fn run(
    service: &Service,
    registry_name: &str,
    repository: &str,
    digest: &Digest,
) -> Result<(), JobError> {
    let store = &service.store;
    let started = std::time::Instant::now();
    // Deleted from every repository since the poll queued it: nothing to show it in.
    if store
        .image(digest)
        .await?
        .is_none_or(|i| i.locations.is_empty())
    {
        tracing::info!(%digest, "image no longer in any repository: not scanned");
        return Ok(());
    }
    let inventory = match store.inventory(digest, CATALOGER_VERSION.as_str()).await? {
        Some(inv) => inv,
        None => {
            let inv = pull_and_inventory(service, registry_name, repository, digest).await?;
            store.put_inventory(digest, &inv).await?;
            inv
        }
    };
    let advisories = service.advisories();
    let assessed = tokio::task::spawn_blocking(move || advisories?.assess(&inventory))
        .await
        .map_err(|e| JobError::Task(e.to_string()))?;
    // Pull, inventory and (when the database exists) matching: what a scan costs.
    if let Some(observe) = service.scan_observer.get() {
        observe(started.elapsed());
    }
    match assessed {
        Ok(assessment) => {
            let n = assessment.findings.len();
            store.put_assessment(digest, &assessment).await?;
            let took = started.elapsed();
            tracing::info!(%digest, repository, findings = n, seconds = took.as_secs_f64(), "image assessed");
            Ok(())
        }
        // The inventory is stored; the reassessment after the first sync covers it.
        Err(AssessError::NoDatabase(path)) => {
            tracing::warn!(%digest, db = %path.display(), "inventory stored, not assessed: no vulnerability database yet");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Sets the flag when dropped: a job future dropped part-way (the worker aborted it)
/// cancels the blocking work it started.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Runs a scan within the configured wall-time limit.
pub(super) async fn run_limited(
    service: &Service,
    registry_name: &str,
    repository: &str,
    digest: &Digest,
) -> Result<(), JobError> {
    let limit = service.config.scan.limits().max_scan_time;
    match tokio::time::timeout(limit, run(service, registry_name, repository, digest)).await {
        Ok(result) => result,
        Err(_) => Err(JobError::Image {
            image: digest.to_string(),
            reason: format!(
                "the scan took longer than its wall-time limit of {} s",
                limit.as_secs()
            ),
        }),
    }
}

async fn pull_and_inventory(
    service: &Service,
    registry_name: &str,
    repository: &str,
    digest: &Digest,
) -> Result<Inventory, JobError> {
    let registry =
        service
            .config
            .registry(registry_name)
            .ok_or_else(|| JobError::NotConfigured {
                what: "registry",
                name: registry_name.to_string(),
            })?;
    let image_name = format!("{}/{repository}@{digest}", registry.host());
    let fail = |reason: String| JobError::Image {
        image: image_name.clone(),
        reason,
    };
    let reference = ImageRef::Registry(RegistryRef {
        registry: registry.host().to_string(),
        repository: repository.to_string(),
        tag: None,
        digest: Some(digest.clone()),
    });
    let mut acquire = service
        .acquire_options(registry)
        .map_err(|e| fail(e.to_string()))?;
    // When the worker drops this job (its lease was lost, or shutdown), the layer walks
    // on blocking threads stop at their next read instead of running to the end.
    acquire.cancel = Arc::new(AtomicBool::new(false));
    let _stop_walks_when_dropped = CancelOnDrop(Arc::clone(&acquire.cancel));
    let image = Image::open(&reference, &acquire)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let layers = image
        .walk_layers(Arc::new(Cataloger), &acquire, None)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let inventory = tokio::task::spawn_blocking(move || crowsnest_catalog::inventory(&layers))
        .await
        .map_err(|e| JobError::Task(e.to_string()))?;
    for (path, reason) in inventory.unreadable.iter().take(20) {
        tracing::debug!(image = %image_name, path, reason, "file not fully cataloged");
    }
    Ok(Inventory {
        cataloger_version: CATALOGER_VERSION.clone(),
        distro: inventory.distro,
        packages: inventory.packages,
        created: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_aborted_job_cancels_its_blocking_walks() {
        let flag = Arc::new(AtomicBool::new(false));
        let seen = Arc::clone(&flag);
        let job = tokio::spawn(async move {
            let _guard = CancelOnDrop(flag);
            std::future::pending::<()>().await
        });
        tokio::task::yield_now().await;
        assert!(!seen.load(Ordering::Relaxed));
        job.abort();
        assert!(job.await.unwrap_err().is_cancelled());
        assert!(seen.load(Ordering::Relaxed));
    }
}

//! `scan-image`: pull once, inventory, store, assess.

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

pub(super) async fn run(
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
    let acquire = service
        .acquire_options(registry)
        .map_err(|e| fail(e.to_string()))?;
    let image = Image::open(&reference, &acquire)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let layers = image
        .walk_layers(Arc::new(Cataloger), &acquire, None)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let maven_index = service.config.maven_index.clone();
    let inventory =
        tokio::task::spawn_blocking(move || -> Result<crowsnest_catalog::Inventory, String> {
            let mut inventory = crowsnest_catalog::inventory(&layers);
            if let Some(index) = maven_index {
                crowsnest_catalog::maven_index::apply(&index, &mut inventory.packages)?;
            }
            Ok(inventory)
        })
        .await
        .map_err(|e| JobError::Task(e.to_string()))?
        .map_err(fail)?;
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

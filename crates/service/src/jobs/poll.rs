//! `poll-registry`: what is in the registry now, against what the store says was there.

use std::collections::{BTreeMap, BTreeSet};

use crowsnest_acquire::enumerate::{ListOptions, TagListing, list_repository};
use crowsnest_model::Digest;
use crowsnest_store::{Enqueued, ImageSighting, Store};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{CATALOGER_VERSION, JobError};
use crate::Service;
use crate::config::Registry;

/// Most repositories read from one catalog.
const MAX_REPOSITORIES: usize = 100_000;

/// What one poll did, for the log.
#[derive(Debug, Default)]
struct PollCounts {
    repositories: usize,
    images: usize,
    new_images: usize,
    forgotten: usize,
    scans_queued: usize,
    repository_errors: usize,
}

pub(super) async fn run(service: &Service, name: &str) -> Result<(), JobError> {
    let registry = service
        .config
        .registry(name)
        .ok_or_else(|| JobError::NotConfigured {
            what: "registry",
            name: name.to_string(),
        })?;
    let fail = |reason: String| JobError::Registry {
        registry: registry.host().to_string(),
        reason,
    };
    let client = service
        .registry_client(registry)
        .map_err(|e| fail(e.to_string()))?;
    let mut repositories = client
        .catalog(MAX_REPOSITORIES)
        .await
        .map_err(|e| fail(format!("reading the catalog: {e}")))?;
    repositories.retain(|r| registry.selects(r));
    repositories.sort();

    let store = &service.store;
    let registry_id = store.upsert_registry(registry.host()).await?;
    let mut counts = PollCounts::default();
    let opts = ListOptions {
        with_created: true,
        ..ListOptions::default()
    };
    for repository in &repositories {
        let listing = list_repository(&client, repository, &opts).await;
        if let Some(e) = listing.error {
            // The repository is skipped, not emptied: a listing error says nothing about
            // which images are still there.
            tracing::warn!(registry = registry.host(), repository, error = %e, "listing a repository failed");
            counts.repository_errors += 1;
            continue;
        }
        let complete = listing.tags.iter().all(|t| t.error.is_none());
        let current = sightings(&listing.tags, registry);
        let repository_id = store.upsert_repository(registry_id, repository).await?;
        let known: BTreeSet<Digest> = store
            .repository_images(repository_id)
            .await?
            .into_iter()
            .collect();
        let now = OffsetDateTime::now_utc();
        for (digest, mut sighting) in current.clone() {
            // Registries do not say when an image was pushed: the first poll that sees a
            // digest in a repository stands for its push time (kept on later polls).
            if !known.contains(&digest) {
                sighting.pushed = Some(now);
                counts.new_images += 1;
            }
            store.record_image(repository_id, &sighting).await?;
            counts.images += 1;
            if needs_scan(service, &digest).await? {
                let job = super::scan_image(&registry.name, repository, &digest);
                if let Enqueued::New(_) = store.enqueue(&job).await? {
                    counts.scans_queued += 1;
                }
            }
        }
        if complete {
            for gone in known.iter().filter(|d| !current.contains_key(*d)) {
                store.forget_image(repository_id, gone).await?;
                counts.forgotten += 1;
            }
        }
        counts.repositories += 1;
    }
    // Repositories deleted from the registry (or now excluded) drop out with their images.
    let listed: BTreeSet<&str> = repositories.iter().map(String::as_str).collect();
    if counts.repository_errors == 0 {
        for stored in store.repositories(Some(registry_id)).await? {
            if listed.contains(stored.name.as_str()) {
                continue;
            }
            for gone in store.repository_images(stored.id).await? {
                store.forget_image(stored.id, &gone).await?;
                counts.forgotten += 1;
            }
        }
    }
    tracing::info!(registry = registry.host(), ?counts, "registry polled");
    if counts.repository_errors > 0 && counts.repositories == 0 {
        return Err(fail(format!(
            "none of {} repositories could be listed",
            counts.repository_errors
        )));
    }
    Ok(())
}

/// A scan is needed when the image has no inventory from the current cataloger (new, or
/// the cataloger changed; unless it is quarantined, see [`super::quarantine`]) or no
/// assessment yet (its scan was interrupted between the
/// two writes, or the first feed sync had not finished).
async fn needs_scan(service: &Service, digest: &Digest) -> Result<bool, JobError> {
    let store = &service.store;
    if store
        .inventory(digest, CATALOGER_VERSION.as_str())
        .await?
        .is_none()
    {
        if let Some(failed) = super::quarantine(store, digest).await? {
            tracing::debug!(%digest, job = failed.id.0, error = ?failed.last_error, "image quarantined: not queued again");
            return Ok(false);
        }
        return Ok(true);
    }
    Ok(store.assessment(digest).await?.is_none()
        && crate::assess::feed_version(&service.config.data_dir).is_some())
}

/// The repository's images by manifest digest, each with every tag pointing at it.
fn sightings(tags: &[TagListing], registry: &Registry) -> BTreeMap<Digest, ImageSighting> {
    let mut out: BTreeMap<Digest, ImageSighting> = BTreeMap::new();
    for tag in tags {
        let Some(digest) = &tag.digest else { continue };
        let entry = out.entry(digest.clone()).or_insert_with(|| {
            // One platform's manifest: its own; an index: the configured platform's.
            let chosen = if tag.platforms.len() == 1 {
                tag.platforms.first()
            } else {
                tag.platforms
                    .iter()
                    .find(|p| p.platform.as_ref() == Some(&registry.platform))
            };
            ImageSighting {
                digest: digest.clone(),
                media_type: tag.media_type.clone().unwrap_or_default(),
                platform: chosen
                    .and_then(|p| p.platform.as_ref())
                    .map(ToString::to_string),
                created: chosen
                    .and_then(|p| p.created.as_deref())
                    .and_then(|c| OffsetDateTime::parse(c, &Rfc3339).ok()),
                pushed: None,
                tags: Vec::new(),
            }
        });
        entry.tags.push(tag.tag.clone());
    }
    for s in out.values_mut() {
        s.tags.sort();
    }
    out
}

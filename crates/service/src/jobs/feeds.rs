//! `sync-feeds` and `reassess`: a new advisory database, applied to stored inventories.

use std::collections::BTreeSet;

use crowsnest_feeds::{SourceSpec, SyncOptions};
use crowsnest_model::Digest;
use crowsnest_store::{ImageQuery, Store};
use time::OffsetDateTime;

use super::{CATALOGER_VERSION, JobError};
use crate::Service;

/// Images read per page while looking for running ones.
const PAGE: u32 = 500;

/// Syncs the feeds into the data directory. The feeds crate builds the new database
/// beside the old one and swaps it in only when complete and verified, so a failed sync
/// keeps the old database in use.
pub(super) async fn sync(service: &Service) -> Result<(), JobError> {
    let source = match &service.config.feeds.mirror {
        Some(m) => {
            SourceSpec::mirror(m).map_err(|e| JobError::Feeds(format!("mirror {m}: {e}")))?
        }
        None => SourceSpec::Upstream,
    };
    let opts = SyncOptions::new(&service.config.data_dir, source);
    let report = crowsnest_feeds::sync(&opts, |event| tracing::debug!(?event, "feed sync"))
        .await
        .map_err(|e| JobError::Feeds(e.to_string()))?;
    for w in &report.warnings {
        tracing::warn!(warning = %w, "feed sync");
    }
    tracing::info!(
        feeds = report.feeds.len(),
        seconds = report.elapsed.as_secs_f64(),
        "feeds synced"
    );
    service.store.enqueue(&super::reassess()).await?;
    Ok(())
}

/// Re-matches, from stored inventories, every image pushed within the reassessment
/// window or running in a monitored cluster whose assessment is from an older database.
/// An interrupted run re-done after restart skips the images already re-assessed.
pub(super) async fn reassess(service: &Service) -> Result<(), JobError> {
    let store = &service.store;
    let window = service.config.schedules.reassess_window.0;
    let since = OffsetDateTime::now_utc() - window;
    let mut digests: BTreeSet<Digest> = store
        .images_pushed_since(since)
        .await?
        .into_iter()
        .collect();
    let recent = digests.len();
    digests.extend(running_images(service).await?);
    let feeds_dir = service.config.data_dir.clone();
    let Some(version) = crate::assess::feed_version(&feeds_dir) else {
        tracing::warn!("no vulnerability database yet: nothing re-assessed");
        return Ok(());
    };
    let mut todo = Vec::new();
    for digest in digests {
        let current = store.assessment(&digest).await?.is_some_and(|a| {
            a.feed_version == version && a.cataloger_version == *CATALOGER_VERSION
        });
        if current {
            continue;
        }
        match store.inventory(&digest, CATALOGER_VERSION.as_str()).await? {
            Some(inv) => todo.push((digest, inv)),
            // No inventory of the current cataloger: the next poll queues a scan.
            None => tracing::debug!(%digest, "no current inventory: left to the next poll"),
        }
    }
    let total = todo.len();
    // One thread matches everything against one opened database; results come back over
    // a bounded channel and are stored as they arrive.
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    // The new feed version's index, kept by the service for the scans that follow.
    let advisories = service.advisories();
    let matcher = tokio::task::spawn_blocking(move || -> Result<(), crate::assess::AssessError> {
        let advisories = advisories?;
        for (digest, inv) in todo {
            let assessment = advisories.assess(&inv)?;
            if tx.blocking_send((digest, assessment)).is_err() {
                break;
            }
        }
        Ok(())
    });
    let mut stored = 0usize;
    while let Some((digest, assessment)) = rx.recv().await {
        store.put_assessment(&digest, &assessment).await?;
        stored += 1;
    }
    matcher.await.map_err(|e| JobError::Task(e.to_string()))??;
    tracing::info!(
        recent,
        reassessed = stored,
        of = total,
        "re-assessment done"
    );
    Ok(())
}

/// Digests of images in a registry that a monitored cluster's latest snapshot runs.
async fn running_images(service: &Service) -> Result<Vec<Digest>, JobError> {
    let store = &service.store;
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .images(&ImageQuery {
                after,
                limit: PAGE,
                ..ImageQuery::default()
            })
            .await?;
        for image in page.items {
            if !store.image_placements(&image.digest).await?.is_empty() {
                out.push(image.digest);
            }
        }
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(out),
        }
    }
}

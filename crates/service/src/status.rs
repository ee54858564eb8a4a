//! Target status: how polling a registry, snapshotting a cluster or syncing the feeds has
//! been going, so a failing target shows in the API while the others carry on.

use crowsnest_store::{AnyStore, Store, StoreError, TargetKind, TargetStatus};
use time::OffsetDateTime;

/// The id the feeds' status is kept under.
pub const FEEDS_ID: &str = "feeds";

/// Longest error text kept in a status (errors can quote server answers).
const MAX_ERROR_CHARS: usize = 2000;

async fn previous(
    store: &AnyStore,
    kind: TargetKind,
    id: &str,
) -> Result<Option<TargetStatus>, StoreError> {
    Ok(store
        .target_statuses()
        .await?
        .into_iter()
        .find(|s| s.kind == kind && s.id == id))
}

/// Records a successful run; `next` is when the scheduler runs it again.
pub async fn succeeded(
    store: &AnyStore,
    kind: TargetKind,
    id: &str,
    next: Option<OffsetDateTime>,
) -> Result<(), StoreError> {
    let now = OffsetDateTime::now_utc();
    store
        .put_target_status(&TargetStatus {
            kind,
            id: id.to_string(),
            last_attempt: Some(now),
            last_success: Some(now),
            last_error: None,
            consecutive_failures: 0,
            next_attempt: next,
        })
        .await
}

/// Records a failed run; `next` is when it will be tried again (the job's backoff).
pub async fn failed(
    store: &AnyStore,
    kind: TargetKind,
    id: &str,
    error: &str,
    next: Option<OffsetDateTime>,
) -> Result<TargetStatus, StoreError> {
    let before = previous(store, kind, id).await?;
    let status = TargetStatus {
        kind,
        id: id.to_string(),
        last_attempt: Some(OffsetDateTime::now_utc()),
        last_success: before.as_ref().and_then(|b| b.last_success),
        last_error: Some(error.chars().take(MAX_ERROR_CHARS).collect()),
        consecutive_failures: before
            .map_or(0, |b| b.consecutive_failures)
            .saturating_add(1),
        next_attempt: next,
    };
    store.put_target_status(&status).await?;
    Ok(status)
}

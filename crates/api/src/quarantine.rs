//! Images whose scan failed on every attempt are quarantined by the service (not queued
//! again by each registry poll, see `crowsnest_service::jobs::quarantine`). Here the API
//! shows them (on the image and in the status) and lets an admin retry one.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use crowsnest_model::Digest;
use crowsnest_store::{JobQuery, JobState, Store};
use serde_json::{Value, json};

use crate::ApiState;
use crate::error::{HttpError, HttpResult};
use crate::handlers::{accepted, parse_digest};

/// The scan jobs' kind (the service's `jobs::SCAN_IMAGE`).
const SCAN_IMAGE: &str = "scan-image";

/// Most quarantined images the status lists.
const MAX_LISTED: u32 = 100;

/// The failed scan that keeps an image without an assessment from being scanned again,
/// as JSON; `null` when there is none.
pub(crate) async fn scan_failure(
    state: &ApiState,
    digest: &Digest,
    assessed: bool,
) -> HttpResult<Value> {
    if assessed {
        return Ok(Value::Null);
    }
    let job = state
        .store()
        .last_failed_job(SCAN_IMAGE, &digest.to_string())
        .await?;
    Ok(job.map_or(
        Value::Null,
        |j| json!({"jobId": j.id.0, "attempts": j.attempts, "error": j.last_error}),
    ))
}

/// Images not assessed whose last scan failed, newest failure first.
pub(crate) async fn list(state: &ApiState) -> HttpResult<Vec<Value>> {
    let store = state.store();
    let failed = store
        .jobs(&JobQuery {
            state: Some(JobState::Failed),
            kind: Some(SCAN_IMAGE.to_string()),
            before: None,
            limit: MAX_LISTED,
        })
        .await?;
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for job in failed.items {
        let Ok(digest) = job.key.parse::<Digest>() else {
            continue;
        };
        if !seen.insert(job.key.clone()) || store.assessment(&digest).await?.is_some() {
            continue;
        }
        out.push(json!({
            "digest": job.key,
            "jobId": job.id.0,
            "attempts": job.attempts,
            "error": job.last_error,
        }));
    }
    Ok(out)
}

/// `POST /api/v1/images/{digest}/retry` (admin): queue a new scan of a quarantined (or
/// any) image from the first repository that holds it.
pub(crate) async fn retry(
    State(state): State<ApiState>,
    Path(digest): Path<String>,
) -> HttpResult<Response> {
    let digest = parse_digest(&digest)?;
    let Some(make_job) = &state.config().rescan else {
        return Err(HttpError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_scheduler",
            "this server runs without a scheduler; scans cannot be queued here",
        ));
    };
    let store = state.store();
    let location = store
        .image(&digest)
        .await?
        .and_then(|i| i.locations.into_iter().next())
        .ok_or_else(|| HttpError::not_found(format!("no image {digest} in any repository")))?;
    let spec = make_job(&location.registry_url, &location.repository, &digest)
        .map_err(HttpError::not_found)?;
    let outcome = store.enqueue(&spec).await?;
    tracing::info!(%digest, job = outcome.id().0, "image scan retried through the API");
    Ok(accepted(&spec, &outcome).into_response())
}

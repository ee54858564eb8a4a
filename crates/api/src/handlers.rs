//! The plain data endpoints: clusters, snapshots, registries, images, SBOMs, findings,
//! settings, status, jobs, and the open operational ones.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use crowsnest_model::Digest;
use crowsnest_model::Severity;
use crowsnest_model::finding::FixStatus;
use crowsnest_store::{
    ClusterSnapshot, Enqueued, FindingKey, FindingQuery, ImageQuery, Job, JobId, JobQuery,
    JobState, RegistryId, RepositoryId, Store, TargetKind,
};
use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::{HttpError, HttpResult};
use crate::params::{Params, encode_cursor};
use crate::{ApiState, TriggerKind};

pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

pub(crate) fn opt_time(t: Option<OffsetDateTime>) -> Value {
    t.map_or(Value::Null, |t| Value::String(rfc3339(t)))
}

/// A page as JSON (`items`, `next`) with a `Link: <…>; rel="next"` header.
pub(crate) fn page_response<C: Serialize>(
    path: &str,
    raw_query: Option<&str>,
    kind: &str,
    items: Vec<Value>,
    next: Option<C>,
) -> Response {
    let next = next.map(|c| encode_cursor(kind, &c));
    let mut response = Json(json!({"items": items, "next": next})).into_response();
    if let Some(cursor) = next {
        let mut query: Vec<(String, String)> =
            url::form_urlencoded::parse(raw_query.unwrap_or("").as_bytes())
                .filter(|(k, _)| k != "cursor")
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
        query.push(("cursor".into(), cursor));
        let encoded = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(query)
            .finish();
        if let Ok(v) = HeaderValue::from_str(&format!("<{path}?{encoded}>; rel=\"next\"")) {
            response.headers_mut().insert(header::LINK, v);
        }
    }
    response
}

/// A digest from a path segment or parameter, with a 400 naming the problem.
pub(crate) fn parse_digest(text: &str) -> HttpResult<Digest> {
    text.parse()
        .map_err(|e| HttpError::bad_request(format!("{text:?} is not an image digest: {e}")))
}

// --- open endpoints -------------------------------------------------------------------

pub(crate) async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

pub(crate) async fn readyz(State(state): State<ApiState>) -> Response {
    match crate::store_ready(&state).await {
        Ok(version) => Json(json!({"status": "ready", "schemaVersion": version})).into_response(),
        Err(reason) => HttpError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            format!("the store is not ready: {reason}"),
        )
        .into_response(),
    }
}

pub(crate) async fn openapi() -> Json<Value> {
    Json(crate::openapi::document())
}

pub(crate) async fn metrics(State(state): State<ApiState>) -> Response {
    use std::fmt::Write as _;
    let mut out = String::new();
    state.inner.metrics.render(&mut out);
    let store = state.store();
    out.push_str("# HELP crowsnest_queue_jobs Jobs in the queue by state.\n# TYPE crowsnest_queue_jobs gauge\n");
    match store.queue_depth().await {
        Ok(d) => {
            let _ = writeln!(out, "crowsnest_queue_jobs{{state=\"ready\"}} {}", d.ready);
            let _ = writeln!(
                out,
                "crowsnest_queue_jobs{{state=\"delayed\"}} {}",
                d.delayed
            );
            let _ = writeln!(
                out,
                "crowsnest_queue_jobs{{state=\"running\"}} {}",
                d.running
            );
        }
        Err(e) => tracing::warn!(error = %e, "metrics: queue depth unavailable"),
    }
    out.push_str("# HELP crowsnest_findings Findings of the images in monitored registries, by severity.\n# TYPE crowsnest_findings gauge\n");
    match store.finding_counts().await {
        Ok(counts) => {
            for s in Severity::ALL {
                let n = counts.iter().find(|(c, _)| *c == s).map_or(0, |(_, n)| *n);
                let _ = writeln!(out, "crowsnest_findings{{severity=\"{s}\"}} {n}");
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: finding counts unavailable"),
    }
    if let Some(age) = feed_age_seconds(&state) {
        out.push_str("# HELP crowsnest_feed_age_seconds Time since the advisory database was last written.\n# TYPE crowsnest_feed_age_seconds gauge\n");
        let _ = writeln!(out, "crowsnest_feed_age_seconds {age}");
    }
    let up = crate::store_ready(&state).await.is_ok();
    out.push_str("# HELP crowsnest_store_up Whether the store answers with the expected schema.\n# TYPE crowsnest_store_up gauge\n");
    let _ = writeln!(out, "crowsnest_store_up {}", u8::from(up));
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}

pub(crate) fn feed_age_seconds(state: &ApiState) -> Option<f64> {
    let path = state.config().feed_db.as_ref()?;
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    Some(modified.elapsed().map_or(0.0, |d| d.as_secs_f64()))
}

// --- clusters and snapshots -------------------------------------------------------------

pub(crate) async fn clusters(
    State(state): State<ApiState>,
    RawQuery(q): RawQuery,
) -> HttpResult<Json<Value>> {
    Params::parse(q.as_deref(), &[])?;
    let clusters = state.store().clusters().await?;
    let targets = state.store().target_statuses().await?;
    let items: Vec<Value> = clusters
        .iter()
        .map(|c| {
            json!({
                "clusterId": c.cluster_id,
                "status": c.status,
                "latestSnapshot": c.latest_snapshot,
                "lastSnapshotAt": rfc3339(c.taken),
                "snapshots": c.snapshots,
            })
        })
        .collect();
    let monitoring: Vec<&crowsnest_store::TargetStatus> = targets
        .iter()
        .filter(|t| t.kind == TargetKind::Cluster)
        .collect();
    Ok(Json(json!({"items": items, "monitoring": monitoring})))
}

pub(crate) async fn cluster(
    State(state): State<ApiState>,
    Path(cluster): Path<String>,
    RawQuery(q): RawQuery,
) -> HttpResult<Json<Value>> {
    Params::parse(q.as_deref(), &[])?;
    let clusters = state.store().clusters().await?;
    let Some(c) = clusters.iter().find(|c| c.cluster_id == cluster) else {
        return Err(HttpError::not_found(format!(
            "no snapshot of cluster {cluster:?}"
        )));
    };
    Ok(Json(json!({
        "clusterId": c.cluster_id,
        "status": c.status,
        "latestSnapshot": c.latest_snapshot,
        "lastSnapshotAt": rfc3339(c.taken),
        "snapshots": c.snapshots,
    })))
}

pub(crate) async fn snapshots(
    State(state): State<ApiState>,
    RawQuery(q): RawQuery,
) -> HttpResult<Response> {
    let p = Params::parse(q.as_deref(), &["cluster", "limit", "cursor"])?;
    let page = state
        .store()
        .cluster_snapshots(p.text("cluster"), p.cursor("snapshots")?, p.limit()?)
        .await?;
    let items = page
        .items
        .iter()
        .map(|s| {
            json!({"id": s.id, "clusterId": s.cluster_id, "takenAt": rfc3339(s.taken), "status": s.status})
        })
        .collect();
    Ok(page_response(
        "/api/v1/snapshots",
        q.as_deref(),
        "snapshots",
        items,
        page.next,
    ))
}

fn snapshot_id(text: &str) -> HttpResult<i64> {
    text.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| HttpError::bad_request(format!("{text:?} is not a snapshot id")))
}

async fn load_snapshot(state: &ApiState, id: i64) -> HttpResult<ClusterSnapshot> {
    state
        .store()
        .cluster_snapshot(id)
        .await?
        .ok_or_else(|| HttpError::not_found(format!("no snapshot {id}")))
}

pub(crate) async fn snapshot(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> HttpResult<Json<Value>> {
    Params::parse(q.as_deref(), &[])?;
    let id = snapshot_id(&id)?;
    let s = load_snapshot(&state, id).await?;
    Ok(Json(json!({
        "id": id,
        "clusterId": s.cluster_id,
        "takenAt": rfc3339(s.taken),
        "status": s.status,
        "snapshot": s.snapshot,
    })))
}

pub(crate) async fn snapshot_diff(
    State(state): State<ApiState>,
    RawQuery(q): RawQuery,
) -> HttpResult<Json<Value>> {
    let p = Params::parse(q.as_deref(), &["from", "to"])?;
    let (Some(from), Some(to)) = (p.text("from"), p.text("to")) else {
        return Err(HttpError::bad_request(
            "give both from=<snapshot id> and to=<snapshot id>",
        ));
    };
    let (from, to) = (snapshot_id(from)?, snapshot_id(to)?);
    let diff = diff_snapshots(&state, from, to).await?;
    Ok(Json(json!({"from": from, "to": to, "diff": diff})))
}

/// A stored snapshot in the discovery format (422 when it is something else).
pub(crate) async fn discovery_snapshot(
    state: &ApiState,
    id: i64,
) -> HttpResult<crowsnest_discover::snapshot::Snapshot> {
    let stored = load_snapshot(state, id).await?;
    serde_json::from_value(stored.snapshot).map_err(|e| {
        HttpError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_a_discovery_snapshot",
            format!("snapshot {id} is not in the discovery format: {e}"),
        )
    })
}

/// Objects added, removed and changed from snapshot `from` to `to`.
pub(crate) async fn diff_snapshots(
    state: &ApiState,
    from: i64,
    to: i64,
) -> HttpResult<crowsnest_discover::diff::SnapshotDiff> {
    let old = discovery_snapshot(state, from).await?;
    let new = discovery_snapshot(state, to).await?;
    tokio::task::spawn_blocking(move || crowsnest_discover::diff::diff(&old, &new))
        .await
        .map_err(|e| HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))
}

// --- registries and images ------------------------------------------------------------

pub(crate) async fn registries(
    State(state): State<ApiState>,
    RawQuery(q): RawQuery,
) -> HttpResult<Json<Value>> {
    Params::parse(q.as_deref(), &[])?;
    let registries = state.store().registries().await?;
    let targets = state.store().target_statuses().await?;
    let items: Vec<Value> = registries
        .iter()
        .map(|r| {
            json!({
                "id": r.id.0,
                "url": r.url,
                "createdAt": rfc3339(r.created),
                "repositories": r.repositories,
            })
        })
        .collect();
    let monitoring: Vec<&crowsnest_store::TargetStatus> = targets
        .iter()
        .filter(|t| t.kind == TargetKind::Registry)
        .collect();
    Ok(Json(json!({"items": items, "monitoring": monitoring})))
}

fn positive_id(v: &str) -> Result<i64, String> {
    v.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| "expected a positive id".to_string())
}

pub(crate) async fn repositories(
    State(state): State<ApiState>,
    RawQuery(q): RawQuery,
) -> HttpResult<Json<Value>> {
    let p = Params::parse(q.as_deref(), &["registry"])?;
    let registry = p.parsed("registry", positive_id)?.map(RegistryId);
    let repos = state.store().repositories(registry).await?;
    let items: Vec<Value> = repos
        .iter()
        .map(|r| {
            json!({
                "id": r.id.0,
                "registryId": r.registry.0,
                "registryUrl": r.registry_url,
                "name": r.name,
                "images": r.images,
            })
        })
        .collect();
    Ok(Json(json!({"items": items})))
}

pub(crate) async fn images(
    State(state): State<ApiState>,
    RawQuery(q): RawQuery,
) -> HttpResult<Response> {
    let p = Params::parse(q.as_deref(), &["registry", "repository", "limit", "cursor"])?;
    let query = ImageQuery {
        registry: p.parsed("registry", positive_id)?.map(RegistryId),
        repository: p.parsed("repository", positive_id)?.map(RepositoryId),
        after: p.cursor("images")?,
        limit: p.limit()?,
    };
    let page = state.store().images(&query).await?;
    let items = page
        .items
        .iter()
        .map(|i| {
            json!({
                "digest": i.digest,
                "mediaType": i.media_type,
                "platform": i.platform,
                "createdAt": opt_time(i.created),
                "firstSeen": rfc3339(i.first_seen),
                "lastPushed": opt_time(i.last_pushed),
                "repositories": i.repositories,
                "findings": i.findings,
                "assessedAt": opt_time(i.assessed),
            })
        })
        .collect();
    Ok(page_response(
        "/api/v1/images",
        q.as_deref(),
        "images",
        items,
        page.next,
    ))
}

pub(crate) async fn image(
    State(state): State<ApiState>,
    Path(digest): Path<String>,
    RawQuery(q): RawQuery,
) -> HttpResult<Json<Value>> {
    Params::parse(q.as_deref(), &[])?;
    let digest = parse_digest(&digest)?;
    let store = state.store();
    let Some(details) = store.image(&digest).await? else {
        return Err(HttpError::not_found(format!("no image {digest}")));
    };
    let placements = store.image_placements(&digest).await?;
    let assessment = store.assessment(&digest).await?;
    let locations: Vec<Value> = details
        .locations
        .iter()
        .map(|l| {
            json!({
                "registry": l.registry_url,
                "repository": l.repository,
                "tags": l.tags,
                "lastPushed": opt_time(l.pushed),
                "lastSeen": rfc3339(l.last_seen),
            })
        })
        .collect();
    let assessment = assessment.map(|a| {
        let mut by_severity = serde_json::Map::new();
        for s in Severity::ALL.iter().rev() {
            let n = a.findings.iter().filter(|f| f.severity == *s).count();
            by_severity.insert(s.to_string(), json!(n));
        }
        json!({
            "assessedAt": rfc3339(a.assessed),
            "feedVersion": a.feed_version,
            "catalogerVersion": a.cataloger_version,
            "findings": a.findings.len(),
            "bySeverity": by_severity,
        })
    });
    Ok(Json(json!({
        "digest": digest,
        "mediaType": details.media_type,
        "platform": details.platform,
        "createdAt": opt_time(details.created),
        "firstSeen": rfc3339(details.first_seen),
        "locations": locations,
        "runningIn": placements,
        "scanFailure": crate::quarantine::scan_failure(&state, &digest, assessment.is_some()).await?,
        "assessment": assessment,
    })))
}

pub(crate) async fn sbom(
    State(state): State<ApiState>,
    Path(digest): Path<String>,
    RawQuery(q): RawQuery,
) -> HttpResult<Response> {
    Params::parse(q.as_deref(), &[])?;
    let digest = parse_digest(&digest)?;
    let store = state.store();
    let Some(details) = store.image(&digest).await? else {
        return Err(HttpError::not_found(format!("no image {digest}")));
    };
    // The inventory the latest assessment used; an image not yet assessed has no SBOM.
    let Some(assessment) = store.assessment(&digest).await? else {
        return Err(HttpError::not_found(format!(
            "image {digest} has not been inventoried yet"
        )));
    };
    let Some(inventory) = store
        .inventory(&digest, &assessment.cataloger_version)
        .await?
    else {
        return Err(HttpError::not_found(format!("no inventory of {digest}")));
    };
    let name = details
        .locations
        .first()
        .map(|l| {
            let host = l
                .registry_url
                .trim_start_matches("https://")
                .trim_start_matches("http://")
                .trim_end_matches('/');
            format!("{host}/{}@{digest}", l.repository)
        })
        .unwrap_or_else(|| digest.to_string());
    let subject = crowsnest_report::ImageSubject {
        name,
        manifest_digest: Some(digest.clone()),
        config_digest: None,
        platform: details.platform.clone(),
        layers: Vec::new(),
        created: details.created.map(rfc3339),
    };
    let catalog = crowsnest_catalog::Inventory {
        distro: inventory.distro,
        packages: inventory.packages,
        unreadable: Vec::new(),
    };
    let text = crowsnest_report::cyclonedx::sbom(
        &subject,
        &catalog,
        &crowsnest_report::DocumentOptions::default(),
    );
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/vnd.cyclonedx+json; version=1.6",
        )],
        text,
    )
        .into_response())
}

// --- findings ----------------------------------------------------------------------------

pub(crate) const FINDING_PARAMS: &[&str] = &[
    "severity",
    "fixStatus",
    "kev",
    "exploit",
    "package",
    "cve",
    "image",
    "namespace",
    "cluster",
    "limit",
    "cursor",
];

pub(crate) fn finding_query(p: &Params) -> HttpResult<FindingQuery> {
    let severities = p
        .parsed("severity", |v| {
            v.split(',')
                .map(|s| {
                    s.trim()
                        .parse::<Severity>()
                        .map_err(|_| format!("unknown severity {s:?}"))
                })
                .collect::<Result<Vec<_>, _>>()
        })?
        .unwrap_or_default();
    let fix_status = p.parsed("fixStatus", |v| {
        Ok(match v {
            "FixAvailable" => FixStatus::FixAvailable,
            "NoFixAvailable" => FixStatus::NoFixAvailable,
            "WontFix" => FixStatus::WontFix,
            "Unknown" => FixStatus::Unknown,
            _ => return Err("expected FixAvailable, NoFixAvailable, WontFix or Unknown".into()),
        })
    })?;
    Ok(FindingQuery {
        severities,
        fix_status,
        in_kev: p.bool("kev")?,
        exploit_published: p.bool("exploit")?,
        package: p.text("package").map(str::to_string),
        vulnerability: p.text("cve").map(str::to_string),
        digest: p.text("image").map(parse_digest).transpose()?,
        namespace: p.text("namespace").map(str::to_string),
        cluster: p.text("cluster").map(str::to_string),
        after: p.cursor::<FindingKey>("findings")?,
        limit: p.limit()?,
    })
}

pub(crate) async fn findings(
    State(state): State<ApiState>,
    RawQuery(q): RawQuery,
) -> HttpResult<Response> {
    let p = Params::parse(q.as_deref(), FINDING_PARAMS)?;
    let query = finding_query(&p)?;
    let page = state.store().findings(&query).await?;
    let items = page
        .items
        .into_iter()
        .map(|f| json!({"image": f.key.digest, "finding": f.finding}))
        .collect();
    Ok(page_response(
        "/api/v1/findings",
        q.as_deref(),
        "findings",
        items,
        page.next,
    ))
}

// --- settings and status ----------------------------------------------------------------

/// Keys never shown, whatever the caller passed: their values could be credentials.
fn secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "password",
        "secret",
        "token",
        "credential",
        "apikey",
        "api_key",
        "private",
    ]
    .iter()
    .any(|s| k.contains(s))
}

pub(crate) fn without_secrets(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !secret_key(k))
                .map(|(k, v)| (k.clone(), without_secrets(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_secrets).collect()),
        Value::String(s) if s.contains("://") => {
            // A URL with user:password@ keeps the host, never the password.
            match url::Url::parse(s) {
                Ok(mut u) if u.password().is_some() => {
                    let _ = u.set_password(None);
                    Value::String(u.to_string())
                }
                _ => v.clone(),
            }
        }
        other => other.clone(),
    }
}

pub(crate) async fn settings(
    State(state): State<ApiState>,
    RawQuery(q): RawQuery,
) -> HttpResult<Json<Value>> {
    Params::parse(q.as_deref(), &[])?;
    Ok(Json(without_secrets(&state.config().settings)))
}

pub(crate) async fn status(
    State(state): State<ApiState>,
    RawQuery(q): RawQuery,
) -> HttpResult<Json<Value>> {
    Params::parse(q.as_deref(), &[])?;
    let targets = state.store().target_statuses().await?;
    let depth = state.store().queue_depth().await?;
    Ok(Json(json!({
        "targets": targets,
        "queue": {"ready": depth.ready, "delayed": depth.delayed, "running": depth.running},
        "quarantinedImages": crate::quarantine::list(&state).await?,
        "feedAgeSeconds": feed_age_seconds(&state),
    })))
}

// --- jobs -------------------------------------------------------------------------------

fn job_json(j: &Job) -> Value {
    json!({
        "id": j.id.0,
        "kind": j.kind,
        "key": j.key,
        "state": j.state,
        "notBefore": rfc3339(j.not_before),
        "attempts": j.attempts,
        "maxAttempts": j.max_attempts,
        "leaseOwner": j.lease_owner,
        "leaseUntil": opt_time(j.lease_until),
        "lastError": j.last_error,
    })
}

pub(crate) async fn jobs(
    State(state): State<ApiState>,
    RawQuery(q): RawQuery,
) -> HttpResult<Response> {
    let p = Params::parse(q.as_deref(), &["state", "kind", "limit", "cursor"])?;
    let query = JobQuery {
        state: p.parsed("state", |v| {
            Ok(match v {
                "queued" => JobState::Queued,
                "running" => JobState::Running,
                "done" => JobState::Done,
                "failed" => JobState::Failed,
                _ => return Err("expected queued, running, done or failed".into()),
            })
        })?,
        kind: p.text("kind").map(str::to_string),
        before: p.cursor::<i64>("jobs")?.map(JobId),
        limit: p.limit()?,
    };
    let page = state.store().jobs(&query).await?;
    let items = page.items.iter().map(job_json).collect();
    Ok(page_response(
        "/api/v1/jobs",
        q.as_deref(),
        "jobs",
        items,
        page.next.map(|j| j.0),
    ))
}

pub(crate) async fn job(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> HttpResult<Json<Value>> {
    Params::parse(q.as_deref(), &[])?;
    let id = positive_id(&id).map_err(|e| HttpError::bad_request(format!("job id {id:?}: {e}")))?;
    let job = state
        .store()
        .job(JobId(id))
        .await?
        .ok_or_else(|| HttpError::not_found(format!("no job {id}")))?;
    Ok(Json(job_json(&job)))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TriggerRequest {
    kind: TriggerKind,
    target: String,
}

/// A JSON body, refused with a 400 naming the problem (or 413 past [`crate::MAX_BODY`]).
pub(crate) fn json_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &Bytes,
) -> HttpResult<T> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|m| m.trim() == "application/json")
        });
    if !is_json {
        return Err(HttpError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as Content-Type: application/json",
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| HttpError::bad_request(format!("the request body is not valid: {e}")))
}

pub(crate) async fn trigger(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> HttpResult<Response> {
    let body = body.map_err(body_rejection)?;
    let request: TriggerRequest = json_body(&headers, &body)?;
    let Some(make_job) = &state.config().trigger else {
        return Err(HttpError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_scheduler",
            "this server runs without a scheduler; jobs cannot be triggered here",
        ));
    };
    let spec = make_job(request.kind, &request.target).map_err(HttpError::not_found)?;
    let outcome = state.store().enqueue(&spec).await?;
    tracing::info!(kind = %spec.kind, key = %spec.key, job = outcome.id().0, "job triggered through the API");
    Ok(accepted(&spec, &outcome).into_response())
}

/// The 202 answer to a request that queued a job (or found it already queued).
pub(crate) fn accepted(
    spec: &crowsnest_store::JobSpec,
    outcome: &Enqueued,
) -> impl IntoResponse + use<> {
    (
        StatusCode::ACCEPTED,
        Json(json!({
            "id": outcome.id().0,
            "kind": spec.kind,
            "key": spec.key,
            "alreadyActive": matches!(outcome, Enqueued::AlreadyActive(_)),
        })),
    )
}

pub(crate) fn body_rejection(e: axum::extract::rejection::BytesRejection) -> HttpError {
    let status = e.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        HttpError::new(
            status,
            "payload_too_large",
            format!("the request body is larger than {} bytes", crate::MAX_BODY),
        )
    } else {
        HttpError::new(
            if status.is_client_error() {
                status
            } else {
                StatusCode::BAD_REQUEST
            },
            "bad_body",
            format!("the request body could not be read: {e}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_lose_every_secret_looking_key_and_url_password() {
        let v = json!({
            "registries": [{"url": "https://user:hunter2@reg.example/", "passwordEnv": "REG_PW",
                            "credentials": {"file": "/x"}, "include": ["a/*"]}],
            "database": {"url": "postgres://app:s3cret@db/crowsnest"},
            "api": {"tokenFile": "/t", "listen": "127.0.0.1:8080"},
        });
        let shown = without_secrets(&v).to_string();
        for secret in ["hunter2", "REG_PW", "credentials", "s3cret", "tokenFile"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(
            shown.contains("reg.example") && shown.contains("127.0.0.1:8080"),
            "{shown}"
        );
    }
}

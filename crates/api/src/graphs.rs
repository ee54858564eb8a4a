//! Insights, attack paths, recommendations and explorer queries: the security graph of
//! each cluster's latest snapshot joined with the stored findings of the images it runs.
//! A built graph is reused for [`crate::ApiConfig::graph_ttl`] or until a newer snapshot
//! arrives; building runs on the blocking pool.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use crowsnest_discover::snapshot::{Origin, Snapshot};
use crowsnest_graph::query::{QueryEngine, QueryOptions, TEMPLATES, template};
use crowsnest_graph::{
    AttackPath, BuildOptions, ChokePoint, ClusterInput, ImageFindings, PathOptions, SecurityGraph,
    attack_paths as paths, choke_points,
};
use crowsnest_model::Digest;
use crowsnest_store::{ClusterSummary, Store};
use serde_json::{Value, json};

use crate::ApiState;
use crate::error::{HttpError, HttpResult};
use crate::handlers::{body_rejection, json_body, page_response};
use crate::params::Params;

/// An explorer query runs at most this long.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(5);
/// Rows an explorer query returns at most.
pub const QUERY_MAX_ROWS: usize = 1_000;

pub(crate) struct Loaded {
    pub cluster_id: String,
    pub snapshot_id: i64,
    pub graph: SecurityGraph,
    pub findings: ImageFindings,
}

/// A built graph: the snapshot it is of, when it was built, the graph.
type Built = (i64, Instant, Arc<Loaded>);

#[derive(Default)]
pub(crate) struct GraphCache {
    /// By cluster id.
    built: Mutex<HashMap<String, Built>>,
}

/// Image digests a snapshot's pods run (pulled `imageID`s and `@sha256:` pins).
fn running_digests(snapshot: &Snapshot) -> BTreeSet<Digest> {
    let mut out = BTreeSet::new();
    for pod in snapshot.objects_of("pods") {
        for pointer in [
            "/status/containerStatuses",
            "/status/initContainerStatuses",
            "/spec/containers",
            "/spec/initContainers",
        ] {
            for c in pod
                .pointer(pointer)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                for field in ["imageID", "image"] {
                    if let Some(s) = c.get(field).and_then(Value::as_str)
                        && let Some(start) = s.rfind("sha256:")
                        && let Ok(d) = s[start..].parse::<Digest>()
                    {
                        out.insert(d);
                    }
                }
            }
        }
    }
    out
}

/// Container images named by tag only (no `@sha256:` and no `imageID`: a kubelet that has
/// not reported yet, or a cluster without one), as they appear in pod specs.
fn tagged_references(snapshot: &Snapshot) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for pod in snapshot.objects_of("pods") {
        let reported = |name: &str| {
            ["/status/containerStatuses", "/status/initContainerStatuses"]
                .iter()
                .filter_map(|p| pod.pointer(p).and_then(Value::as_array))
                .flatten()
                .any(|s| {
                    s.get("name").and_then(Value::as_str) == Some(name)
                        && s.get("imageID")
                            .and_then(Value::as_str)
                            .is_some_and(|id| id.contains("sha256:"))
                })
        };
        for pointer in ["/spec/containers", "/spec/initContainers"] {
            for c in pod
                .pointer(pointer)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let name = c.get("name").and_then(Value::as_str).unwrap_or("");
                if let Some(image) = c.get("image").and_then(Value::as_str)
                    && !image.contains('@')
                    && !reported(name)
                {
                    out.insert(image.to_string());
                }
            }
        }
    }
    out
}

/// `host[:port]/repository[:tag]` of a pod's image reference, Docker Hub's defaults
/// applied (`nginx` is `docker.io/library/nginx:latest`).
fn split_reference(image: &str) -> Option<(String, String, String)> {
    let (first, rest) = image.split_once('/').unwrap_or(("", image));
    let (host, path) = if first.contains(['.', ':']) || first == "localhost" {
        (first.to_string(), rest.to_string())
    } else if first.is_empty() {
        ("docker.io".to_string(), format!("library/{rest}"))
    } else {
        ("docker.io".to_string(), image.to_string())
    };
    let last_slash = path.rfind('/').map_or(0, |i| i + 1);
    let (repository, tag) = match path[last_slash..].rfind(':') {
        Some(i) => (
            path[..last_slash + i].to_string(),
            path[last_slash + i + 1..].to_string(),
        ),
        None => (path.clone(), "latest".to_string()),
    };
    (!repository.is_empty() && !tag.is_empty()).then_some((host, repository, tag))
}

/// The digest a monitored registry's tag points at now, from the tags the last poll
/// recorded; `None` when the image is not in a monitored registry.
async fn digest_of_tag(state: &ApiState, image: &str) -> HttpResult<Option<Digest>> {
    let Some((host, repository, tag)) = split_reference(image) else {
        return Ok(None);
    };
    let bare = |url: &str| {
        url.trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string()
    };
    let store = state.store();
    let Some(registry) = store
        .registries()
        .await?
        .into_iter()
        .find(|r| bare(&r.url) == host)
    else {
        return Ok(None);
    };
    let Some(repo) = store
        .repositories(Some(registry.id))
        .await?
        .into_iter()
        .find(|r| r.name == repository)
    else {
        return Ok(None);
    };
    for digest in store.repository_images(repo.id).await? {
        let tagged = store.image(&digest).await?.is_some_and(|details| {
            details
                .locations
                .iter()
                .any(|l| l.repository == repository && l.tags.contains(&tag))
        });
        if tagged {
            return Ok(Some(digest));
        }
    }
    Ok(None)
}

async fn load_cluster(state: &ApiState, cluster: &ClusterSummary) -> HttpResult<Arc<Loaded>> {
    let ttl = state.config().graph_ttl;
    {
        let built = state
            .inner
            .graphs
            .built
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some((id, at, loaded)) = built.get(&cluster.cluster_id)
            && *id == cluster.latest_snapshot
            && at.elapsed() < ttl
        {
            return Ok(Arc::clone(loaded));
        }
    }
    let stored = state
        .store()
        .cluster_snapshot(cluster.latest_snapshot)
        .await?
        .ok_or_else(|| {
            HttpError::not_found(format!("snapshot {} is gone", cluster.latest_snapshot))
        })?;
    let snapshot: Snapshot = serde_json::from_value(stored.snapshot).map_err(|e| {
        HttpError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_a_discovery_snapshot",
            format!(
                "the latest snapshot of {} ({}) is not in the discovery format: {e}",
                cluster.cluster_id, cluster.latest_snapshot
            ),
        )
    })?;
    let mut findings = ImageFindings::new();
    for digest in running_digests(&snapshot) {
        if let Some(a) = state.store().assessment(&digest).await? {
            findings.insert_digest(&digest.to_string(), a.findings);
        }
    }
    for image in tagged_references(&snapshot) {
        if let Some(digest) = digest_of_tag(state, &image).await?
            && let Some(a) = state.store().assessment(&digest).await?
        {
            findings.insert_reference(&image, a.findings);
        }
    }
    let cluster_id = cluster.cluster_id.clone();
    let snapshot_id = cluster.latest_snapshot;
    let loaded = tokio::task::spawn_blocking(move || {
        let input = ClusterInput {
            cluster_id: &snapshot.cluster_id,
            objects: &snapshot.objects,
            manifest_mode: matches!(snapshot.origin, Origin::Manifests { .. }),
        };
        let options = BuildOptions::default();
        let mut graph = crowsnest_graph::build(&input, &findings, &options);
        if !findings.is_empty() {
            // Findings re-scored for where each image runs, as the CLI does.
            findings.reprioritise(&graph, crowsnest_matcher::priority::reassess);
            graph = crowsnest_graph::build(&input, &findings, &options);
        }
        Loaded {
            cluster_id,
            snapshot_id,
            graph,
            findings,
        }
    })
    .await
    .map_err(|e| HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    let loaded = Arc::new(loaded);
    state
        .inner
        .graphs
        .built
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(
            cluster.cluster_id.clone(),
            (snapshot_id, Instant::now(), Arc::clone(&loaded)),
        );
    Ok(loaded)
}

/// The graphs of every cluster, or of the one `cluster` names.
pub(crate) async fn load(state: &ApiState, cluster: Option<&str>) -> HttpResult<Vec<Arc<Loaded>>> {
    let clusters = state.store().clusters().await?;
    let chosen: Vec<&ClusterSummary> = match cluster {
        Some(id) => {
            let c = clusters
                .iter()
                .find(|c| c.cluster_id == id)
                .ok_or_else(|| HttpError::not_found(format!("no snapshot of cluster {id:?}")))?;
            vec![c]
        }
        None => clusters.iter().collect(),
    };
    let mut out = Vec::with_capacity(chosen.len());
    for c in chosen {
        out.push(load_cluster(state, c).await?);
    }
    Ok(out)
}

/// A page of a list computed in memory: the cursor is the offset.
fn offset_page(
    path: &str,
    raw: Option<&str>,
    kind: &str,
    p: &Params,
    all: Vec<Value>,
) -> HttpResult<Response> {
    let start = p.cursor::<usize>(kind)?.unwrap_or(0).min(all.len());
    let limit = p.limit()? as usize;
    let end = (start + limit).min(all.len());
    let next = (end < all.len()).then_some(end);
    let items = all.into_iter().skip(start).take(end - start).collect();
    Ok(page_response(path, raw, kind, items, next))
}

pub(crate) async fn insights(
    State(state): State<ApiState>,
    RawQuery(q): RawQuery,
) -> HttpResult<Response> {
    let p = Params::parse(q.as_deref(), &["cluster", "kind", "limit", "cursor"])?;
    let kind = p.text("kind");
    let mut all = Vec::new();
    for loaded in load(&state, p.text("cluster")).await? {
        for insight in &loaded.graph.insights {
            let mut v = serde_json::to_value(insight).unwrap_or(Value::Null);
            if let Some(k) = kind
                && v.get("kind").and_then(Value::as_str) != Some(k)
            {
                continue;
            }
            if let Value::Object(map) = &mut v {
                map.insert("cluster".into(), json!(loaded.cluster_id));
                map.insert("snapshot".into(), json!(loaded.snapshot_id));
            }
            all.push(v);
        }
    }
    offset_page("/api/v1/insights", q.as_deref(), "insights", &p, all)
}

pub(crate) async fn attack_paths(
    State(state): State<ApiState>,
    RawQuery(q): RawQuery,
) -> HttpResult<Response> {
    let p = Params::parse(
        q.as_deref(),
        &["cluster", "assumeBreach", "limit", "cursor"],
    )?;
    let options = PathOptions {
        assume_breach: p.bool("assumeBreach")?.unwrap_or(false),
        ..PathOptions::default()
    };
    let mut all = Vec::new();
    for loaded in load(&state, p.text("cluster")).await? {
        let found = paths_of(&loaded, &options).await?;
        all.extend(found.paths_json(&loaded));
    }
    offset_page(
        "/api/v1/attack-paths",
        q.as_deref(),
        "attack-paths",
        &p,
        all,
    )
}

/// One cluster's attack paths and choke points.
pub(crate) struct Found {
    pub paths: Vec<AttackPath>,
    pub chokes: Vec<ChokePoint>,
}

impl Found {
    /// The paths as /attack-paths lists them: each with its cluster and the top three
    /// choke points of the cluster.
    pub(crate) fn paths_json(&self, loaded: &Loaded) -> Vec<Value> {
        let top: Vec<&ChokePoint> = self
            .chokes
            .iter()
            .filter(|c| c.paths_broken > 0)
            .take(3)
            .collect();
        self.paths
            .iter()
            .map(|path| {
                let mut v = serde_json::to_value(path).unwrap_or(Value::Null);
                if let Value::Object(map) = &mut v {
                    map.insert("cluster".into(), json!(loaded.cluster_id));
                    map.insert("chokePoints".into(), json!(top));
                }
                v
            })
            .collect()
    }
}

/// Computes a cluster's attack paths and choke points on the blocking pool.
pub(crate) async fn paths_of(loaded: &Arc<Loaded>, options: &PathOptions) -> HttpResult<Found> {
    let options = options.clone();
    let graph_owner = Arc::clone(loaded);
    tokio::task::spawn_blocking(move || {
        let paths = paths(&graph_owner.graph, &options);
        let chokes = choke_points(&graph_owner.graph, &paths, 10);
        Found { paths, chokes }
    })
    .await
    .map_err(|e| HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))
}

pub(crate) async fn recommendations(
    State(state): State<ApiState>,
    RawQuery(q): RawQuery,
) -> HttpResult<Response> {
    let p = Params::parse(q.as_deref(), &["cluster", "limit", "cursor"])?;
    let mut all = Vec::new();
    for loaded in load(&state, p.text("cluster")).await? {
        let recs = crowsnest_graph::recommend::recommendations(&loaded.graph, &loaded.findings);
        for r in recs {
            let mut v = serde_json::to_value(&r).unwrap_or(Value::Null);
            if let Value::Object(map) = &mut v {
                map.insert("cluster".into(), json!(loaded.cluster_id));
            }
            all.push(v);
        }
    }
    offset_page(
        "/api/v1/recommendations",
        q.as_deref(),
        "recommendations",
        &p,
        all,
    )
}

pub(crate) async fn templates(RawQuery(q): RawQuery) -> HttpResult<Json<Value>> {
    Params::parse(q.as_deref(), &[])?;
    let items: Vec<Value> = TEMPLATES
        .iter()
        .map(|t| json!({"name": t.name, "description": t.description, "query": t.query}))
        .collect();
    Ok(Json(json!({"items": items})))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct QueryRequest {
    /// Query text (openCypher subset), or
    query: Option<String>,
    /// the name of a template.
    template: Option<String>,
    /// Which cluster's graph; optional when exactly one cluster has a snapshot.
    cluster: Option<String>,
}

pub(crate) async fn query(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> HttpResult<Json<Value>> {
    let body = body.map_err(body_rejection)?;
    let request: QueryRequest = json_body(&headers, &body)?;
    let text = match (&request.query, &request.template) {
        (Some(q), None) => q.clone(),
        (None, Some(name)) => template(name)
            .ok_or_else(|| HttpError::not_found(format!("no query template {name:?}")))?
            .query
            .to_string(),
        _ => {
            return Err(HttpError::bad_request(
                "give exactly one of \"query\" and \"template\"",
            ));
        }
    };
    let loaded = load(&state, request.cluster.as_deref()).await?;
    let [loaded] = loaded.as_slice() else {
        return Err(HttpError::bad_request(format!(
            "{} clusters have snapshots; name one with \"cluster\"",
            loaded.len()
        )));
    };
    let loaded = Arc::clone(loaded);
    let cluster = loaded.cluster_id.clone();
    let result = tokio::task::spawn_blocking(move || {
        let options = QueryOptions {
            timeout: QUERY_TIMEOUT,
            max_rows: QUERY_MAX_ROWS,
            ..QueryOptions::default()
        };
        QueryEngine::new(&loaded.graph)
            .with_findings(&loaded.findings)
            .query(&text, &options)
    })
    .await
    .map_err(|e| HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    match result {
        Ok(r) => Ok(Json(
            json!({"cluster": cluster, "columns": r.columns, "rows": r.rows, "truncated": r.truncated}),
        )),
        Err(e) if e.is_invalid_query() => {
            Err(HttpError::bad_request(format!("invalid query: {e}")))
        }
        Err(e) => Err(HttpError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "query_failed",
            format!("the query could not complete within its bounds: {e}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn references_split_into_host_repository_and_tag() {
        let split = super::split_reference;
        let owned = |h: &str, r: &str, t: &str| Some((h.into(), r.into(), t.into()));
        assert_eq!(
            split("nginx"),
            owned("docker.io", "library/nginx", "latest")
        );
        assert_eq!(split("org/app:2"), owned("docker.io", "org/app", "2"));
        assert_eq!(
            split("127.0.0.1:5000/crowsnest/app-bookworm:1.0"),
            owned("127.0.0.1:5000", "crowsnest/app-bookworm", "1.0")
        );
        assert_eq!(
            split("registry.test:443/a/b"),
            owned("registry.test:443", "a/b", "latest")
        );
        assert_eq!(split("localhost/x:"), None);
    }
}

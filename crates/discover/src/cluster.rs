//! Snapshots of live clusters through the API: contexts, paginated lists, pacing,
//! timeouts, per-kind gaps and a status per cluster.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use futures::StreamExt;
use kube::api::{Api, ListParams, ObjectList};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::ApiResource;
use kube::{Client, Config};
use serde_json::Value;
use tokio::time::Instant;

use crate::kinds::{self, CLUSTER_ID_NAMESPACE, GATEWAY_GROUP, KINDS, KindSpec, Read};
use crate::snapshot::{ClusterStatus, Gap, GapReason, Origin, Snapshot, Unreachable, slim};

/// Which clusters to discover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The kubeconfig's current context.
    CurrentContext,
    /// These contexts (`--context`, repeatable).
    Contexts(Vec<String>),
    /// Every context in the kubeconfig (`--all-contexts`).
    AllContexts,
    /// The pod's own service account (running inside a cluster).
    InCluster,
}

/// Limits for talking to API servers.
#[derive(Debug, Clone)]
pub struct DiscoverOptions {
    /// Objects per list page (`limit`).
    pub page_size: u32,
    /// Requests per second to one API server (pages, version, discovery).
    pub requests_per_second: u32,
    /// Time allowed for one request (connect + answer).
    pub request_timeout: Duration,
    /// How often a list restarts after `410 Gone` (its continue token expired).
    pub max_list_restarts: u32,
    /// Objects of one kind beyond which the kind is recorded as a gap (bounded memory).
    pub max_objects_per_kind: usize,
    /// Clusters discovered at the same time.
    pub concurrent_clusters: usize,
    /// Kinds of one cluster listed at the same time (within the request rate).
    pub concurrent_lists: usize,
}

impl Default for DiscoverOptions {
    fn default() -> Self {
        DiscoverOptions {
            page_size: 500,
            requests_per_second: 50,
            request_timeout: Duration::from_secs(30),
            max_list_restarts: 3,
            max_objects_per_kind: 500_000,
            concurrent_clusters: 4,
            concurrent_lists: 4,
        }
    }
}

/// Errors that stop discovery before any cluster is contacted.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read kubeconfig: {0}")]
    Kubeconfig(#[source] kube::config::KubeconfigError),
    #[error("context {0:?} is not in the kubeconfig")]
    UnknownContext(String),
    #[error("the kubeconfig has no current context; name one with --context")]
    NoCurrentContext,
    #[error("not running inside a cluster: {0}")]
    InCluster(#[source] kube::config::InClusterError),
}

/// One cluster to discover: its name, its server and how to reach it.
pub struct Target {
    pub context: String,
    pub server: String,
    /// The client configuration, or why it could not be built (a missing key file, a
    /// failing exec plugin): such a cluster gets the status "authentication failed".
    pub(crate) config: Result<Config, String>,
}

impl std::fmt::Debug for Target {
    // The configuration holds credentials: only names are shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("context", &self.context)
            .field("server", &self.server)
            .field("config_ok", &self.config.is_ok())
            .finish()
    }
}

impl Target {
    /// A target from a ready client configuration (tests, embedding).
    pub fn from_config(context: impl Into<String>, config: Config) -> Self {
        Target {
            context: context.into(),
            server: config.cluster_url.to_string(),
            config: Ok(config),
        }
    }
}

/// Resolves `source` against a kubeconfig (`None`: `$KUBECONFIG` or `~/.kube/config`).
pub async fn targets(
    kubeconfig: Option<&Path>,
    source: &Source,
) -> Result<Vec<Target>, SourceError> {
    if *source == Source::InCluster {
        let config = Config::incluster().map_err(SourceError::InCluster)?;
        return Ok(vec![Target::from_config("in-cluster", config)]);
    }
    let file = match kubeconfig {
        Some(path) => Kubeconfig::read_from(path),
        None => Kubeconfig::read(),
    }
    .map_err(SourceError::Kubeconfig)?;
    let known: Vec<String> = file.contexts.iter().map(|c| c.name.clone()).collect();
    let names = match source {
        Source::CurrentContext => {
            vec![
                file.current_context
                    .clone()
                    .filter(|c| !c.is_empty())
                    .ok_or(SourceError::NoCurrentContext)?,
            ]
        }
        Source::Contexts(names) => names.clone(),
        Source::AllContexts => known.clone(),
        Source::InCluster => unreachable!("handled above"),
    };
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        if !known.contains(&name) {
            return Err(SourceError::UnknownContext(name));
        }
        let server = server_of(&file, &name).unwrap_or_default();
        let options = KubeConfigOptions {
            context: Some(name.clone()),
            ..Default::default()
        };
        let config = Config::from_custom_kubeconfig(file.clone(), &options)
            .await
            .map_err(|e| format!("cannot load credentials of context {name:?}: {e}"));
        out.push(Target {
            context: name,
            server,
            config,
        });
    }
    Ok(out)
}

fn server_of(file: &Kubeconfig, context: &str) -> Option<String> {
    let cluster = file
        .contexts
        .iter()
        .find(|c| c.name == context)?
        .context
        .as_ref()?
        .cluster
        .clone();
    file.clusters
        .iter()
        .find(|c| c.name == cluster)?
        .cluster
        .as_ref()?
        .server
        .clone()
}

/// Discovers every target, a few at a time; one snapshot per target, in order. A
/// cluster that fails gets a snapshot with its status and no objects.
pub async fn discover(targets: Vec<Target>, options: &DiscoverOptions) -> Vec<Snapshot> {
    futures::stream::iter(targets)
        .map(|t| discover_target(t, options))
        .buffered(options.concurrent_clusters.max(1))
        .collect()
        .await
}

/// Builds the kube client for a target with the request timeout applied.
pub(crate) fn client_for(config: Config, options: &DiscoverOptions) -> Result<Client, String> {
    let mut config = config;
    config.connect_timeout = Some(options.request_timeout);
    config.read_timeout = Some(options.request_timeout);
    config.write_timeout = Some(options.request_timeout);
    Client::try_from(config).map_err(|e| format!("cannot build a client: {e}"))
}

/// Discovers one cluster.
pub async fn discover_target(target: Target, options: &DiscoverOptions) -> Snapshot {
    let origin = Origin::Cluster {
        context: target.context.clone(),
        server: target.server.clone(),
    };
    let mut snapshot = Snapshot::new(format!("server:{}", target.server), origin);
    let client = match target.config.and_then(|c| client_for(c, options)) {
        Ok(c) => c,
        Err(message) => {
            snapshot.status = ClusterStatus::AuthenticationFailed { message };
            return snapshot;
        }
    };
    let pacer = Pacer::new(options.requests_per_second);
    let session = Session {
        client,
        pacer,
        options,
    };
    if let Err(fatal) = session.fill(&mut snapshot).await {
        snapshot.objects.clear();
        snapshot.gaps.clear();
        snapshot.status = fatal;
        return snapshot;
    }
    snapshot.sort();
    let failed: Vec<String> = snapshot.gaps.iter().map(|g| g.kind.clone()).collect();
    let required = KINDS.iter().filter(|k| !k.optional).count();
    let all_forbidden = snapshot
        .gaps
        .iter()
        .filter(|g| g.reason == GapReason::Forbidden)
        .count()
        >= required;
    snapshot.status = if failed.is_empty() {
        ClusterStatus::Ok
    } else if all_forbidden {
        let message = snapshot
            .gaps
            .first()
            .map(|g| g.message.clone())
            .unwrap_or_default();
        ClusterStatus::Forbidden { message }
    } else {
        ClusterStatus::Partial { kinds: failed }
    };
    snapshot
}

/// Bounds the request rate to one API server: a token bucket that allows a burst of one
/// second's worth of requests, then `per_second` requests per second.
pub(crate) struct Pacer {
    per_second: f64,
    state: tokio::sync::Mutex<(f64, Instant)>,
}

impl Pacer {
    pub(crate) fn new(per_second: u32) -> Self {
        let per_second = f64::from(per_second.max(1));
        Pacer {
            per_second,
            state: tokio::sync::Mutex::new((per_second, Instant::now())),
        }
    }

    pub(crate) async fn wait(&self) {
        let mut state = self.state.lock().await;
        let (tokens, last) = *state;
        let now = Instant::now();
        let tokens = (tokens + now.duration_since(last).as_secs_f64() * self.per_second)
            .min(self.per_second);
        if tokens >= 1.0 {
            *state = (tokens - 1.0, now);
            return;
        }
        let wait = Duration::from_secs_f64((1.0 - tokens) / self.per_second);
        // Holding the lock while sleeping keeps waiters in order.
        tokio::time::sleep(wait).await;
        *state = (0.0, Instant::now());
    }
}

/// Why one request failed, sorted into what the user can act on.
#[derive(Debug)]
pub(crate) enum Failure {
    Status {
        code: u16,
        message: String,
    },
    Refused(String),
    TimedOut(String),
    /// Transport failure other than refused or timed out (DNS, TLS, reset).
    Transport(String),
    Other(String),
}

impl Failure {
    pub(crate) fn from_kube(error: kube::Error) -> Failure {
        match error {
            kube::Error::Api(status) => Failure::Status {
                code: status.code,
                message: status.message.clone(),
            },
            kube::Error::HyperError(_) | kube::Error::Service(_) => {
                let text = error_chain(&error);
                if chain_has_io_kind(&error, std::io::ErrorKind::ConnectionRefused)
                    || text.contains("Connection refused")
                {
                    Failure::Refused(text)
                } else if chain_has_io_kind(&error, std::io::ErrorKind::TimedOut)
                    || text.to_ascii_lowercase().contains("timed out")
                    || text.to_ascii_lowercase().contains("elapsed")
                {
                    Failure::TimedOut(text)
                } else {
                    Failure::Transport(text)
                }
            }
            other => Failure::Other(error_chain(&other)),
        }
    }

    /// A failure that ends the whole cluster's discovery, as its status.
    pub(crate) fn fatal_status(&self) -> Option<ClusterStatus> {
        match self {
            Failure::Status { code: 401, message } => Some(ClusterStatus::AuthenticationFailed {
                message: message.clone(),
            }),
            Failure::Refused(m) => Some(ClusterStatus::Unreachable {
                reason: Unreachable::Refused,
                message: m.clone(),
            }),
            Failure::TimedOut(m) => Some(ClusterStatus::Unreachable {
                reason: Unreachable::TimedOut,
                message: m.clone(),
            }),
            Failure::Transport(m) => Some(ClusterStatus::Unreachable {
                reason: Unreachable::Other,
                message: m.clone(),
            }),
            _ => None,
        }
    }

    fn gap(&self, kind: &str) -> Gap {
        let (reason, message) = match self {
            Failure::Status { code: 403, message } => (GapReason::Forbidden, message.clone()),
            Failure::Status { code, message } => {
                (GapReason::Failed, format!("HTTP {code}: {message}"))
            }
            Failure::TimedOut(m) => (GapReason::TimedOut, m.clone()),
            Failure::Refused(m) | Failure::Transport(m) | Failure::Other(m) => {
                (GapReason::Failed, m.clone())
            }
        };
        Gap {
            kind: kind.to_string(),
            reason,
            message,
        }
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let s = e.to_string();
        if !text.contains(&s) {
            text.push_str(": ");
            text.push_str(&s);
        }
        source = e.source();
    }
    text
}

fn chain_has_io_kind(error: &(dyn std::error::Error + 'static), kind: std::io::ErrorKind) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == kind)
        {
            return true;
        }
        current = e.source();
    }
    false
}

pub(crate) struct Session<'a> {
    pub(crate) client: Client,
    pub(crate) pacer: Pacer,
    pub(crate) options: &'a DiscoverOptions,
}

impl Session<'_> {
    /// Runs one request with pacing and the request timeout.
    pub(crate) async fn call<T>(
        &self,
        request: impl Future<Output = Result<T, kube::Error>>,
    ) -> Result<T, Failure> {
        self.pacer.wait().await;
        match tokio::time::timeout(self.options.request_timeout, request).await {
            Ok(result) => result.map_err(Failure::from_kube),
            Err(_) => Err(Failure::TimedOut(format!(
                "no answer within {} s",
                self.options.request_timeout.as_secs_f32()
            ))),
        }
    }

    /// Fills `snapshot`; an error is the status of a cluster that could not be read at all.
    async fn fill(&self, snapshot: &mut Snapshot) -> Result<(), ClusterStatus> {
        let version = self.call(self.client.apiserver_version()).await;
        match version {
            Ok(info) => snapshot.version = Some(info.git_version),
            Err(f) => {
                if let Some(status) = f.fatal_status() {
                    return Err(status);
                }
            }
        }
        let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(self.client.clone());
        match self
            .call(namespaces.get_metadata(CLUSTER_ID_NAMESPACE))
            .await
        {
            Ok(ns) => {
                if let Some(uid) = ns.metadata.uid {
                    snapshot.cluster_id = uid;
                }
            }
            Err(f) => {
                if let Some(status) = f.fatal_status() {
                    return Err(status);
                }
            }
        }
        let served_optional = self.optional_resources().await?;
        let mut wanted = Vec::new();
        for spec in KINDS {
            let resource = if spec.optional {
                match served_optional.get(spec.plural) {
                    Some(r) => r.clone(),
                    None => continue,
                }
            } else {
                ApiResource {
                    group: spec.group.into(),
                    version: spec.version.into(),
                    api_version: if spec.group.is_empty() {
                        spec.version.into()
                    } else {
                        format!("{}/{}", spec.group, spec.version)
                    },
                    kind: spec.kind.into(),
                    plural: spec.plural.into(),
                }
            };
            wanted.push((spec, resource));
        }
        // A few kinds at a time; the pacer bounds the request rate across them.
        let mut results = futures::stream::iter(wanted)
            .map(|(spec, resource)| async move { (spec, self.list_kind(spec, &resource).await) })
            .buffered(self.options.concurrent_lists.max(1));
        while let Some((spec, result)) = results.next().await {
            match result {
                Ok(items) => {
                    snapshot.objects.insert(spec.plural.to_string(), items);
                }
                Err(failure) => {
                    if let Some(status) = failure.fatal_status() {
                        return Err(status);
                    }
                    snapshot.gaps.push(failure.gap(spec.plural));
                }
            }
        }
        Ok(())
    }

    /// Optional kinds (Gateway API) the cluster serves, at its preferred version.
    async fn optional_resources(&self) -> Result<HashMap<String, ApiResource>, ClusterStatus> {
        let mut served = HashMap::new();
        match self
            .call(kube::discovery::group(&self.client, GATEWAY_GROUP))
            .await
        {
            Ok(group) => {
                for (resource, _) in group.recommended_resources() {
                    if kinds::by_plural(&resource.plural).is_some_and(|k| k.optional) {
                        served.insert(resource.plural.clone(), resource);
                    }
                }
            }
            Err(f) => {
                if let Some(status) = f.fatal_status() {
                    return Err(status);
                }
                // Not served (the usual case: no Gateway API CRDs) or not discoverable:
                // the kinds are absent, which is not a gap.
            }
        }
        Ok(served)
    }

    /// Lists every object of one kind, page by page; a `410 Gone` (expired continue
    /// token) restarts the list from the beginning, a bounded number of times.
    async fn list_kind(
        &self,
        spec: &KindSpec,
        resource: &ApiResource,
    ) -> Result<Vec<Value>, Failure> {
        let path = if resource.group.is_empty() {
            format!("/api/{}/{}", resource.version, resource.plural)
        } else {
            format!(
                "/apis/{}/{}/{}",
                resource.group, resource.version, resource.plural
            )
        };
        let request = kube::core::Request::new(path);
        let mut restarts = 0;
        'restart: loop {
            let mut items: Vec<Value> = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let mut params = ListParams::default().limit(self.options.page_size);
                if let Some(t) = &token {
                    params = params.continue_token(t);
                }
                let built = match spec.read {
                    Read::Full => request.list(&params),
                    Read::MetadataOnly => request.list_metadata(&params),
                }
                .map_err(|e| Failure::Other(format!("cannot build the list request: {e}")))?;
                // Pages are read as plain JSON: no typed round trip for objects kept as JSON.
                let page = self
                    .call(self.client.request::<ObjectList<Value>>(built))
                    .await;
                let page = match page {
                    Ok(p) => p,
                    Err(Failure::Status { code: 410, .. })
                        if restarts < self.options.max_list_restarts =>
                    {
                        restarts += 1;
                        tracing::info!(
                            kind = spec.plural,
                            restarts,
                            "continue token expired (410 Gone); restarting the list"
                        );
                        continue 'restart;
                    }
                    Err(f) => return Err(f),
                };
                for mut item in page.items {
                    if let Some(map) = item.as_object_mut() {
                        map.insert(
                            "apiVersion".into(),
                            Value::String(resource.api_version.clone()),
                        );
                        map.insert("kind".into(), Value::String(resource.kind.clone()));
                    }
                    slim(spec.plural, &mut item);
                    items.push(item);
                }
                if items.len() > self.options.max_objects_per_kind {
                    return Err(Failure::Other(format!(
                        "more than {} objects; raise the limit to read this kind",
                        self.options.max_objects_per_kind
                    )));
                }
                token = page.metadata.continue_.filter(|t| !t.is_empty());
                if token.is_none() {
                    return Ok(items);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pacer_spaces_requests() {
        let pacer = Pacer::new(20);
        let start = Instant::now();
        for _ in 0..20 {
            pacer.wait().await;
        }
        // A burst of one second's worth goes at once...
        assert!(
            start.elapsed() < Duration::from_millis(100),
            "{:?}",
            start.elapsed()
        );
        for _ in 0..5 {
            pacer.wait().await;
        }
        // ...then 20/s: five more take about 250 ms.
        assert!(
            start.elapsed() >= Duration::from_millis(240),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test]
    async fn refused_connection_is_unreachable_not_a_gap() {
        // Port 1 on loopback: nothing listens there, the kernel refuses the connection.
        let config = Config::new("https://127.0.0.1:1".parse().unwrap());
        let options = DiscoverOptions {
            request_timeout: Duration::from_secs(5),
            ..Default::default()
        };
        let snap = discover_target(Target::from_config("down", config), &options).await;
        assert!(
            matches!(
                snap.status,
                ClusterStatus::Unreachable {
                    reason: Unreachable::Refused,
                    ..
                }
            ),
            "{:?}",
            snap.status
        );
        assert!(snap.objects.is_empty() && snap.gaps.is_empty());
    }

    /// A loopback HTTP server that answers like an API server whose first continue token
    /// has expired. This is a stand-in for the one fault the real test bed cannot produce
    /// on demand: a real 410 needs etcd to compact past the token's revision (minutes).
    async fn expiring_api_server() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let pod_pages = Arc::new(AtomicUsize::new(0));
        let served = pod_pages.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let served = served.clone();
                tokio::spawn(async move {
                    let mut buffer = Vec::new();
                    let mut chunk = [0u8; 4096];
                    loop {
                        let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
                            match socket.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                            }
                            continue;
                        };
                        let head = String::from_utf8_lossy(&buffer[..end]).to_string();
                        buffer.drain(..end + 4);
                        let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
                        let list = |items: &str, next: &str| {
                            format!(
                                "{{\"apiVersion\":\"v1\",\"kind\":\"List\",\"metadata\":{{\"continue\":\"{next}\"}},\"items\":[{items}]}}"
                            )
                        };
                        let (code, body) = if path.starts_with("/version") {
                            (
                                200,
                                r#"{"major":"1","minor":"34","gitVersion":"v1.34.4"}"#.to_string(),
                            )
                        } else if path.starts_with("/api/v1/pods") {
                            let page = served.fetch_add(1, Ordering::SeqCst);
                            match (page, path.contains("continue=")) {
                                (_, false) => (200, list(r#"{"metadata":{"name":"a","namespace":"n"}}"#, "tok1")),
                                (1, true) => (410, r#"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Expired","message":"The provided continue parameter is too old","code":410}"#.to_string()),
                                (_, true) => (200, list(r#"{"metadata":{"name":"b","namespace":"n"}}"#, "")),
                            }
                        } else if path.starts_with("/api/")
                            || path.starts_with("/apis/") && path.matches('/').count() > 3
                        {
                            (200, list("", ""))
                        } else {
                            (404, r#"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}"#.to_string())
                        };
                        let response = format!(
                            "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if socket.write_all(response.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (url, pod_pages)
    }

    #[tokio::test]
    async fn gone_continue_token_restarts_the_list_without_duplicates() {
        let (url, pod_pages) = expiring_api_server().await;
        let config = Config::new(url.parse().unwrap());
        let options = DiscoverOptions {
            requests_per_second: 1000,
            ..Default::default()
        };
        let snap = discover_target(Target::from_config("expiring", config), &options).await;
        assert_eq!(snap.status, ClusterStatus::Ok, "{:?}", snap.gaps);
        let pods: Vec<String> = snap
            .objects_of("pods")
            .iter()
            .map(crate::snapshot::object_key)
            .collect();
        assert_eq!(pods, ["n/a", "n/b"]);
        // First page, expired continue (410), first page again, second page.
        assert_eq!(pod_pages.load(std::sync::atomic::Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn unknown_context_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(
            &path,
            "apiVersion: v1\nkind: Config\nclusters: []\ncontexts:\n- name: a\n  context: {cluster: c, user: u}\nusers: []\n",
        )
        .unwrap();
        let err = targets(Some(&path), &Source::Contexts(vec!["b".into()]))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("\"b\""), "{err}");
        let err = targets(Some(&path), &Source::CurrentContext)
            .await
            .unwrap_err();
        assert!(matches!(err, SourceError::NoCurrentContext), "{err}");
    }
}

//! The REST API of the continuous assessment service: JSON under `/api/v1`, described by
//! the OpenAPI 3 document at `/openapi.json` (docs/api.md is the guide).
//!
//! Entry points: [`router`] (an axum `Router`, for tests and embedding) and [`serve`]
//! (binds, optionally TLS, graceful shutdown). `crowsnest serve` builds an [`ApiState`]
//! with [`ApiState::new`] and calls [`serve`].
//!
//! API boundary: every data endpoint requires a bearer token (see [`auth`]); no response
//! ever carries a secret or a credential (settings are filtered, tokens are stored and
//! listed only as hashes and names). Every 4xx and 5xx has the body
//! `{"error":{"code":"…","message":"…"}}`. Reads run on the store's read side, never
//! behind a scan's write.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use crowsnest_store::{AnyStore, JobSpec, Store};
use sha2::{Digest as _, Sha256};

pub mod auth;
mod defender;
mod error;
mod graphs;
mod handlers;
mod metrics;
mod openapi;
mod overview;
mod params;
mod quarantine;
pub mod session;
mod tls;
mod tokens;

/// The store crate, for callers (the CLI's token commands) that open the store the API
/// serves without depending on it themselves.
pub use crowsnest_store as store;
pub use error::HttpError;
pub use metrics::Metrics;
pub use openapi::document as openapi_document;

/// Largest request body accepted (explorer queries and job requests are small).
pub const MAX_BODY: usize = 64 * 1024;

/// Where and how to listen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiOptions {
    /// Default 127.0.0.1:8080: loopback unless told otherwise.
    pub listen: SocketAddr,
    /// PEM certificate chain and PEM private key: serve HTTPS instead of HTTP.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// How long graceful shutdown waits for requests in flight.
    pub shutdown_grace: Duration,
}

impl Default for ApiOptions {
    fn default() -> Self {
        ApiOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            tls: None,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// What an admin asked to run now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TriggerKind {
    /// Poll one configured registry (target: its URL or configured name).
    RegistryPoll,
    /// Snapshot one configured cluster (target: its configured name).
    ClusterSnapshot,
}

/// Turns an admin's request into the job the service's workers run; `Err(message)` when
/// the target is not configured (answered 404 with the message). The service supplies
/// it, because it alone knows its job kinds, keys and payloads.
pub type TriggerFn =
    Arc<dyn Fn(TriggerKind, &str) -> Result<JobSpec, String> + Send + Sync + 'static>;

/// Answers the requests no API route takes (the web console at `/`): `None` when the
/// request is not its, which then gets the API's JSON 404.
pub type SiteFn =
    Arc<dyn Fn(&Method, &str, &axum::http::HeaderMap) -> Option<Response> + Send + Sync + 'static>;

/// Makes the scan job for an image found in `repository` of the registry at
/// `registry_url` (`POST /api/v1/images/{digest}/retry`); `Err(message)` when that
/// registry is not configured (answered 404).
pub type RescanFn = Arc<
    dyn Fn(&str, &str, &crowsnest_model::Digest) -> Result<JobSpec, String> + Send + Sync + 'static,
>;

/// What the API serves from, besides the store.
pub struct ApiConfig {
    /// The data directory (shown by /readyz checks, never served).
    pub data_dir: PathBuf,
    /// The advisory database; its modification time is the feed age in /metrics.
    pub feed_db: Option<PathBuf>,
    /// The effective configuration as the settings endpoint shows it. Callers pass it
    /// without credentials; keys that look like secrets are removed again here.
    pub settings: serde_json::Value,
    /// `None`: POST /api/v1/jobs answers 503 (no scheduler in this process).
    pub trigger: Option<TriggerFn>,
    /// `None`: POST /api/v1/images/{digest}/retry answers 503.
    pub rescan: Option<RescanFn>,
    /// How long a built security graph is reused before it is rebuilt from the store.
    pub graph_ttl: Duration,
    /// The web console, mounted at `/` (`crowsnest serve` passes the embedded one).
    pub site: Option<SiteFn>,
}

impl ApiConfig {
    pub fn new(data_dir: PathBuf) -> Self {
        ApiConfig {
            data_dir,
            feed_db: None,
            settings: serde_json::Value::Object(Default::default()),
            trigger: None,
            rescan: None,
            graph_ttl: Duration::from_secs(60),
            site: None,
        }
    }
}

/// The state every handler shares. Cheap to clone.
#[derive(Clone)]
pub struct ApiState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<AnyStore>,
    config: ApiConfig,
    auth: auth::AuthState,
    metrics: Metrics,
    graphs: graphs::GraphCache,
    /// Whether the server listens with TLS (session cookies are then `Secure`).
    tls: std::sync::atomic::AtomicBool,
}

impl ApiState {
    pub fn new(store: Arc<AnyStore>, config: ApiConfig) -> Self {
        ApiState {
            inner: Arc::new(Inner {
                store,
                config,
                auth: auth::AuthState::default(),
                metrics: Metrics::default(),
                graphs: graphs::GraphCache::default(),
                tls: std::sync::atomic::AtomicBool::new(false),
            }),
        }
    }

    /// The metrics this server exposes; the service records scan durations here.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    pub(crate) fn store(&self) -> &AnyStore {
        &self.inner.store
    }

    pub(crate) fn config(&self) -> &ApiConfig {
        &self.inner.config
    }

    pub(crate) fn serves_tls(&self) -> bool {
        self.inner.tls.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The peer address of a connection, plain or TLS (the rate limiter keys on its IP).
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub SocketAddr);

impl
    axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, tokio::net::TcpListener>>
    for ClientAddr
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, tokio::net::TcpListener>) -> Self {
        ClientAddr(*stream.remote_addr())
    }
}

/// Every route: `/healthz`, `/readyz`, `/metrics`, `/openapi.json` open; `/api/v1/*`
/// behind a token.
pub fn router(state: ApiState) -> Router {
    let data = Router::new()
        .route("/clusters", get(handlers::clusters))
        .route("/clusters/{cluster}", get(handlers::cluster))
        .route("/snapshots", get(handlers::snapshots))
        .route("/snapshots/diff", get(handlers::snapshot_diff))
        .route("/snapshots/{id}", get(handlers::snapshot))
        .route("/registries", get(handlers::registries))
        .route("/repositories", get(handlers::repositories))
        .route("/images", get(handlers::images))
        .route("/images/{digest}", get(handlers::image))
        .route("/images/{digest}/sbom", get(handlers::sbom))
        .route("/images/{digest}/retry", post(quarantine::retry))
        .route("/findings", get(handlers::findings))
        .route("/assessments", get(defender::assessments))
        .route("/assessments/{digest}", get(defender::assessment))
        .route(
            "/assessments/{digest}/subAssessments",
            get(defender::sub_assessments),
        )
        .route("/insights", get(graphs::insights))
        .route("/attack-paths", get(graphs::attack_paths))
        .route("/recommendations", get(graphs::recommendations))
        .route("/explorer/templates", get(graphs::templates))
        .route("/explorer/query", post(graphs::query))
        .route("/settings", get(handlers::settings))
        .route("/status", get(handlers::status))
        .route("/jobs", get(handlers::jobs).post(handlers::trigger))
        .route("/jobs/{id}", get(handlers::job))
        // The web console's endpoints.
        .route("/overview", get(overview::overview))
        .route("/tokens", get(tokens::list).post(tokens::create))
        .route("/tokens/{name}", axum::routing::delete(tokens::revoke))
        .route("/explorer/saved", get(tokens::saved).post(tokens::save))
        .route(
            "/explorer/saved/{id}",
            axum::routing::delete(tokens::unsave),
        )
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ));
    Router::new()
        .route("/healthz", get(handlers::healthz))
        .route("/readyz", get(handlers::readyz))
        .route("/metrics", get(handlers::metrics))
        .route("/openapi.json", get(handlers::openapi))
        .nest("/api/v1", data.merge(console_routes()))
        .fallback(site_or_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(etag))
        .layer(middleware::from_fn(uniform_errors))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::observe,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// The web console's answer when it has one, else the JSON 404.
/// Console sessions: outside the token layer, they authenticate themselves.
fn console_routes() -> Router<ApiState> {
    Router::new().route(
        "/session",
        post(session::create)
            .get(session::show)
            .delete(session::delete),
    )
}

async fn site_or_not_found(
    axum::extract::State(state): axum::extract::State<ApiState>,
    request: Request,
) -> Response {
    let path = request.uri().path();
    if let Some(site) = &state.config().site
        && let Some(response) = site(request.method(), path, request.headers())
    {
        return response;
    }
    HttpError::not_found(format!("no such endpoint: {path}")).into_response()
}

async fn method_not_allowed(request: Request) -> HttpError {
    HttpError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{} is not allowed on {}",
            request.method(),
            request.uri().path()
        ),
    )
}

/// Middleware: an error response produced outside the handlers (an extractor's
/// rejection, a body limit) gets the one error body too.
async fn uniform_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if status.as_u16() < 400 || is_json {
        return response;
    }
    let text = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "unprocessable",
        s if s.is_client_error() => "client_error",
        _ => "internal",
    };
    let message = if text.trim().is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text.trim().to_string()
    };
    HttpError::new(status, code, message).into_response()
}

/// Largest response given an ETag (bigger ones are sent without).
const MAX_ETAG_BODY: usize = 64 * 1024 * 1024;

/// Middleware: a strong ETag on every successful GET, and 304 when `If-None-Match`
/// names it (the body is computed anyway; what is saved is the transfer). A response
/// that has its own ETag (the console's precomputed ones) keeps it.
async fn etag(request: Request, next: Next) -> Response {
    if request.method() != Method::GET {
        return next.run(request).await;
    }
    let if_none_match = request.headers().get(header::IF_NONE_MATCH).cloned();
    let response = next.run(request).await;
    if response.status() != StatusCode::OK || response.headers().contains_key(header::ETAG) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_ETAG_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return HttpError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "response_too_large",
                "the response could not be buffered",
            )
            .into_response();
        }
    };
    let tag = format!("\"{}\"", &hex::encode(Sha256::digest(&bytes))[..32]);
    if let Ok(value) = HeaderValue::from_str(&tag) {
        parts.headers.insert(header::ETAG, value);
    }
    let matches = if_none_match
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim() == "*"
                || v.split(',')
                    .any(|t| t.trim().trim_start_matches("W/") == tag)
        });
    if matches {
        parts.status = StatusCode::NOT_MODIFIED;
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, axum::body::Body::empty());
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("TLS certificate or key {path}: {reason}")]
    Tls { path: String, reason: String },
    #[error("the HTTP server failed: {0}")]
    Serve(std::io::Error),
}

/// Serves the API on `options.listen` until `shutdown` completes, then stops accepting
/// and waits up to `options.shutdown_grace` for requests in flight.
pub async fn serve(
    options: ApiOptions,
    state: ApiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ApiError> {
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|source| ApiError::Bind {
            addr: options.listen,
            source,
        })?;
    serve_on(listener, options, state, shutdown).await
}

/// [`serve`] on a listener already bound (tests bind port 0 and read the address).
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    options: ApiOptions,
    state: ApiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ApiError> {
    state
        .inner
        .tls
        .store(options.tls.is_some(), std::sync::atomic::Ordering::Relaxed);
    let app = router(state);
    let local = listener.local_addr().map_err(ApiError::Serve)?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!("API server shutting down: no new connections");
        let _ = stop_tx.send(true);
    });
    let make = app.into_make_service_with_connect_info::<ClientAddr>();
    let served = async {
        match &options.tls {
            Some((cert, key)) => {
                let acceptor = tls::acceptor(cert, key)?;
                tracing::info!(address = %local, "API server listening (HTTPS)");
                axum::serve(tls::TlsListener::new(listener, acceptor), make)
                    .with_graceful_shutdown(wait_true(stop_rx.clone()))
                    .await
                    .map_err(ApiError::Serve)
            }
            None => {
                tracing::info!(address = %local, "API server listening (HTTP)");
                axum::serve(listener, make)
                    .with_graceful_shutdown(wait_true(stop_rx.clone()))
                    .await
                    .map_err(ApiError::Serve)
            }
        }
    };
    // Requests in flight get `shutdown_grace` after the signal, then the server stops.
    let deadline = async {
        wait_true(stop_rx.clone()).await;
        tokio::time::sleep(options.shutdown_grace).await;
    };
    tokio::select! {
        result = served => result,
        () = deadline => {
            tracing::warn!(seconds = options.shutdown_grace.as_secs(), "requests still in flight after the grace period; stopping anyway");
            Ok(())
        }
    }
}

async fn wait_true(mut rx: tokio::sync::watch::Receiver<bool>) {
    while !*rx.borrow_and_update() {
        if rx.changed().await.is_err() {
            // The sender is gone without a signal: never shut down from here.
            std::future::pending::<()>().await;
        }
    }
}

/// For /readyz: the store answers and its schema is this build's.
pub(crate) async fn store_ready(state: &ApiState) -> Result<i64, String> {
    let version = tokio::time::timeout(Duration::from_secs(5), state.store().schema_version())
        .await
        .map_err(|_| "the store did not answer within 5 s".to_string())?
        .map_err(|e| e.to_string())?;
    let latest = crowsnest_store::schema::latest_version();
    if version != latest {
        return Err(format!(
            "schema at version {version}, this build needs {latest}"
        ));
    }
    Ok(version)
}

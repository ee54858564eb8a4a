//! A read-only client for the OCI Distribution API.
//!
//! Only GET and HEAD requests are ever issued: Crowsnest never writes to a registry.
//! Authentication follows the registry's `WWW-Authenticate` challenge (Basic, or Bearer
//! with realm/service/scope and a token cache). Transient failures (429, 5xx, resets) are
//! retried with exponential backoff, honouring `Retry-After`, a bounded number of times.
//! Blob streams that drop mid-way resume with a `Range` request.

use std::collections::HashMap;
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use crowsnest_model::Digest;
use futures::StreamExt;
use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, LINK, RANGE, RETRY_AFTER, WWW_AUTHENTICATE,
};
use reqwest::{Method, Response, StatusCode};
use serde::Deserialize;
use url::Url;

use crate::credentials::Credentials;
use crate::manifest::{ACCEPT as MANIFEST_ACCEPT, MAX_MANIFEST_BYTES};
use crate::reference::api_host;
use crate::walk::digest_of;

/// How to reach a registry.
#[derive(Clone, Debug)]
pub struct RegistryOptions {
    /// Allow plain HTTP (and only then). Never implied.
    pub insecure: bool,
    /// Extra CA certificates (PEM) trusted in addition to the system roots.
    pub ca_file: Option<PathBuf>,
    pub credentials: Option<Credentials>,
    pub connect_timeout: Duration,
    /// Longest wait for the next bytes of a response before it counts as stalled.
    pub read_timeout: Duration,
    pub retry: RetryPolicy,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            insecure: false,
            ca_file: None,
            credentials: None,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
        }
    }
}

/// Bounded retries with exponential backoff.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub max_retries: u32,
    pub base_delay: Duration,
    /// Upper bound on any single wait, including one asked for by `Retry-After`.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.base_delay.saturating_mul(1u32 << attempt.min(16));
        exp.min(self.max_delay)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
    #[error("reading CA file {path}: {reason}")]
    CaFile { path: PathBuf, reason: String },
    #[error("{url}: {source}")]
    Transport {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url}: authentication failed (HTTP {status}){hint}")]
    Unauthorized {
        url: String,
        status: u16,
        hint: &'static str,
    },
    #[error(
        "{url}: access denied (HTTP 403): the credentials lack pull rights for this repository"
    )]
    Forbidden { url: String },
    #[error("{what} not found at {url} (HTTP 404)")]
    NotFound { what: String, url: String },
    #[error("{url}: HTTP {status}{detail}")]
    Status {
        url: String,
        status: u16,
        detail: String,
    },
    #[error("{url}: gave up after {attempts} attempts; last answer: {last}")]
    RetriesExhausted {
        url: String,
        attempts: u32,
        last: String,
    },
    #[error("token service {realm}: {reason}")]
    Token { realm: String, reason: String },
    #[error("{url}: response of more than {limit} bytes refused")]
    TooLarge { url: String, limit: usize },
    #[error("{what}: digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        what: String,
        expected: Digest,
        actual: Digest,
    },
    #[error("{url}: {reason}")]
    Protocol { url: String, reason: String },
}

/// How a request authenticates, learned from the registry's challenge.
#[derive(Clone, Debug)]
enum AuthScheme {
    Anonymous,
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

/// A client for one registry host.
pub struct RegistryClient {
    http: reqwest::Client,
    base: Url,
    registry: String,
    opts: RegistryOptions,
    scheme: Mutex<AuthScheme>,
    /// Bearer tokens by scope.
    tokens: Mutex<HashMap<String, String>>,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

/// A manifest as served, with the digest it was verified against.
#[derive(Clone, Debug)]
pub struct FetchedManifest {
    pub bytes: Vec<u8>,
    pub media_type: Option<String>,
    pub digest: Digest,
}

#[derive(Deserialize)]
struct TokenReply {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
}

#[derive(Deserialize)]
struct CatalogPage {
    #[serde(default)]
    repositories: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct TagsPage {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Deserialize)]
struct ErrorItem {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// Page size asked of `_catalog` and `tags/list`.
const PAGE_SIZE: usize = 1000;
/// Listing bodies are small per page; a page larger than this is refused.
const MAX_LIST_PAGE_BYTES: usize = 32 << 20;

impl RegistryClient {
    pub fn new(registry: &str, opts: RegistryOptions) -> Result<RegistryClient, RegistryError> {
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("crowsnest/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(opts.connect_timeout)
            .read_timeout(opts.read_timeout)
            .https_only(!opts.insecure);
        if let Some(ca) = &opts.ca_file {
            let pem = std::fs::read(ca).map_err(|e| RegistryError::CaFile {
                path: ca.clone(),
                reason: e.to_string(),
            })?;
            let certs =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| RegistryError::CaFile {
                    path: ca.clone(),
                    reason: e.to_string(),
                })?;
            if certs.is_empty() {
                return Err(RegistryError::CaFile {
                    path: ca.clone(),
                    reason: "no PEM certificate in the file".into(),
                });
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder
            .build()
            .map_err(|e| RegistryError::Client(e.to_string()))?;
        let scheme = if opts.insecure { "http" } else { "https" };
        let base = Url::parse(&format!("{scheme}://{}/", api_host(registry)))
            .map_err(|e| RegistryError::Client(format!("registry {registry:?}: {e}")))?;
        Ok(RegistryClient {
            http,
            base,
            registry: registry.to_string(),
            opts,
            scheme: Mutex::new(AuthScheme::Anonymous),
            tokens: Mutex::new(HashMap::new()),
        })
    }

    pub fn registry(&self) -> &str {
        &self.registry
    }

    fn url(&self, path: &str) -> Url {
        self.base
            .join(path)
            .expect("registry paths are valid URL paths")
    }

    /// The Authorization header for a request in `scope`. Once a registry has shown it
    /// uses bearer tokens, a token for a new scope is fetched up front instead of after
    /// another 401.
    async fn authorization(&self, scope: &str) -> Result<Option<String>, RegistryError> {
        let scheme = self.scheme.lock().expect("auth lock").clone();
        Ok(match scheme {
            AuthScheme::Anonymous => None,
            AuthScheme::Basic => self.opts.credentials.as_ref().map(basic_header),
            AuthScheme::Bearer { realm, service } => {
                let cached = self.tokens.lock().expect("token lock").get(scope).cloned();
                let token = match cached {
                    Some(t) => t,
                    None => {
                        let t = self.fetch_token(&realm, service.as_deref(), scope).await?;
                        self.tokens
                            .lock()
                            .expect("token lock")
                            .insert(scope.to_string(), t.clone());
                        t
                    }
                };
                Some(format!("Bearer {token}"))
            }
        })
    }

    /// Sends a GET (or HEAD) with authentication and bounded retries. Returns any final
    /// response; the caller maps statuses.
    async fn send(
        &self,
        method: Method,
        url: &Url,
        scope: &str,
        extra: &HeaderMap,
    ) -> Result<Response, RegistryError> {
        debug_assert!(
            method == Method::GET || method == Method::HEAD,
            "read-only client"
        );
        let retry = self.opts.retry;
        let mut attempt = 0u32;
        let mut authenticated_once = false;
        loop {
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .headers(extra.clone());
            if let Some(auth) = self.authorization(scope).await? {
                req = req.header(AUTHORIZATION, auth);
            }
            let outcome = req.send().await;
            let last = match outcome {
                Ok(resp) if resp.status() == StatusCode::UNAUTHORIZED && !authenticated_once => {
                    authenticated_once = true;
                    let challenge = resp
                        .headers()
                        .get(WWW_AUTHENTICATE)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                    match challenge {
                        Some(c) => {
                            self.answer_challenge(&c, scope).await?;
                            continue;
                        }
                        None => return Ok(resp),
                    }
                }
                Ok(resp) if is_retryable(resp.status()) => {
                    let status = resp.status();
                    if attempt >= retry.max_retries {
                        return Err(RegistryError::RetriesExhausted {
                            url: url.to_string(),
                            attempts: attempt + 1,
                            last: format!("HTTP {status}"),
                        });
                    }
                    let wait = retry_after(resp.headers())
                        .unwrap_or_else(|| retry.backoff(attempt))
                        .min(retry.max_delay);
                    tracing::debug!(%url, %status, ?wait, "retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                    continue;
                }
                Ok(resp) => return Ok(resp),
                Err(e) if is_transient(&e) => e,
                Err(e) => {
                    return Err(RegistryError::Transport {
                        url: url.to_string(),
                        source: e,
                    });
                }
            };
            if attempt >= retry.max_retries {
                return Err(RegistryError::RetriesExhausted {
                    url: url.to_string(),
                    attempts: attempt + 1,
                    last: error_chain(&last),
                });
            }
            tracing::debug!(%url, error = %last, "retrying after transport error");
            tokio::time::sleep(retry.backoff(attempt)).await;
            attempt += 1;
        }
    }

    async fn answer_challenge(&self, challenge: &str, scope: &str) -> Result<(), RegistryError> {
        let (kind, params) = parse_challenge(challenge);
        match kind.to_ascii_lowercase().as_str() {
            "basic" => {
                *self.scheme.lock().expect("auth lock") = AuthScheme::Basic;
                Ok(())
            }
            "bearer" => {
                let realm =
                    params
                        .get("realm")
                        .cloned()
                        .ok_or_else(|| RegistryError::Protocol {
                            url: self.base.to_string(),
                            reason: format!("Bearer challenge without a realm: {challenge}"),
                        })?;
                let service = params.get("service").cloned();
                let token = self.fetch_token(&realm, service.as_deref(), scope).await?;
                self.tokens
                    .lock()
                    .expect("token lock")
                    .insert(scope.to_string(), token);
                *self.scheme.lock().expect("auth lock") = AuthScheme::Bearer { realm, service };
                Ok(())
            }
            _ => Err(RegistryError::Protocol {
                url: self.base.to_string(),
                reason: format!("unsupported authentication challenge: {challenge}"),
            }),
        }
    }

    async fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: &str,
    ) -> Result<String, RegistryError> {
        let fail = |reason: String| RegistryError::Token {
            realm: realm.to_string(),
            reason,
        };
        let mut url = Url::parse(realm).map_err(|e| fail(format!("invalid realm URL: {e}")))?;
        if url.scheme() != "https" && !self.opts.insecure {
            return Err(fail("the token realm is not HTTPS; refusing to send credentials (use --insecure only for a test registry)".into()));
        }
        {
            let mut q = url.query_pairs_mut();
            if let Some(s) = service {
                q.append_pair("service", s);
            }
            if !scope.is_empty() {
                q.append_pair("scope", scope);
            }
        }
        let mut req = self.http.get(url.clone());
        if let Some(c) = &self.opts.credentials {
            req = req.header(AUTHORIZATION, basic_header(c));
        }
        let resp = req.send().await.map_err(|e| fail(error_chain(&e)))?;
        let status = resp.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(RegistryError::Unauthorized {
                url: url.to_string(),
                status: status.as_u16(),
                hint: hint_for(self.opts.credentials.is_some()),
            });
        }
        if !status.is_success() {
            return Err(fail(format!("HTTP {status}")));
        }
        let body = read_limited(resp, 1 << 20, url.as_str()).await?;
        let reply: TokenReply =
            serde_json::from_slice(&body).map_err(|e| fail(format!("bad token reply: {e}")))?;
        reply
            .token
            .or(reply.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| fail("token reply has no token".into()))
    }

    /// Maps a final non-success response to an error.
    async fn status_error(&self, resp: Response, what: &str) -> RegistryError {
        let url = resp.url().to_string();
        let status = resp.status();
        match status {
            StatusCode::UNAUTHORIZED => RegistryError::Unauthorized {
                url,
                status: 401,
                hint: hint_for(self.opts.credentials.is_some()),
            },
            StatusCode::FORBIDDEN => RegistryError::Forbidden { url },
            StatusCode::NOT_FOUND => RegistryError::NotFound {
                what: what.to_string(),
                url,
            },
            _ => {
                let body = read_limited(resp, 64 << 10, &url).await.unwrap_or_default();
                let detail = serde_json::from_slice::<ErrorBody>(&body)
                    .ok()
                    .and_then(|b| b.errors.into_iter().next())
                    .map(|e| format!(": {} {}", e.code, e.message))
                    .unwrap_or_default();
                RegistryError::Status {
                    url,
                    status: status.as_u16(),
                    detail,
                }
            }
        }
    }

    /// Fetches a manifest by tag or digest and verifies its digest.
    pub async fn manifest(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<FetchedManifest, RegistryError> {
        let url = self.url(&format!("v2/{repository}/manifests/{reference}"));
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, MANIFEST_ACCEPT.parse().expect("static header"));
        let resp = self
            .send(Method::GET, &url, &pull_scope(repository), &headers)
            .await?;
        if !resp.status().is_success() {
            return Err(self
                .status_error(resp, &format!("manifest {repository}:{reference}"))
                .await);
        }
        let media_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let claimed = resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<Digest>().ok());
        let bytes = read_limited(resp, MAX_MANIFEST_BYTES, url.as_str()).await?;
        let expected = reference.parse::<Digest>().ok().or(claimed);
        let alg = expected
            .as_ref()
            .map_or(crowsnest_model::digest::Algorithm::Sha256, |d| {
                d.algorithm()
            });
        let actual = digest_of(alg, &bytes);
        if let Some(expected) = expected
            && expected != actual
        {
            return Err(RegistryError::DigestMismatch {
                what: format!("manifest {}/{repository}:{reference}", self.registry),
                expected,
                actual,
            });
        }
        Ok(FetchedManifest {
            bytes: bytes.to_vec(),
            media_type,
            digest: actual,
        })
    }

    /// Fetches a small blob (an image config) whole, verifying its digest.
    pub async fn blob_bytes(
        &self,
        repository: &str,
        digest: &Digest,
        limit: usize,
    ) -> Result<Vec<u8>, RegistryError> {
        let url = self.url(&format!("v2/{repository}/blobs/{digest}"));
        let resp = self
            .send(
                Method::GET,
                &url,
                &pull_scope(repository),
                &HeaderMap::new(),
            )
            .await?;
        if !resp.status().is_success() {
            return Err(self
                .status_error(resp, &format!("blob {digest} in {repository}"))
                .await);
        }
        let bytes = read_limited(resp, limit, url.as_str()).await?;
        let actual = digest_of(digest.algorithm(), &bytes);
        if actual != *digest {
            return Err(RegistryError::DigestMismatch {
                what: format!("blob {}/{repository}@{digest}", self.registry),
                expected: digest.clone(),
                actual,
            });
        }
        Ok(bytes.to_vec())
    }

    /// Opens a blob as a blocking reader fed by a background task. The digest is not
    /// checked here: the layer walk hashes the stream as it consumes it. A connection
    /// that drops mid-blob is resumed with a Range request, within the retry budget.
    pub fn blob_reader(self: &Arc<Self>, repository: &str, digest: &Digest) -> BlobReader {
        let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(16);
        let client = Arc::clone(self);
        let repository = repository.to_string();
        let digest = digest.clone();
        tokio::spawn(async move {
            if let Err(e) = client.pump_blob(&repository, &digest, &tx).await {
                let _ = tx.send(Err(io::Error::other(e))).await;
            }
        });
        BlobReader {
            rx,
            current: Bytes::new(),
        }
    }

    async fn pump_blob(
        &self,
        repository: &str,
        digest: &Digest,
        tx: &tokio::sync::mpsc::Sender<io::Result<Bytes>>,
    ) -> Result<(), RegistryError> {
        let url = self.url(&format!("v2/{repository}/blobs/{digest}"));
        let mut delivered: u64 = 0;
        let mut resumes = 0u32;
        loop {
            let mut headers = HeaderMap::new();
            if delivered > 0 {
                headers.insert(
                    RANGE,
                    format!("bytes={delivered}-").parse().expect("range header"),
                );
            }
            let resp = self
                .send(Method::GET, &url, &pull_scope(repository), &headers)
                .await?;
            let status = resp.status();
            if !status.is_success() {
                return Err(self
                    .status_error(resp, &format!("blob {digest} in {repository}"))
                    .await);
            }
            // A server that ignores Range starts over: skip what was already delivered.
            let mut skip = if delivered > 0 && status != StatusCode::PARTIAL_CONTENT {
                delivered
            } else {
                0
            };
            let mut stream = resp.bytes_stream();
            let mut failed = None;
            while let Some(chunk) = stream.next().await {
                match chunk {
                    Ok(mut bytes) => {
                        if skip > 0 {
                            let n = skip.min(bytes.len() as u64);
                            skip -= n;
                            bytes = bytes.slice(n as usize..);
                            if bytes.is_empty() {
                                continue;
                            }
                        }
                        delivered += bytes.len() as u64;
                        if tx.send(Ok(bytes)).await.is_err() {
                            return Ok(()); // the reader went away: nothing more to do
                        }
                    }
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            match failed {
                None => return Ok(()),
                Some(e) if resumes < self.opts.retry.max_retries => {
                    tracing::debug!(%url, delivered, error = %error_chain(&e), "blob stream dropped; resuming");
                    tokio::time::sleep(self.opts.retry.backoff(resumes)).await;
                    resumes += 1;
                }
                Some(e) => {
                    return Err(RegistryError::RetriesExhausted {
                        url: url.to_string(),
                        attempts: resumes + 1,
                        last: format!("stream broken after {delivered} bytes: {}", error_chain(&e)),
                    });
                }
            }
        }
    }

    /// Lists repositories through `/v2/_catalog`, following pagination.
    pub async fn catalog(&self, max_entries: usize) -> Result<Vec<String>, RegistryError> {
        let first = self.url(&format!("v2/_catalog?n={PAGE_SIZE}"));
        self.paginate(
            first,
            "registry:catalog:*",
            max_entries,
            "repository catalog",
            |body| {
                serde_json::from_slice::<CatalogPage>(body)
                    .map(|p| p.repositories.unwrap_or_default())
            },
        )
        .await
    }

    /// Lists a repository's tags through `/v2/<name>/tags/list`, following pagination.
    pub async fn tags(
        &self,
        repository: &str,
        max_entries: usize,
    ) -> Result<Vec<String>, RegistryError> {
        let first = self.url(&format!("v2/{repository}/tags/list?n={PAGE_SIZE}"));
        self.paginate(
            first,
            &pull_scope(repository),
            max_entries,
            &format!("tags of {repository}"),
            |body| serde_json::from_slice::<TagsPage>(body).map(|p| p.tags.unwrap_or_default()),
        )
        .await
    }

    async fn paginate(
        &self,
        first: Url,
        scope: &str,
        max_entries: usize,
        what: &str,
        parse: impl Fn(&[u8]) -> Result<Vec<String>, serde_json::Error>,
    ) -> Result<Vec<String>, RegistryError> {
        let mut out: Vec<String> = Vec::new();
        let mut next = Some(first);
        let mut seen_urls = std::collections::HashSet::new();
        while let Some(url) = next.take() {
            if !seen_urls.insert(url.to_string()) {
                return Err(RegistryError::Protocol {
                    url: url.to_string(),
                    reason: format!("pagination of {what} loops back to a page already read"),
                });
            }
            let resp = self
                .send(Method::GET, &url, scope, &HeaderMap::new())
                .await?;
            if !resp.status().is_success() {
                return Err(self.status_error(resp, what).await);
            }
            let link = resp
                .headers()
                .get(LINK)
                .and_then(|v| v.to_str().ok())
                .and_then(next_link)
                .map(|l| url.join(&l))
                .transpose()
                .map_err(|e| RegistryError::Protocol {
                    url: url.to_string(),
                    reason: format!("bad Link header: {e}"),
                })?;
            let body = read_limited(resp, MAX_LIST_PAGE_BYTES, url.as_str()).await?;
            let page = parse(&body).map_err(|e| RegistryError::Protocol {
                url: url.to_string(),
                reason: format!("{what}: invalid JSON: {e}"),
            })?;
            let empty = page.is_empty();
            out.extend(page);
            if out.len() > max_entries {
                return Err(RegistryError::Protocol {
                    url: url.to_string(),
                    reason: format!(
                        "{what}: more than {max_entries} entries (raise the limit if this is genuine)"
                    ),
                });
            }
            if let Some(l) = link {
                if l.host_str() != url.host_str()
                    || l.port_or_known_default() != url.port_or_known_default()
                {
                    return Err(RegistryError::Protocol {
                        url: url.to_string(),
                        reason: format!(
                            "pagination Link points to another host ({l}); not followed"
                        ),
                    });
                }
                if !empty {
                    next = Some(l);
                }
            }
        }
        Ok(out)
    }
}

fn hint_for(have_credentials: bool) -> &'static str {
    if have_credentials {
        "; check the username and password (--creds, --authfile or docker login)"
    } else {
        "; the registry requires credentials: pass --creds USER:PASS, --authfile, or run docker login"
    }
}

fn pull_scope(repository: &str) -> String {
    format!("repository:{repository}:pull")
}

fn basic_header(c: &Credentials) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", c.username, c.secret()))
    )
}

fn is_retryable(s: StatusCode) -> bool {
    s == StatusCode::TOO_MANY_REQUESTS
        || s == StatusCode::REQUEST_TIMEOUT
        || s.is_server_error() && s != StatusCode::NOT_IMPLEMENTED
}

fn is_transient(e: &reqwest::Error) -> bool {
    e.is_timeout() || e.is_connect() || e.is_request() || e.is_body()
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let part = c.to_string();
        if !s.contains(&part) {
            s.push_str(": ");
            s.push_str(&part);
        }
        cur = c.source();
    }
    s
}

/// `Retry-After` as delay-seconds (HTTP dates are rare from registries and treated as
/// absent, falling back to backoff).
fn retry_after(h: &HeaderMap) -> Option<Duration> {
    let v = h.get(RETRY_AFTER)?.to_str().ok()?.trim();
    v.parse::<u64>().ok().map(Duration::from_secs)
}

/// Reads a whole response body, refusing more than `limit` bytes.
async fn read_limited(resp: Response, limit: usize, url: &str) -> Result<Bytes, RegistryError> {
    if let Some(len) = resp.content_length()
        && len > limit as u64
    {
        return Err(RegistryError::TooLarge {
            url: url.to_string(),
            limit,
        });
    }
    let mut buf = Vec::new();
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| RegistryError::Transport {
            url: url.to_string(),
            source: e,
        })?;
        if buf.len() + chunk.len() > limit {
            return Err(RegistryError::TooLarge {
                url: url.to_string(),
                limit,
            });
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(buf))
}

/// Parses `Bearer realm="…",service="…",scope="…"` into its scheme and parameters.
fn parse_challenge(header: &str) -> (String, HashMap<String, String>) {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let mut params = HashMap::new();
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let after = after.trim_start();
        let (value, remainder) = if let Some(quoted) = after.strip_prefix('"') {
            match quoted.find('"') {
                Some(end) => (&quoted[..end], &quoted[end + 1..]),
                None => (quoted, ""),
            }
        } else {
            match after.find(',') {
                Some(end) => (&after[..end], &after[end..]),
                None => (after, ""),
            }
        };
        params.insert(key, value.to_string());
        rest = remainder.trim_start().trim_start_matches(',').trim_start();
    }
    (scheme.to_string(), params)
}

/// Extracts the `rel="next"` target from a Link header.
fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        params
            .split(';')
            .any(|p| {
                let p = p.trim().replace(' ', "");
                p == "rel=\"next\"" || p == "rel=next"
            })
            .then(|| target.to_string())
    })
}

/// A blocking reader over a blob streamed by a background task.
pub struct BlobReader {
    rx: tokio::sync::mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(bytes)) => self.current = bytes,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_challenges() {
        let (s, p) = parse_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/debian:pull""#,
        );
        assert_eq!(s, "Bearer");
        assert_eq!(p["realm"], "https://auth.docker.io/token");
        assert_eq!(p["service"], "registry.docker.io");
        assert_eq!(p["scope"], "repository:library/debian:pull");
        let (s, p) = parse_challenge(r#"Basic realm="Registry Realm""#);
        assert_eq!(
            (s.as_str(), p["realm"].as_str()),
            ("Basic", "Registry Realm")
        );
        let (_, p) = parse_challenge("Bearer realm=https://x/token, service=x");
        assert_eq!(p["realm"], "https://x/token");
        assert_eq!(p["service"], "x");
        // Garbage never panics.
        let _ = parse_challenge("Bearer realm=\"unterminated");
        let _ = parse_challenge("=,=,\"");
    }

    #[test]
    fn parses_link_headers() {
        assert_eq!(
            next_link(r#"</v2/_catalog?last=b&n=2>; rel="next""#).as_deref(),
            Some("/v2/_catalog?last=b&n=2")
        );
        assert_eq!(next_link(r#"</x>; rel="prev""#), None);
        assert_eq!(next_link("garbage"), None);
    }

    #[test]
    fn backoff_is_bounded() {
        let p = RetryPolicy::default();
        assert!(p.backoff(0) < p.backoff(3));
        assert_eq!(p.backoff(40), p.max_delay);
    }
}

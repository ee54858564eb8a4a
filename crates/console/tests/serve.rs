//! The embedded console served by the API's router over real HTTP (a SQLite store in a
//! temporary directory): whatever build.rs embedded (the npm build of console/, or
//! CROWSNEST_CONSOLE_DIST) is what these requests get back.

use std::io::Read as _;
use std::sync::Arc;
use std::time::Duration;

use crowsnest_api::{ApiConfig, ApiOptions, ApiState};
use crowsnest_store::{AnyStore, SqliteStore};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};

struct Server {
    base: String,
    client: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

async fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(AnyStore::Sqlite(
        SqliteStore::open_dir(dir.path()).await.unwrap(),
    ));
    let mut config = ApiConfig::new(dir.path().to_path_buf());
    config.site = Some(Arc::new(crowsnest_console::respond));
    let state = ApiState::new(store, config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let options = ApiOptions {
        listen: addr,
        tls: None,
        shutdown_grace: Duration::from_secs(5),
    };
    tokio::spawn(crowsnest_api::serve_on(
        listener,
        options,
        state,
        async move {
            let _ = stopped.await;
        },
    ));
    Server {
        base: format!("http://{addr}"),
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        stop: Some(stop),
        _dir: dir,
    }
}

impl Server {
    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> (StatusCode, HeaderMap, Vec<u8>) {
        let mut r = self.client.get(format!("{}{path}", self.base));
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        let response = r.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        (status, headers, response.bytes().await.unwrap().to_vec())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

const HTML: (&str, &str) = ("accept", "text/html,application/xhtml+xml,*/*;q=0.8");

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

fn assert_security_headers(h: &HeaderMap) {
    let csp = header(h, "content-security-policy");
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} missing from {csp:?}");
    }
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    assert_eq!(header(h, "x-content-type-options"), "nosniff");
    assert_eq!(header(h, "referrer-policy"), "no-referrer");
    assert_eq!(header(h, "x-frame-options"), "DENY");
    assert_eq!(header(h, "cross-origin-opener-policy"), "same-origin");
}

/// The hashed asset paths index.html loads (`/assets/…`).
fn referenced_assets(index: &str) -> Vec<String> {
    index
        .split(['"', '\''])
        .filter(|s| s.starts_with("/assets/"))
        .map(str::to_string)
        .collect()
}

fn assert_json_404(status: StatusCode, body: &[u8]) {
    assert_eq!(status, StatusCode::NOT_FOUND);
    let v: serde_json::Value = serde_json::from_slice(body).expect("a JSON error body");
    assert_eq!(v["error"]["code"], "not_found", "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shell_is_served_with_security_headers_etag_and_no_cache() {
    let s = start().await;
    let (st, h, body) = s.get("/", &[HTML]).await;
    assert_eq!(st, StatusCode::OK);
    assert_security_headers(&h);
    assert!(header(&h, "content-type").starts_with("text/html"));
    assert_eq!(header(&h, "cache-control"), "no-cache");
    let index = String::from_utf8(body).unwrap();
    assert!(
        index.contains("<html") || index.contains("<!doctype"),
        "{index}"
    );
    assert!(
        !index.contains("<script>") && !index.contains("<style"),
        "no inline script or style under the CSP: {index}"
    );
    let tag = header(&h, "etag").to_string();
    assert!(
        tag.starts_with('"') && tag.ends_with('"') && tag.len() > 10,
        "strong ETag {tag:?}"
    );

    // The same representation again: 304 without a body, same validators and headers.
    let (st, h, body) = s.get("/", &[HTML, ("if-none-match", &tag)]).await;
    assert_eq!(st, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
    assert_eq!(header(&h, "etag"), tag);
    assert_security_headers(&h);
    // Another tag is not a match.
    let (st, _, _) = s.get("/", &[HTML, ("if-none-match", "\"other\"")]).await;
    assert_eq!(st, StatusCode::OK);
    // /index.html is the same file.
    let (st, h, _) = s.get("/index.html", &[]).await;
    assert_eq!((st, header(&h, "etag")), (StatusCode::OK, tag.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_pages_fall_back_to_the_shell_and_api_paths_stay_json() {
    let s = start().await;
    let (_, shell_headers, shell) = s.get("/", &[HTML]).await;
    for page in [
        "/attack-paths/3?cluster=demo",
        "/explorer",
        "/settings/tokens",
    ] {
        let (st, h, body) = s.get(page, &[HTML]).await;
        assert_eq!(st, StatusCode::OK, "{page}");
        assert_eq!(body, shell, "{page} gets index.html");
        assert_eq!(header(&h, "etag"), header(&shell_headers, "etag"));
        assert_security_headers(&h);
    }
    // Not a browser page load: no shell.
    let (st, _, body) = s.get("/explorer", &[("accept", "application/json")]).await;
    assert_json_404(st, &body);
    // API paths never get the shell, even from a browser.
    for path in ["/api/v1/no-such-thing", "/api/nothing", "/api"] {
        let (st, _, body) = s.get(path, &[HTML]).await;
        assert_json_404(st, &body);
    }
    let (st, _, _) = s.get("/api/v1/clusters", &[HTML]).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "the API still wants a token");
    // A missing hashed asset is a 404, not the shell (a stale bundle must fail loudly).
    let (st, _, body) = s.get("/assets/index-missing.js", &[HTML]).await;
    assert_json_404(st, &body);
    // Other methods are not the console's.
    let r = s.client.post(format!("{}/", s.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // HEAD: the headers of GET, no body.
    let r = s.client.head(format!("{}/", s.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers().get("etag"),
        Some(&HeaderValue::from_str(header(&shell_headers, "etag")).unwrap())
    );
    assert!(r.bytes().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hashed_assets_are_immutable_and_compressed_by_negotiation() {
    let s = start().await;
    let (_, _, index) = s.get("/", &[HTML]).await;
    let assets = referenced_assets(&String::from_utf8(index).unwrap());
    assert!(!assets.is_empty(), "index.html loads hashed /assets/ files");
    let mut compressed = 0;
    for path in &assets {
        let (st, h, raw) = s.get(path, &[]).await;
        assert_eq!(st, StatusCode::OK, "{path}");
        assert_eq!(
            header(&h, "cache-control"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(
            header(&h, "content-encoding"),
            "",
            "no encoding unless asked"
        );
        assert_security_headers(&h);
        let identity_tag = header(&h, "etag").to_string();

        let (st, h, br) = s
            .get(path, &[("accept-encoding", "gzip, deflate, br")])
            .await;
        assert_eq!(st, StatusCode::OK);
        assert!(header(&h, "vary").contains("accept-encoding"));
        if header(&h, "content-encoding") == "br" {
            compressed += 1;
            let mut decoded = Vec::new();
            brotli::Decompressor::new(&br[..], 4096)
                .read_to_end(&mut decoded)
                .unwrap();
            assert_eq!(decoded, raw, "{path}: brotli decodes to the file");
            assert!(br.len() < raw.len());
            let tag = header(&h, "etag").to_string();
            assert_ne!(tag, identity_tag, "each encoding is its own representation");
            let (st, _, _) = s
                .get(path, &[("accept-encoding", "br"), ("if-none-match", &tag)])
                .await;
            assert_eq!(st, StatusCode::NOT_MODIFIED);
        }
        let (st, h, gz) = s
            .get(path, &[("accept-encoding", "gzip;q=1, br;q=0")])
            .await;
        assert_eq!(st, StatusCode::OK);
        if header(&h, "content-encoding") == "gzip" {
            let mut decoded = Vec::new();
            flate2::read::GzDecoder::new(&gz[..])
                .read_to_end(&mut decoded)
                .unwrap();
            assert_eq!(decoded, raw, "{path}: gzip decodes to the file");
        } else {
            assert_eq!(header(&h, "content-encoding"), "", "br;q=0 refuses brotli");
        }
    }
    assert!(
        compressed > 0,
        "the script and style bundles are precompressed"
    );
}

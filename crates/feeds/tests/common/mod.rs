//! Shared helpers of the integration tests: the mirror's location and a small HTTP
//! server that serves it over loopback.

#![allow(dead_code)] // each test binary uses a different subset

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use crowsnest_feeds::{HttpOptions, SourceSpec, SyncOptions};
use sha2::{Digest, Sha256};

pub fn mirror() -> PathBuf {
    crowsnest_testbed::shared().join("feeds")
}

/// Record counts the mirror's SOURCES.md states (AlmaLinux: unique ids).
pub const EXPECTED_OSV: &[(&str, u64)] = &[
    ("AlmaLinux", 5_637),
    ("Alpine", 7_595),
    ("Debian", 7_642),
    ("Go", 4_291),
    ("Maven", 7),
    ("NuGet", 1),
    ("PyPI", 2_661),
    ("RubyGems", 1),
    ("crates.io", 1_206),
    ("npm", 4),
];
pub const EXPECTED_KEV: u64 = 1_404;
pub const EXPECTED_EPSS: u64 = 360_142;

/// Exploit-DB rows in the upstream column layout (the real file is not mirrored).
pub const EXPLOITDB_CSV: &str = "id,file,description,date_published,author,type,platform,port,date_added,date_updated,verified,codes,tags,aliases,screenshot_url,application_url,source_url
50592,exploits/java/remote/50592.py,Apache Log4j 2 - Remote Code Execution (RCE),2021-12-14,kozmer,remote,java,,2021-12-14,2021-12-14,0,CVE-2021-44228,,,,,https://github.com/kozmer/log4j-shell-poc
51183,exploits/java/remote/51183.txt,\"Log4j, another PoC\",2022-01-10,someone,remote,java,,2022-01-10,2022-01-10,1,CVE-2021-44228;OSVDB-1,,,,,
";

/// A fault the test server injects for one path. A real static file server cannot be
/// made to fail like this on demand, so these are the one place the tests fake a part.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer 500 to the next `n` requests, then serve normally.
    Status500(u32),
    /// Send the headers and half the body, then abort the connection.
    DropMidBody,
    /// Serve these bytes instead of the file (a corrupt or truncated file).
    Replace(Vec<u8>),
}

#[derive(Clone)]
pub struct FeedServer {
    pub base: String,
    faults: Arc<Mutex<HashMap<String, Fault>>>,
    /// (path, status) of every request, in order.
    pub log: Arc<Mutex<Vec<(String, u16)>>>,
}

#[derive(Clone)]
struct ServerState {
    roots: Vec<PathBuf>,
    faults: Arc<Mutex<HashMap<String, Fault>>>,
    log: Arc<Mutex<Vec<(String, u16)>>>,
}

impl FeedServer {
    /// Serves each path from the first of `roots` that has it.
    pub async fn start(roots: Vec<PathBuf>) -> FeedServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let faults = Arc::new(Mutex::new(HashMap::new()));
        let log = Arc::new(Mutex::new(Vec::new()));
        let state = ServerState {
            roots,
            faults: faults.clone(),
            log: log.clone(),
        };
        let app = axum::Router::new().fallback(serve).with_state(state);
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FeedServer {
            base: format!("http://{addr}/"),
            faults,
            log,
        }
    }

    pub fn inject(&self, path: &str, fault: Fault) {
        self.faults.lock().unwrap().insert(path.to_owned(), fault);
    }

    pub fn clear_faults(&self) {
        self.faults.lock().unwrap().clear();
    }

    pub fn statuses(&self, path: &str) -> Vec<u16> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, s)| *s)
            .collect()
    }
}

async fn serve(State(state): State<ServerState>, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().trim_start_matches('/').to_owned();
    let response = respond(&state, &path, &headers).await;
    state
        .log
        .lock()
        .unwrap()
        .push((path, response.status().as_u16()));
    response
}

async fn respond(state: &ServerState, path: &str, headers: &HeaderMap) -> Response {
    if path.split('/').any(|s| s == ".." || s.is_empty()) {
        return StatusCode::BAD_REQUEST.into_response();
    }
    let fault = {
        let mut faults = state.faults.lock().unwrap();
        match faults.get_mut(path) {
            Some(Fault::Status500(n)) if *n > 0 => {
                *n -= 1;
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
            Some(f) => Some(f.clone()),
            None => None,
        }
    };
    let mut bytes = None;
    for root in &state.roots {
        if let Ok(b) = tokio::fs::read(root.join(path)).await {
            bytes = Some(b);
            break;
        }
    }
    let Some(mut bytes) = bytes else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if let Some(Fault::Replace(b)) = &fault {
        bytes = b.clone();
    }
    let etag = format!("\"{}\"", &hex::encode(Sha256::digest(&bytes))[..32]);
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    let len = bytes.len();
    let body = match fault {
        Some(Fault::DropMidBody) => {
            let half = Bytes::from(bytes[..len / 2].to_vec());
            let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
                Ok(half),
                Err(std::io::Error::other(
                    "connection dropped by the test server",
                )),
            ];
            Body::from_stream(futures::stream::iter(chunks))
        }
        _ => Body::from(bytes),
    };
    Response::builder()
        .status(StatusCode::OK)
        .header(header::ETAG, etag)
        .header(header::CONTENT_LENGTH, len)
        .body(body)
        .unwrap()
}

/// Options with quick retries, so fault tests stay fast.
pub fn options(data_dir: &Path, source: SourceSpec) -> SyncOptions {
    let mut opts = SyncOptions::new(data_dir, source);
    opts.http = HttpOptions {
        attempts: 2,
        backoff: Duration::from_millis(20),
        ..HttpOptions::default()
    };
    opts
}

pub fn sha256_file(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

/// Names in the data directory other than the database and the lock file: a failed
/// sync must leave none behind.
pub fn leftovers(data_dir: &Path) -> Vec<String> {
    std::fs::read_dir(data_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "advisories.db" && n != ".sync.lock")
        .collect()
}

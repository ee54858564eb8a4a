//! A fault-injecting HTTP/1.1 proxy in front of the real test registry.
//!
//! A real registry cannot be made to answer 500 then 200, 429 with Retry-After, stall,
//! drop a blob mid-body, corrupt a byte, or hold 100,000 tags within a test's time budget,
//! so this proxy produces those faults; every other byte comes from the real registry.
//! It listens on 127.0.0.1 only and serves a bounded number of connections.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does to requests whose path contains `path_contains`.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer this status `times` times, then pass through.
    StatusThenPass {
        status: u16,
        times: usize,
        retry_after: Option<u64>,
    },
    /// Never answer (the client must time out).
    Stall,
    /// Send only the first `bytes` of the body, then close the connection, `times` times.
    TruncateBody { bytes: usize, times: usize },
    /// Flip one byte of the body.
    CorruptBody,
    /// Serve a synthetic tag list of `count` tags, paginated with `n`/`last` and Link.
    ManyTags { count: usize },
}

pub struct FaultProxy {
    pub addr: String,
    pub requests: Arc<Mutex<Vec<String>>>,
    /// Requests that were served by a fault (not passed through).
    pub faulted: Arc<AtomicUsize>,
}

struct Rule {
    path_contains: String,
    fault: Fault,
    fired: AtomicUsize,
}

/// Starts the proxy forwarding to `upstream` (host:port, plain HTTP).
pub async fn start(upstream: String, rules: Vec<(&str, Fault)>) -> FaultProxy {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let rules: Arc<Vec<Rule>> = Arc::new(
        rules
            .into_iter()
            .map(|(p, f)| Rule {
                path_contains: p.to_string(),
                fault: f,
                fired: AtomicUsize::new(0),
            })
            .collect(),
    );
    let requests = Arc::new(Mutex::new(Vec::new()));
    let faulted = Arc::new(AtomicUsize::new(0));
    let (req_log, fault_count) = (Arc::clone(&requests), Arc::clone(&faulted));
    tokio::spawn(async move {
        // Bounded: a test never needs more than this many connections.
        for _ in 0..2_000 {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let (rules, upstream, log, fc) = (
                Arc::clone(&rules),
                upstream.clone(),
                Arc::clone(&req_log),
                Arc::clone(&fault_count),
            );
            tokio::spawn(async move {
                let _ = serve(sock, &upstream, &rules, &log, &fc).await;
            });
        }
    });
    FaultProxy {
        addr,
        requests,
        faulted,
    }
}

async fn read_head(
    sock: &mut TcpStream,
) -> std::io::Result<Option<(String, String, Vec<(String, String)>)>> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if sock.read(&mut byte).await? == 0 || buf.len() > 64 << 10 {
            return Ok(None);
        }
        buf.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    let mut lines = text.split("\r\n");
    let mut first = lines.next().unwrap_or("").split(' ');
    let method = first.next().unwrap_or("").to_string();
    let path = first.next().unwrap_or("").to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Ok(Some((method, path, headers)))
}

async fn respond(
    sock: &mut TcpStream,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    sock.write_all(head.as_bytes()).await?;
    sock.write_all(body).await?;
    sock.shutdown().await
}

async fn serve(
    mut sock: TcpStream,
    upstream: &str,
    rules: &[Rule],
    log: &Mutex<Vec<String>>,
    faulted: &AtomicUsize,
) -> std::io::Result<()> {
    let Some((method, path, headers)) = read_head(&mut sock).await? else {
        return Ok(());
    };
    log.lock().unwrap().push(format!("{method} {path}"));
    let rule = rules.iter().find(|r| path.contains(&r.path_contains));
    let mut corrupt = false;
    let mut truncate = None;
    if let Some(rule) = rule {
        let n = rule.fired.fetch_add(1, Ordering::SeqCst);
        match &rule.fault {
            Fault::StatusThenPass {
                status,
                times,
                retry_after,
            } if n < *times => {
                faulted.fetch_add(1, Ordering::SeqCst);
                let mut h = vec![];
                if let Some(s) = retry_after {
                    h.push(("Retry-After".to_string(), s.to_string()));
                }
                return respond(
                    &mut sock,
                    *status,
                    &h,
                    b"{\"errors\":[{\"code\":\"INJECTED\",\"message\":\"fault\"}]}",
                )
                .await;
            }
            Fault::Stall => {
                faulted.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(30)).await;
                return Ok(());
            }
            Fault::TruncateBody { bytes, times } if n < *times => {
                faulted.fetch_add(1, Ordering::SeqCst);
                truncate = Some(*bytes);
            }
            Fault::CorruptBody => {
                faulted.fetch_add(1, Ordering::SeqCst);
                corrupt = true;
            }
            Fault::ManyTags { count } => {
                faulted.fetch_add(1, Ordering::SeqCst);
                return many_tags(&mut sock, &path, *count).await;
            }
            _ => {}
        }
    }
    // Pass through to the real registry.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut req = client.request(method.parse().unwrap(), format!("http://{upstream}{path}"));
    for (k, v) in &headers {
        if k == "accept" || k == "range" || k == "authorization" {
            req = req.header(k.as_str(), v.as_str());
        }
    }
    let resp = req.send().await.map_err(std::io::Error::other)?;
    let status = resp.status().as_u16();
    let keep: Vec<(String, String)> = resp
        .headers()
        .iter()
        .filter(|(k, _)| {
            let k = k.as_str();
            k == "content-type"
                || k == "docker-content-digest"
                || k == "link"
                || k == "content-range"
                || k == "www-authenticate"
        })
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let mut body = resp.bytes().await.map_err(std::io::Error::other)?.to_vec();
    if corrupt && !body.is_empty() {
        let mid = body.len() / 2;
        body[mid] ^= 0xff;
    }
    if let Some(cut) = truncate {
        // Promise the whole body, deliver part of it, and hang up.
        let mut head = format!(
            "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
            body.len()
        );
        for (k, v) in &keep {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        sock.write_all(head.as_bytes()).await?;
        sock.write_all(&body[..cut.min(body.len())]).await?;
        return Ok(());
    }
    respond(&mut sock, status, &keep, &body).await
}

async fn many_tags(sock: &mut TcpStream, path: &str, count: usize) -> std::io::Result<()> {
    let query = path.split_once('?').map(|(_, q)| q).unwrap_or("");
    let mut n = 1000usize;
    let mut last: Option<usize> = None;
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("n", v)) => n = v.parse().unwrap_or(1000).clamp(1, 1000),
            Some(("last", v)) => last = v.trim_start_matches("tag-").parse().ok(),
            _ => {}
        }
    }
    let start = last.map_or(0, |l| l + 1);
    let end = (start + n).min(count);
    let tags: Vec<String> = (start..end).map(|i| format!("\"tag-{i:06}\"")).collect();
    let repo = path
        .trim_start_matches("/v2/")
        .split("/tags/list")
        .next()
        .unwrap_or("");
    let body = format!("{{\"name\":\"{repo}\",\"tags\":[{}]}}", tags.join(","));
    let mut headers = vec![("Content-Type".to_string(), "application/json".to_string())];
    if end < count {
        headers.push((
            "Link".to_string(),
            format!(
                "</v2/{repo}/tags/list?n={n}&last=tag-{:06}>; rel=\"next\"",
                end - 1
            ),
        ));
    }
    respond(sock, 200, &headers, body.as_bytes()).await
}

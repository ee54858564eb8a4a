//! The web console, built at compile time (build.rs: `npm ci && npm run build` in a copy
//! of console/, or the prebuilt `CROWSNEST_CONSOLE_DIST`) and embedded in the binary.
//!
//! [`respond`] serves it: precomputed brotli or gzip by `Accept-Encoding`, a strong ETag
//! per representation with `If-None-Match` → 304, `immutable` caching for the hashed
//! `/assets/*` files and `no-cache` for the rest, index.html for any other page a
//! browser asks for (the console routes in the browser), and the security headers of
//! docs/console-contract on every response. It never answers under `/api`: those paths
//! stay the API's (a JSON 404 for an unknown one).
//!
//! Invariants: only the bytes packed at build time are served (no file system access at
//! run time, so the served console always matches the binary); serving is a lookup in a
//! sorted table, with no allocation beyond the response headers.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;

/// One embedded file and its precomputed encodings.
pub struct Asset {
    /// URL path, starting with `/`.
    pub path: &'static str,
    pub content_type: &'static str,
    /// Hex of the SHA-256 of `raw` (truncated): the ETag's base.
    pub tag: &'static str,
    pub raw: &'static [u8],
    pub gzip: Option<&'static [u8]>,
    pub brotli: Option<&'static [u8]>,
}

/// Every embedded file, sorted by path (build.rs writes the table).
static ASSETS: &[Asset] = include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The embedded files, sorted by path.
pub fn assets() -> &'static [Asset] {
    ASSETS
}

/// The headers every console response carries (the contract's strict policy: no inline
/// script or style, no eval, nothing from another origin, never framed).
pub const SECURITY_HEADERS: &[(&str, &str)] = &[
    (
        "content-security-policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
         connect-src 'self'; worker-src 'self' blob:; font-src 'self'; object-src 'none'; \
         base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
];

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    Brotli,
    Gzip,
    Identity,
}

/// The q-value `accept` gives `coding` (an explicit entry, else `*`), 0 when absent.
fn quality(accept: &str, coding: &str) -> f32 {
    let mut star = None;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if name.eq_ignore_ascii_case(coding) {
            return q;
        }
        if name == "*" {
            star = Some(q);
        }
    }
    star.unwrap_or(0.0)
}

/// The best encoding of `asset` the client accepts: brotli, then gzip, then identity.
fn negotiate(headers: &HeaderMap, asset: &Asset) -> (Encoding, &'static [u8]) {
    let accept = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (br, gz) = (quality(accept, "br"), quality(accept, "gzip"));
    match (asset.brotli, asset.gzip) {
        (Some(bytes), _) if br > 0.0 && br >= gz => (Encoding::Brotli, bytes),
        (_, Some(bytes)) if gz > 0.0 => (Encoding::Gzip, bytes),
        (Some(bytes), _) if br > 0.0 => (Encoding::Brotli, bytes),
        _ => (Encoding::Identity, asset.raw),
    }
}

/// The strong ETag of one representation (each encoding is its own representation).
fn etag(asset: &Asset, encoding: Encoding) -> String {
    match encoding {
        Encoding::Brotli => format!("\"{}-br\"", asset.tag),
        Encoding::Gzip => format!("\"{}-gz\"", asset.tag),
        Encoding::Identity => format!("\"{}\"", asset.tag),
    }
}

fn not_modified(headers: &HeaderMap, tag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            let t = t.trim();
            t == "*" || t == tag
        })
}

fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|m| m.split(';').next().is_some_and(|m| m.trim() == "text/html"))
}

fn find(path: &str) -> Option<&'static Asset> {
    ASSETS
        .binary_search_by(|a| a.path.cmp(path))
        .ok()
        .map(|i| &ASSETS[i])
}

/// Whether `path` belongs to the API (never answered here).
fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// The console's answer to a request, or `None` when the request is not the console's
/// (an API path, a method other than GET and HEAD, a missing asset, a non-browser
/// request for an unknown path): the caller answers those (with its JSON 404).
pub fn respond(method: &Method, path: &str, headers: &HeaderMap) -> Option<Response> {
    if is_api(path) || (method != Method::GET && method != Method::HEAD) {
        return None;
    }
    let asset = match find(if path == "/" { "/index.html" } else { path }) {
        Some(a) => a,
        // A page of the console's own router (deep link, reload): its shell.
        None if !path.starts_with("/assets/") && accepts_html(headers) => find("/index.html")?,
        None => return None,
    };
    let (encoding, bytes) = negotiate(headers, asset);
    let tag = etag(asset, encoding);
    let not_modified = not_modified(headers, &tag);
    let mut response = Response::new(if not_modified || method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(bytes)
    });
    *response.status_mut() = if not_modified {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::OK
    };
    let h = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        h.insert(*name, HeaderValue::from_static(value));
    }
    let hashed = asset.path.starts_with("/assets/");
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if hashed { IMMUTABLE } else { REVALIDATE }),
    );
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Ok(v) = HeaderValue::from_str(&tag) {
        h.insert(header::ETAG, v);
    }
    if !not_modified {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        );
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
        match encoding {
            Encoding::Brotli => {
                h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
            }
            Encoding::Gzip => {
                h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            }
            Encoding::Identity => {}
        }
    }
    Some(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quality_values_follow_the_header() {
        assert_eq!(quality("gzip, br", "br"), 1.0);
        assert_eq!(quality("gzip;q=0.5, br;q=0", "br"), 0.0);
        assert_eq!(quality("gzip;q=0.5, br;q=0", "gzip"), 0.5);
        assert_eq!(quality("*;q=0.3", "br"), 0.3);
        assert_eq!(quality("", "gzip"), 0.0);
        assert_eq!(quality("identity", "gzip"), 0.0);
    }

    #[test]
    fn the_table_is_sorted_and_has_the_shell() {
        assert!(ASSETS.windows(2).all(|w| w[0].path < w[1].path));
        assert!(find("/index.html").is_some());
    }
}

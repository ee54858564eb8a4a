//! Prometheus text exposition, written by hand (a handful of series does not need a
//! metrics framework). Request counts and latencies are recorded by a middleware; scan
//! durations by whoever runs scans in this process ([`Metrics::record_scan`]); queue
//! depth, findings by severity and feed age are read at scrape time.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::ApiState;

/// Upper bounds (seconds) of the request latency buckets.
const HTTP_BUCKETS: &[f64] = &[0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];
/// Upper bounds (seconds) of the scan duration buckets.
const SCAN_BUCKETS: &[f64] = &[1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0];

#[derive(Default)]
struct Histogram {
    /// Cumulative counts per bucket of the owner's bucket list.
    buckets: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, bounds: &[f64], seconds: f64) {
        if self.buckets.len() != bounds.len() {
            self.buckets = vec![0; bounds.len()];
        }
        for (bucket, bound) in self.buckets.iter_mut().zip(bounds) {
            if seconds <= *bound {
                *bucket += 1;
            }
        }
        self.sum += seconds;
        self.count += 1;
    }

    fn write(&self, out: &mut String, name: &str, labels: &str, bounds: &[f64]) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (i, bound) in bounds.iter().enumerate() {
            let n = self.buckets.get(i).copied().unwrap_or(0);
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            self.count
        );
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {}", self.count);
    }
}

/// The process's metrics. Cheap to share (inside [`ApiState`]).
#[derive(Default)]
pub struct Metrics {
    /// (method, route, status) → count.
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    /// route → latency.
    latency: Mutex<BTreeMap<String, Histogram>>,
    scans: Mutex<Histogram>,
    auth_rejected: AtomicU64,
}

impl Metrics {
    /// Records how long one image scan took (the service's workers call this).
    pub fn record_scan(&self, took: Duration) {
        let mut scans = self.scans.lock().unwrap_or_else(|p| p.into_inner());
        scans.observe(SCAN_BUCKETS, took.as_secs_f64());
    }

    pub(crate) fn auth_rejected(&self) {
        self.auth_rejected.fetch_add(1, Ordering::Relaxed);
    }

    fn record_request(&self, method: &str, route: &str, status: u16, took: Duration) {
        {
            let mut requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
            *requests
                .entry((method.to_string(), route.to_string(), status))
                .or_default() += 1;
        }
        let mut latency = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        latency
            .entry(route.to_string())
            .or_default()
            .observe(HTTP_BUCKETS, took.as_secs_f64());
    }

    /// The process-local series in Prometheus text format.
    pub(crate) fn render(&self, out: &mut String) {
        out.push_str(
            "# HELP crowsnest_http_requests_total HTTP requests by method, route and status.\n",
        );
        out.push_str("# TYPE crowsnest_http_requests_total counter\n");
        for ((method, route, status), n) in self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "crowsnest_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                escape(route)
            );
        }
        out.push_str(
            "# HELP crowsnest_http_request_duration_seconds Time to answer HTTP requests.\n",
        );
        out.push_str("# TYPE crowsnest_http_request_duration_seconds histogram\n");
        for (route, h) in self
            .latency
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            h.write(
                out,
                "crowsnest_http_request_duration_seconds",
                &format!("route=\"{}\"", escape(route)),
                HTTP_BUCKETS,
            );
        }
        out.push_str("# HELP crowsnest_scan_duration_seconds Time to scan one image.\n");
        out.push_str("# TYPE crowsnest_scan_duration_seconds histogram\n");
        self.scans.lock().unwrap_or_else(|p| p.into_inner()).write(
            out,
            "crowsnest_scan_duration_seconds",
            "",
            SCAN_BUCKETS,
        );
        out.push_str("# HELP crowsnest_auth_rate_limited_total Requests refused because their client failed authentication too often.\n");
        out.push_str("# TYPE crowsnest_auth_rate_limited_total counter\n");
        let _ = writeln!(
            out,
            "crowsnest_auth_rate_limited_total {}",
            self.auth_rejected.load(Ordering::Relaxed)
        );
    }
}

/// A label value as Prometheus text needs it.
pub(crate) fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Middleware: counts every request and its latency by route template (never by raw
/// path, which would make one series per digest).
pub(crate) async fn observe(
    State(state): State<ApiState>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let method = request.method().as_str().to_string();
    let start = Instant::now();
    let response = next.run(request).await;
    let took = start.elapsed();
    state
        .inner
        .metrics
        .record_request(&method, &route, response.status().as_u16(), took);
    tracing::debug!(%method, %route, status = response.status().as_u16(), micros = took.as_micros() as u64, "request");
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative() {
        let m = Metrics::default();
        m.record_scan(Duration::from_secs(3));
        m.record_scan(Duration::from_secs(100));
        m.record_request("GET", "/api/v1/findings", 200, Duration::from_millis(7));
        let mut out = String::new();
        m.render(&mut out);
        assert!(
            out.contains("crowsnest_scan_duration_seconds_bucket{le=\"5\"} 1"),
            "{out}"
        );
        assert!(
            out.contains("crowsnest_scan_duration_seconds_bucket{le=\"120\"} 2"),
            "{out}"
        );
        assert!(
            out.contains("crowsnest_scan_duration_seconds_count 2"),
            "{out}"
        );
        assert!(out.contains(
            "crowsnest_http_request_duration_seconds_bucket{route=\"/api/v1/findings\",le=\"0.01\"} 1"
        ), "{out}");
        assert!(out.contains(
            "crowsnest_http_requests_total{method=\"GET\",route=\"/api/v1/findings\",status=\"200\"} 1"
        ));
        assert_eq!(escape("a\"b\\"), "a\\\"b\\\\");
    }
}

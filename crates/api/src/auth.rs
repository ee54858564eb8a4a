//! API tokens and the authentication layer.
//!
//! A token is `cn_` + 43 base64url characters (256 random bits from the aws-lc-rs
//! generator rustls already links). The store keeps only its SHA-256, so a copy of the
//! database does not give access. Verified tokens are remembered for [`TOKEN_CACHE`] so
//! reads do not each write `last_used`; a revoked token therefore stops working within
//! that time. Failed attempts are counted per client IP: past [`MAX_FAILURES`] in
//! [`FAILURE_WINDOW`] the client gets 429 with `Retry-After` until the window ends.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use crowsnest_store::{ApiToken, Store, TokenRole};
use sha2::{Digest as _, Sha256};

use crate::error::{HttpError, HttpResult};
use crate::{ApiState, ClientAddr};

pub const TOKEN_PREFIX: &str = "cn_";
pub const TOKEN_CACHE: Duration = Duration::from_secs(10);
pub const MAX_FAILURES: u32 = 10;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// Clients tracked at most; past this, expired entries are dropped and then the oldest.
const MAX_TRACKED: usize = 10_000;

/// A new random token, to show its owner once.
pub fn generate_token() -> Result<String, rustls::Error> {
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let mut bytes = [0u8; 32];
    provider
        .secure_random
        .fill(&mut bytes)
        .map_err(|_| rustls::Error::FailedToGetRandomBytes)?;
    Ok(format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// The hex SHA-256 the store keeps for a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The token that authenticated a request, for handlers that care who asked.
#[derive(Clone, Debug)]
pub struct Caller(pub ApiToken);

#[derive(Default)]
pub(crate) struct AuthState {
    verified: Mutex<HashMap<String, (ApiToken, Instant)>>,
    failures: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl AuthState {
    /// Seconds until `ip` may try again, when it is blocked.
    fn blocked_for(&self, ip: IpAddr, now: Instant) -> Option<u64> {
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let (start, count) = failures.get(&ip)?;
        let elapsed = now.duration_since(*start);
        (*count >= MAX_FAILURES && elapsed < FAILURE_WINDOW)
            .then(|| (FAILURE_WINDOW - elapsed).as_secs().max(1))
    }

    fn record_failure(&self, ip: IpAddr, now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if failures.len() >= MAX_TRACKED && !failures.contains_key(&ip) {
            failures.retain(|_, (start, _)| now.duration_since(*start) < FAILURE_WINDOW);
            if failures.len() >= MAX_TRACKED
                && let Some(oldest) = failures
                    .iter()
                    .min_by_key(|(_, (s, _))| *s)
                    .map(|(k, _)| *k)
            {
                failures.remove(&oldest);
            }
        }
        let entry = failures.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= FAILURE_WINDOW {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }

    fn cached(&self, hash: &str, now: Instant) -> Option<ApiToken> {
        let verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        verified
            .get(hash)
            .filter(|(_, at)| now.duration_since(*at) < TOKEN_CACHE)
            .map(|(t, _)| t.clone())
    }

    fn remember(&self, hash: String, token: ApiToken, now: Instant) {
        let mut verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        if verified.len() >= MAX_TRACKED {
            verified.retain(|_, (_, at)| now.duration_since(*at) < TOKEN_CACHE);
        }
        verified.insert(hash, (token, now));
    }
}

/// Middleware: a valid bearer token is required; a read token may only read.
pub(crate) async fn require_token(
    State(state): State<ApiState>,
    client: axum::extract::ConnectInfo<ClientAddr>,
    mut request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string());
    let method = request.method().clone();
    // The console's session cookie stands in for a bearer token (see crate::session).
    if presented.is_none()
        && let Some(session) =
            crate::session::authenticate(&state, &method, request.headers()).await
    {
        return match session.and_then(|token| authorise(token, &method)) {
            Ok(token) => {
                request.extensions_mut().insert(Caller(token));
                next.run(request).await
            }
            Err(e) => axum::response::IntoResponse::into_response(e),
        };
    }
    match authenticate(&state, client.0.0.ip(), presented, &method).await {
        Ok(token) => {
            request.extensions_mut().insert(Caller(token));
            next.run(request).await
        }
        Err(e) => axum::response::IntoResponse::into_response(e),
    }
}

async fn authenticate(
    state: &ApiState,
    ip: IpAddr,
    presented: Option<String>,
    method: &Method,
) -> HttpResult<ApiToken> {
    let auth = &state.inner.auth;
    let now = Instant::now();
    if let Some(seconds) = auth.blocked_for(ip, now) {
        state.inner.metrics.auth_rejected();
        return Err(HttpError {
            retry_after: Some(seconds),
            ..HttpError::new(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                "too_many_failed_logins",
                format!("too many failed authentications from {ip}; retry in {seconds} s"),
            )
        });
    }
    let Some(presented) = presented.filter(|t| !t.is_empty()) else {
        auth.record_failure(ip, now);
        return Err(HttpError::unauthorized(
            "this endpoint needs an Authorization: Bearer <token> header (crowsnest token create)",
        ));
    };
    let hash = token_hash(&presented);
    let token = match auth.cached(&hash, now) {
        Some(t) => t,
        None => match state.inner.store.use_api_token(&hash).await? {
            Some(t) => {
                auth.remember(hash, t.clone(), now);
                t
            }
            None => {
                auth.record_failure(ip, now);
                tracing::warn!(client = %ip, "API request with an unknown token");
                return Err(HttpError::unauthorized("the bearer token is not valid"));
            }
        },
    };
    authorise(token, method)
}

/// A presented token's record, its failures counted against `ip` like a bearer's (the
/// console's sign-in exchanges a token this way).
pub(crate) async fn verify(state: &ApiState, ip: IpAddr, presented: &str) -> HttpResult<ApiToken> {
    authenticate(state, ip, Some(presented.to_string()), &Method::GET).await
}

/// Whether `token`'s role allows `method`.
fn authorise(token: ApiToken, method: &Method) -> HttpResult<ApiToken> {
    if method != Method::GET && method != Method::HEAD && token.role != TokenRole::Admin {
        return Err(HttpError::forbidden(format!(
            "token {} has the read role; {method} needs an admin token",
            token.name
        )));
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_only_their_hash_is_kept() {
        let a = generate_token().unwrap();
        let b = generate_token().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() == 3 + 43, "{a}");
        let h = token_hash(&a);
        assert_eq!(h.len(), 64);
        assert!(!h.contains(&a[3..]));
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn failures_block_for_the_window_then_reset() {
        let s = AuthState::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..MAX_FAILURES - 1 {
            s.record_failure(ip, t0);
        }
        assert_eq!(s.blocked_for(ip, t0), None);
        s.record_failure(ip, t0);
        assert_eq!(s.blocked_for(ip, t0), Some(60));
        assert_eq!(s.blocked_for("192.0.2.2".parse().unwrap(), t0), None);
        assert_eq!(s.blocked_for(ip, t0 + FAILURE_WINDOW), None);
        s.record_failure(ip, t0 + FAILURE_WINDOW);
        assert_eq!(s.blocked_for(ip, t0 + FAILURE_WINDOW), None, "a new window");
    }

    #[test]
    fn tracked_clients_are_bounded() {
        let s = AuthState::default();
        let t0 = Instant::now();
        for i in 0..(MAX_TRACKED as u32 + 50) {
            s.record_failure(IpAddr::from(i.to_be_bytes()), t0);
        }
        assert!(s.failures.lock().unwrap().len() <= MAX_TRACKED);
    }
}

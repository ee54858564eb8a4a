//! Console sessions: an API token exchanged for a cookie (`POST /api/v1/session`), read
//! back on reload (`GET`), ended (`DELETE`), and accepted by every `/api/v1` route in
//! place of the bearer token.
//!
//! The cookie is `HttpOnly; SameSite=Strict; Path=/` (and `Secure` over TLS) and holds
//! 256 random bits; the store keeps only their SHA-256 with the token's name, the
//! SHA-256 of the CSRF token and the expiry, so a copy of the database opens no session.
//! The CSRF token is derived from the session id (a one-way hash), so `GET` can hand it
//! out again after a reload without the store holding it. A cookie-authenticated request
//! other than GET/HEAD must carry it in `X-CSRF-Token` (compared in constant time).
//! A session dies at its expiry, when it is ended, or when its token is revoked (the
//! store's foreign key removes it with the token).

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use crowsnest_store::{ApiToken, ConsoleStore, NewSession, Session};
use serde_json::json;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::ApiState;
use crate::auth::token_hash;
use crate::error::{HttpError, HttpResult};
use crate::handlers::{body_rejection, json_body, rfc3339};

pub const COOKIE: &str = "crowsnest_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a session lives.
pub const LIFETIME: Duration = Duration::from_secs(8 * 3600);

/// A new session id: 256 random bits from the generator API tokens use.
fn new_session_id() -> HttpResult<String> {
    crate::auth::generate_token().map_err(|e| {
        HttpError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "no_randomness",
            format!("no random bytes for a session: {e}"),
        )
    })
}

/// The CSRF token of a session: a one-way function of its id.
fn csrf_token(session_id: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"crowsnest console csrf\0");
    hasher.update(session_id.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hasher.finalize())
}

/// The session id in the request's cookies, if any.
pub(crate) fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE && !value.is_empty()).then(|| value.to_string())
        })
}

fn set_cookie(value: &str, max_age: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("crowsnest_session=; Max-Age=0"))
}

fn session_body(
    token: &ApiToken,
    expires: time::OffsetDateTime,
    csrf: &str,
) -> Json<serde_json::Value> {
    Json(json!({
        "role": token.role.as_str(),
        "tokenName": token.name,
        "expiresAt": rfc3339(expires),
        "csrfToken": csrf,
    }))
}

fn no_session() -> HttpError {
    HttpError::unauthorized("no console session: sign in with POST /api/v1/session")
}

/// The live session the cookie names, with its id.
async fn current(state: &ApiState, headers: &HeaderMap) -> HttpResult<(String, Session)> {
    let id = cookie(headers).ok_or_else(no_session)?;
    let session = state
        .store()
        .session(&token_hash(&id))
        .await?
        .ok_or_else(|| HttpError::unauthorized("the console session has expired or was ended"))?;
    Ok((id, session))
}

/// The CSRF header matches the session's token (constant time, against the stored hash).
fn check_csrf(headers: &HeaderMap, session: &Session) -> HttpResult<()> {
    let presented = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let presented_hash = token_hash(presented);
    let matches: bool = presented_hash
        .as_bytes()
        .ct_eq(session.csrf_sha256.as_bytes())
        .into();
    if presented.is_empty() || !matches {
        return Err(HttpError::forbidden(format!(
            "a request with the session cookie must carry the session's {CSRF_HEADER} header"
        )));
    }
    Ok(())
}

/// The token behind the session cookie, for the authentication middleware: `None` when
/// the request has no session cookie (the bearer token decides then).
pub(crate) async fn authenticate(
    state: &ApiState,
    method: &Method,
    headers: &HeaderMap,
) -> Option<HttpResult<ApiToken>> {
    cookie(headers)?;
    Some(
        async {
            let (_, session) = current(state, headers).await?;
            if method != Method::GET && method != Method::HEAD {
                check_csrf(headers, &session)?;
            }
            Ok(session.token)
        }
        .await,
    )
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SignIn {
    token: String,
}

/// `POST /api/v1/session`: a valid API token in the body → a session cookie.
pub(crate) async fn create(
    State(state): State<ApiState>,
    client: axum::extract::ConnectInfo<crate::ClientAddr>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> HttpResult<Response> {
    let body = body.map_err(body_rejection)?;
    let request: SignIn = json_body(&headers, &body)?;
    let token = crate::auth::verify(&state, client.0.0.ip(), request.token.trim()).await?;
    let id = new_session_id()?;
    let csrf = csrf_token(&id);
    let expires = time::OffsetDateTime::now_utc() + LIFETIME;
    state
        .store()
        .create_session(&NewSession {
            id_sha256: token_hash(&id),
            token_name: token.name.clone(),
            csrf_sha256: token_hash(&csrf),
            expires,
        })
        .await?;
    tracing::info!(token = %token.name, "console session started");
    let mut response = session_body(&token, expires, &csrf).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(&id, LIFETIME.as_secs(), state.serves_tls()),
    );
    Ok(response)
}

/// `GET /api/v1/session`: the session the cookie names (its CSRF token again).
pub(crate) async fn show(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> HttpResult<Response> {
    let (id, session) = current(&state, &headers).await?;
    Ok(session_body(&session.token, session.expires, &csrf_token(&id)).into_response())
}

/// `DELETE /api/v1/session`: ends the session (CSRF token required) and clears the cookie.
pub(crate) async fn delete(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> HttpResult<Response> {
    let (id, session) = current(&state, &headers).await?;
    check_csrf(&headers, &session)?;
    state.store().delete_session(&token_hash(&id)).await?;
    tracing::info!(token = %session.token.name, "console session ended");
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, set_cookie("", 0, state.serves_tls()));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; crowsnest_session=abc; b=2"),
        );
        assert_eq!(cookie(&h).as_deref(), Some("abc"));
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("crowsnest_session_x=1; x=crowsnest_session"),
        );
        assert_eq!(cookie(&h), None);
    }

    #[test]
    fn csrf_tokens_differ_per_session_and_do_not_reveal_it() {
        let (a, b) = (csrf_token("cn_a"), csrf_token("cn_b"));
        assert_ne!(a, b);
        assert_eq!(a, csrf_token("cn_a"));
        assert!(!a.contains("cn_a"));
    }

    #[test]
    fn cookie_flags() {
        let v = set_cookie("x", 60, true);
        let v = v.to_str().unwrap();
        for flag in [
            "HttpOnly",
            "SameSite=Strict",
            "Path=/",
            "Max-Age=60",
            "Secure",
        ] {
            assert!(v.contains(flag), "{v}");
        }
        assert!(
            !set_cookie("x", 60, false)
                .to_str()
                .unwrap()
                .contains("Secure")
        );
    }
}

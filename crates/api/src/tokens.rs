//! API tokens managed from the console (admin): list, create (the token is shown once),
//! revoke (its console sessions end with it). Saved explorer queries, per token: every
//! token sees and changes only its own.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use crowsnest_store::{ApiToken, ConsoleStore, Store, TokenRole};
use serde_json::{Value, json};

use crate::ApiState;
use crate::auth::{Caller, generate_token, token_hash};
use crate::error::{HttpError, HttpResult};
use crate::handlers::{body_rejection, json_body, opt_time, rfc3339};
use crate::params::Params;

fn require_admin(caller: &Caller) -> HttpResult<()> {
    if caller.0.role != TokenRole::Admin {
        return Err(HttpError::forbidden(format!(
            "token {} has the read role; managing tokens needs an admin token",
            caller.0.name
        )));
    }
    Ok(())
}

fn token_json(t: &ApiToken) -> Value {
    json!({
        "name": t.name,
        "role": t.role.as_str(),
        "createdAt": rfc3339(t.created),
        "lastUsed": opt_time(t.last_used),
    })
}

pub(crate) async fn list(
    State(state): State<ApiState>,
    axum::Extension(caller): axum::Extension<Caller>,
    RawQuery(q): RawQuery,
) -> HttpResult<Json<Value>> {
    Params::parse(q.as_deref(), &[])?;
    require_admin(&caller)?;
    let tokens = state.store().api_tokens().await?;
    Ok(Json(
        json!({"items": tokens.iter().map(token_json).collect::<Vec<_>>()}),
    ))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
    role: String,
}

pub(crate) async fn create(
    State(state): State<ApiState>,
    axum::Extension(caller): axum::Extension<Caller>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> HttpResult<Response> {
    require_admin(&caller)?;
    let body = body.map_err(body_rejection)?;
    let request: NewToken = json_body(&headers, &body)?;
    let role = TokenRole::parse(&request.role).ok_or_else(|| {
        HttpError::bad_request(format!("role {:?}: expected read or admin", request.role))
    })?;
    let token = generate_token().map_err(|e| {
        HttpError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "no_randomness",
            e.to_string(),
        )
    })?;
    let stored = state
        .store()
        .create_api_token(&request.name, role, &token_hash(&token))
        .await?;
    tracing::info!(token = %stored.name, role = role.as_str(), by = %caller.0.name, "API token created");
    let mut v = token_json(&stored);
    v["token"] = json!(token);
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

pub(crate) async fn revoke(
    State(state): State<ApiState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(name): Path<String>,
) -> HttpResult<StatusCode> {
    require_admin(&caller)?;
    if !state.store().revoke_api_token(&name).await? {
        return Err(HttpError::not_found(format!("no token named {name:?}")));
    }
    tracing::info!(token = %name, by = %caller.0.name, "API token revoked");
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn saved(
    State(state): State<ApiState>,
    axum::Extension(caller): axum::Extension<Caller>,
    RawQuery(q): RawQuery,
) -> HttpResult<Json<Value>> {
    Params::parse(q.as_deref(), &[])?;
    let items = state.store().saved_queries(&caller.0.name).await?;
    Ok(Json(json!({"items": items})))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSaved {
    name: String,
    query: String,
    cluster: Option<String>,
}

pub(crate) async fn save(
    State(state): State<ApiState>,
    axum::Extension(caller): axum::Extension<Caller>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> HttpResult<Response> {
    let body = body.map_err(body_rejection)?;
    let request: NewSaved = json_body(&headers, &body)?;
    let saved = state
        .store()
        .save_query(
            &caller.0.name,
            &request.name,
            &request.query,
            request.cluster.as_deref(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(json!(saved))).into_response())
}

pub(crate) async fn unsave(
    State(state): State<ApiState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<String>,
) -> HttpResult<StatusCode> {
    let id = id
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| HttpError::bad_request(format!("{id:?} is not a saved query id")))?;
    if !state.store().delete_saved_query(&caller.0.name, id).await? {
        return Err(HttpError::not_found(format!(
            "token {} has no saved query {id}",
            caller.0.name
        )));
    }
    Ok(StatusCode::NO_CONTENT)
}

//! Token introspection (RFC 7662) for authenticated confidential clients. Anything we
//! cannot vouch for — revoked, expired, foreign or garbage — is `{"active": false}`
//! and nothing more (§2.2). API tokens (issue 14) are introspected too: active while
//! neither revoked nor expired and while their owner may sign in to their host, with
//! the owner as `sub` and `username`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::error::ApiError;
use super::state::AppState;
use super::token::{authenticate_client, read_form};
use crate::domain::api_token;
use crate::domain::TokenHash;
use crate::oauth::{ErrorCode, OAuthError};

pub async fn post_introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let form = read_form(&headers, &body)?;
    let (client, credentials) = authenticate_client(&state, &headers, &form).await?;
    if client.is_public() {
        return Err(ApiError::OAuth {
            error: OAuthError::new(
                ErrorCode::InvalidClient,
                "public clients cannot introspect tokens",
            ),
            basic: credentials.used_basic(),
        });
    }
    let token = form
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    let now = state.now();
    let mut answer = Map::new();
    // §2.1: the hint only orders the look-ups; both kinds are tried.
    if let Ok(mut claims) = state.issuer.verify_access_token(token, now) {
        let jti = claims
            .get("jti")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if !state.revocations.contains(&jti) {
            claims.insert("active".into(), true.into());
            claims.insert("token_type".into(), "Bearer".into());
            answer = claims;
        }
    } else if api_token::parse(token).is_some() {
        answer = api_token_answer(&state, token, now).await?;
    } else if let Some(status) = state
        .store
        .refresh_token_status(TokenHash::of(token).as_str(), now)
        .await?
    {
        // A refresh token is only ever shown to the client it was issued to.
        if status.active && status.record.client_id == client.client_id {
            let r = status.record;
            answer = json!({
                "active": true,
                "token_type": "refresh_token",
                "client_id": r.client_id,
                "sub": r.user_id,
                "scope": r.scope,
                "exp": r.expires_at,
                "iss": state.config.issuer_base(),
            })
            .as_object()
            .cloned()
            .unwrap_or_default();
            if let Some(host) = r.host_id {
                answer.insert("host".into(), host.into());
            }
        }
    }
    if answer.is_empty() {
        answer.insert("active".into(), false.into());
    }
    let mut response = Json(answer).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// What introspection says of an API token: active with its owner, or nothing.
async fn api_token_answer(
    state: &AppState,
    token: &str,
    now: i64,
) -> Result<Map<String, Value>, ApiError> {
    let Some(presented) = state
        .store
        .presented_api_token(TokenHash::of(token).as_str())
        .await?
    else {
        return Ok(Map::new());
    };
    let t = presented.token;
    if !t.is_live(now) || presented.owner_locked || !presented.owner_active {
        return Ok(Map::new());
    }
    let mut answer = Map::new();
    answer.insert("active".into(), true.into());
    answer.insert("token_type".into(), "api_token".into());
    answer.insert("kind".into(), t.kind.as_str().into());
    answer.insert(
        "sub".into(),
        t.user_id
            .clone()
            .unwrap_or_else(|| t.token_id.clone())
            .into(),
    );
    if let Some(login) = presented.owner_login {
        answer.insert("username".into(), login.into());
    }
    answer.insert("scope".into(), t.scope.into());
    answer.insert("exp".into(), t.expires_at.into());
    answer.insert("iat".into(), t.created_at.into());
    answer.insert("host".into(), t.host_id.into());
    if !t.roles.is_empty() {
        answer.insert("role".into(), t.roles.join(" ").into());
    }
    answer.insert("iss".into(), state.config.issuer_base().into());
    Ok(answer)
}

//! Token revocation (RFC 7009). Revoking a refresh token revokes its whole grant (the
//! access tokens issued with it too, §2.1); revoking an access token revokes that token.
//! Unknown or foreign tokens get the same empty 200 (§2.2), so the endpoint cannot be
//! used to probe tokens.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;

use super::error::ApiError;
use super::state::AppState;
use super::token::{authenticate_client, read_form};
use crate::domain::audit::{actions, AuditContext, AuditEvent};
use crate::domain::TokenHash;
use crate::oauth::OAuthError;

pub async fn post_revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let form = read_form(&headers, &body)?;
    let (client, _) = authenticate_client(&state, &headers, &form).await?;
    let token = form
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    let now = state.now();
    if let Ok(claims) = state.issuer.verify_access_token(token, now) {
        let ours =
            claims.get("client_id").and_then(Value::as_str) == Some(client.client_id.as_str());
        let jti = claims.get("jti").and_then(Value::as_str);
        let exp = claims.get("exp").and_then(Value::as_i64);
        if let (true, Some(jti), Some(exp)) = (ours, jti, exp) {
            state
                .revocations
                .revoke_token(&*state.store, jti, exp, now)
                .await?;
            let host = claims.get("host").and_then(Value::as_str);
            let event = revoked(host, "access_token", jti);
            record(&state, &client.client_id, &event).await?;
        }
    } else if let Some(status) = state
        .store
        .refresh_token_status(TokenHash::of(token).as_str(), now)
        .await?
    {
        if status.record.client_id == client.client_id {
            state
                .revocations
                .revoke_family(&*state.store, &status.record.family_id, now)
                .await?;
            let host = status.record.host_id.as_deref();
            let event = revoked(host, "token_family", &status.record.family_id);
            record(&state, &client.client_id, &event).await?;
        }
    }
    Ok(StatusCode::OK)
}

/// The audit entry of a revocation: the token's host, what was revoked (an access
/// token by its `jti`, or a refresh token's whole family), never the token.
fn revoked(host: Option<&str>, kind: &str, id: &str) -> AuditEvent {
    let event = AuditEvent::new(actions::TOKEN_REVOKED).target(kind, id);
    match host {
        Some(h) => event.host(h),
        None => event,
    }
}

async fn record(state: &AppState, client_id: &str, event: &AuditEvent) -> Result<(), ApiError> {
    let context = AuditContext::client(client_id, super::request_id::current());
    state
        .store
        .record_audit(&context, event, state.now())
        .await?;
    Ok(())
}

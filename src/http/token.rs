//! The token endpoint (RFC 6749 §3.2): client authentication, then the grant.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::client_address::ClientAddress;
use super::error::ApiError;
use super::state::AppState;
use crate::domain::Client;
use crate::oauth::client_auth::{self, ClientCredentials};
use crate::oauth::grant::{self, GrantContext, SignInContext, TokenRequest};
use crate::oauth::{parse_unique_pairs, OAuthError};

pub async fn post_token(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let form = read_form(&headers, &body)?;
    let (client, credentials) = authenticate_client(&state, &headers, &form).await?;
    let request = TokenRequest::from_form(&form)?;
    let grant_type = request.grant_type();
    let ctx = GrantContext {
        store: &*state.store,
        revocations: &state.revocations,
        issuer: &state.issuer,
        config: &state.config,
        now: state.now(),
        sign_in: Some(SignInContext {
            authenticator: &state.authenticator,
            address,
            request_id: super::request_id::current(),
        }),
    };
    let response = grant::run(&ctx, &client, request).await.map_err(|e| {
        let mut api = ApiError::from(e);
        if let ApiError::OAuth { basic, .. } = &mut api {
            *basic = credentials.used_basic();
        }
        api
    })?;
    state.metrics.token_issued(grant_type);
    let mut response = Json(response).into_response();
    let h = response.headers_mut();
    // RFC 6749 §5.1: "Cache-Control: no-store" and "Pragma: no-cache".
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// Reads an `application/x-www-form-urlencoded` body without repeated parameters.
pub(super) fn read_form(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<std::collections::HashMap<String, String>, ApiError> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';').next().is_some_and(|t| {
                t.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
    if !is_form {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        )
        .into());
    }
    Ok(parse_unique_pairs(body)?)
}

/// Authenticates the client of a token, introspection or revocation request.
pub(super) async fn authenticate_client(
    state: &AppState,
    headers: &HeaderMap,
    form: &std::collections::HashMap<String, String>,
) -> Result<(Arc<Client>, ClientCredentials), ApiError> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let basic = authorization.is_some();
    let credentials = client_auth::extract(authorization, form)
        .map_err(|error| ApiError::OAuth { error, basic })?;
    let client = state
        .clients
        .get(&*state.store, credentials.client_id())
        .await?;
    let client =
        client_auth::authenticate(client, &credentials).map_err(|error| ApiError::OAuth {
            error,
            basic: credentials.used_basic(),
        })?;
    Ok((client, credentials))
}

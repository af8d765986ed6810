//! The userinfo endpoint (OpenID Connect Core §5.3), GET and POST, with the access
//! token as a Bearer header (RFC 6750 §2.1) or, for POST, a form field (§2.2).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::error::ApiError;
use super::extract::{bearer_header, verify_bearer};
use super::state::AppState;
use crate::domain::date::iso_date;
use crate::domain::SecurityProfile;
use crate::oauth::bearer::BearerError;
use crate::oauth::{ErrorCode, OAuthError};
use crate::oidc::userinfo;

fn rejected(e: BearerError) -> ApiError {
    ApiError::Bearer(e.into_error())
}

/// The bearer token of a request: from the header, or from a POST form body. Two
/// places at once is an error (RFC 6750 §2: "MUST NOT use more than one method").
fn bearer_token(method: &Method, headers: &HeaderMap, body: &[u8]) -> Result<String, ApiError> {
    let from_header = bearer_header(headers).map_err(rejected)?.map(str::to_owned);
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let from_body = if *method == Method::POST && is_form {
        url::form_urlencoded::parse(body)
            .find(|(k, _)| k == "access_token")
            .map(|(_, v)| v.into_owned())
    } else {
        None
    };
    match (from_header, from_body) {
        (Some(_), Some(_)) => Err(ApiError::Bearer(Some(OAuthError::invalid_request(
            "send the access token in one place only",
        )))),
        (Some(t), None) | (None, Some(t)) => Ok(t),
        (None, None) => Err(ApiError::Bearer(None)),
    }
}

pub async fn userinfo(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let token = bearer_token(&method, &headers, &body)?;
    let verified = verify_bearer(&state, &token, "openid").map_err(rejected)?;
    let sub = verified.claim("sub").unwrap_or_default();
    let Some(user) = state.store.find_user(sub).await? else {
        return Err(ApiError::Bearer(Some(OAuthError::new(
            ErrorCode::InvalidToken,
            "the user no longer exists",
        ))));
    };
    let client_id = verified.claim("client_id").unwrap_or_default();
    let wants_profile = state
        .clients
        .get(&*state.store, client_id)
        .await?
        .is_some_and(|c| c.profile_in_id_token);
    let profile: Option<SecurityProfile> = match verified.claim("host") {
        Some(host) if wants_profile => Some(
            state
                .store
                .load_profile(&user.user_id, host, &iso_date(state.now()))
                .await?,
        ),
        _ => None,
    };
    let mut response =
        Json(userinfo::claims(&user, &verified.scopes, profile.as_ref())).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

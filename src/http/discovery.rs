//! Provider metadata (OpenID Connect Discovery 1.0 §4, RFC 8414 §3) and the JWKS,
//! both built ahead of time and served with caching headers.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::state::AppState;
use crate::keys::JWKS_MAX_AGE;

pub async fn get_metadata(State(state): State<AppState>) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        state.discovery.clone(),
    )
        .into_response()
}

pub async fn get_jwks(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (jwks, etag) = state.keys.jwks();
    let cache = HeaderValue::from_str(&format!("public, max-age={JWKS_MAX_AGE}"))
        .unwrap_or(HeaderValue::from_static("public"));
    let etag_value = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\""));
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        return (
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag_value), (header::CACHE_CONTROL, cache)],
        )
            .into_response();
    }
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/jwk-set+json"),
            ),
            (header::CACHE_CONTROL, cache),
            (header::ETAG, etag_value),
        ],
        jwks,
    )
        .into_response()
}

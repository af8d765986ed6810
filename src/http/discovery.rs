//! Provider metadata (OpenID Connect Discovery 1.0 §4, RFC 8414 §3) and the JWKS,
//! both built ahead of time and served with caching headers. Browser applications read
//! both, so they carry `Access-Control-Allow-Origin: *`.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::state::AppState;

/// Kept in step with `keys::JWKS_MAX_AGE` (checked by a test).
const JWKS_CACHE: HeaderValue = HeaderValue::from_static("public, max-age=300");
const ANY_ORIGIN: HeaderValue = HeaderValue::from_static("*");

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
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, ANY_ORIGIN),
        ],
        state.discovery.clone(),
    )
        .into_response()
}

pub async fn get_jwks(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (jwks, etag) = state.keys.jwks();
    let etag_value = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\""));
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        return (
            StatusCode::NOT_MODIFIED,
            [
                (header::ETAG, etag_value),
                (header::CACHE_CONTROL, JWKS_CACHE),
                (header::ACCESS_CONTROL_ALLOW_ORIGIN, ANY_ORIGIN),
            ],
        )
            .into_response();
    }
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/jwk-set+json"),
            ),
            (header::CACHE_CONTROL, JWKS_CACHE),
            (header::ETAG, etag_value),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, ANY_ORIGIN),
        ],
        jwks,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_jwks_cache_header_matches_the_key_rotation_rule() {
        assert_eq!(
            super::JWKS_CACHE.to_str().unwrap(),
            format!("public, max-age={}", crate::keys::JWKS_MAX_AGE)
        );
    }
}

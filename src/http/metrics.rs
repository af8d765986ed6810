//! `/metrics` (Prometheus' text format) and the middleware that counts and times every
//! request by its route template (`MatchedPath`), so that the label's values are the
//! routes, not whatever paths strangers send.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::error::ApiError;
use super::state::AppState;
use crate::metrics::{HttpLabels, Metrics, PoolLabels};
use crate::oauth::{ErrorCode, OAuthError};

/// Observes every request: method, route, status and latency.
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    metrics
        .http_requests
        .get_or_create(&HttpLabels {
            method,
            route,
            status: response.status().as_u16(),
        })
        .observe(started.elapsed().as_secs_f64());
    response
}

/// Methods outside the ones Tessera serves share one label value.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// `/metrics` on the separate metrics listener: whoever reaches it may read.
pub async fn get_metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    exposition(&state)
}

/// `/metrics` on the public listener: only with the configured bearer token (routed
/// only when one is configured).
pub async fn get_metrics_with_token(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or(ApiError::Bearer(None))?;
    let expected = state.config.metrics.token.as_bytes();
    if expected.is_empty() || !bool::from(token.as_bytes().ct_eq(expected)) {
        return Err(ApiError::Bearer(Some(OAuthError::new(
            ErrorCode::InvalidToken,
            "not the metrics token",
        ))));
    }
    exposition(&state)
}

fn exposition(state: &AppState) -> Result<Response, ApiError> {
    let metrics = &state.metrics;
    // Gauges of other parts are read when scraped rather than kept up to date.
    let load = state.authenticator.passwords.load();
    metrics
        .hash_pool_queued
        .set(i64::try_from(load.queued).unwrap_or(i64::MAX));
    metrics
        .hash_pool_in_use
        .set(i64::try_from(load.in_use).unwrap_or(i64::MAX));
    let pool = state.store.pool_stats();
    let gauge = |state| metrics.db_connections.get_or_create(&PoolLabels { state });
    gauge("idle").set(i64::from(pool.idle));
    gauge("in_use").set(i64::from(pool.open.saturating_sub(pool.idle)));
    let body = metrics.encode().map_err(ApiError::internal)?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        )],
        body,
    )
        .into_response())
}

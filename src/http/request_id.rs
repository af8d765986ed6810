//! Every request carries an id, `x-request-id`: tower-http's layers set it (a UUID v4
//! unless the client or a balancer sent an acceptable one) and copy it to the response;
//! the request's tracing span records it, and the error page shows it ("Reference:
//! …"), so that a person's report leads to the log lines of their request.

use axum::extract::Request;
use axum::http::HeaderName;
use axum::middleware::Next;
use axum::response::Response;
use tower_http::request_id::RequestId;

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest incoming id kept.
const MAX_LEN: usize = 64;

tokio::task_local! {
    /// The id of the request this task serves: `PageError::into_response` has no
    /// request to read it from.
    static REQUEST_ID: String;
}

/// The id of the request being served, if any.
#[must_use]
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// An incoming id goes into logs and onto pages as it is, so it is kept only when short
/// and plain (letters, digits, `-`, `_`, `.`); otherwise it is dropped and a fresh one
/// made. A balancer's id then links its logs to ours.
pub async fn drop_unsafe(mut request: Request) -> Request {
    let acceptable = request.headers().get(&X_REQUEST_ID).map(|v| {
        let v = v.as_bytes();
        !v.is_empty()
            && v.len() <= MAX_LEN
            && v.iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    });
    if acceptable == Some(false) {
        request.headers_mut().remove(&X_REQUEST_ID);
    }
    request
}

/// Runs the rest of the request with its id in [`current`].
pub async fn scope(request: Request, next: Next) -> Response {
    let id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or_default()
        .to_owned();
    REQUEST_ID.scope(id, next.run(request)).await
}

/// The tracing span of a request: method, path (never the query, which may hold a
/// token hint) and request id.
pub fn span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let id = request
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %id,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn kept(value: &str) -> bool {
        let request = Request::builder()
            .header(X_REQUEST_ID, value)
            .body(axum::body::Body::empty())
            .unwrap();
        drop_unsafe(request)
            .await
            .headers()
            .contains_key(&X_REQUEST_ID)
    }

    #[tokio::test]
    async fn only_short_plain_incoming_ids_are_kept() {
        assert!(kept("lb-1234.abc_DEF").await);
        assert!(!kept("<script>").await);
        assert!(!kept("a b").await);
        assert!(!kept(&"x".repeat(65)).await);
        assert!(kept(&"x".repeat(64)).await);
    }
}

//! The one place that turns errors into responses: JSON errors for the machine
//! endpoints (RFC 6749 §5.2, RFC 6750 §3), HTML pages for people. Internal failures
//! are logged here, once, and shown without detail.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::pages::render_error_page;
use crate::domain::Refusal;
use crate::oauth::{ErrorCode, GrantError, OAuthError};
use crate::store::StoreError;

/// An error from a JSON endpoint.
#[derive(Debug)]
pub enum ApiError {
    /// A protocol error. `basic` is true when the client authenticated with HTTP Basic,
    /// so that `invalid_client` carries `WWW-Authenticate` (RFC 6749 §5.2).
    OAuth {
        error: OAuthError,
        basic: bool,
    },
    /// A bearer-token error at a protected resource (RFC 6750 §3.1). No code means the
    /// request had no token at all.
    Bearer(Option<OAuthError>),
    Internal(String),
}

impl ApiError {
    #[must_use]
    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<OAuthError> for ApiError {
    fn from(error: OAuthError) -> Self {
        Self::OAuth {
            error,
            basic: false,
        }
    }
}

impl From<GrantError> for ApiError {
    fn from(e: GrantError) -> Self {
        match e {
            GrantError::Protocol(error) => Self::OAuth {
                error,
                basic: false,
            },
            other => Self::internal(other),
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::internal(e)
    }
}

const REALM: &str = "tessera";

fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::OAuth { error, basic } => {
                let status = match error.code {
                    ErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
                    ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
                    _ => StatusCode::BAD_REQUEST,
                };
                let body =
                    json!({ "error": error.code.as_str(), "error_description": error.description });
                let mut response = (status, axum::Json(body)).into_response();
                if error.code == ErrorCode::InvalidClient && basic {
                    response.headers_mut().insert(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static("Basic realm=\"tessera\""),
                    );
                }
                no_store(response)
            }
            Self::Bearer(error) => {
                let (status, challenge) = bearer_challenge(error.as_ref());
                let body = match &error {
                    None => json!({}),
                    Some(e) => {
                        json!({ "error": e.code.as_str(), "error_description": e.description })
                    }
                };
                with_challenge((status, axum::Json(body)).into_response(), &challenge)
            }
            Self::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                let body =
                    json!({ "error": "server_error", "error_description": "internal error" });
                no_store((StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response())
            }
        }
    }
}

/// The status and `WWW-Authenticate` challenge of a bearer-token error (RFC 6750 §3):
/// no token at all gets the bare challenge; `insufficient_scope` is 403, a malformed
/// request 400, anything else about the token 401.
fn bearer_challenge(error: Option<&OAuthError>) -> (StatusCode, String) {
    match error {
        None => (
            StatusCode::UNAUTHORIZED,
            format!("Bearer realm=\"{REALM}\""),
        ),
        Some(e) => {
            let status = match e.code {
                ErrorCode::InsufficientScope => StatusCode::FORBIDDEN,
                ErrorCode::InvalidRequest => StatusCode::BAD_REQUEST,
                _ => StatusCode::UNAUTHORIZED,
            };
            // The description is ours and never holds a quote.
            let challenge = format!(
                "Bearer realm=\"{REALM}\", error=\"{}\", error_description=\"{}\"",
                e.code.as_str(),
                e.description.replace('"', "'")
            );
            (status, challenge)
        }
    }
}

fn with_challenge(mut response: Response, challenge: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    no_store(response)
}

/// An error of the management API (`/api/v1`). Every one answers the same JSON shape,
/// `{"error", "message", "field"?}`, with `right` added to a refusal.
#[derive(Debug)]
pub enum V1Error {
    /// The bearer token is missing, invalid, or lacks the API's scope (RFC 6750 §3.1).
    Bearer(Option<OAuthError>),
    /// The rights policy said no.
    Refused(Refusal),
    /// A store error: `NotFound`, `Conflict` and `Invalid` are the caller's; the rest
    /// is ours.
    Store(StoreError),
    /// A query parameter or body that cannot be read (malformed, unknown field, wrong
    /// type): 400.
    BadParameter { field: String, message: String },
    /// A value that reads but breaks a rule (an over-long name, an invalid email, dates
    /// out of order): 422, naming the field.
    Invalid(crate::domain::input::FieldError),
    /// A failure of ours outside the store (password hashing): logged, answered 500
    /// without detail.
    Internal(String),
}

impl From<crate::domain::input::FieldError> for V1Error {
    fn from(e: crate::domain::input::FieldError) -> Self {
        Self::Invalid(e)
    }
}

impl From<Refusal> for V1Error {
    fn from(r: Refusal) -> Self {
        Self::Refused(r)
    }
}

impl From<StoreError> for V1Error {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

fn v1_body(status: StatusCode, error: &str, message: &str) -> Response {
    no_store(
        (
            status,
            axum::Json(json!({ "error": error, "message": message })),
        )
            .into_response(),
    )
}

impl IntoResponse for V1Error {
    fn into_response(self) -> Response {
        match self {
            Self::Bearer(error) => {
                let (status, challenge) = bearer_challenge(error.as_ref());
                let (code, message) = error.as_ref().map_or(
                    ("invalid_token", "a bearer access token is required"),
                    |e| (e.code.as_str(), e.description.as_str()),
                );
                let body = json!({ "error": code, "message": message });
                with_challenge((status, axum::Json(body)).into_response(), &challenge)
            }
            Self::Refused(Refusal::NotFound) => {
                v1_body(StatusCode::NOT_FOUND, "not_found", "no such resource")
            }
            Self::Refused(Refusal::Forbidden { missing }) => {
                let body = json!({
                    "error": "forbidden",
                    "message": format!("this needs the {missing} right"),
                    "right": missing.as_str(),
                });
                no_store((StatusCode::FORBIDDEN, axum::Json(body)).into_response())
            }
            Self::BadParameter { field, message } => {
                let body =
                    json!({ "error": "invalid_request", "message": message, "field": field });
                no_store((StatusCode::BAD_REQUEST, axum::Json(body)).into_response())
            }
            Self::Invalid(e) => {
                let body =
                    json!({ "error": "invalid", "message": e.to_string(), "field": e.field });
                no_store((StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response())
            }
            Self::Store(e) => store_error(e),
            Self::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                v1_body(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "internal error",
                )
            }
        }
    }
}

/// The caller's store errors keep their cause in the log (at debug: they are the
/// caller's mistakes, not ours); any other is logged as an internal error once.
fn store_error(e: StoreError) -> Response {
    let (status, code) = match &e {
        StoreError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
        StoreError::Conflict(_) | StoreError::Refused(_) => (StatusCode::CONFLICT, "conflict"),
        StoreError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        StoreError::Corrupt(_) | StoreError::Database(_) => {
            tracing::error!(detail = %e, "internal error");
            return v1_body(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "internal error",
            );
        }
    };
    tracing::debug!(cause = %e, "request refused by the store");
    v1_body(status, code, &e.to_string())
}

/// The session layer answers a failure of its store (saving the session after the
/// handler ran, e.g. on a full disk) with an empty 500 of its own; a person gets the
/// error page instead.
pub(super) async fn session_failure_page(response: Response) -> Response {
    let bare = response.status() == StatusCode::INTERNAL_SERVER_ERROR
        && !response.headers().contains_key(header::CONTENT_TYPE);
    if bare {
        PageError::Internal("the session could not be saved".to_owned()).into_response()
    } else {
        response
    }
}

/// An error shown to a person as a page.
#[derive(Debug)]
pub enum PageError {
    /// A request we refuse, with a message safe to show.
    BadRequest(String),
    /// A form without a valid CSRF token.
    Forbidden(String),
    NotFound,
    Internal(String),
}

impl PageError {
    #[must_use]
    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<crate::store::StoreError> for PageError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::internal(e)
    }
}

impl From<tower_sessions::session::Error> for PageError {
    fn from(e: tower_sessions::session::Error) -> Self {
        Self::internal(e)
    }
}

impl From<crate::keys::KeyError> for PageError {
    fn from(e: crate::keys::KeyError) -> Self {
        Self::internal(e)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            Self::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            Self::Forbidden(m) => (StatusCode::FORBIDDEN, m),
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                "This page does not exist.".to_owned(),
            ),
            Self::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong on our side. Please try again later.".to_owned(),
                )
            }
        };
        let reference = super::request_id::current().filter(|id| !id.is_empty());
        render_error_page(status, &message, reference.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Right;

    async fn answer(e: V1Error) -> (StatusCode, serde_json::Value) {
        let response = e.into_response();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap_or_default();
        (status, serde_json::from_slice(&body).unwrap_or_default())
    }

    #[tokio::test]
    async fn store_errors_of_the_caller_keep_their_status_and_message() {
        for (e, status, code) in [
            (
                StoreError::NotFound("user"),
                StatusCode::NOT_FOUND,
                "not_found",
            ),
            (
                StoreError::Conflict("a role with this name"),
                StatusCode::CONFLICT,
                "conflict",
            ),
            (
                StoreError::Invalid("end before start".into()),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
            ),
        ] {
            let message = e.to_string();
            let (got, body) = answer(V1Error::Store(e)).await;
            assert_eq!((got, body["error"].as_str()), (status, Some(code)));
            assert_eq!(body["message"].as_str(), Some(message.as_str()));
        }
    }

    #[tokio::test]
    async fn an_internal_store_error_is_shown_without_detail() {
        let (status, body) =
            answer(V1Error::Store(StoreError::Corrupt("secret detail".into()))).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!body.to_string().contains("secret detail"));
    }

    #[tokio::test]
    async fn a_refusal_names_the_missing_right_and_a_hidden_target_is_not_found() {
        let (status, body) = answer(V1Error::Refused(Refusal::Forbidden {
            missing: Right::HostAdmin,
        }))
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["error"], "forbidden");
        assert_eq!(body["right"], "host_admin");
        let (status, body) = answer(V1Error::Refused(Refusal::NotFound)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["error"], "not_found");
    }
}

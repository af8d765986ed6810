//! Extractors of the management API: the bearer token of a request (RFC 6750 §2.1)
//! turned into the [`Principal`] it acts as. Rejections are [`V1Error`]s, so
//! `http/error.rs` answers them (RFC 6750 §3: 401 with `WWW-Authenticate`, 403
//! `insufficient_scope`).

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::client_address::ClientAddress;
use super::error::V1Error;
use super::state::AppState;
use crate::domain::audit::AuditContext;
use crate::domain::date::iso_date;
use crate::domain::scope::API_SCOPE;
use crate::domain::{Principal, Right, Scopes};
use crate::oauth::{ErrorCode, OAuthError};

fn invalid_token(description: &str) -> V1Error {
    V1Error::Bearer(Some(OAuthError::new(ErrorCode::InvalidToken, description)))
}

/// The token of an `Authorization: Bearer` header. The API takes no token in a form
/// body or query (RFC 6750 §2.2 and §2.3 are optional, and §2.3 leaks into logs).
fn bearer_header(headers: &HeaderMap) -> Result<&str, V1Error> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(V1Error::Bearer(None))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
            let token = token.trim();
            if token.is_empty() {
                Err(V1Error::Bearer(None))
            } else {
                Ok(token)
            }
        }
        _ => Err(V1Error::Bearer(None)),
    }
}

fn claim<'a>(claims: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a str> {
    claims.get(name).and_then(Value::as_str)
}

/// A request's caller: the token is verified as `/userinfo` verifies it (signature,
/// lifetime, the node's revocation list), must carry `tessera:api`, and names the user
/// (`sub`) and the host the request acts in (`host`). The user's rights are read from
/// the database at each request, in one query, so a role taken away or a lock counts
/// at once rather than when the token expires; a locked or deleted user, or one no
/// longer in the host, is refused.
impl FromRequestParts<AppState> for Principal {
    type Rejection = V1Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, V1Error> {
        let token = bearer_header(&parts.headers)?;
        let now = state.now();
        let claims = state
            .issuer
            .verify_access_token(token, now)
            .map_err(|_| invalid_token("the access token is invalid or expired"))?;
        if state
            .revocations
            .contains(claim(&claims, "jti").unwrap_or_default())
        {
            return Err(invalid_token("the access token was revoked"));
        }
        let scopes = Scopes::parse(claim(&claims, "scope").unwrap_or_default()).unwrap_or_default();
        if !scopes.contains(API_SCOPE) {
            return Err(V1Error::Bearer(Some(OAuthError::new(
                ErrorCode::InsufficientScope,
                "the access token lacks the tessera:api scope",
            ))));
        }
        let (Some(user_id), Some(host_id)) = (claim(&claims, "sub"), claim(&claims, "host")) else {
            return Err(invalid_token("the access token names no user and host"));
        };
        let standing = state
            .store
            .standing(user_id, host_id, &iso_date(now))
            .await?
            .ok_or_else(|| invalid_token("the user no longer exists"))?;
        if standing.locked {
            return Err(invalid_token("the user is locked"));
        }
        if !standing.member {
            return Err(invalid_token("the user no longer belongs to the host"));
        }
        Ok(Principal {
            user_id: user_id.to_owned(),
            host_id: host_id.to_owned(),
            right: Right::from_roles(
                standing.system_admin,
                standing.roles.iter().map(String::as_str),
            ),
        })
    }
}

/// A caller of the management API with what the audit trail records of their request:
/// the principal, and an [`AuditContext`] naming them, the request id and the client
/// address. Handlers that change something take this instead of a bare [`Principal`].
#[derive(Clone, Debug)]
pub struct Caller {
    pub principal: Principal,
    pub audit: AuditContext,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = V1Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, V1Error> {
        let principal = Principal::from_request_parts(parts, state).await?;
        let Ok(ClientAddress(address)) = ClientAddress::from_request_parts(parts, state).await;
        let audit = AuditContext::api(
            &principal.user_id,
            super::request_id::current(),
            Some(address.to_string()),
        );
        Ok(Self { principal, audit })
    }
}

/// The longest JSON body the management API reads.
const MAX_BODY: usize = 64 * 1024;

/// A JSON request body of the management API. Unlike axum's `Json`, a body that does
/// not parse names the field at fault (`serde_path_to_error`), and the answer is the
/// API's error shape: 400 for malformed JSON, an unknown field (request types deny
/// them) or a wrong type; 415 is not used, a missing content type is a 400 too.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = V1Error;

    async fn from_request(request: Request, _state: &AppState) -> Result<Self, V1Error> {
        let json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(is_json);
        if !json {
            return Err(V1Error::BadParameter {
                field: "body".to_owned(),
                message: "the body must be JSON (Content-Type: application/json)".to_owned(),
            });
        }
        let bytes = axum::body::to_bytes(request.into_body(), MAX_BODY)
            .await
            .map_err(|_| V1Error::BadParameter {
                field: "body".to_owned(),
                message: format!("the body must be JSON of at most {MAX_BODY} bytes"),
            })?;
        parse_body(&bytes).map(ApiJson)
    }
}

/// Whether a content type is JSON: `application/json`, or a `+json` type, with any
/// parameters.
fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses a JSON body, naming the field at fault.
fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, V1Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        V1Error::BadParameter {
            field: if path == "." { "body".to_owned() } else { path },
            message: inner.to_string(),
        }
    })?;
    deserializer.end().map_err(|e| V1Error::BadParameter {
        field: "body".to_owned(),
        message: e.to_string(),
    })?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        #[allow(dead_code)]
        name: String,
        #[allow(dead_code)]
        inner: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        #[allow(dead_code)]
        n: u32,
    }

    fn field_of(body: &str) -> String {
        match parse_body::<Body>(body.as_bytes()) {
            Err(V1Error::BadParameter { field, .. }) => field,
            other => panic!("{body}: {other:?}"),
        }
    }

    #[test]
    fn a_body_that_does_not_parse_names_its_field() {
        assert!(parse_body::<Body>(br#"{"name": "a"}"#).is_ok());
        assert_eq!(field_of(r#"{"name": 1}"#), "name");
        assert_eq!(field_of(r#"{"name": "a", "inner": {"n": "x"}}"#), "inner.n");
        assert_eq!(field_of(r#"{"name": "a", "colour": 1}"#), "colour");
        assert_eq!(field_of(r#"{"name": "a"#), "name");
        assert_eq!(field_of(r#"{"name": "a"} trailing"#), "body");
        assert_eq!(field_of("{}"), "body");
    }

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            value.parse().unwrap_or_else(|_| unreachable!()),
        );
        h
    }

    #[test]
    fn only_a_bearer_header_with_a_token_is_taken() {
        assert_eq!(bearer_header(&headers("Bearer abc")).ok(), Some("abc"));
        assert_eq!(bearer_header(&headers("bearer  abc ")).ok(), Some("abc"));
        for bad in ["Basic abc", "Bearer", "Bearer   ", "abc"] {
            assert!(
                matches!(bearer_header(&headers(bad)), Err(V1Error::Bearer(None))),
                "{bad}"
            );
        }
        assert!(matches!(
            bearer_header(&HeaderMap::new()),
            Err(V1Error::Bearer(None))
        ));
    }
}

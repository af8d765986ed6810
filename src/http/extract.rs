//! Bearer tokens at Tessera's resources (RFC 6750): the one reading of the
//! `Authorization` header and the one verification (`oauth::bearer`) that `/userinfo`
//! and the management API share, and the management API's extractor, which turns the
//! token into the [`Principal`] it acts as. Rejections are [`V1Error`]s, so
//! `http/error.rs` answers them (RFC 6750 §3: 401 with `WWW-Authenticate`, 403
//! `insufficient_scope`).

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use serde::de::DeserializeOwned;

use super::client_address::ClientAddress;
use super::error::V1Error;
use super::state::AppState;
use crate::domain::audit::AuditContext;
use crate::domain::date::iso_date;
use crate::domain::scope::API_SCOPE;
use crate::domain::{Principal, Right};
use crate::oauth::bearer::{self, AccessToken, BearerError};
use crate::oauth::{ErrorCode, OAuthError};

fn invalid_token(description: &str) -> V1Error {
    V1Error::Bearer(Some(OAuthError::new(ErrorCode::InvalidToken, description)))
}

/// The token of the request's `Authorization: Bearer` header (RFC 6750 §2.1):
/// `Ok(None)` without the header; a header that is not a bearer token, or not text, is
/// no credential (`Missing`).
///
/// # Errors
/// `Missing` for a header that carries no bearer token.
pub(super) fn bearer_header(headers: &HeaderMap) -> Result<Option<&str>, BearerError> {
    match headers.get(header::AUTHORIZATION).map(|v| v.to_str()) {
        Some(Ok(value)) => bearer::from_authorization(value).map(Some),
        Some(Err(_)) => Err(BearerError::Missing),
        None => Ok(None),
    }
}

/// Verifies a request's bearer token for a resource that needs `scope`: the one check
/// `/userinfo` and the management API share (`oauth::bearer::verify` with this node's
/// keys, revocation list and clock).
///
/// # Errors
/// `invalid_token` or `insufficient_scope`.
pub(super) fn verify_bearer(
    state: &AppState,
    token: &str,
    scope: &str,
) -> Result<AccessToken, BearerError> {
    bearer::verify(&state.issuer, &state.revocations, token, scope, state.now())
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
        // The API takes no token in a form body or query (RFC 6750 §2.2 and §2.3 are
        // optional, and §2.3 leaks into logs).
        let rejected = |e: BearerError| V1Error::Bearer(e.into_error());
        let token = bearer_header(&parts.headers)
            .map_err(rejected)?
            .ok_or(V1Error::Bearer(None))?;
        let verified = verify_bearer(state, token, API_SCOPE).map_err(rejected)?;
        let (Some(user_id), Some(host_id)) = (verified.claim("sub"), verified.claim("host")) else {
            return Err(invalid_token("the access token names no user and host"));
        };
        let standing = state
            .store
            .standing(user_id, host_id, &iso_date(state.now()))
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

/// A caller of the policy decision endpoint: a token with `tessera:authz` naming the
/// host it asks for (`host`: a gateway's `client_credentials` token, its client bound
/// to the host, or a user's token). Decisions are read from memory, so this reads
/// nothing from the database: the token's signature, lifetime and revocation decide.
#[derive(Clone, Debug)]
pub struct PolicyCaller {
    pub host_id: String,
}

impl FromRequestParts<AppState> for PolicyCaller {
    type Rejection = V1Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, V1Error> {
        let rejected = |e: BearerError| V1Error::Bearer(e.into_error());
        let token = bearer_header(&parts.headers)
            .map_err(rejected)?
            .ok_or(V1Error::Bearer(None))?;
        let verified =
            verify_bearer(state, token, crate::domain::scope::AUTHZ_SCOPE).map_err(rejected)?;
        let host_id = verified
            .claim("host")
            .ok_or_else(|| invalid_token("the access token names no host"))?;
        Ok(Self {
            host_id: host_id.to_owned(),
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
        let message = e.into_inner().to_string();
        // A missing field is reported at the object that lacks it: name the field.
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next());
        let field = match (path.as_str(), missing) {
            (".", Some(name)) => name.to_owned(),
            (".", None) => "body".to_owned(),
            (_, Some(name)) => format!("{path}.{name}"),
            (_, None) => path,
        };
        V1Error::BadParameter { field, message }
    })?;
    deserializer.end().map_err(|e| V1Error::BadParameter {
        field: "body".to_owned(),
        message: e.to_string(),
    })?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

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
        assert_eq!(field_of("{}"), "name");
        assert_eq!(field_of(r#"{"name": "a", "inner": {}}"#), "inner.n");
        assert_eq!(field_of("[]"), "body");
    }

    fn headers(value: HeaderValue) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, value);
        h
    }

    #[test]
    fn a_bearer_header_gives_its_token_and_anything_else_none() {
        let ok = headers(HeaderValue::from_static("Bearer abc"));
        assert_eq!(bearer_header(&ok).ok(), Some(Some("abc")));
        assert!(matches!(bearer_header(&HeaderMap::new()), Ok(None)));
        let basic = headers(HeaderValue::from_static("Basic abc"));
        assert!(matches!(bearer_header(&basic), Err(BearerError::Missing)));
        let not_text =
            headers(HeaderValue::from_bytes(b"Bearer \xff").unwrap_or_else(|_| unreachable!()));
        assert!(matches!(
            bearer_header(&not_text),
            Err(BearerError::Missing)
        ));
    }
}

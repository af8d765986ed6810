//! Bearer tokens at Tessera's resources (RFC 6750): the one reading of the
//! `Authorization` header and the one verification (`oauth::bearer`) that `/userinfo`
//! and the management API share, and the management API's extractor, which turns the
//! token into the [`Principal`] it acts as. Rejections are [`V1Error`]s, so
//! `http/error.rs` answers them (RFC 6750 §3: 401 with `WWW-Authenticate`, 403
//! `insufficient_scope`).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};

use super::error::V1Error;
use super::state::AppState;
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

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

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

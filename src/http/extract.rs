//! Extractors of the management API: the bearer token of a request (RFC 6750 §2.1)
//! turned into the [`Principal`] it acts as. Rejections are [`V1Error`]s, so
//! `http/error.rs` answers them (RFC 6750 §3: 401 with `WWW-Authenticate`, 403
//! `insufficient_scope`).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use serde_json::Value;

use super::error::V1Error;
use super::state::AppState;
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

#[cfg(test)]
mod tests {
    use super::*;

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

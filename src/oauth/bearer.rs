//! Bearer tokens at a protected resource (RFC 6750): the token of an
//! `Authorization: Bearer` header (§2.1), and the one check every resource of Tessera
//! makes of its own access tokens — signature, `typ`, issuer and lifetime (RFC 9068
//! §4), the node's revocation list, and the scope the resource needs — with the error
//! codes of §3.1. `/userinfo` and the management API both use it, so they refuse the
//! same tokens with the same words.

use serde_json::{Map, Value};

use super::revocation::RevocationList;
use super::{ErrorCode, OAuthError};
use crate::domain::Scopes;
use crate::keys::TokenIssuer;

/// Why a request's bearer token is refused.
#[derive(Debug)]
pub enum BearerError {
    /// No usable credentials: the answer carries no error code (§3.1: "SHOULD NOT
    /// include an error code or other error information").
    Missing,
    /// `invalid_request`, `invalid_token` or `insufficient_scope`.
    Refused(OAuthError),
}

impl BearerError {
    /// The error the `WWW-Authenticate` challenge names, if any.
    #[must_use]
    pub fn into_error(self) -> Option<OAuthError> {
        match self {
            Self::Missing => None,
            Self::Refused(e) => Some(e),
        }
    }
}

fn invalid_token(description: &str) -> BearerError {
    BearerError::Refused(OAuthError::new(ErrorCode::InvalidToken, description))
}

/// The token of an `Authorization` header's value: `Bearer <token>`, the scheme in any
/// case, the token trimmed. Another scheme, or no token, is no credential at all.
///
/// # Errors
/// `Missing` for anything but a bearer token.
pub fn from_authorization(value: &str) -> Result<&str, BearerError> {
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
            let token = token.trim();
            if token.is_empty() {
                Err(BearerError::Missing)
            } else {
                Ok(token)
            }
        }
        _ => Err(BearerError::Missing),
    }
}

/// A verified access token.
#[derive(Debug)]
pub struct AccessToken {
    pub claims: Map<String, Value>,
    pub scopes: Scopes,
}

impl AccessToken {
    /// A string claim (`sub`, `client_id`, `host`, …).
    #[must_use]
    pub fn claim(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }
}

/// Verifies an access token for a resource that needs `scope`: ours and unexpired,
/// not revoked on this node, and carrying the scope.
///
/// # Errors
/// `invalid_token` (invalid, expired or revoked) or `insufficient_scope`.
pub fn verify(
    issuer: &TokenIssuer,
    revocations: &RevocationList,
    token: &str,
    scope: &str,
    now: i64,
) -> Result<AccessToken, BearerError> {
    let token = verify_token(issuer, revocations, token, now)?;
    if !token.scopes.contains(scope) {
        return Err(BearerError::Refused(OAuthError::new(
            ErrorCode::InsufficientScope,
            format!("the access token lacks the {scope} scope"),
        )));
    }
    Ok(token)
}

/// Verifies an access token whatever its scopes: ours, unexpired and not revoked on
/// this node (the subject of a policy decision, given by its token).
///
/// # Errors
/// `invalid_token` (invalid, expired or revoked).
pub fn verify_token(
    issuer: &TokenIssuer,
    revocations: &RevocationList,
    token: &str,
    now: i64,
) -> Result<AccessToken, BearerError> {
    let claims = issuer
        .verify_access_token(token, now)
        .map_err(|_| invalid_token("the access token is invalid or expired"))?;
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if revocations.contains(jti) {
        return Err(invalid_token("the access token was revoked"));
    }
    let scopes = Scopes::parse(
        claims
            .get("scope")
            .and_then(Value::as_str)
            .unwrap_or_default(),
    )
    .unwrap_or_default();
    Ok(AccessToken { claims, scopes })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::keys::{Algorithm, KeyEncryption, KeyRing};
    use crate::oauth::tokens::{AccessGrant, MintedToken};
    use crate::store::KeyRecord;

    const NOW: i64 = 1_800_000_000;

    fn issuer() -> TokenIssuer {
        let kek = Arc::new(KeyEncryption::random());
        let pem = Algorithm::ES256
            .generate_pem()
            .unwrap_or_else(|e| panic!("{e}"));
        let record = KeyRecord {
            kid: "k1".into(),
            alg: "ES256".into(),
            state: "active".into(),
            private_key: kek.seal("k1", &pem).unwrap_or_else(|e| panic!("{e}")),
            created_at: 0,
            activated_at: Some(0),
            retired_at: None,
            remove_after: None,
        };
        TokenIssuer {
            keys: KeyRing::from_records(&[record], kek).unwrap_or_else(|e| panic!("{e}")),
            issuer: "https://id.example".into(),
            audience: "https://id.example".into(),
            access_ttl: 300,
            id_ttl: 300,
        }
    }

    fn token(issuer: &TokenIssuer, scope: &str) -> MintedToken {
        let scopes = Scopes::parse(scope).unwrap_or_default();
        let grant = AccessGrant {
            sub: "u1",
            client_id: "c1",
            scopes: &scopes,
            auth_time: Some(NOW),
            amr: None,
            profile: None,
        };
        issuer
            .access_token(&grant, NOW)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn code(result: Result<AccessToken, BearerError>) -> Option<ErrorCode> {
        match result {
            Ok(_) => None,
            Err(BearerError::Refused(e)) => Some(e.code),
            Err(BearerError::Missing) => panic!("a token was given"),
        }
    }

    #[test]
    fn a_valid_token_with_the_scope_gives_its_claims_and_scopes() {
        let issuer = issuer();
        let minted = token(&issuer, "openid tessera:api");
        let revocations = RevocationList::default();
        let verified = verify(&issuer, &revocations, &minted.token, "openid", NOW + 1)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(verified.claim("sub"), Some("u1"));
        assert_eq!(verified.claim("client_id"), Some("c1"));
        assert!(verified.scopes.contains("tessera:api"));
    }

    #[test]
    fn an_expired_forged_or_revoked_token_is_an_invalid_token() {
        let issuer = issuer();
        let minted = token(&issuer, "openid");
        let revocations = RevocationList::default();
        let expired = verify(&issuer, &revocations, &minted.token, "openid", NOW + 300);
        assert_eq!(code(expired), Some(ErrorCode::InvalidToken));
        let forged = verify(&issuer, &revocations, "a.b.c", "openid", NOW);
        assert_eq!(code(forged), Some(ErrorCode::InvalidToken));
        revocations.insert(&minted.jti, minted.expires_at);
        let revoked = verify(&issuer, &revocations, &minted.token, "openid", NOW);
        assert_eq!(code(revoked), Some(ErrorCode::InvalidToken));
    }

    #[test]
    fn a_token_without_the_resources_scope_is_insufficient() {
        let issuer = issuer();
        let minted = token(&issuer, "openid profile");
        let revocations = RevocationList::default();
        let result = verify(&issuer, &revocations, &minted.token, "tessera:api", NOW);
        assert_eq!(code(result), Some(ErrorCode::InsufficientScope));
    }

    #[test]
    fn only_a_bearer_scheme_with_a_token_is_a_credential() {
        assert_eq!(from_authorization("Bearer abc").ok(), Some("abc"));
        assert_eq!(from_authorization("bearer  abc ").ok(), Some("abc"));
        assert_eq!(from_authorization("BEARER abc").ok(), Some("abc"));
        for bad in ["Basic abc", "Bearer", "Bearer   ", "abc", "", "Bearerabc"] {
            assert!(
                matches!(from_authorization(bad), Err(BearerError::Missing)),
                "{bad}"
            );
        }
    }
}

//! Minting and checking access tokens: JWTs per RFC 9068.

use serde_json::{Map, Value};

use crate::domain::secret::random_id;
use crate::domain::{Scopes, SecurityProfile};
use crate::keys::{KeyError, KeyRing};

/// RFC 9068 §2.1: the `typ` header of a JWT access token.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Signs tokens for one issuer.
#[derive(Clone, Debug)]
pub struct TokenIssuer {
    pub keys: KeyRing,
    pub issuer: String,
    pub audience: String,
    pub access_ttl: i64,
    pub id_ttl: i64,
}

/// What an access token is issued for.
#[derive(Debug)]
pub struct AccessGrant<'a> {
    /// The user's id, or the client's for `client_credentials`.
    pub sub: &'a str,
    pub client_id: &'a str,
    pub scopes: &'a Scopes,
    pub auth_time: Option<i64>,
    pub amr: Option<&'a [String]>,
    pub profile: Option<&'a SecurityProfile>,
}

/// A signed access token.
#[derive(Debug)]
pub struct MintedToken {
    pub token: String,
    pub jti: String,
    pub expires_at: i64,
}

impl TokenIssuer {
    /// Signs an access token (RFC 9068 §2.2).
    ///
    /// # Errors
    /// When signing fails.
    pub fn access_token(&self, grant: &AccessGrant<'_>, now: i64) -> Result<MintedToken, KeyError> {
        let jti = random_id();
        let expires_at = now + self.access_ttl;
        let mut claims = Map::new();
        claims.insert("iss".into(), self.issuer.clone().into());
        claims.insert("sub".into(), grant.sub.into());
        claims.insert("aud".into(), self.audience.clone().into());
        claims.insert("exp".into(), expires_at.into());
        claims.insert("iat".into(), now.into());
        claims.insert("nbf".into(), now.into());
        claims.insert("jti".into(), jti.clone().into());
        claims.insert("client_id".into(), grant.client_id.into());
        claims.insert("cid".into(), grant.client_id.into());
        claims.insert("scope".into(), grant.scopes.to_string().into());
        claims.insert(
            "scp".into(),
            grant
                .scopes
                .iter()
                .map(Value::from)
                .collect::<Vec<_>>()
                .into(),
        );
        if let Some(t) = grant.auth_time {
            claims.insert("auth_time".into(), t.into());
        }
        if let Some(amr) = grant.amr {
            claims.insert(
                "amr".into(),
                amr.iter()
                    .map(|a| Value::from(a.as_str()))
                    .collect::<Vec<_>>()
                    .into(),
            );
        }
        if let Some(profile) = grant.profile {
            profile.write_claims(&mut claims);
        }
        let token = self.keys.sign(ACCESS_TOKEN_TYP, &claims)?;
        Ok(MintedToken {
            token,
            jti,
            expires_at,
        })
    }

    /// Verifies one of our access tokens: signature, `typ`, `iss` and lifetime. Whether
    /// it was revoked is the caller's question for the store.
    ///
    /// # Errors
    /// `InvalidToken` for anything else.
    pub fn verify_access_token(
        &self,
        token: &str,
        now: i64,
    ) -> Result<Map<String, Value>, KeyError> {
        let verified = self.keys.verify(token)?;
        let typ_ok = verified.header.token_type().is_some_and(|t| {
            t.eq_ignore_ascii_case(ACCESS_TOKEN_TYP) || t.eq_ignore_ascii_case("application/at+jwt")
        });
        let claims = verified.claims;
        let iss_ok = claims.get("iss").and_then(Value::as_str) == Some(self.issuer.as_str());
        let exp_ok = claims
            .get("exp")
            .and_then(Value::as_i64)
            .is_some_and(|exp| exp > now);
        let nbf_ok = claims
            .get("nbf")
            .and_then(Value::as_i64)
            .is_none_or(|nbf| nbf <= now + 60);
        if typ_ok && iss_ok && exp_ok && nbf_ok && claims.get("jti").is_some() {
            Ok(claims)
        } else {
            Err(KeyError::InvalidToken)
        }
    }
}

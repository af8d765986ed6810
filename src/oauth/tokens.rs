//! Minting and checking access tokens: JWTs per RFC 9068.

use serde_json::{Map, Value};

use crate::domain::secret::random_id;
use crate::domain::{Scopes, SecurityProfile};
use crate::keys::{KeyError, TokenIssuer};

/// RFC 9068 §2.1: the `typ` header of a JWT access token.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

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

/// How an exchanged token differs from an ordinary one (RFC 8693 §2.2): each part left
/// out is the ordinary one's.
#[derive(Debug, Default)]
pub struct TokenShape<'a> {
    /// `aud`, instead of the configured audience.
    pub audience: Option<&'a str>,
    /// The lifetime, instead of `tokens.access_token_ttl`.
    pub ttl: Option<i64>,
    /// The `act` claim (§4.1): who acts for the subject.
    pub act: Option<Value>,
    /// Claims copied as they are from the subject token (its profile claims).
    pub copied: Option<&'a Map<String, Value>>,
}

/// A signed access token.
#[derive(Debug)]
pub struct MintedToken {
    pub token: String,
    pub jti: String,
    pub expires_at: i64,
}

// `TokenIssuer` lives in `keys::issuer`, where `oidc` can reach it too; what it does
// with access tokens is OAuth's, so those methods are here.
impl TokenIssuer {
    /// Signs an access token (RFC 9068 §2.2) for the configured audience and lifetime.
    ///
    /// # Errors
    /// When signing fails.
    pub fn access_token(&self, grant: &AccessGrant<'_>, now: i64) -> Result<MintedToken, KeyError> {
        self.shaped_access_token(grant, &TokenShape::default(), now)
    }

    /// Signs an access token whose audience, lifetime or actor differ from an ordinary
    /// one's (a token exchange, RFC 8693).
    ///
    /// # Errors
    /// When signing fails.
    pub fn shaped_access_token(
        &self,
        grant: &AccessGrant<'_>,
        shape: &TokenShape<'_>,
        now: i64,
    ) -> Result<MintedToken, KeyError> {
        let jti = random_id();
        let expires_at = now + shape.ttl.unwrap_or(self.access_ttl);
        let mut claims = Map::new();
        claims.insert("iss".into(), self.issuer.clone().into());
        claims.insert("sub".into(), grant.sub.into());
        let audience = shape.audience.unwrap_or(self.audience.as_str());
        claims.insert("aud".into(), audience.into());
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
        if let Some(act) = &shape.act {
            claims.insert("act".into(), act.clone());
        }
        if let Some(copied) = shape.copied {
            for (name, value) in copied {
                claims.insert(name.clone(), value.clone());
            }
        }
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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, OnceLock};

    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use proptest::prelude::*;

    use super::*;
    use crate::keys::{Algorithm, KeyEncryption, KeyRing};
    use crate::store::KeyRecord;

    const NOW: i64 = 1_800_000_000;

    /// One issuer with an ES256 key (fast to make), shared by the cases.
    fn issuer() -> &'static (TokenIssuer, String) {
        static ISSUER: OnceLock<(TokenIssuer, String)> = OnceLock::new();
        ISSUER.get_or_init(|| {
            let kek = Arc::new(KeyEncryption::random());
            let pem = Algorithm::ES256.generate_pem().unwrap();
            let record = KeyRecord {
                kid: "k1".into(),
                alg: "ES256".into(),
                state: "active".into(),
                private_key: kek.seal("k1", &pem).unwrap(),
                created_at: 0,
                activated_at: Some(0),
                retired_at: None,
                remove_after: None,
            };
            let issuer = TokenIssuer {
                keys: KeyRing::from_records(&[record], kek).unwrap(),
                issuer: "https://id.example".into(),
                audience: "https://id.example".into(),
                access_ttl: 300,
                id_ttl: 300,
            };
            let scopes = Scopes::parse("openid api:read").unwrap();
            let token = issuer
                .access_token(
                    &AccessGrant {
                        sub: "u1",
                        client_id: "c1",
                        scopes: &scopes,
                        auth_time: Some(NOW),
                        amr: None,
                        profile: None,
                    },
                    NOW,
                )
                .unwrap()
                .token;
            (issuer, token)
        })
    }

    #[test]
    fn a_token_verifies_until_it_expires() {
        let (issuer, token) = issuer();
        assert!(issuer.verify_access_token(token, NOW + 10).is_ok());
        assert!(issuer.verify_access_token(token, NOW + 300).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Any text at all is refused without a panic.
        #[test]
        fn arbitrary_text_is_never_a_token(text in "\\PC{0,400}") {
            prop_assert!(issuer().0.verify_access_token(&text, NOW).is_err());
        }

        /// Three segments of arbitrary base64url are refused without a panic.
        #[test]
        fn arbitrary_segments_are_never_a_token(
            parts in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 3)
        ) {
            let token = parts.iter().map(|p| URL_SAFE_NO_PAD.encode(p)).collect::<Vec<_>>().join(".");
            prop_assert!(issuer().0.verify_access_token(&token, NOW).is_err());
        }

        /// Changing any one character of a valid token breaks it.
        #[test]
        fn a_changed_character_breaks_the_signature(at in any::<prop::sample::Index>(), with in "[A-Za-z0-9_.-]") {
            let (issuer, token) = issuer();
            let mut chars: Vec<char> = token.chars().collect();
            let i = at.index(chars.len());
            let replacement = with.chars().next().unwrap();
            prop_assume!(chars[i] != replacement);
            chars[i] = replacement;
            let changed: String = chars.into_iter().collect();
            // A change in the last character's padding bits can decode to the same
            // bytes; the token is then the same token.
            let same = changed.split('.').map(|s| URL_SAFE_NO_PAD.decode(s).ok()).collect::<Vec<_>>()
                == token.split('.').map(|s| URL_SAFE_NO_PAD.decode(s).ok()).collect::<Vec<_>>();
            prop_assume!(!same);
            prop_assert!(issuer.verify_access_token(&changed, NOW).is_err());
        }

        /// A header swapped for another (alg none, HS256 with the public key, a
        /// different kid) never verifies.
        #[test]
        fn a_forged_header_never_verifies(alg in "(none|HS256|RS256|ES384|EdDSA|)", kid in "(k1|k2|)") {
            let (issuer, token) = issuer();
            let header = format!(r#"{{"alg":"{alg}","typ":"at+jwt","kid":"{kid}"}}"#);
            let mut parts: Vec<&str> = token.split('.').collect();
            let encoded = URL_SAFE_NO_PAD.encode(header);
            parts[0] = &encoded;
            prop_assert!(issuer.verify_access_token(&parts.join("."), NOW).is_err());
            parts[2] = "";
            prop_assert!(issuer.verify_access_token(&parts.join("."), NOW).is_err());
        }
    }
}

//! ID tokens (OpenID Connect Core §2) and `id_token_hint` checking.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256, Sha512};

use crate::domain::secret::random_id;
use crate::domain::SecurityProfile;
use crate::keys::{Algorithm, KeyError, TokenIssuer};

/// What an ID token says.
#[derive(Debug)]
pub struct IdTokenClaims<'a> {
    pub sub: &'a str,
    pub client_id: &'a str,
    pub nonce: Option<&'a str>,
    pub auth_time: i64,
    pub sid: &'a str,
    pub amr: &'a [String],
    /// The access token issued with it, for `at_hash`.
    pub access_token: Option<&'a str>,
    /// The security profile, for clients that want it in the ID token.
    pub profile: Option<&'a SecurityProfile>,
}

/// Signs an ID token.
///
/// # Errors
/// When signing fails.
pub fn mint(issuer: &TokenIssuer, c: &IdTokenClaims<'_>, now: i64) -> Result<String, KeyError> {
    let mut claims = Map::new();
    claims.insert("iss".into(), issuer.issuer.clone().into());
    claims.insert("sub".into(), c.sub.into());
    claims.insert("aud".into(), c.client_id.into());
    claims.insert("azp".into(), c.client_id.into());
    claims.insert("exp".into(), (now + issuer.id_ttl).into());
    claims.insert("iat".into(), now.into());
    claims.insert("auth_time".into(), c.auth_time.into());
    claims.insert("jti".into(), random_id().into());
    claims.insert("sid".into(), c.sid.into());
    if let Some(nonce) = c.nonce {
        claims.insert("nonce".into(), nonce.into());
    }
    if !c.amr.is_empty() {
        claims.insert(
            "amr".into(),
            c.amr
                .iter()
                .map(|a| Value::from(a.as_str()))
                .collect::<Vec<_>>()
                .into(),
        );
    }
    if let Some(token) = c.access_token {
        claims.insert(
            "at_hash".into(),
            at_hash(issuer.keys.algorithm(), token).into(),
        );
    }
    if let Some(profile) = c.profile {
        profile.write_claims(&mut claims);
    }
    issuer.keys.sign("JWT", &claims)
}

/// `at_hash` (Core §3.1.3.6): the left half of the hash of the access token, with the
/// hash of the ID token's algorithm (SHA-512 for EdDSA over Ed25519).
#[must_use]
pub fn at_hash(alg: Algorithm, access_token: &str) -> String {
    let digest: Vec<u8> = match alg {
        Algorithm::EdDSA => Sha512::digest(access_token.as_bytes()).to_vec(),
        _ => Sha256::digest(access_token.as_bytes()).to_vec(),
    };
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

/// The parts of an `id_token_hint` that matter.
#[derive(Clone, Debug)]
pub struct Hint {
    pub sub: String,
    pub audiences: Vec<String>,
    pub sid: Option<String>,
}

/// Checks an ID token that we issued, passed back as a hint. It may have expired
/// (Core §3.1.2.1 and RP-Initiated Logout §2 allow an expired hint), but the
/// signature and issuer must be ours.
///
/// # Errors
/// `InvalidToken` for anything else.
pub fn verify_hint(issuer: &TokenIssuer, token: &str) -> Result<Hint, KeyError> {
    let verified = issuer.keys.verify(token)?;
    let claims = verified.claims;
    if claims.get("iss").and_then(Value::as_str) != Some(issuer.issuer.as_str()) {
        return Err(KeyError::InvalidToken);
    }
    // An access token is not an ID token.
    if verified
        .header
        .token_type()
        .is_some_and(|t| t.eq_ignore_ascii_case("at+jwt"))
    {
        return Err(KeyError::InvalidToken);
    }
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .ok_or(KeyError::InvalidToken)?
        .to_owned();
    let audiences = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => return Err(KeyError::InvalidToken),
    };
    let sid = claims.get("sid").and_then(Value::as_str).map(str::to_owned);
    Ok(Hint {
        sub,
        audiences,
        sid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_matches_the_core_spec_example() {
        // OpenID Connect Core, Appendix A.3/A.4 (RS256): access token and its at_hash.
        assert_eq!(
            at_hash(
                Algorithm::RS256,
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }
}

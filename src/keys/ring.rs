//! The in-memory key set: the active signer, the verifiers of every published key and
//! the JWKS document, precomputed so the hot paths never touch the database.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use josekit::jws::{JwsHeader, JwsSigner, JwsVerifier};
use serde_json::{Map, Value};

use super::algorithm::{Algorithm, KeyError};
use super::kek::KeyEncryption;
use super::rotation::KeyState;
use crate::store::KeyRecord;

struct KeySet {
    kid: String,
    alg: Algorithm,
    signer: Box<dyn JwsSigner>,
    verifiers: HashMap<String, Box<dyn JwsVerifier>>,
    jwks: Bytes,
    jwks_etag: String,
}

/// A verified JWT: its header and claims.
#[derive(Debug)]
pub struct Verified {
    pub header: JwsHeader,
    pub claims: Map<String, Value>,
}

/// The node's view of the signing keys, and the key-encryption key that opens them.
/// Cheap to clone.
#[derive(Clone)]
pub struct KeyRing {
    set: Arc<RwLock<Arc<KeySet>>>,
    kek: Arc<KeyEncryption>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = self.current();
        f.debug_struct("KeyRing")
            .field("active", &set.kid)
            .finish_non_exhaustive()
    }
}

impl KeyRing {
    /// Builds the ring from the stored keys (published: next, active and retired;
    /// removed ones are skipped), opening each with `kek`.
    ///
    /// # Errors
    /// When there is no active key or a stored key does not open or load.
    pub fn from_records(records: &[KeyRecord], kek: Arc<KeyEncryption>) -> Result<Self, KeyError> {
        let set = build(records, &kek)?;
        Ok(Self {
            set: Arc::new(RwLock::new(Arc::new(set))),
            kek,
        })
    }

    /// The key-encryption key that seals this node's keys at rest.
    #[must_use]
    pub fn key_encryption(&self) -> &KeyEncryption {
        &self.kek
    }

    /// Replaces the key set with one built from `records`.
    ///
    /// # Errors
    /// As `from_records`; the old set stays in place on error.
    pub fn replace(&self, records: &[KeyRecord]) -> Result<(), KeyError> {
        let set = Arc::new(build(records, &self.kek)?);
        if let Ok(mut guard) = self.set.write() {
            *guard = set;
        }
        Ok(())
    }

    fn current(&self) -> Arc<KeySet> {
        match self.set.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// The algorithm of the active key.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.current().alg
    }

    /// The JWKS document and its entity tag.
    #[must_use]
    pub fn jwks(&self) -> (Bytes, String) {
        let set = self.current();
        (set.jwks.clone(), set.jwks_etag.clone())
    }

    /// Signs `claims` as a compact JWS with the active key; `typ` goes into the header
    /// (`JWT` for ID tokens, `at+jwt` for access tokens per RFC 9068 §2.1).
    ///
    /// # Errors
    /// When the crypto library fails.
    pub fn sign(&self, typ: &str, claims: &Map<String, Value>) -> Result<String, KeyError> {
        let set = self.current();
        let mut header = JwsHeader::new();
        header.set_token_type(typ);
        header.set_key_id(&set.kid);
        let payload = serde_json::to_vec(claims).map_err(|_| KeyError::InvalidToken)?;
        Ok(josekit::jws::serialize_compact(
            &payload,
            &header,
            &*set.signer,
        )?)
    }

    /// Verifies a compact JWS against the published keys, chosen by `kid`. Checks only
    /// the signature; the claims' rules are the caller's.
    ///
    /// # Errors
    /// `InvalidToken` for anything that is not a JWS signed by one of our keys.
    pub fn verify(&self, token: &str) -> Result<Verified, KeyError> {
        let set = self.current();
        let (payload, header) = josekit::jws::deserialize_compact_with_selector(token, |h| {
            let verifier = h.key_id().and_then(|kid| set.verifiers.get(kid));
            Ok(verifier.and_then(|v| {
                // The header's alg must be the key's own (RFC 8725 §3.1).
                (h.algorithm() == Some(v.algorithm().name())).then_some(&**v)
            }))
        })
        .map_err(|_| KeyError::InvalidToken)?;
        let claims: Map<String, Value> =
            serde_json::from_slice(&payload).map_err(|_| KeyError::InvalidToken)?;
        Ok(Verified { header, claims })
    }
}

fn build(records: &[KeyRecord], kek: &KeyEncryption) -> Result<KeySet, KeyError> {
    let active = records
        .iter()
        .find(|r| r.state == KeyState::Active.as_str())
        .ok_or(KeyError::NoActiveKey)?;
    let alg = Algorithm::parse(&active.alg)?;
    let signer = alg.signer(&kek.open(&active.kid, &active.private_key)?, &active.kid)?;
    let mut verifiers = HashMap::new();
    let mut jwks_keys = Vec::new();
    for record in records
        .iter()
        .filter(|r| r.state != KeyState::Removed.as_str())
    {
        let record_alg = Algorithm::parse(&record.alg)?;
        let pem = kek.open(&record.kid, &record.private_key)?;
        let jwk = record_alg.public_jwk(&pem, &record.kid)?;
        verifiers.insert(record.kid.clone(), record_alg.verifier(&jwk)?);
        jwks_keys.push(Value::Object(jwk.as_ref().clone()));
    }
    let jwks = serde_json::to_vec(&serde_json::json!({ "keys": jwks_keys }))
        .map_err(|_| KeyError::InvalidToken)?;
    let etag = format!(
        "\"{}\"",
        &crate::domain::TokenHash::of(&String::from_utf8_lossy(&jwks)).as_str()[..16]
    );
    Ok(KeySet {
        kid: active.kid.clone(),
        alg,
        signer,
        verifiers,
        jwks: Bytes::from(jwks),
        jwks_etag: etag,
    })
}

//! The signing algorithms Tessera offers, over josekit.

use josekit::jwk::alg::ec::{EcCurve, EcKeyPair};
use josekit::jwk::alg::ed::{EdCurve, EdKeyPair};
use josekit::jwk::alg::rsa::RsaKeyPair;
use josekit::jwk::{Jwk, KeyPair};
use josekit::jws::{EdDSA, JwsSigner, JwsVerifier, ES256, PS256, RS256};
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key error: {0}")]
    Jose(#[from] josekit::JoseError),
    #[error("no active signing key")]
    NoActiveKey,
    #[error("unknown algorithm {0:?}")]
    UnknownAlgorithm(String),
    #[error("the token's signature, key or format is not valid")]
    InvalidToken,
    #[error("{0}")]
    Store(#[from] crate::store::StoreError),
    #[error("key file {path}: {message}")]
    File { path: String, message: String },
    /// Sealing or opening a key at rest failed; the message never holds key material.
    #[error("{0}")]
    KeyEncryption(String),
}

/// JWS algorithms (RFC 7518 §3; RFC 8037 for EdDSA with Ed25519).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Algorithm {
    RS256,
    PS256,
    ES256,
    EdDSA,
}

impl Algorithm {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::PS256 => "PS256",
            Self::ES256 => "ES256",
            Self::EdDSA => "EdDSA",
        }
    }

    /// # Errors
    /// On a name that is not one of the four.
    pub fn parse(name: &str) -> Result<Self, KeyError> {
        match name {
            "RS256" => Ok(Self::RS256),
            "PS256" => Ok(Self::PS256),
            "ES256" => Ok(Self::ES256),
            "EdDSA" => Ok(Self::EdDSA),
            other => Err(KeyError::UnknownAlgorithm(other.to_owned())),
        }
    }

    /// A new private key for this algorithm, as PKCS#8 PEM.
    ///
    /// # Errors
    /// When the crypto library fails.
    pub fn generate_pem(self) -> Result<String, KeyError> {
        let pem = match self {
            // 2048-bit RSA: NIST SP 800-57's minimum through 2030, and the size every
            // relying-party library accepts.
            Self::RS256 | Self::PS256 => RsaKeyPair::generate(2048)?.to_pem_private_key(),
            Self::ES256 => EcKeyPair::generate(EcCurve::P256)?.to_pem_private_key(),
            Self::EdDSA => EdKeyPair::generate(EdCurve::Ed25519)?.to_pem_private_key(),
        };
        String::from_utf8(pem).map_err(|_| KeyError::InvalidToken)
    }

    /// Guesses the algorithm of an imported PEM: RSA keys take `preferred` when it is
    /// an RSA algorithm (RS256 otherwise), P-256 keys ES256, Ed25519 keys EdDSA.
    ///
    /// # Errors
    /// When the PEM is none of those.
    pub fn of_pem(pem: &str, preferred: Algorithm) -> Result<Self, KeyError> {
        if RsaKeyPair::from_pem(pem).is_ok() {
            return Ok(match preferred {
                Self::PS256 => Self::PS256,
                _ => Self::RS256,
            });
        }
        if EcKeyPair::from_pem(pem, Some(EcCurve::P256)).is_ok() {
            return Ok(Self::ES256);
        }
        if EdKeyPair::from_pem(pem).is_ok() {
            return Ok(Self::EdDSA);
        }
        Err(KeyError::UnknownAlgorithm(
            "unsupported private key type".to_owned(),
        ))
    }

    /// The public JWK of a private key, with `kid`, `use` and `alg` set.
    ///
    /// # Errors
    /// When the PEM does not hold a key of this algorithm.
    pub fn public_jwk(self, pem: &str, kid: &str) -> Result<Jwk, KeyError> {
        let mut jwk = match self {
            Self::RS256 | Self::PS256 => RsaKeyPair::from_pem(pem)?.to_jwk_public_key(),
            Self::ES256 => EcKeyPair::from_pem(pem, Some(EcCurve::P256))?.to_jwk_public_key(),
            Self::EdDSA => EdKeyPair::from_pem(pem)?.to_jwk_public_key(),
        };
        jwk.set_key_id(kid);
        jwk.set_key_use("sig");
        jwk.set_algorithm(self.as_str());
        Ok(jwk)
    }

    /// # Errors
    /// When the PEM does not hold a key of this algorithm.
    pub fn signer(self, pem: &str, kid: &str) -> Result<Box<dyn JwsSigner>, KeyError> {
        Ok(match self {
            Self::RS256 => Box::new(RS256.signer_from_pem(pem)?.with_kid(kid)),
            // josekit's PEM reader for PS256 wants an RSA-PSS key; a plain RSA key (which
            // every verifier can use for PS256) goes through its JWK form instead.
            Self::PS256 => Box::new(
                PS256
                    .signer_from_jwk(&RsaKeyPair::from_pem(pem)?.to_jwk_key_pair())?
                    .with_kid(kid),
            ),
            Self::ES256 => Box::new(ES256.signer_from_pem(pem)?.with_kid(kid)),
            Self::EdDSA => Box::new(EdDSA.signer_from_pem(pem)?.with_kid(kid)),
        })
    }

    /// # Errors
    /// When the JWK is not a public key of this algorithm.
    pub fn verifier(self, jwk: &Jwk) -> Result<Box<dyn JwsVerifier>, KeyError> {
        Ok(match self {
            Self::RS256 => Box::new(RS256.verifier_from_jwk(jwk)?),
            Self::PS256 => Box::new(PS256.verifier_from_jwk(jwk)?),
            Self::ES256 => Box::new(ES256.verifier_from_jwk(jwk)?),
            Self::EdDSA => Box::new(EdDSA.verifier_from_jwk(jwk)?),
        })
    }
}

/// josekit's signers take the key id by a setter; this lets the match above stay flat.
trait WithKid: Sized {
    fn with_kid(self, kid: &str) -> Self;
}

macro_rules! with_kid {
    ($($t:ty),*) => {$(
        impl WithKid for $t {
            fn with_kid(mut self, kid: &str) -> Self {
                self.set_key_id(kid);
                self
            }
        }
    )*};
}

with_kid!(
    josekit::jws::alg::rsassa::RsassaJwsSigner,
    josekit::jws::alg::rsassa_pss::RsassaPssJwsSigner,
    josekit::jws::alg::ecdsa::EcdsaJwsSigner,
    josekit::jws::alg::eddsa::EddsaJwsSigner
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_algorithm_generates_signs_and_verifies() {
        for alg in [
            Algorithm::RS256,
            Algorithm::PS256,
            Algorithm::ES256,
            Algorithm::EdDSA,
        ] {
            let pem = alg.generate_pem().unwrap();
            assert_eq!(Algorithm::of_pem(&pem, alg).unwrap(), alg);
            let signer = alg.signer(&pem, "k1").unwrap();
            let jwk = alg.public_jwk(&pem, "k1").unwrap();
            assert!(
                jwk.parameter("d").is_none(),
                "a public JWK must not hold the private part"
            );
            let verifier = alg.verifier(&jwk).unwrap();
            let header = josekit::jws::JwsHeader::new();
            let token = josekit::jws::serialize_compact(b"{}", &header, &*signer).unwrap();
            let (payload, header) = josekit::jws::deserialize_compact(&token, &*verifier).unwrap();
            assert_eq!(payload, b"{}");
            assert_eq!(header.key_id(), Some("k1"));
            assert_eq!(header.algorithm(), Some(alg.as_str()));
        }
    }
}

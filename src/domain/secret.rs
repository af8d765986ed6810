//! Secrets and the hashes they are stored under.
//!
//! Client secrets, authorization codes, refresh tokens and session ids are 256-bit random
//! values. Because they have full entropy, a single SHA-256 is a sufficient one-way
//! function for storage (unlike passwords, which need argon2): guessing a preimage is as
//! hard as guessing the secret itself. Checking one therefore costs a hash, not an
//! argon2 run, and comparisons are made in constant time.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A fresh random token: 32 bytes from the OS generator, base64url without padding
/// (43 characters).
#[must_use]
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A short random identifier (128 bits), for ids that are not secrets.
///
/// It never starts with `-` or `_` (a first byte of 0xF8 or more), so that an operator
/// can pass it to a command (`tessera client rotate-secret ID`) or a shell without it
/// reading as an option.
#[must_use]
pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    loop {
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        if bytes[0] < 0xF8 {
            return URL_SAFE_NO_PAD.encode(bytes);
        }
    }
}

/// A secret value as received or generated. Its `Debug` never prints the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    #[must_use]
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    #[must_use]
    pub fn generate() -> Self {
        Self(random_token())
    }

    /// The value itself, for the one place that must show or send it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    #[must_use]
    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.0)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The SHA-256 of a secret, hex encoded: what the store keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenHash(String);

impl TokenHash {
    #[must_use]
    pub fn of(value: &str) -> Self {
        let digest = Sha256::digest(value.as_bytes());
        Self(hex(&digest))
    }

    /// Wraps a hash read from the store.
    #[must_use]
    pub fn from_stored(hex: String) -> Self {
        Self(hex)
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `candidate` hashes to this value, compared in constant time.
    #[must_use]
    pub fn matches(&self, candidate: &str) -> bool {
        let other = Self::of(candidate);
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_never_start_like_an_option() {
        // Without the rule, 1 in 32 ids would start with `-` or `_`.
        for _ in 0..4000 {
            let id = random_id();
            assert_eq!(id.len(), 22);
            assert!(id.starts_with(|c: char| c.is_ascii_alphanumeric()), "{id}");
        }
    }

    #[test]
    fn random_tokens_have_256_bits_and_differ() {
        let a = random_token();
        let b = random_token();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }

    #[test]
    fn a_hash_matches_only_its_secret() {
        let secret = Secret::generate();
        let hash = secret.hash();
        assert!(hash.matches(secret.expose()));
        assert!(!hash.matches("something else"));
        assert_eq!(hash.as_str().len(), 64);
    }

    #[test]
    fn debug_never_prints_a_secret() {
        let secret = Secret::new("hunter2");
        assert!(!format!("{secret:?}").contains("hunter2"));
    }
}

//! Data sealed with a bearer secret: only a holder of the secret can open it, and the
//! secret itself is stored only as its hash, so a copy of the database opens nothing.
//!
//! Used for a rotated refresh token's answer: a client that retries the rotation
//! within the grace window presents the rotated token again and gets the very same
//! answer back, so a retry never opens a second branch of the token family.
//!
//! AES-256-GCM (RustCrypto `aes-gcm`) under a key derived from the secret by SHA-256
//! with a label of its own (the stored hash is SHA-256 of the secret alone, so the two
//! never coincide). The secret is 256 random bits, so a plain hash is a sound key
//! derivation; each key seals one value, under a random nonce.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

const LABEL: &[u8] = b"tessera sealed-with-secret v1\0";
const NONCE_LEN: usize = 12;

fn cipher(secret: &str) -> Aes256Gcm {
    let mut hasher = Sha256::new();
    hasher.update(LABEL);
    hasher.update(secret.as_bytes());
    let key: [u8; 32] = hasher.finalize().into();
    Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key))
}

/// Seals `plaintext` so that only a holder of `secret` can open it.
#[must_use]
pub fn seal(secret: &str, plaintext: &[u8]) -> Option<String> {
    let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
    let ciphertext = cipher(secret).encrypt(&nonce, plaintext).ok()?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&ciphertext);
    Some(URL_SAFE_NO_PAD.encode(out))
}

/// Opens what [`seal`] sealed with the same secret; `None` for any other secret or a
/// damaged value.
#[must_use]
pub fn open(secret: &str, sealed: &str) -> Option<Vec<u8>> {
    let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
    if bytes.len() <= NONCE_LEN {
        return None;
    }
    let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
    cipher(secret)
        .decrypt(Nonce::from_slice(nonce), ciphertext)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_secret_opens_what_it_sealed() {
        let sealed = seal("secret-one", b"the answer").unwrap();
        assert_eq!(open("secret-one", &sealed).unwrap(), b"the answer");
        assert!(open("secret-two", &sealed).is_none());
        assert!(!sealed.contains("answer"));
    }

    #[test]
    fn a_damaged_value_does_not_open() {
        let sealed = seal("s", b"x").unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert!(open("s", &URL_SAFE_NO_PAD.encode(bytes)).is_none());
        assert!(open("s", "").is_none());
        assert!(open("s", "not base64!").is_none());
    }

    #[test]
    fn two_seals_of_one_value_differ() {
        assert_ne!(seal("s", b"x"), seal("s", b"x"));
    }
}

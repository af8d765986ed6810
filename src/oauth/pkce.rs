//! Proof Key for Code Exchange (RFC 7636), S256 only: `plain` offers no protection
//! against an attacker who can read the authorization request (RFC 9700 §2.1.1).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Whether `value` has the form of a verifier (RFC 7636 §4.1): 43 to 128 characters of
/// `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`. A challenge is checked the same way:
/// the S256 challenge of a verifier is 43 such characters.
#[must_use]
pub fn is_well_formed(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// The S256 challenge of a verifier: `BASE64URL(SHA256(ASCII(verifier)))` (§4.2).
#[must_use]
pub fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Whether `verifier` answers `challenge` (§4.6), compared in constant time.
#[must_use]
pub fn verify_s256(verifier: &str, challenge: &str) -> bool {
    is_well_formed(verifier)
        && s256_challenge(verifier)
            .as_bytes()
            .ct_eq(challenge.as_bytes())
            .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_7636_appendix_b_example_verifies() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert_eq!(s256_challenge(verifier), challenge);
        assert!(verify_s256(verifier, challenge));
        assert!(!verify_s256(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX",
            challenge
        ));
    }

    #[test]
    fn short_or_odd_verifiers_are_malformed() {
        assert!(!is_well_formed("short"));
        assert!(!is_well_formed(&"a".repeat(129)));
        assert!(!is_well_formed(&format!("{}+", "a".repeat(43))));
        assert!(is_well_formed(&"a".repeat(43)));
    }
}

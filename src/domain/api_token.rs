//! API tokens (issue 14; seeds 001 and 002): long-lived secrets that scripts and
//! services exchange at `/token` for short-lived JWTs (RFC 8693). This module holds
//! their format and the rules of what they may carry; `store::api_tokens` keeps them
//! (as SHA-256 hashes only) and `oauth::grant::token_exchange` exchanges them.
//!
//! The format follows GitHub's tokens (`ghp_…`), so that secret scanners can spot a
//! leaked one without asking the server: a prefix naming the product and the kind
//! (`tsr_pat_` personal, `tsr_sys_` system), 256 random bits in base62 (43
//! characters), and a CRC32 of everything before it in base62 (6 characters). The
//! checksum lets a scanner (and this server, before any database read) tell a real
//! token from a string that merely starts like one; it is no secret and adds no
//! strength.

use rand::RngCore;

use super::input::FieldError;
use super::scope::API_SCOPE;
use super::Scopes;

/// Whom a token acts for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// A user's own token: it acts with the user's rights and profile, read at each
    /// exchange.
    Personal,
    /// A service identity of a host, made by a host admin, with the roles and scopes
    /// chosen for it.
    System,
}

impl TokenKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Personal => "personal",
            Self::System => "system",
        }
    }

    /// The kind named by [`TokenKind::as_str`].
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Personal, Self::System]
            .into_iter()
            .find(|k| k.as_str() == text)
    }

    /// The secret's prefix.
    #[must_use]
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Personal => "tsr_pat_",
            Self::System => "tsr_sys_",
        }
    }
}

/// The base62 alphabet, digits first (as GitHub's tokens).
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// 256 bits need 43 base62 digits (62^43 > 2^256).
const RANDOM_LEN: usize = 43;
/// A CRC32 needs 6 base62 digits (62^6 > 2^32).
const CHECKSUM_LEN: usize = 6;
/// Every token's length: prefix (8), random part, checksum.
pub const TOKEN_LEN: usize = 8 + RANDOM_LEN + CHECKSUM_LEN;

/// A fresh token secret of `kind`. Shown once to its owner; only its SHA-256
/// (`TokenHash::of`) is stored.
#[must_use]
pub fn generate(kind: TokenKind) -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let mut token = String::with_capacity(TOKEN_LEN);
    token.push_str(kind.prefix());
    token.push_str(&base62(&bytes, RANDOM_LEN));
    let checksum = base62(&crc32(token.as_bytes()).to_be_bytes(), CHECKSUM_LEN);
    token.push_str(&checksum);
    token
}

/// The kind of a well-formed token: the right prefix, length and alphabet, and a
/// checksum that matches. `None` for anything else, which therefore needs no database
/// read to be refused.
#[must_use]
pub fn parse(token: &str) -> Option<TokenKind> {
    let kind = [TokenKind::Personal, TokenKind::System]
        .into_iter()
        .find(|k| token.starts_with(k.prefix()))?;
    if token.len() != TOKEN_LEN || !token.bytes().skip(8).all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    // Every character is ASCII by now, so the split falls between characters.
    let body = token.get(..TOKEN_LEN - CHECKSUM_LEN)?;
    let checksum = token.get(TOKEN_LEN - CHECKSUM_LEN..)?;
    (base62(&crc32(body.as_bytes()).to_be_bytes(), CHECKSUM_LEN) == checksum).then_some(kind)
}

/// Checks the scopes a token of `kind` is given. `openid` and `offline_access` are
/// for sign-ins (an exchange issues neither an ID token nor a refresh token); a system
/// token cannot carry `tessera:api`, because the management API acts with a user's
/// rights (as `client_credentials`, which never grants it).
///
/// # Errors
/// A [`FieldError`] on `scope` naming the first scope refused.
pub fn check_scopes(kind: TokenKind, text: &str) -> Result<Scopes, FieldError> {
    let scopes = Scopes::parse(text).map_err(|e| FieldError::new("scope", e.to_string()))?;
    if scopes.is_empty() {
        return Err(FieldError::new("scope", "give at least one scope"));
    }
    for refused in ["openid", "offline_access"] {
        if scopes.contains(refused) {
            return Err(FieldError::new(
                "scope",
                format!("an API token cannot carry {refused}"),
            ));
        }
    }
    if kind == TokenKind::System && scopes.contains(API_SCOPE) {
        return Err(FieldError::new(
            "scope",
            format!("a system token cannot carry {API_SCOPE}: the management API acts for a user"),
        ));
    }
    Ok(scopes)
}

/// `bytes` as a big-endian number in base62, left-padded with `0` to `width` digits.
fn base62(bytes: &[u8], width: usize) -> String {
    let mut number: Vec<u8> = bytes.to_vec();
    let mut digits = Vec::with_capacity(width);
    while number.iter().any(|b| *b != 0) {
        // Long division of the big-endian number by 62.
        let mut remainder = 0u32;
        for byte in &mut number {
            let value = (remainder << 8) | u32::from(*byte);
            *byte = u8::try_from(value / 62).unwrap_or(0);
            remainder = value % 62;
        }
        // `remainder` is below 62: the digit is always there.
        let digit = usize::try_from(remainder).ok().and_then(|r| BASE62.get(r));
        digits.push(digit.copied().unwrap_or(b'0'));
    }
    while digits.len() < width {
        digits.push(b'0');
    }
    digits.reverse();
    String::from_utf8(digits).unwrap_or_default()
}

/// CRC-32 (IEEE 802.3, as zlib and GitHub's token checksum), bit by bit: it runs over
/// about fifty bytes, once per exchange.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_is_the_ieee_checksum() {
        // The check value of CRC-32/ISO-HDLC.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn base62_is_fixed_width_and_big_endian() {
        assert_eq!(base62(&[0], 3), "000");
        assert_eq!(base62(&[61], 2), "0z");
        assert_eq!(base62(&[62], 2), "10");
        assert_eq!(base62(&[1, 0], 3), "048"); // 256 = 4*62 + 8
        assert_eq!(base62(&[0xFF; 32], RANDOM_LEN).len(), RANDOM_LEN);
        assert_eq!(base62(&[0xFF; 4], CHECKSUM_LEN).len(), CHECKSUM_LEN);
    }

    #[test]
    fn a_token_has_its_prefix_length_and_a_valid_checksum() {
        for kind in [TokenKind::Personal, TokenKind::System] {
            let token = generate(kind);
            assert!(token.starts_with(kind.prefix()), "{token}");
            assert_eq!(token.len(), TOKEN_LEN);
            assert!(token[8..].bytes().all(|b| b.is_ascii_alphanumeric()));
            assert_eq!(parse(&token), Some(kind));
        }
        assert_ne!(generate(TokenKind::Personal), generate(TokenKind::Personal));
    }

    #[test]
    fn a_changed_character_or_prefix_breaks_the_checksum() {
        let token = generate(TokenKind::Personal);
        for i in 8..TOKEN_LEN {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
            let changed = String::from_utf8(bytes).unwrap_or_default();
            assert_eq!(parse(&changed), None, "position {i}");
        }
        // The checksum covers the prefix: a personal token is no system token.
        let swapped = token.replacen("tsr_pat_", "tsr_sys_", 1);
        assert_eq!(parse(&swapped), None);
        for bad in ["", "tsr_pat_", "ghp_abc", &token[..TOKEN_LEN - 1]] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        let longer = format!("{token}0");
        assert_eq!(parse(&longer), None);
    }

    #[test]
    fn scopes_for_sign_ins_and_the_api_for_services_are_refused() {
        assert!(check_scopes(TokenKind::Personal, "tessera:api api:read").is_ok());
        assert!(check_scopes(TokenKind::System, "api:read").is_ok());
        for (kind, text) in [
            (TokenKind::Personal, ""),
            (TokenKind::Personal, "openid"),
            (TokenKind::Personal, "api:read offline_access"),
            (TokenKind::System, "tessera:api"),
            (TokenKind::Personal, "bad\"scope"),
        ] {
            let e = check_scopes(kind, text).unwrap_err();
            assert_eq!(e.field, "scope", "{text}");
        }
    }

    #[test]
    fn kinds_read_back_from_their_names() {
        for kind in [TokenKind::Personal, TokenKind::System] {
            assert_eq!(TokenKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(TokenKind::parse("admin"), None);
    }
}

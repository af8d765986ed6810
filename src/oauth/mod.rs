//! OAuth 2.0 protocol rules (RFC 6749, 6750, 7636, 7009, 7662, 9068, 9207): request
//! validation, client authentication and the grants. No axum, no SQL: the grants reach
//! storage only through the store traits.

pub mod authorize;
pub mod bearer;
pub mod client_auth;
pub mod error;
pub mod flow;
pub mod grant;
pub mod pkce;
pub mod revocation;
pub mod tokens;

pub use error::{ErrorCode, GrantError, OAuthError};

/// Parses `application/x-www-form-urlencoded` pairs, refusing repeated parameters
/// (RFC 6749 §3.1 and §3.2: "MUST NOT be included more than once").
///
/// # Errors
/// `invalid_request` naming the repeated parameter, or when the body does not parse.
pub fn parse_unique_pairs(
    body: &[u8],
) -> Result<std::collections::HashMap<String, String>, OAuthError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|_| OAuthError::invalid_request("the request body is not form-encoded"))?;
    let mut map = std::collections::HashMap::with_capacity(pairs.len());
    for (k, v) in pairs {
        // Empty values count as absent (RFC 6749 §3.1).
        if v.is_empty() {
            continue;
        }
        if map.insert(k.clone(), v).is_some() {
            return Err(OAuthError::invalid_request(format!(
                "parameter {k} is repeated"
            )));
        }
    }
    Ok(map)
}

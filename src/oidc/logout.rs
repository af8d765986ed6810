//! RP-Initiated Logout 1.0 §2–3: which client asks, and where it may be sent back.

use crate::domain::{Client, RedirectUri};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LogoutError {
    #[error("The id_token_hint is not a valid ID token from this provider.")]
    InvalidHint,
    #[error("The client_id does not match the id_token_hint.")]
    ClientMismatch,
    #[error("A post_logout_redirect_uri needs an id_token_hint or a client_id.")]
    NoClient,
    #[error("The client is not known.")]
    UnknownClient,
    #[error("The post_logout_redirect_uri is not registered for this client.")]
    UnregisteredUri,
}

/// The client a logout request names: its `client_id`, or the audience of the hint.
/// §2: when both are given they must agree.
///
/// # Errors
/// `ClientMismatch` when they disagree.
pub fn requesting_client<'a>(
    client_id: Option<&'a str>,
    hint_audiences: Option<&'a [String]>,
) -> Result<Option<&'a str>, LogoutError> {
    match (client_id, hint_audiences) {
        (Some(id), Some(auds)) if !auds.iter().any(|a| a == id) => Err(LogoutError::ClientMismatch),
        (Some(id), _) => Ok(Some(id)),
        (None, Some(auds)) => Ok(auds.first().map(String::as_str)),
        (None, None) => Ok(None),
    }
}

/// Checks the `post_logout_redirect_uri` against the client's registered ones, exactly
/// (§3: "MUST NOT perform post-logout redirection" otherwise).
///
/// # Errors
/// When there is no client or the URI is not registered.
pub fn check_redirect(uri: &str, client: Option<&Client>) -> Result<RedirectUri, LogoutError> {
    let client = client.ok_or(LogoutError::NoClient)?;
    if !RedirectUri::is_registered(uri, &client.post_logout_redirect_uris) {
        return Err(LogoutError::UnregisteredUri);
    }
    RedirectUri::parse(uri).map_err(|_| LogoutError::UnregisteredUri)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_id_and_hint_must_agree() {
        let auds = vec!["a".to_owned()];
        assert_eq!(requesting_client(Some("a"), Some(&auds)), Ok(Some("a")));
        assert_eq!(
            requesting_client(Some("b"), Some(&auds)),
            Err(LogoutError::ClientMismatch)
        );
        assert_eq!(requesting_client(None, Some(&auds)), Ok(Some("a")));
        assert_eq!(requesting_client(None, None), Ok(None));
    }
}

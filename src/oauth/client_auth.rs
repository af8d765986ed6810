//! Client authentication at the token, introspection and revocation endpoints
//! (RFC 6749 §2.3): `client_secret_basic`, `client_secret_post`, and `none` for public
//! clients, which only identify themselves.

use std::borrow::Borrow;
use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::OAuthError;
use crate::domain::{Client, ClientType};

/// What the request presented.
#[derive(Clone, PartialEq, Eq)]
pub enum ClientCredentials {
    Basic { client_id: String, secret: String },
    Post { client_id: String, secret: String },
    None { client_id: String },
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ClientCredentials({}, {})",
            self.method(),
            self.client_id()
        )
    }
}

impl ClientCredentials {
    #[must_use]
    pub fn client_id(&self) -> &str {
        match self {
            Self::Basic { client_id, .. }
            | Self::Post { client_id, .. }
            | Self::None { client_id } => client_id,
        }
    }

    #[must_use]
    pub fn method(&self) -> &'static str {
        match self {
            Self::Basic { .. } => "client_secret_basic",
            Self::Post { .. } => "client_secret_post",
            Self::None { .. } => "none",
        }
    }

    #[must_use]
    pub fn used_basic(&self) -> bool {
        matches!(self, Self::Basic { .. })
    }
}

/// Reads the credentials from the `Authorization` header and the form.
///
/// # Errors
/// `invalid_request` when two methods are used at once (RFC 6749 §2.3: "MUST NOT use
/// more than one"), `invalid_client` when none identifies a client or the header is
/// malformed.
pub fn extract(
    authorization: Option<&str>,
    form: &HashMap<String, String>,
) -> Result<ClientCredentials, OAuthError> {
    let form_id = form.get("client_id");
    let form_secret = form.get("client_secret");
    if let Some(header) = authorization {
        let (client_id, secret) = parse_basic(header)?;
        if form_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "use one client authentication method, not two",
            ));
        }
        if form_id.is_some_and(|id| *id != client_id) {
            return Err(OAuthError::invalid_client(
                "client_id does not match the credentials",
            ));
        }
        return Ok(ClientCredentials::Basic { client_id, secret });
    }
    match (form_id, form_secret) {
        (Some(id), Some(secret)) => Ok(ClientCredentials::Post {
            client_id: id.clone(),
            secret: secret.clone(),
        }),
        (Some(id), None) => Ok(ClientCredentials::None {
            client_id: id.clone(),
        }),
        (None, _) => Err(OAuthError::invalid_client(
            "client authentication is required",
        )),
    }
}

/// Parses `Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
fn parse_basic(header: &str) -> Result<(String, String), OAuthError> {
    let bad = || OAuthError::invalid_client("malformed Basic credentials");
    let (scheme, value) = header.split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad());
    }
    let decoded = STANDARD.decode(value.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .ok_or_else(bad)
    };
    let id = decode(id)?;
    if id.is_empty() {
        return Err(bad());
    }
    Ok((id, decode(secret)?))
}

/// Authenticates the client the credentials name, which the caller looked up (a
/// reference, or the cache's shared client), and gives it back.
/// Confidential clients must prove their secret; public clients must not present one.
///
/// # Errors
/// `invalid_client` with one description for every failure, so that the response does
/// not tell which part was wrong.
pub fn authenticate<C: Borrow<Client>>(
    client: Option<C>,
    credentials: &ClientCredentials,
) -> Result<C, OAuthError> {
    let failed = || OAuthError::invalid_client("client authentication failed");
    let client = client.ok_or_else(failed)?;
    let registered: &Client = client.borrow();
    // A client registered with one method must use it (RFC 7591 §2): a secret meant for
    // the Authorization header is not accepted in a form body, where it is likelier to
    // be logged.
    if registered
        .auth_method
        .is_some_and(|m| m.as_str() != credentials.method())
    {
        return Err(failed());
    }
    match (registered.client_type, credentials) {
        (
            ClientType::Confidential,
            ClientCredentials::Basic { secret, .. } | ClientCredentials::Post { secret, .. },
        ) => {
            let hash = registered.secret_hash.as_ref().ok_or_else(failed)?;
            if hash.matches(secret) {
                Ok(client)
            } else {
                Err(failed())
            }
        }
        (ClientType::Public, ClientCredentials::None { .. }) => Ok(client),
        _ => Err(failed()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Scopes, Secret};

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn confidential(secret: &Secret) -> Client {
        Client {
            client_id: "c:1".into(),
            name: "c".into(),
            client_type: ClientType::Confidential,
            secret_hash: Some(secret.hash()),
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            grant_types: vec![],
            auth_method: None,
            allowed_scopes: Scopes::default(),
            require_pkce: true,
            host_id: None,
            profile_in_id_token: false,
            skip_consent: false,
        }
    }

    #[test]
    fn basic_credentials_are_form_urlencoded_inside() {
        let header = format!("Basic {}", STANDARD.encode("c%3A1:p%40ss+word"));
        let creds = extract(Some(&header), &form(&[])).unwrap();
        assert_eq!(
            creds,
            ClientCredentials::Basic {
                client_id: "c:1".into(),
                secret: "p@ss word".into()
            }
        );
    }

    #[test]
    fn two_methods_at_once_are_refused() {
        let header = format!("Basic {}", STANDARD.encode("a:b"));
        let err = extract(Some(&header), &form(&[("client_secret", "b")])).unwrap_err();
        assert_eq!(err.code, super::super::ErrorCode::InvalidRequest);
    }

    #[test]
    fn a_confidential_client_needs_its_secret() {
        let secret = Secret::generate();
        let client = confidential(&secret);
        let good = ClientCredentials::Post {
            client_id: "c:1".into(),
            secret: secret.expose().into(),
        };
        let bad = ClientCredentials::Post {
            client_id: "c:1".into(),
            secret: "nope".into(),
        };
        let none = ClientCredentials::None {
            client_id: "c:1".into(),
        };
        assert!(authenticate(Some(&client), &good).is_ok());
        assert!(authenticate(Some(&client), &bad).is_err());
        assert!(authenticate(Some(&client), &none).is_err());
        assert!(authenticate(None::<&Client>, &good).is_err());
        // A client registered for Basic refuses its right secret in the form.
        let basic_only = Client {
            auth_method: Some(crate::domain::AuthMethod::ClientSecretBasic),
            ..client.clone()
        };
        assert!(authenticate(Some(&basic_only), &good).is_err());
        let basic = ClientCredentials::Basic {
            client_id: "c:1".into(),
            secret: secret.expose().into(),
        };
        assert!(authenticate(Some(&basic_only), &basic).is_ok());
        // The cache's shared client comes back as it went in, not as a copy.
        let shared = std::sync::Arc::new(client.clone());
        let back = authenticate(Some(std::sync::Arc::clone(&shared)), &good).unwrap();
        assert!(std::sync::Arc::ptr_eq(&shared, &back));
    }
}

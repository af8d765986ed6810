//! OAuth clients (RFC 6749 §2) as the protocol layer sees them.

use serde::{Deserialize, Serialize};

use super::input::{self, FieldError};
use super::{RedirectUri, Scopes, TokenHash};

/// A grant type a client may be given (RFC 6749 §4.1, §4.4, §6), by its RFC name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
    /// RFC 6749 §4.3, the mark of a legacy first-party client (issue 14; RFC 9700 §2.4
    /// deprecates it): only a first-party client (`skip_consent`) may carry it.
    Password,
    /// RFC 8693.
    #[serde(rename = "urn:ietf:params:oauth:grant-type:token-exchange")]
    TokenExchange,
}

impl GrantType {
    /// Every grant type Tessera serves.
    pub const ALL: [GrantType; 5] = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
        GrantType::Password,
        GrantType::TokenExchange,
    ];

    /// The name RFC 6749 gives it (`grant_type` at the token endpoint).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
            Self::Password => "password",
            Self::TokenExchange => "urn:ietf:params:oauth:grant-type:token-exchange",
        }
    }

    /// # Errors
    /// On a name that is none of [`GrantType::ALL`].
    pub fn parse(text: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|g| g.as_str() == text)
            .ok_or_else(|| format!("unknown grant type {text:?}"))
    }
}

impl std::fmt::Display for GrantType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a client authenticates at the token, introspection and revocation endpoints
/// (RFC 7591 §2 `token_endpoint_auth_method`; RFC 6749 §2.3.1 for the two secret
/// methods).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    /// A public client: it identifies itself and proves nothing.
    None,
}

impl AuthMethod {
    pub const ALL: [AuthMethod; 3] = [
        AuthMethod::ClientSecretBasic,
        AuthMethod::ClientSecretPost,
        AuthMethod::None,
    ];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::None => "none",
        }
    }

    /// # Errors
    /// On a name that is none of [`AuthMethod::ALL`].
    pub fn parse(text: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == text)
            .ok_or_else(|| format!("unknown token endpoint auth method {text:?}"))
    }

    /// Whether the method fits the client type: `none` for public clients, a secret
    /// method for confidential ones.
    #[must_use]
    pub fn fits(self, client_type: ClientType) -> bool {
        (self == Self::None) == (client_type == ClientType::Public)
    }
}

/// Confidential clients authenticate with a secret; public ones cannot keep one
/// (RFC 6749 §2.1) and must use PKCE.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientType {
    Confidential,
    Public,
}

impl ClientType {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confidential => "confidential",
            Self::Public => "public",
        }
    }

    /// # Errors
    /// On any text but `confidential` or `public`.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "confidential" => Ok(Self::Confidential),
            "public" => Ok(Self::Public),
            other => Err(format!("unknown client type {other:?}")),
        }
    }
}

/// A registered client.
#[derive(Clone, Debug)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    pub client_type: ClientType,
    /// SHA-256 of the secret for confidential clients.
    pub secret_hash: Option<TokenHash>,
    pub redirect_uris: Vec<RedirectUri>,
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    /// Grant types the client may use.
    pub grant_types: Vec<GrantType>,
    /// The one way it must authenticate at the token endpoint; none for clients
    /// registered before the method was chosen (migration 0012), which may use either
    /// secret method if confidential, `none` if public.
    pub auth_method: Option<AuthMethod>,
    /// The scopes the client may request.
    pub allowed_scopes: Scopes,
    /// Whether the authorization code flow must use PKCE. Always true for public clients.
    pub require_pkce: bool,
    /// The host the client belongs to, if any; its users sign in to that host.
    pub host_id: Option<String>,
    /// Whether the profile claims also go into ID tokens and userinfo.
    pub profile_in_id_token: bool,
    /// A first-party client: the operator has consented for its users, so the consent
    /// page is not shown, except for `offline_access` (OpenID Connect Core §11: the user
    /// must consent to a grant that outlives the session) and for `prompt=consent`.
    pub skip_consent: bool,
}

impl Client {
    #[must_use]
    pub fn allows_grant(&self, grant_type: GrantType) -> bool {
        self.grant_types.contains(&grant_type)
    }

    #[must_use]
    pub fn is_public(&self) -> bool {
        self.client_type == ClientType::Public
    }

    /// PKCE is mandatory for public clients whatever the setting says (RFC 9700 §2.1.1).
    #[must_use]
    pub fn pkce_required(&self) -> bool {
        self.require_pkce || self.is_public()
    }
}

impl Client {
    /// The rules of a registration that no single field shows, named by the field a
    /// caller would fix: a name as any name; a secret exactly for confidential clients;
    /// a method that fits the type; no `client_credentials` for a public client (it has
    /// nothing to prove); a redirect URI for the code grant.
    ///
    /// # Errors
    /// The first rule broken.
    pub fn check(&self) -> Result<(), FieldError> {
        input::text("name", &self.name, input::MAX_NAME)?;
        if self.is_public() && self.secret_hash.is_some() {
            return Err(FieldError::new("type", "a public client has no secret"));
        }
        if !self.is_public() && self.secret_hash.is_none() {
            return Err(FieldError::new(
                "type",
                "a confidential client needs a secret",
            ));
        }
        if let Some(method) = self.auth_method {
            if !method.fits(self.client_type) {
                return Err(FieldError::new(
                    "token_endpoint_auth_method",
                    "a public client uses none, a confidential one a secret method",
                ));
            }
        }
        if self.is_public() && self.allows_grant(GrantType::ClientCredentials) {
            return Err(FieldError::new(
                "grant_types",
                "a public client cannot use client_credentials",
            ));
        }
        if !self.skip_consent && self.allows_grant(GrantType::Password) {
            return Err(FieldError::new(
                "grant_types",
                "only a first-party client (skip_consent) may use the legacy password grant",
            ));
        }
        if self.redirect_uris.is_empty() && self.allows_grant(GrantType::AuthorizationCode) {
            return Err(FieldError::new(
                "redirect_uris",
                "the authorization code grant needs at least one redirect URI",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Secret;

    fn client(client_type: ClientType) -> Client {
        Client {
            client_id: "c1".into(),
            name: "App".into(),
            client_type,
            secret_hash: (client_type == ClientType::Confidential)
                .then(|| Secret::new("0123456789abcdef").hash()),
            redirect_uris: vec![RedirectUri::parse("https://app.example/cb").unwrap()],
            post_logout_redirect_uris: vec![],
            grant_types: vec![GrantType::AuthorizationCode],
            auth_method: None,
            allowed_scopes: Scopes::default(),
            require_pkce: true,
            host_id: None,
            profile_in_id_token: false,
            skip_consent: false,
        }
    }

    fn field(c: &Client) -> String {
        c.check()
            .map(|()| String::new())
            .unwrap_or_else(|e| e.field)
    }

    #[test]
    fn grant_types_and_methods_read_back_from_their_names() {
        for g in GrantType::ALL {
            assert_eq!(GrantType::parse(g.as_str()), Ok(g));
            assert_eq!(serde_json::to_value(g).unwrap(), g.as_str());
        }
        for m in AuthMethod::ALL {
            assert_eq!(AuthMethod::parse(m.as_str()), Ok(m));
            assert_eq!(serde_json::to_value(m).unwrap(), m.as_str());
        }
        assert!(GrantType::parse("implicit").is_err());
        assert!(AuthMethod::parse("private_key_jwt").is_err());
    }

    #[test]
    fn a_registration_breaking_a_rule_names_the_field() {
        assert_eq!(field(&client(ClientType::Confidential)), "");
        assert_eq!(field(&client(ClientType::Public)), "");
        let mut c = client(ClientType::Public);
        c.grant_types.push(GrantType::ClientCredentials);
        assert_eq!(field(&c), "grant_types");
        let mut c = client(ClientType::Public);
        c.auth_method = Some(AuthMethod::ClientSecretBasic);
        assert_eq!(field(&c), "token_endpoint_auth_method");
        let mut c = client(ClientType::Confidential);
        c.auth_method = Some(AuthMethod::None);
        assert_eq!(field(&c), "token_endpoint_auth_method");
        let mut c = client(ClientType::Confidential);
        c.redirect_uris.clear();
        assert_eq!(field(&c), "redirect_uris");
        c.grant_types = vec![GrantType::ClientCredentials];
        assert_eq!(field(&c), "");
        let mut c = client(ClientType::Confidential);
        c.name = "x".repeat(input::MAX_NAME + 1);
        assert_eq!(field(&c), "name");
    }
}

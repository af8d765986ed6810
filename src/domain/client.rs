//! OAuth clients (RFC 6749 §2) as the protocol layer sees them.

use super::{RedirectUri, Scopes, TokenHash};

/// Confidential clients authenticate with a secret; public ones cannot keep one
/// (RFC 6749 §2.1) and must use PKCE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    /// Grant types the client may use (`authorization_code`, `refresh_token`,
    /// `client_credentials`).
    pub grant_types: Vec<String>,
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
    pub fn allows_grant(&self, grant_type: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant_type)
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

//! The bodies of `/api/v1/clients` (and of `tessera client … --json`): the client as
//! shown, never with a secret except in the answer that made it, and the requests
//! read into a domain [`Client`] checked by the same rules as an imported one
//! (`Client::check`; redirect URIs as RFC 6749 §3.1.2 registers them).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::input::{self, FieldError};
use crate::domain::secret::random_id;
use crate::domain::{AuthMethod, Client, ClientType, GrantType, RedirectUri, Scopes, Secret};

/// The scopes a client is given when the request names none.
const DEFAULT_SCOPES: &str = "openid profile email address phone offline_access";

/// A client as the API (and `tessera client … --json`) shows it. Never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ClientView {
    client_id: String,
    name: String,
    /// `confidential` or `public`.
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    client_type: ClientType,
    host_id: Option<String>,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    #[schema(value_type = Vec<String>)]
    grant_types: Vec<GrantType>,
    /// The scopes the client may ask for, space separated.
    scopes: String,
    /// How it authenticates at the token endpoint; null for a client registered before
    /// the method was chosen (either secret method).
    #[schema(value_type = Option<String>)]
    token_endpoint_auth_method: Option<AuthMethod>,
    require_pkce: bool,
    profile_in_id_token: bool,
    skip_consent: bool,
}

impl From<&Client> for ClientView {
    fn from(c: &Client) -> Self {
        let uris = |list: &[RedirectUri]| list.iter().map(|u| u.as_str().to_owned()).collect();
        Self {
            client_id: c.client_id.clone(),
            name: c.name.clone(),
            client_type: c.client_type,
            host_id: c.host_id.clone(),
            redirect_uris: uris(&c.redirect_uris),
            post_logout_redirect_uris: uris(&c.post_logout_redirect_uris),
            grant_types: c.grant_types.clone(),
            scopes: c.allowed_scopes.to_string(),
            token_endpoint_auth_method: c.auth_method,
            require_pkce: c.pkce_required(),
            profile_in_id_token: c.profile_in_id_token,
            skip_consent: c.skip_consent,
        }
    }
}

/// A client just made, with its secret: the only time the secret is shown.
// No `Debug`: it holds a secret (ARCHITECTURE: no `Debug` prints one).
#[derive(Serialize, ToSchema)]
pub(crate) struct NewClientView {
    #[serde(flatten)]
    client: ClientView,
    /// The secret of a confidential client; keep it now, it is never shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
}

impl NewClientView {
    pub(crate) fn new(client: &Client, secret: Option<&Secret>) -> Self {
        Self {
            client: ClientView::from(client),
            client_secret: secret.map(|s| s.expose().to_owned()),
        }
    }
}

/// A new secret, shown once.
// No `Debug`: it holds a secret.
#[derive(Serialize, ToSchema)]
pub(crate) struct SecretView {
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
}

/// The body of `POST /api/v1/clients`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateClientRequest {
    /// The client id (default: a random one).
    client_id: Option<String>,
    name: String,
    /// `confidential` (default) or `public`.
    #[serde(rename = "type", default = "confidential")]
    #[schema(value_type = Option<String>)]
    client_type: ClientType,
    /// Absolute URIs without a fragment, matched exactly.
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    /// Default: `authorization_code`, `refresh_token`.
    #[schema(value_type = Option<Vec<String>>)]
    grant_types: Option<Vec<GrantType>>,
    /// Space separated (default: `openid profile email address phone offline_access`).
    scopes: Option<String>,
    /// Default: `client_secret_basic` for a confidential client, `none` for a public one.
    #[schema(value_type = Option<String>)]
    token_endpoint_auth_method: Option<AuthMethod>,
    /// Default true; always true for a public client.
    require_pkce: Option<bool>,
    #[serde(default)]
    profile_in_id_token: bool,
    /// A first-party client: no consent page except for `offline_access`.
    #[serde(default)]
    skip_consent: bool,
}

fn confidential() -> ClientType {
    ClientType::Confidential
}

/// The body of `PATCH /api/v1/clients/{id}`: each field given replaces the stored one.
/// The id, type and host do not change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateClientRequest {
    name: Option<String>,
    redirect_uris: Option<Vec<String>>,
    post_logout_redirect_uris: Option<Vec<String>>,
    #[schema(value_type = Option<Vec<String>>)]
    grant_types: Option<Vec<GrantType>>,
    scopes: Option<String>,
    #[schema(value_type = Option<String>)]
    token_endpoint_auth_method: Option<AuthMethod>,
    require_pkce: Option<bool>,
    profile_in_id_token: Option<bool>,
    skip_consent: Option<bool>,
}

/// Redirect URIs as registration takes them (RFC 6749 §3.1.2: absolute, no fragment),
/// each error naming its place (`redirect_uris[1]`).
pub(crate) fn parse_uris(field: &str, list: &[String]) -> Result<Vec<RedirectUri>, FieldError> {
    list.iter()
        .enumerate()
        .map(|(i, u)| {
            RedirectUri::parse(u)
                .map_err(|e| FieldError::new(&format!("{field}[{i}]"), e.to_string()))
        })
        .collect()
}

pub(crate) fn parse_scopes(text: &str) -> Result<Scopes, FieldError> {
    Scopes::parse(text).map_err(|e| FieldError::new("scopes", e.to_string()))
}

/// A client id a caller chooses: a name's rules, and nothing a command line would take
/// for an option or split.
pub(crate) fn client_id(value: &str) -> Result<String, FieldError> {
    let id = input::text("client_id", value, input::MAX_NAME)?;
    if id.starts_with('-') || id.contains(char::is_whitespace) {
        return Err(FieldError::new(
            "client_id",
            "must not start with '-' or contain spaces",
        ));
    }
    Ok(id)
}

/// The client a create request describes, with its new secret if confidential.
pub(super) fn new_client(
    body: CreateClientRequest,
    host_id: &str,
) -> Result<(Client, Option<Secret>), FieldError> {
    let client_type = body.client_type;
    let secret = (client_type == ClientType::Confidential).then(Secret::generate);
    let client = Client {
        client_id: match body.client_id {
            Some(id) => client_id(&id)?,
            None => random_id(),
        },
        name: input::text("name", &body.name, input::MAX_NAME)?,
        client_type,
        secret_hash: secret.as_ref().map(Secret::hash),
        redirect_uris: parse_uris("redirect_uris", &body.redirect_uris)?,
        post_logout_redirect_uris: parse_uris(
            "post_logout_redirect_uris",
            &body.post_logout_redirect_uris,
        )?,
        grant_types: body
            .grant_types
            .unwrap_or_else(|| vec![GrantType::AuthorizationCode, GrantType::RefreshToken]),
        auth_method: Some(
            body.token_endpoint_auth_method
                .unwrap_or(match client_type {
                    ClientType::Confidential => AuthMethod::ClientSecretBasic,
                    ClientType::Public => AuthMethod::None,
                }),
        ),
        allowed_scopes: parse_scopes(body.scopes.as_deref().unwrap_or(DEFAULT_SCOPES))?,
        require_pkce: body.require_pkce.unwrap_or(true) || client_type == ClientType::Public,
        host_id: Some(host_id.to_owned()),
        profile_in_id_token: body.profile_in_id_token,
        skip_consent: body.skip_consent,
    };
    client.check()?;
    Ok((client, secret))
}

/// The client as a patch leaves it.
pub(super) fn patched(mut c: Client, body: UpdateClientRequest) -> Result<Client, FieldError> {
    if let Some(name) = body.name {
        c.name = input::text("name", &name, input::MAX_NAME)?;
    }
    if let Some(uris) = body.redirect_uris {
        c.redirect_uris = parse_uris("redirect_uris", &uris)?;
    }
    if let Some(uris) = body.post_logout_redirect_uris {
        c.post_logout_redirect_uris = parse_uris("post_logout_redirect_uris", &uris)?;
    }
    if let Some(grants) = body.grant_types {
        c.grant_types = grants;
    }
    if let Some(scopes) = body.scopes {
        c.allowed_scopes = parse_scopes(&scopes)?;
    }
    if let Some(method) = body.token_endpoint_auth_method {
        c.auth_method = Some(method);
    }
    if let Some(pkce) = body.require_pkce {
        c.require_pkce = pkce || c.is_public();
    }
    if let Some(profile) = body.profile_in_id_token {
        c.profile_in_id_token = profile;
    }
    if let Some(skip) = body.skip_consent {
        c.skip_consent = skip;
    }
    c.check()?;
    Ok(c)
}

//! How a client row reads into a domain [`Client`] and out again, and what the audit
//! trail records of one: the clients aggregate's shapes, beside `clients.rs`, which
//! writes them.

use serde::Serialize;
use sqlx::FromRow;

use super::{join_lines, split_lines, StoreError};
use crate::domain::{AuthMethod, Client, ClientType, GrantType, RedirectUri, Scopes, TokenHash};

#[derive(FromRow)]
pub(super) struct ClientRow {
    client_id: String,
    host_id: Option<String>,
    name: String,
    client_type: String,
    secret_hash: Option<String>,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    grant_types: String,
    scopes: String,
    require_pkce: i64,
    profile_in_id_token: i64,
    skip_consent: i64,
    auth_method: Option<String>,
}

impl TryFrom<ClientRow> for Client {
    type Error = StoreError;

    fn try_from(row: ClientRow) -> Result<Self, StoreError> {
        let uris = |text: &str| {
            split_lines(text)
                .iter()
                .map(|u| RedirectUri::parse(u).map_err(|e| StoreError::Corrupt(e.to_string())))
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(Client {
            client_type: ClientType::parse(&row.client_type).map_err(StoreError::Corrupt)?,
            secret_hash: row.secret_hash.map(TokenHash::from_stored),
            redirect_uris: uris(&row.redirect_uris)?,
            post_logout_redirect_uris: uris(&row.post_logout_redirect_uris)?,
            grant_types: split_lines(&row.grant_types)
                .iter()
                .map(|g| GrantType::parse(g).map_err(StoreError::Corrupt))
                .collect::<Result<_, _>>()?,
            auth_method: row
                .auth_method
                .as_deref()
                .map(AuthMethod::parse)
                .transpose()
                .map_err(StoreError::Corrupt)?,
            allowed_scopes: Scopes::parse(&row.scopes)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            require_pkce: row.require_pkce != 0,
            profile_in_id_token: row.profile_in_id_token != 0,
            skip_consent: row.skip_consent != 0,
            client_id: row.client_id,
            name: row.name,
            host_id: row.host_id,
        })
    }
}

pub(super) const CLIENT_COLUMNS: &str =
    "client_id, host_id, name, client_type, secret_hash, redirect_uris, \
     post_logout_redirect_uris, grant_types, scopes, require_pkce, profile_in_id_token, \
     skip_consent, auth_method";

/// Grant types as stored: one name a line.
pub(crate) fn grants_text(grants: &[GrantType]) -> String {
    join_lines(&grants.iter().map(|g| g.as_str()).collect::<Vec<_>>())
}

pub(super) fn uris_text(list: &[RedirectUri]) -> String {
    join_lines(&list.iter().map(RedirectUri::as_str).collect::<Vec<_>>())
}

/// A client as the audit trail records it: everything but the secret's hash, which
/// says only whether there is one.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct ClientFacts<'a> {
    name: &'a str,
    host_id: Option<&'a str>,
    client_type: ClientType,
    has_secret: bool,
    redirect_uris: &'a [RedirectUri],
    post_logout_redirect_uris: &'a [RedirectUri],
    grant_types: &'a [GrantType],
    scopes: String,
    token_endpoint_auth_method: Option<AuthMethod>,
    require_pkce: bool,
    profile_in_id_token: bool,
    skip_consent: bool,
}

impl<'a> From<&'a Client> for ClientFacts<'a> {
    fn from(c: &'a Client) -> Self {
        Self {
            name: &c.name,
            host_id: c.host_id.as_deref(),
            client_type: c.client_type,
            has_secret: c.secret_hash.is_some(),
            redirect_uris: &c.redirect_uris,
            post_logout_redirect_uris: &c.post_logout_redirect_uris,
            grant_types: &c.grant_types,
            scopes: c.allowed_scopes.to_string(),
            token_endpoint_auth_method: c.auth_method,
            require_pkce: c.require_pkce,
            profile_in_id_token: c.profile_in_id_token,
            skip_consent: c.skip_consent,
        }
    }
}

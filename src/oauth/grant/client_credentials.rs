//! The client credentials grant (RFC 6749 §4.4): a confidential client acting on its
//! own behalf, within the scopes it is allowed.

use super::{GrantContext, TokenResponse};
use crate::domain::{Client, Scopes, SecurityProfile};
use crate::oauth::tokens::AccessGrant;
use crate::oauth::{ErrorCode, GrantError, OAuthError};

/// Scopes about a user make no sense without one; the management API acts with a
/// user's rights, so it needs one too.
const USER_SCOPES: &[&str] = &[
    "openid",
    "offline_access",
    "profile",
    "email",
    "address",
    "phone",
    crate::domain::scope::API_SCOPE,
];

pub(super) fn issue(
    ctx: &GrantContext<'_>,
    client: &Client,
    scope: Option<&str>,
) -> Result<TokenResponse, GrantError> {
    if client.is_public() {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "public clients cannot use client_credentials",
        )
        .into());
    }
    let allowed = USER_SCOPES
        .iter()
        .fold(client.allowed_scopes.clone(), |s, u| s.without(u));
    let scopes = match scope {
        None => allowed,
        Some(text) => {
            let asked =
                Scopes::parse(text).map_err(|e| OAuthError::invalid_scope(e.to_string()))?;
            if let Some(extra) = asked.missing_from(&allowed).next() {
                return Err(OAuthError::invalid_scope(format!(
                    "scope {extra} is not allowed for this client"
                ))
                .into());
            }
            asked
        }
    };
    let profile = client.host_id.as_ref().map(|host| SecurityProfile {
        host: Some(host.clone()),
        ..SecurityProfile::default()
    });
    let access = ctx.issuer.access_token(
        &AccessGrant {
            sub: &client.client_id,
            client_id: &client.client_id,
            scopes: &scopes,
            auth_time: None,
            amr: None,
            profile: profile.as_ref(),
        },
        ctx.now,
    )?;
    Ok(TokenResponse {
        access_token: access.token,
        token_type: "Bearer".to_owned(),
        expires_in: ctx.issuer.access_ttl,
        refresh_token: None,
        id_token: None,
        scope: scopes.to_string(),
        issued_token_type: None,
    })
}

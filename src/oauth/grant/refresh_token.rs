//! The refresh token grant (RFC 6749 §6), with rotation: every use returns a new
//! refresh token, and a rotated token presented again after the grace window revokes
//! its whole family (RFC 9700 §4.14.2), since only a thief or a badly broken client
//! would present it.

use super::{issue_for_user, GrantContext, TokenResponse, UserGrant};
use crate::domain::{Client, Scopes, TokenHash};
use crate::oauth::{GrantError, OAuthError};
use crate::store::RefreshUse;

pub(super) async fn refresh(
    ctx: &GrantContext<'_>,
    client: &Client,
    refresh_token: &str,
    scope: Option<&str>,
) -> Result<TokenResponse, GrantError> {
    let hash = TokenHash::of(refresh_token);
    let grace = ctx.config.tokens.refresh_reuse_grace;
    let record = match ctx
        .store
        .use_refresh_token(hash.as_str(), &client.client_id, ctx.now, grace)
        .await?
    {
        RefreshUse::Rotated(record) | RefreshUse::Retry(record) => record,
        RefreshUse::Replayed { family_id } => {
            tracing::warn!(client_id = %client.client_id, "rotated refresh token replayed; revoking its family");
            ctx.revocations
                .revoke_family(ctx.store, &family_id, ctx.now)
                .await?;
            return Err(OAuthError::invalid_grant("the refresh token was already used").into());
        }
        RefreshUse::Invalid => {
            return Err(OAuthError::invalid_grant(
                "the refresh token is invalid, expired or revoked",
            )
            .into())
        }
    };
    let granted = Scopes::parse(&record.scope).unwrap_or_default();
    // §6: a narrower scope may be asked for, never a wider one.
    let scopes = match scope {
        None => granted,
        Some(text) => {
            let asked =
                Scopes::parse(text).map_err(|e| OAuthError::invalid_scope(e.to_string()))?;
            if !asked.is_subset(&granted) {
                return Err(OAuthError::invalid_scope("the scope exceeds what was granted").into());
            }
            asked
        }
    };
    let user = ctx.store.find_user(&record.user_id).await?;
    if user.is_none_or(|u| u.locked) {
        return Err(OAuthError::invalid_grant("the user can no longer sign in").into());
    }
    issue_for_user(
        ctx,
        client,
        &UserGrant {
            family_id: &record.family_id,
            user_id: &record.user_id,
            host_id: record.host_id.as_deref(),
            scopes: &scopes,
            auth_time: record.auth_time,
            sid: &record.sid,
            amr: &record.amr,
            // Core §12.2: a refreshed ID token carries no nonce.
            nonce: None,
        },
        false,
    )
    .await
}

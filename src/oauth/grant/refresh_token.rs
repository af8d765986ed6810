//! The refresh token grant (RFC 6749 §6), with rotation: every use returns a new
//! refresh token, and a rotated token presented again revokes its whole family (RFC
//! 9700 §4.14.2), since only a thief or a badly broken client would present it.
//!
//! The token is checked before anything consumes it, so a request that fails (a wider
//! scope, a locked user) leaves it usable; the rotation and the new tokens commit in one
//! transaction. With a grace window (`tokens.refresh_reuse_grace`, off by default), a
//! retry of the rotation within it gets the very same answer back, kept sealed with the
//! rotated token: never a second live branch of the family.

use super::{issue_for_user, Consuming, GrantContext, KeptAnswer, TokenResponse, UserGrant};
use crate::domain::{Client, Scopes, TokenHash};
use crate::oauth::{GrantError, OAuthError};
use crate::store::RefreshLookup;

fn invalid() -> GrantError {
    OAuthError::invalid_grant("the refresh token is invalid, expired or revoked").into()
}

pub(super) async fn refresh(
    ctx: &GrantContext<'_>,
    client: &Client,
    refresh_token: &str,
    scope: Option<&str>,
) -> Result<TokenResponse, GrantError> {
    let hash = TokenHash::of(refresh_token);
    let found = ctx
        .store
        .find_refresh_token(hash.as_str())
        .await?
        .ok_or_else(invalid)?;
    if found.revoked
        || found.record.expires_at <= ctx.now
        || found.record.client_id != client.client_id
    {
        return Err(invalid());
    }
    if found.rotated_at.is_some() {
        return retry_or_replay(ctx, refresh_token, &found).await;
    }
    let record = &found.record;
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
    let issued = issue_for_user(
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
        Consuming::Refresh {
            token: refresh_token,
            token_hash: &hash,
            keep_for_retry: ctx.config.tokens.refresh_reuse_grace > 0,
        },
    )
    .await?;
    if let Some(response) = issued {
        return Ok(response);
    }
    // Another request rotated the token between the check and the transaction: a
    // concurrent retry, or a thief. It is judged as a second use.
    match ctx.store.find_refresh_token(hash.as_str()).await? {
        Some(found) if found.rotated_at.is_some() && !found.revoked => {
            retry_or_replay(ctx, refresh_token, &found).await
        }
        _ => Err(invalid()),
    }
}

/// A rotated token presented again. Within the grace window, and while its successor is
/// still current, it is a client's retry and gets the rotation's answer again; otherwise
/// it is a replay, and the family is revoked.
async fn retry_or_replay(
    ctx: &GrantContext<'_>,
    refresh_token: &str,
    found: &RefreshLookup,
) -> Result<TokenResponse, GrantError> {
    let grace = ctx.config.tokens.refresh_reuse_grace;
    let within_grace = grace > 0 && found.rotated_at.is_some_and(|at| ctx.now - at <= grace);
    if within_grace {
        if let Some(kept) = found
            .successor_sealed
            .as_deref()
            .and_then(|sealed| KeptAnswer::open(refresh_token, sealed, ctx.now))
        {
            if successor_is_current(ctx, &kept).await? {
                return Ok(kept);
            }
        }
    }
    tracing::warn!(client_id = %found.record.client_id, "rotated refresh token used again; revoking its family");
    ctx.revocations
        .revoke_family(ctx.store, &found.record.family_id, ctx.now)
        .await?;
    let record = &found.record;
    let (client, family, host) = (
        &record.client_id,
        &record.family_id,
        record.host_id.as_deref(),
    );
    super::record_replay(ctx, client, family, host, "refresh_token_replayed").await;
    Err(OAuthError::invalid_grant("the refresh token was already used").into())
}

/// Whether the refresh token of a kept answer has not been rotated in turn (a retry
/// after the client went on is no retry).
async fn successor_is_current(
    ctx: &GrantContext<'_>,
    kept: &TokenResponse,
) -> Result<bool, GrantError> {
    let Some(successor) = kept.refresh_token.as_deref() else {
        return Ok(true);
    };
    Ok(ctx
        .store
        .find_refresh_token(TokenHash::of(successor).as_str())
        .await?
        .is_some_and(|s| s.rotated_at.is_none() && !s.revoked && s.record.expires_at > ctx.now))
}

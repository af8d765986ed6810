//! The authorization code grant's token request (RFC 6749 §4.1.3, RFC 7636 §4.6).

use super::{issue_for_user, Consuming, GrantContext, TokenResponse, UserGrant};
use crate::domain::{Client, Scopes, TokenHash};
use crate::oauth::{pkce, GrantError, OAuthError};
use crate::store::CodeLookup;

/// Exchanges a code for tokens. The code is checked first and consumed in the
/// transaction that records the tokens, so a failed request leaves it unused. A second
/// use gets `invalid_grant` and revokes everything the first use issued (RFC 6749
/// §4.1.2: "SHOULD revoke (when possible) all tokens previously issued based on that
/// code"), even when the two race: the loser's consuming `UPDATE` waits for the
/// winner's transaction, which has written the family by then.
pub(super) async fn exchange(
    ctx: &GrantContext<'_>,
    client: &Client,
    code: &str,
    redirect_uri: Option<&str>,
    code_verifier: Option<&str>,
) -> Result<TokenResponse, GrantError> {
    let code_hash = TokenHash::of(code);
    let record = match ctx.store.find_code(code_hash.as_str(), ctx.now).await? {
        CodeLookup::Unused(record) => record,
        CodeLookup::Used { family_id } => return reused(ctx, client, &family_id, None).await,
        CodeLookup::Invalid => {
            return Err(
                OAuthError::invalid_grant("the authorization code is invalid or expired").into(),
            )
        }
    };
    if record.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "the authorization code was issued to another client",
        )
        .into());
    }
    // §4.1.3: redirect_uri is required when the authorization request had one, which
    // every request to this server does, and must be identical.
    if redirect_uri != Some(record.redirect_uri.as_str()) {
        return Err(OAuthError::invalid_grant(
            "redirect_uri does not match the authorization request",
        )
        .into());
    }
    match (record.code_challenge.as_deref(), code_verifier) {
        (Some(challenge), Some(verifier)) if pkce::verify_s256(verifier, challenge) => {}
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_grant("code_verifier does not match").into())
        }
        (Some(_), None) => {
            return Err(OAuthError::invalid_grant("code_verifier is required").into())
        }
        // A verifier for a code issued without a challenge is a downgrade attempt
        // (RFC 9700 §4.8.2).
        (None, Some(_)) => {
            return Err(OAuthError::invalid_grant(
                "code_verifier sent for a code issued without PKCE",
            )
            .into())
        }
        (None, None) => {}
    }

    let scopes = Scopes::parse(&record.scope).unwrap_or_default();
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
            nonce: record.nonce.as_deref(),
        },
        Consuming::Code(&code_hash),
    )
    .await?;
    match issued {
        Some(response) => Ok(response),
        // Another request redeemed the code between the check and this transaction.
        None => reused(ctx, client, &record.family_id, record.host_id.as_deref()).await,
    }
}

/// A code presented again: what the first use issued is revoked.
async fn reused(
    ctx: &GrantContext<'_>,
    client: &Client,
    family_id: &str,
    host_id: Option<&str>,
) -> Result<TokenResponse, GrantError> {
    tracing::warn!(client_id = %client.client_id, "authorization code reused; revoking its grant");
    ctx.revocations
        .revoke_family(ctx.store, family_id, ctx.now)
        .await?;
    super::record_replay(ctx, &client.client_id, family_id, host_id, "code_reused").await;
    Err(OAuthError::invalid_grant("the authorization code was already used").into())
}

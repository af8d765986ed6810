//! What the token exchange and introspection read of an API token (issue 14): the
//! token by its secret's SHA-256 with its owner's standing, in one indexed query, and
//! the `last_used_at` it leaves (`store::api_tokens` makes, lists and revokes them).

use async_trait::async_trait;
use sqlx::FromRow;

use super::api_tokens::{roles_of, ApiToken, TokenRow, TOKEN_COLUMNS};
use super::{SqlStore, StoreResult};
use crate::domain::api_token::TokenKind;

/// A token found by its secret's hash, with what an exchange or an introspection needs
/// of its owner.
#[derive(Clone, Debug)]
pub struct PresentedToken {
    pub token: ApiToken,
    /// The owner's account is locked (personal tokens).
    pub owner_locked: bool,
    /// The owner's membership in the token's host is active (always, for a system
    /// token).
    pub owner_active: bool,
    /// The owner's username, or email when they have none (personal tokens).
    pub owner_login: Option<String>,
}

#[async_trait]
pub trait ApiTokenUseStore: Send + Sync {
    /// The token whose secret hashes to `token_hash`, revoked or not, with its owner.
    async fn presented_api_token(&self, token_hash: &str) -> StoreResult<Option<PresentedToken>>;
    /// Records that a token was used at `now`.
    async fn touch_api_token(&self, token_id: &str, now: i64) -> StoreResult<()>;
}

#[async_trait]
impl ApiTokenUseStore for SqlStore {
    async fn presented_api_token(&self, token_hash: &str) -> StoreResult<Option<PresentedToken>> {
        #[derive(FromRow)]
        struct Row {
            #[sqlx(flatten)]
            token: TokenRow,
            locked: Option<i64>,
            member_active: Option<i64>,
            login: Option<String>,
        }
        let mut conn = self.pool.acquire().await?;
        let row: Option<Row> = sqlx::query_as(&format!(
            "SELECT {TOKEN_COLUMNS}, u.locked AS locked, uh.active AS member_active, \
             COALESCE(u.username, u.email) AS login \
             FROM api_token_t t LEFT JOIN user_t u ON u.user_id = t.user_id \
             LEFT JOIN user_host_t uh ON uh.host_id = t.host_id AND uh.user_id = t.user_id \
             WHERE t.token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let roles = if row.token.kind == TokenKind::System.as_str() {
            roles_of(&mut conn, &row.token.token_id).await?
        } else {
            Vec::new()
        };
        let owner_active = row.token.user_id.is_none() || row.member_active.is_some_and(|a| a != 0);
        Ok(Some(PresentedToken {
            token: row.token.into_token(roles)?,
            owner_locked: row.locked.is_some_and(|l| l != 0),
            owner_active,
            owner_login: row.login,
        }))
    }

    async fn touch_api_token(&self, token_id: &str, now: i64) -> StoreResult<()> {
        sqlx::query("UPDATE api_token_t SET last_used_at = $1 WHERE token_id = $2")
            .bind(now)
            .bind(token_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}

//! Remembered consent: `consent_t`, one row per user and client holding the union of
//! the scopes the user has granted.

use async_trait::async_trait;

use super::{SqlStore, StoreError, StoreResult};
use crate::domain::Scopes;

#[async_trait]
pub trait ConsentStore: Send + Sync {
    async fn granted_scopes(&self, user_id: &str, client_id: &str) -> StoreResult<Scopes>;
    /// Adds `scopes` to what the user has granted the client.
    async fn grant_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scopes: &Scopes,
        now: i64,
    ) -> StoreResult<()>;
}

#[async_trait]
impl ConsentStore for SqlStore {
    async fn granted_scopes(&self, user_id: &str, client_id: &str) -> StoreResult<Scopes> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT scope FROM consent_t WHERE user_id = $1 AND client_id = $2")
                .bind(user_id)
                .bind(client_id)
                .fetch_optional(&self.pool)
                .await?;
        match row {
            Some((scope,)) => Scopes::parse(&scope).map_err(|e| StoreError::Corrupt(e.to_string())),
            None => Ok(Scopes::default()),
        }
    }

    async fn grant_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scopes: &Scopes,
        now: i64,
    ) -> StoreResult<()> {
        let merged = self.granted_scopes(user_id, client_id).await?.union(scopes);
        // An upsert that both backends understand (SQLite ≥ 3.24, PostgreSQL ≥ 9.5).
        sqlx::query(
            "INSERT INTO consent_t (user_id, client_id, scope, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, client_id) DO UPDATE SET scope = excluded.scope, \
             updated_at = excluded.updated_at",
        )
        .bind(user_id)
        .bind(client_id)
        .bind(merged.to_string())
        .bind(now)
        .execute(&self.writer)
        .await?;
        Ok(())
    }
}

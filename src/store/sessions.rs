//! SSO session rows: `session_t`. The session layer (tower-sessions) serialises its
//! records; this file only stores opaque text under a session id.

use async_trait::async_trait;

use super::{on_unique, SqlStore, StoreResult};

#[async_trait]
pub trait SessionRows: Send + Sync {
    /// Inserts a new row; `Conflict` if the id is taken.
    async fn insert_session(&self, id: &str, data: &str, expires_at: i64) -> StoreResult<()>;
    /// Inserts or replaces a row.
    async fn save_session(&self, id: &str, data: &str, expires_at: i64) -> StoreResult<()>;
    /// The data of a row that has not expired.
    async fn load_session(&self, id: &str, now: i64) -> StoreResult<Option<String>>;
    async fn delete_session(&self, id: &str) -> StoreResult<()>;
}

#[async_trait]
impl SessionRows for SqlStore {
    async fn insert_session(&self, id: &str, data: &str, expires_at: i64) -> StoreResult<()> {
        sqlx::query("INSERT INTO session_t (session_id, data, expires_at) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(data)
            .bind(expires_at)
            .execute(&self.writer)
            .await
            .map_err(on_unique("session"))?;
        Ok(())
    }

    async fn save_session(&self, id: &str, data: &str, expires_at: i64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO session_t (session_id, data, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (session_id) DO UPDATE SET data = excluded.data, \
             expires_at = excluded.expires_at",
        )
        .bind(id)
        .bind(data)
        .bind(expires_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn load_session(&self, id: &str, now: i64) -> StoreResult<Option<String>> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT data FROM session_t WHERE session_id = $1 AND expires_at > $2")
                .bind(id)
                .bind(now)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(d,)| d))
    }

    async fn delete_session(&self, id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM session_t WHERE session_id = $1")
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}

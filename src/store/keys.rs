//! Signing keys and their states: `signing_key_t`. The rules of the states live in
//! `keys/`; this file only reads and writes rows.

use async_trait::async_trait;
use sqlx::FromRow;

use super::{on_unique, SqlStore, StoreResult};

/// A stored signing key. `private_pem` is the private key in PKCS#8 PEM.
#[derive(Clone, FromRow)]
pub struct KeyRecord {
    pub kid: String,
    pub alg: String,
    pub state: String,
    pub private_pem: String,
    pub created_at: i64,
    pub activated_at: Option<i64>,
    pub retired_at: Option<i64>,
    pub remove_after: Option<i64>,
}

impl std::fmt::Debug for KeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRecord")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("state", &self.state)
            .field("private_pem", &"<redacted>")
            .finish_non_exhaustive()
    }
}

#[async_trait]
pub trait KeyStore: Send + Sync {
    async fn list_keys(&self) -> StoreResult<Vec<KeyRecord>>;
    async fn insert_key(&self, key: &KeyRecord) -> StoreResult<()>;
    /// Applies a rotation in one transaction: every listed key gets its new state.
    async fn update_key_states(&self, keys: &[KeyRecord]) -> StoreResult<()>;
    async fn delete_keys_removable(&self, now: i64) -> StoreResult<u64>;
}

#[async_trait]
impl KeyStore for SqlStore {
    async fn list_keys(&self) -> StoreResult<Vec<KeyRecord>> {
        Ok(sqlx::query_as(
            "SELECT kid, alg, state, private_pem, created_at, activated_at, retired_at, \
             remove_after FROM signing_key_t ORDER BY created_at, kid",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    async fn insert_key(&self, key: &KeyRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO signing_key_t (kid, alg, state, private_pem, created_at, activated_at, \
             retired_at, remove_after) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(&key.state)
        .bind(&key.private_pem)
        .bind(key.created_at)
        .bind(key.activated_at)
        .bind(key.retired_at)
        .bind(key.remove_after)
        .execute(&self.writer)
        .await
        .map_err(on_unique("a key with this kid, or a second next key"))?;
        Ok(())
    }

    async fn update_key_states(&self, keys: &[KeyRecord]) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        for key in keys {
            sqlx::query(
                "UPDATE signing_key_t SET state = $1, activated_at = $2, retired_at = $3, \
                 remove_after = $4 WHERE kid = $5",
            )
            .bind(&key.state)
            .bind(key.activated_at)
            .bind(key.retired_at)
            .bind(key.remove_after)
            .bind(&key.kid)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn delete_keys_removable(&self, now: i64) -> StoreResult<u64> {
        Ok(
            sqlx::query("DELETE FROM signing_key_t WHERE state = 'retired' AND remove_after < $1")
                .bind(now)
                .execute(&self.writer)
                .await?
                .rows_affected(),
        )
    }
}

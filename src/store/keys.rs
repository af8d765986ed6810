//! Signing keys and their states: `signing_key_t`. The rules of the states live in
//! `keys/`; this file only reads and writes rows, and records each change in the audit
//! trail (Tessera's own entries: no host, `via = system`).

use async_trait::async_trait;
use serde_json::json;
use sqlx::FromRow;

use super::{audit, on_unique, SqlStore, StoreResult};
use crate::domain::audit::{actions, AuditContext, AuditEvent};

/// A stored signing key. `private_key` is the private key sealed with the
/// key-encryption key (an envelope, `keys::kek`), PKCS#8 PEM in rows written before
/// migration 0008 and not yet sealed, and empty once the key is removed.
#[derive(Clone, FromRow)]
pub struct KeyRecord {
    pub kid: String,
    pub alg: String,
    pub state: String,
    pub private_key: String,
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
            .field("private_key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Every key, removed ones (tombstones without key material) included.
    async fn list_keys(&self) -> StoreResult<Vec<KeyRecord>>;
    /// Fails with `Conflict` when the kid exists, or when the key would be a second
    /// next or a second active key of its algorithm.
    async fn insert_key(&self, key: &KeyRecord) -> StoreResult<()>;
    /// Inserts `key` as the next key of its algorithm, removing the next key waiting
    /// (it never signed anything), in one transaction. `Conflict` as `insert_key`.
    async fn replace_next_key(&self, key: &KeyRecord, now: i64) -> StoreResult<()>;
    /// Applies a rotation in one transaction: every listed key gets its new state.
    async fn update_key_states(&self, keys: &[KeyRecord]) -> StoreResult<()>;
    /// Replaces the key material of `kid` if it is still `old` (a key removed or
    /// resealed meanwhile is left alone). Returns whether it did.
    async fn reseal_key(&self, kid: &str, old: &str, new: &str) -> StoreResult<bool>;
    /// Removes the retired keys whose tokens have all expired: the row stays as a
    /// tombstone (state `removed`, key material erased), so that the kid is never
    /// imported again from a stale PEM file. Returns how many.
    async fn remove_expired_keys(&self, now: i64) -> StoreResult<u64>;
}

const CONFLICT: &str = "a key with this kid, or a second next or active key";

#[async_trait]
impl KeyStore for SqlStore {
    async fn list_keys(&self) -> StoreResult<Vec<KeyRecord>> {
        Ok(sqlx::query_as(
            "SELECT kid, alg, state, private_key, created_at, activated_at, retired_at, \
             remove_after FROM signing_key_t ORDER BY created_at, kid",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    async fn insert_key(&self, key: &KeyRecord) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        insert(key)
            .execute(&mut *tx)
            .await
            .map_err(on_unique(CONFLICT))?;
        record_key(&mut tx, actions::KEY_CREATED, key, key.created_at).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn replace_next_key(&self, key: &KeyRecord, now: i64) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE signing_key_t SET state = 'removed', private_key = '', retired_at = $1, \
             remove_after = $1 WHERE alg = $2 AND state = 'next'",
        )
        .bind(now)
        .bind(&key.alg)
        .execute(&mut *tx)
        .await?;
        insert(key)
            .execute(&mut *tx)
            .await
            .map_err(on_unique(CONFLICT))?;
        record_key(&mut tx, actions::KEY_IMPORTED, key, now).await?;
        tx.commit().await?;
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
            .await
            .map_err(on_unique(CONFLICT))?;
            // The time of the change is the latest the record says.
            let at = [key.activated_at, key.retired_at]
                .into_iter()
                .flatten()
                .fold(key.created_at, i64::max);
            record_key(&mut tx, actions::KEY_STATE_CHANGED, key, at).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn reseal_key(&self, kid: &str, old: &str, new: &str) -> StoreResult<bool> {
        Ok(sqlx::query(
            "UPDATE signing_key_t SET private_key = $1 WHERE kid = $2 AND private_key = $3 \
             AND state <> 'removed'",
        )
        .bind(new)
        .bind(kid)
        .bind(old)
        .execute(&self.writer)
        .await?
        .rows_affected()
            == 1)
    }

    async fn remove_expired_keys(&self, now: i64) -> StoreResult<u64> {
        let mut tx = self.begin_write().await?;
        let removed: Vec<(String, String)> = sqlx::query_as(
            "UPDATE signing_key_t SET state = 'removed', private_key = '' \
             WHERE state = 'retired' AND remove_after < $1 RETURNING kid, alg",
        )
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        for (kid, alg) in &removed {
            let event = AuditEvent::new(actions::KEY_REMOVED)
                .target("key", kid)
                .after(&json!({ "state": "removed", "alg": alg }));
            audit::record(&mut tx, &AuditContext::system(), &event, now).await?;
        }
        tx.commit().await?;
        Ok(removed.len() as u64)
    }
}

/// A key event in the audit trail: Tessera's own (no host), the key's kid, alg and
/// state; never the key.
async fn record_key(
    conn: &mut sqlx::AnyConnection,
    action: &'static str,
    key: &KeyRecord,
    at: i64,
) -> StoreResult<()> {
    let event = AuditEvent::new(action)
        .target("key", &key.kid)
        .after(&json!({ "state": key.state, "alg": key.alg }));
    audit::record(conn, &AuditContext::system(), &event, at).await
}

fn insert(key: &KeyRecord) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments<'_>> {
    sqlx::query(
        "INSERT INTO signing_key_t (kid, alg, state, private_key, created_at, activated_at, \
         retired_at, remove_after) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&key.kid)
    .bind(&key.alg)
    .bind(&key.state)
    .bind(&key.private_key)
    .bind(key.created_at)
    .bind(key.activated_at)
    .bind(key.retired_at)
    .bind(key.remove_after)
}

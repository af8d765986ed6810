//! Authorization codes, refresh tokens, grant families and access-token revocation:
//! `authorization_code_t`, `refresh_token_t`, `token_family_t`, `access_token_t`.
//!
//! Codes and refresh tokens are stored as SHA-256 hashes only. Redeeming a code and
//! rotating a refresh token each happen in one conditional `UPDATE`, in the same
//! transaction as the rows of the tokens they issue: two concurrent requests can never
//! both succeed, a request that fails leaves the code or token as it was, and a
//! redemption that finds the code used sees the family of the one that used it.
//! Rotations commit in groups (`rotation.rs`), each still consumed by its own condition.

use async_trait::async_trait;
use sqlx::FromRow;

use super::rotation::Rotation;
use super::{flag, SqlStore, StoreError, StoreResult};

/// A code to store (RFC 6749 §4.1.2) with what the token request will need.
#[derive(Clone, Debug)]
pub struct NewCode {
    pub code_hash: String,
    pub record: CodeRecord,
    pub expires_at: i64,
}

/// What an authorization code was issued for.
#[derive(Clone, Debug, FromRow)]
pub struct CodeRecord {
    pub family_id: String,
    pub client_id: String,
    pub user_id: String,
    pub host_id: Option<String>,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub auth_time: i64,
    pub sid: String,
    pub amr: String,
}

/// What is known of a presented code, before anything consumes it.
#[derive(Debug)]
pub enum CodeLookup {
    /// Issued, unused and unexpired.
    Unused(Box<CodeRecord>),
    /// Already used: whatever it issued must be revoked.
    Used { family_id: String },
    /// Unknown or expired.
    Invalid,
}

/// A refresh token's grant.
#[derive(Clone, Debug, FromRow)]
pub struct RefreshRecord {
    pub family_id: String,
    pub client_id: String,
    pub user_id: String,
    pub host_id: Option<String>,
    pub scope: String,
    pub auth_time: i64,
    pub sid: String,
    pub amr: String,
    pub expires_at: i64,
}

/// A stored refresh token as presented, before anything rotates it.
#[derive(Debug)]
pub struct RefreshLookup {
    pub record: RefreshRecord,
    /// When it was rotated, if it was.
    pub rotated_at: Option<i64>,
    /// Its family was revoked (or no longer exists).
    pub revoked: bool,
    /// The answer its rotation gave, sealed with the token itself (with a grace window).
    pub successor_sealed: Option<String>,
}

/// What recording an issuance consumes, in the same transaction.
#[derive(Debug)]
pub enum Consume<'a> {
    /// Redeems a code: only if unused and unexpired.
    Code { code_hash: &'a str },
    /// Rotates a refresh token of `client_id`: only if current, unexpired and of an
    /// unrevoked family. `successor_sealed` keeps the answer for a retry.
    Refresh {
        token_hash: &'a str,
        client_id: &'a str,
        successor_sealed: Option<&'a str>,
    },
}

/// The state of a refresh token, for introspection and revocation.
#[derive(Debug)]
pub struct RefreshStatus {
    pub record: RefreshRecord,
    pub active: bool,
}

/// Rows to write together when tokens are issued from a grant.
#[derive(Debug)]
pub struct Issuance<'a> {
    /// A new family to create (on code redemption), or none to extend an existing one.
    pub new_family: Option<NewFamily<'a>>,
    pub family_id: &'a str,
    pub refresh: Option<(&'a str, &'a RefreshRecord)>,
    pub access_jti: &'a str,
    pub access_expires_at: i64,
}

#[derive(Debug)]
pub struct NewFamily<'a> {
    pub client_id: &'a str,
    pub user_id: &'a str,
    /// No earlier than the expiry of the refresh token issued with it.
    pub expires_at: i64,
    /// The SSO session the grant was made in.
    pub sid: &'a str,
    /// Granted `offline_access`: the family outlives the session.
    pub offline: bool,
}

#[async_trait]
pub trait GrantStore: Send + Sync {
    async fn create_code(&self, code: &NewCode) -> StoreResult<()>;
    /// What a presented code is, without consuming it.
    async fn find_code(&self, code_hash: &str, now: i64) -> StoreResult<CodeLookup>;
    /// Consumes the code or refresh token and writes the rows of an issuance, in one
    /// transaction. `false` when the code or token was no longer there to consume
    /// (another request took it first): nothing was written.
    async fn record_issuance(
        &self,
        consume: &Consume<'_>,
        issuance: &Issuance<'_>,
        now: i64,
    ) -> StoreResult<bool>;
    /// A presented refresh token, without rotating it.
    async fn find_refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshLookup>>;
    async fn refresh_token_status(
        &self,
        token_hash: &str,
        now: i64,
    ) -> StoreResult<Option<RefreshStatus>>;
    /// Revokes a family: its refresh tokens and the access tokens it issued.
    async fn revoke_family(&self, family_id: &str, now: i64) -> StoreResult<()>;
    /// Revokes the families issued in the SSO session `sid`, except those granted
    /// `offline_access`; answers how many were revoked.
    async fn revoke_session_families(&self, sid: &str, now: i64) -> StoreResult<u64>;
    /// Revokes one access token by its `jti` until it would have expired anyway.
    async fn revoke_access_token(&self, jti: &str, expires_at: i64, now: i64) -> StoreResult<()>;
    /// The access tokens revoked at or after `since` that have not expired by `now`:
    /// (jti, expires_at, revoked_at).
    async fn revoked_access_tokens(
        &self,
        since: i64,
        now: i64,
    ) -> StoreResult<Vec<(String, i64, i64)>>;
    /// Deletes rows that can no longer matter.
    async fn purge_expired(&self, now: i64) -> StoreResult<u64>;
}

const CODE_COLUMNS: &str = "family_id, client_id, user_id, host_id, redirect_uri, scope, nonce, \
     code_challenge, auth_time, sid, amr";

#[async_trait]
impl GrantStore for SqlStore {
    async fn create_code(&self, code: &NewCode) -> StoreResult<()> {
        let r = &code.record;
        sqlx::query(
            "INSERT INTO authorization_code_t (code_hash, family_id, client_id, user_id, host_id, \
             redirect_uri, scope, nonce, code_challenge, auth_time, sid, amr, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(&code.code_hash)
        .bind(&r.family_id)
        .bind(&r.client_id)
        .bind(&r.user_id)
        .bind(&r.host_id)
        .bind(&r.redirect_uri)
        .bind(&r.scope)
        .bind(&r.nonce)
        .bind(&r.code_challenge)
        .bind(r.auth_time)
        .bind(&r.sid)
        .bind(&r.amr)
        .bind(code.expires_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn find_code(&self, code_hash: &str, now: i64) -> StoreResult<CodeLookup> {
        let sql = format!(
            "SELECT {CODE_COLUMNS}, used_at, expires_at FROM authorization_code_t \
             WHERE code_hash = $1"
        );
        let row: Option<CodeRow> = sqlx::query_as(&sql)
            .bind(code_hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            None => CodeLookup::Invalid,
            Some(row) if row.used_at.is_some() => CodeLookup::Used {
                family_id: row.record.family_id,
            },
            Some(row) if row.expires_at <= now => CodeLookup::Invalid,
            Some(row) => CodeLookup::Unused(Box::new(row.record)),
        })
    }

    async fn record_issuance(
        &self,
        consume: &Consume<'_>,
        issuance: &Issuance<'_>,
        now: i64,
    ) -> StoreResult<bool> {
        let code_hash = match consume {
            Consume::Code { code_hash } => *code_hash,
            // A rotation commits with the others waiting for the writer (group commit,
            // rotation.rs); it extends a family, never creates one.
            Consume::Refresh {
                token_hash,
                client_id,
                successor_sealed,
            } => {
                if issuance.new_family.is_some() {
                    return Err(StoreError::Invalid(
                        "a refresh token rotation creates no family".to_owned(),
                    ));
                }
                let rotation = Rotation {
                    token_hash: (*token_hash).to_owned(),
                    client_id: (*client_id).to_owned(),
                    successor_sealed: successor_sealed.map(str::to_owned),
                    now,
                    family_id: issuance.family_id.to_owned(),
                    refresh: issuance
                        .refresh
                        .map(|(hash, record)| (hash.to_owned(), record.clone())),
                    access_jti: issuance.access_jti.to_owned(),
                    access_expires_at: issuance.access_expires_at,
                };
                return self
                    .rotations
                    .rotate(&self.writer, self.backend, rotation)
                    .await;
            }
        };
        let mut tx = self.begin_write().await?;
        // First the single use: on PostgreSQL a concurrent request's UPDATE of the same
        // row waits here until this transaction ends, then finds it consumed.
        let consumed = sqlx::query(
            "UPDATE authorization_code_t SET used_at = $1 \
             WHERE code_hash = $2 AND used_at IS NULL AND expires_at > $3",
        )
        .bind(now)
        .bind(code_hash)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if consumed != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        if let Some(family) = &issuance.new_family {
            sqlx::query(
                "INSERT INTO token_family_t (family_id, client_id, user_id, created_at, expires_at, \
                 sid, offline) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(issuance.family_id)
            .bind(family.client_id)
            .bind(family.user_id)
            .bind(now)
            .bind(family.expires_at)
            .bind(family.sid)
            .bind(flag(family.offline))
            .execute(&mut *tx)
            .await?;
        }
        if let Some((hash, r)) = issuance.refresh {
            sqlx::query(
                "INSERT INTO refresh_token_t (token_hash, family_id, client_id, user_id, host_id, \
                 scope, auth_time, sid, amr, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(hash)
            .bind(&r.family_id)
            .bind(&r.client_id)
            .bind(&r.user_id)
            .bind(&r.host_id)
            .bind(&r.scope)
            .bind(r.auth_time)
            .bind(&r.sid)
            .bind(&r.amr)
            .bind(now)
            .bind(r.expires_at)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("INSERT INTO access_token_t (jti, family_id, expires_at) VALUES ($1, $2, $3)")
            .bind(issuance.access_jti)
            .bind(issuance.family_id)
            .bind(issuance.access_expires_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn find_refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshLookup>> {
        self.refresh_row(token_hash).await
    }

    async fn refresh_token_status(
        &self,
        token_hash: &str,
        now: i64,
    ) -> StoreResult<Option<RefreshStatus>> {
        Ok(self.refresh_row(token_hash).await?.map(|r| {
            let active = !r.revoked && r.rotated_at.is_none() && r.record.expires_at > now;
            RefreshStatus {
                record: r.record,
                active,
            }
        }))
    }

    async fn revoke_family(&self, family_id: &str, now: i64) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE token_family_t SET revoked = 1 WHERE family_id = $1")
            .bind(family_id)
            .execute(&mut *tx)
            .await?;
        // The family's access tokens join the revocation list that nodes keep in memory.
        sqlx::query(
            "UPDATE access_token_t SET revoked = 1, revoked_at = $1 WHERE family_id = $2 AND revoked = 0",
        )
        .bind(now)
        .bind(family_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn revoke_session_families(&self, sid: &str, now: i64) -> StoreResult<u64> {
        let mut tx = self.begin_write().await?;
        // The access tokens first, while their families are still unrevoked.
        sqlx::query(
            "UPDATE access_token_t SET revoked = 1, revoked_at = $1 WHERE revoked = 0 \
             AND family_id IN (SELECT family_id FROM token_family_t \
             WHERE sid = $2 AND offline = 0 AND revoked = 0)",
        )
        .bind(now)
        .bind(sid)
        .execute(&mut *tx)
        .await?;
        let families = sqlx::query(
            "UPDATE token_family_t SET revoked = 1 WHERE sid = $1 AND offline = 0 AND revoked = 0",
        )
        .bind(sid)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(families)
    }

    async fn revoke_access_token(&self, jti: &str, expires_at: i64, now: i64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO access_token_t (jti, revoked, expires_at, revoked_at) VALUES ($1, 1, $2, $3) \
             ON CONFLICT (jti) DO UPDATE SET revoked = 1, revoked_at = excluded.revoked_at",
        )
        .bind(jti)
        .bind(expires_at)
        .bind(now)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn revoked_access_tokens(
        &self,
        since: i64,
        now: i64,
    ) -> StoreResult<Vec<(String, i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT jti, expires_at, revoked_at FROM access_token_t \
             WHERE revoked = 1 AND revoked_at >= $1 AND expires_at > $2",
        )
        .bind(since)
        .bind(now)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn purge_expired(&self, now: i64) -> StoreResult<u64> {
        let mut purged = 0;
        for sql in [
            "DELETE FROM authorization_code_t WHERE expires_at < $1",
            "DELETE FROM refresh_token_t WHERE expires_at < $1",
            "DELETE FROM access_token_t WHERE expires_at < $1",
            "DELETE FROM token_family_t WHERE expires_at < $1",
            "DELETE FROM session_t WHERE expires_at < $1",
        ] {
            purged += sqlx::query(sql)
                .bind(now)
                .execute(&self.writer)
                .await?
                .rows_affected();
        }
        // The readiness rows of nodes that stopped a day ago.
        purged += sqlx::query("DELETE FROM readiness_t WHERE checked_at < $1")
            .bind(now - 86_400)
            .execute(&self.writer)
            .await?
            .rows_affected();
        Ok(purged)
    }
}

#[derive(FromRow)]
struct CodeRow {
    #[sqlx(flatten)]
    record: CodeRecord,
    used_at: Option<i64>,
    expires_at: i64,
}

#[derive(FromRow)]
struct RefreshRow {
    #[sqlx(flatten)]
    record: RefreshRecord,
    rotated_at: Option<i64>,
    family_revoked: Option<i64>,
    successor_sealed: Option<String>,
}

impl SqlStore {
    async fn refresh_row(&self, token_hash: &str) -> StoreResult<Option<RefreshLookup>> {
        let row: Option<RefreshRow> = sqlx::query_as(
            "SELECT r.family_id, r.client_id, r.user_id, r.host_id, r.scope, r.auth_time, r.sid, \
             r.amr, r.expires_at, r.rotated_at, f.revoked AS family_revoked, r.successor_sealed \
             FROM refresh_token_t r LEFT JOIN token_family_t f ON f.family_id = r.family_id \
             WHERE r.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| RefreshLookup {
            // A family that no longer exists counts as revoked.
            revoked: r.family_revoked.is_none_or(|v| v != 0),
            record: r.record,
            rotated_at: r.rotated_at,
            successor_sealed: r.successor_sealed,
        }))
    }
}

/// Revokes every token family of a client, inside the caller's transaction (the
/// client's deletion): its refresh tokens stop working and its recorded access tokens
/// join the revocation list the nodes keep in memory.
pub(crate) async fn revoke_client_families(
    conn: &mut sqlx::AnyConnection,
    client_id: &str,
    now: i64,
) -> StoreResult<()> {
    // The access tokens first, while their families are still unrevoked.
    sqlx::query(
        "UPDATE access_token_t SET revoked = 1, revoked_at = $1 WHERE revoked = 0 \
         AND family_id IN (SELECT family_id FROM token_family_t \
         WHERE client_id = $2 AND revoked = 0)",
    )
    .bind(now)
    .bind(client_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE token_family_t SET revoked = 1 WHERE client_id = $1 AND revoked = 0")
        .bind(client_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

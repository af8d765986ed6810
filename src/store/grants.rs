//! Authorization codes, refresh tokens, grant families and access-token revocation:
//! `authorization_code_t`, `refresh_token_t`, `token_family_t`, `access_token_t`.
//!
//! Codes and refresh tokens are stored as SHA-256 hashes only. Redeeming a code and
//! rotating a refresh token each happen in one conditional `UPDATE … RETURNING`, so two
//! concurrent requests can never both succeed.

use async_trait::async_trait;
use sqlx::FromRow;

use super::{flag, SqlStore, StoreResult};

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

/// The outcome of presenting a code.
#[derive(Debug)]
pub enum CodeUse {
    /// The code was valid and is now used.
    Redeemed(Box<CodeRecord>),
    /// The code had already been used: whatever it issued must be revoked.
    Reused { family_id: String },
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

/// The outcome of presenting a refresh token.
#[derive(Debug)]
pub enum RefreshUse {
    /// The token was current and is now rotated.
    Rotated(RefreshRecord),
    /// The token was rotated moments ago (within the grace window): a retry.
    Retry(RefreshRecord),
    /// A rotated token presented after the grace window: its family must be revoked.
    Replayed { family_id: String },
    /// Unknown, expired or revoked.
    Invalid,
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
    /// Marks a code used, in one statement, if it exists, is unused and unexpired.
    async fn redeem_code(&self, code_hash: &str, now: i64) -> StoreResult<CodeUse>;
    /// Writes the rows of an issuance in one transaction.
    async fn record_issuance(&self, issuance: &Issuance<'_>, now: i64) -> StoreResult<()>;
    /// Rotates a refresh token of `client_id`, in one statement, if it is current.
    async fn use_refresh_token(
        &self,
        token_hash: &str,
        client_id: &str,
        now: i64,
        grace: i64,
    ) -> StoreResult<RefreshUse>;
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
const REFRESH_COLUMNS: &str =
    "family_id, client_id, user_id, host_id, scope, auth_time, sid, amr, expires_at";

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

    async fn redeem_code(&self, code_hash: &str, now: i64) -> StoreResult<CodeUse> {
        let sql = format!(
            "UPDATE authorization_code_t SET used_at = $1 \
             WHERE code_hash = $2 AND used_at IS NULL AND expires_at > $3 \
             RETURNING {CODE_COLUMNS}"
        );
        let redeemed: Option<CodeRecord> = sqlx::query_as(&sql)
            .bind(now)
            .bind(code_hash)
            .bind(now)
            .fetch_optional(&self.writer)
            .await?;
        if let Some(record) = redeemed {
            return Ok(CodeUse::Redeemed(Box::new(record)));
        }
        let used: Option<(String,)> = sqlx::query_as(
            "SELECT family_id FROM authorization_code_t WHERE code_hash = $1 AND used_at IS NOT NULL",
        )
        .bind(code_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match used {
            Some((family_id,)) => CodeUse::Reused { family_id },
            None => CodeUse::Invalid,
        })
    }

    async fn record_issuance(&self, issuance: &Issuance<'_>, now: i64) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
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
            // The family lives as long as its newest refresh token; a new family was
            // just written with an expiry that covers it.
            if issuance.new_family.is_none() {
                sqlx::query(
                    "UPDATE token_family_t SET expires_at = $1 WHERE family_id = $2 AND expires_at < $3",
                )
                .bind(r.expires_at)
                .bind(&r.family_id)
                .bind(r.expires_at)
                .execute(&mut *tx)
                .await?;
            }
        }
        sqlx::query("INSERT INTO access_token_t (jti, family_id, expires_at) VALUES ($1, $2, $3)")
            .bind(issuance.access_jti)
            .bind(issuance.family_id)
            .bind(issuance.access_expires_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn use_refresh_token(
        &self,
        token_hash: &str,
        client_id: &str,
        now: i64,
        grace: i64,
    ) -> StoreResult<RefreshUse> {
        let sql = format!(
            "UPDATE refresh_token_t SET rotated_at = $1 \
             WHERE token_hash = $2 AND client_id = $3 AND rotated_at IS NULL AND expires_at > $4 \
             AND family_id IN (SELECT family_id FROM token_family_t WHERE revoked = 0) \
             RETURNING {REFRESH_COLUMNS}"
        );
        let rotated: Option<RefreshRecord> = sqlx::query_as(&sql)
            .bind(now)
            .bind(token_hash)
            .bind(client_id)
            .bind(now)
            .fetch_optional(&self.writer)
            .await?;
        if let Some(record) = rotated {
            return Ok(RefreshUse::Rotated(record));
        }
        let Some((record, rotated_at, revoked)) = self.refresh_row(token_hash).await? else {
            return Ok(RefreshUse::Invalid);
        };
        Ok(match rotated_at {
            _ if revoked || record.expires_at <= now || record.client_id != client_id => {
                RefreshUse::Invalid
            }
            Some(at) if now - at <= grace => RefreshUse::Retry(record),
            Some(_) => RefreshUse::Replayed {
                family_id: record.family_id,
            },
            None => RefreshUse::Invalid,
        })
    }

    async fn refresh_token_status(
        &self,
        token_hash: &str,
        now: i64,
    ) -> StoreResult<Option<RefreshStatus>> {
        Ok(self
            .refresh_row(token_hash)
            .await?
            .map(|(record, rotated_at, revoked)| {
                let active = !revoked && rotated_at.is_none() && record.expires_at > now;
                RefreshStatus { record, active }
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
struct RefreshRow {
    #[sqlx(flatten)]
    record: RefreshRecord,
    rotated_at: Option<i64>,
    family_revoked: Option<i64>,
}

impl SqlStore {
    async fn refresh_row(
        &self,
        token_hash: &str,
    ) -> StoreResult<Option<(RefreshRecord, Option<i64>, bool)>> {
        let row: Option<RefreshRow> = sqlx::query_as(
            "SELECT r.family_id, r.client_id, r.user_id, r.host_id, r.scope, r.auth_time, r.sid, \
             r.amr, r.expires_at, r.rotated_at, f.revoked AS family_revoked \
             FROM refresh_token_t r LEFT JOIN token_family_t f ON f.family_id = r.family_id \
             WHERE r.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| {
            // A family that no longer exists counts as revoked.
            let revoked = r.family_revoked.is_none_or(|v| v != 0);
            (r.record, r.rotated_at, revoked)
        }))
    }
}

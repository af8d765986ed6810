//! Brute-force throttling state: `throttle_t` (failure counters by scope and key),
//! `known_device_t` (devices users signed in from) and `host_throttle_t` (a host's own
//! account policy). The rule that turns a counter into a wait is
//! `domain::throttle::Policy`; this file only counts.

use async_trait::async_trait;
use sqlx::FromRow;

use super::{SqlStore, StoreResult};
use crate::domain::throttle::{Counter, Party, Policy};

/// A host's changes to the account policy; `None` keeps the configured value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromRow)]
pub struct PolicyOverride {
    pub free_attempts: Option<i64>,
    pub base_delay: Option<i64>,
    pub max_delay: Option<i64>,
    pub lockout_after: Option<i64>,
    pub lockout_duration: Option<i64>,
    pub reset_after: Option<i64>,
}

impl PolicyOverride {
    /// `base` with this override's values where it has them.
    #[must_use]
    pub fn apply(&self, base: Policy) -> Policy {
        Policy {
            free_attempts: self.free_attempts.unwrap_or(base.free_attempts),
            base_delay: self.base_delay.unwrap_or(base.base_delay),
            max_delay: self.max_delay.unwrap_or(base.max_delay),
            lockout_after: self.lockout_after.unwrap_or(base.lockout_after),
            lockout_duration: self.lockout_duration.unwrap_or(base.lockout_duration),
            reset_after: self.reset_after.unwrap_or(base.reset_after),
        }
    }
}

#[async_trait]
pub trait ThrottleStore: Send + Sync {
    /// The live counters (not yet forgotten) of these parties; a party without one is
    /// left out.
    async fn throttle_counters(
        &self,
        parties: &[Party],
        now: i64,
    ) -> StoreResult<Vec<(Party, Counter)>>;
    /// Counts one failure against each party, each forgotten `reset_after` seconds
    /// later, in one statement.
    async fn record_failures(&self, parties: &[(Party, i64)], now: i64) -> StoreResult<()>;
    /// Forgets the counters of these parties; how many there were.
    async fn clear_counters(&self, parties: &[Party]) -> StoreResult<u64>;
    /// Forgets the counters of every known device of a user; how many there were.
    async fn clear_device_counters(&self, user_id: &str) -> StoreResult<u64>;
    /// The account policy of a host, by id or domain, if it has one of its own.
    async fn host_policy(&self, id_or_domain: &str) -> StoreResult<Option<PolicyOverride>>;
    /// Sets the given values of a host's policy, keeping the others.
    async fn set_host_policy(&self, host_id: &str, policy: &PolicyOverride) -> StoreResult<()>;
    /// Removes a host's own policy: the configured one applies again.
    async fn clear_host_policy(&self, host_id: &str) -> StoreResult<()>;
    /// Remembers (or extends) a device a user signed in from.
    async fn remember_device(
        &self,
        device_hash: &str,
        user_id: &str,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()>;
    /// Until when the device is a known device of the user (possibly in the past), if
    /// it ever was one: the throttle and the renewal of the cookie read it once.
    async fn known_device_until(
        &self,
        device_hash: &str,
        user_id: &str,
    ) -> StoreResult<Option<i64>>;
    /// Deletes forgotten counters and expired devices; how many rows.
    async fn purge_throttle(&self, now: i64) -> StoreResult<u64>;
}

#[derive(FromRow)]
struct CounterRow {
    scope: String,
    throttle_key: String,
    failures: i64,
    last_failure_at: i64,
}

/// `(scope = $1 AND throttle_key = $2) OR …` for `n` parties.
fn party_filter(n: usize) -> String {
    (0..n)
        .map(|i| format!("(scope = ${} AND throttle_key = ${})", 2 * i + 1, 2 * i + 2))
        .collect::<Vec<_>>()
        .join(" OR ")
}

#[async_trait]
impl ThrottleStore for SqlStore {
    async fn throttle_counters(
        &self,
        parties: &[Party],
        now: i64,
    ) -> StoreResult<Vec<(Party, Counter)>> {
        if parties.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT scope, throttle_key, failures, last_failure_at FROM throttle_t \
             WHERE ({}) AND expires_at > ${}",
            party_filter(parties.len()),
            2 * parties.len() + 1
        );
        let mut query = sqlx::query_as::<_, CounterRow>(&sql);
        for p in parties {
            query = query.bind(p.scope()).bind(p.key());
        }
        let rows = query.bind(now).fetch_all(&self.pool).await?;
        Ok(parties
            .iter()
            .filter_map(|p| {
                rows.iter()
                    .find(|r| r.scope == p.scope() && r.throttle_key == p.key())
                    .map(|r| {
                        let counter = Counter {
                            failures: r.failures,
                            last_failure_at: r.last_failure_at,
                        };
                        (p.clone(), counter)
                    })
            })
            .collect())
    }

    async fn record_failures(&self, parties: &[(Party, i64)], now: i64) -> StoreResult<()> {
        if parties.is_empty() {
            return Ok(());
        }
        // A row whose time is up starts again from one failure: the same forgetting as
        // `Counter::live_failures`, inside the one statement.
        let values = (0..parties.len())
            .map(|i| {
                let b = 5 * i;
                format!(
                    "(${}, ${}, 1, ${}, ${}, ${})",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO throttle_t (scope, throttle_key, failures, first_failure_at, \
             last_failure_at, expires_at) VALUES {values} \
             ON CONFLICT (scope, throttle_key) DO UPDATE SET \
             failures = CASE WHEN throttle_t.expires_at <= excluded.last_failure_at THEN 1 \
             ELSE throttle_t.failures + 1 END, \
             first_failure_at = CASE WHEN throttle_t.expires_at <= excluded.last_failure_at \
             THEN excluded.first_failure_at ELSE throttle_t.first_failure_at END, \
             last_failure_at = excluded.last_failure_at, expires_at = excluded.expires_at"
        );
        let mut query = sqlx::query(&sql);
        for (p, reset_after) in parties {
            query = query
                .bind(p.scope())
                .bind(p.key())
                .bind(now)
                .bind(now)
                .bind(now.saturating_add(*reset_after));
        }
        query.execute(&self.writer).await?;
        Ok(())
    }

    async fn clear_counters(&self, parties: &[Party]) -> StoreResult<u64> {
        if parties.is_empty() {
            return Ok(0);
        }
        let sql = format!(
            "DELETE FROM throttle_t WHERE {}",
            party_filter(parties.len())
        );
        let mut query = sqlx::query(&sql);
        for p in parties {
            query = query.bind(p.scope()).bind(p.key());
        }
        Ok(query.execute(&self.writer).await?.rows_affected())
    }

    async fn clear_device_counters(&self, user_id: &str) -> StoreResult<u64> {
        let done = sqlx::query(
            "DELETE FROM throttle_t WHERE scope = 'device' AND throttle_key IN \
             (SELECT device_hash FROM known_device_t WHERE user_id = $1)",
        )
        .bind(user_id)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected())
    }

    async fn host_policy(&self, id_or_domain: &str) -> StoreResult<Option<PolicyOverride>> {
        Ok(sqlx::query_as(
            "SELECT t.free_attempts, t.base_delay, t.max_delay, t.lockout_after, \
             t.lockout_duration, t.reset_after \
             FROM host_throttle_t t JOIN host_t h ON h.host_id = t.host_id \
             WHERE h.host_id = $1 OR lower(h.domain) = lower($2)",
        )
        .bind(id_or_domain)
        .bind(id_or_domain)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn set_host_policy(&self, host_id: &str, p: &PolicyOverride) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO host_throttle_t (host_id, free_attempts, base_delay, max_delay, \
             lockout_after, lockout_duration, reset_after) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (host_id) DO UPDATE SET \
             free_attempts = COALESCE(excluded.free_attempts, host_throttle_t.free_attempts), \
             base_delay = COALESCE(excluded.base_delay, host_throttle_t.base_delay), \
             max_delay = COALESCE(excluded.max_delay, host_throttle_t.max_delay), \
             lockout_after = COALESCE(excluded.lockout_after, host_throttle_t.lockout_after), \
             lockout_duration = COALESCE(excluded.lockout_duration, \
             host_throttle_t.lockout_duration), \
             reset_after = COALESCE(excluded.reset_after, host_throttle_t.reset_after)",
        )
        .bind(host_id)
        .bind(p.free_attempts)
        .bind(p.base_delay)
        .bind(p.max_delay)
        .bind(p.lockout_after)
        .bind(p.lockout_duration)
        .bind(p.reset_after)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn clear_host_policy(&self, host_id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM host_throttle_t WHERE host_id = $1")
            .bind(host_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn remember_device(
        &self,
        device_hash: &str,
        user_id: &str,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO known_device_t (device_hash, user_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (device_hash, user_id) \
             DO UPDATE SET expires_at = excluded.expires_at",
        )
        .bind(device_hash)
        .bind(user_id)
        .bind(now)
        .bind(expires_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn known_device_until(
        &self,
        device_hash: &str,
        user_id: &str,
    ) -> StoreResult<Option<i64>> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT expires_at FROM known_device_t WHERE device_hash = $1 AND user_id = $2",
        )
        .bind(device_hash)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(until,)| until))
    }

    async fn purge_throttle(&self, now: i64) -> StoreResult<u64> {
        let mut purged = 0;
        for sql in [
            "DELETE FROM throttle_t WHERE expires_at <= $1",
            "DELETE FROM known_device_t WHERE expires_at <= $1",
        ] {
            purged += sqlx::query(sql)
                .bind(now)
                .execute(&self.writer)
                .await?
                .rows_affected();
        }
        Ok(purged)
    }
}

//! The audit trail: `audit_t`. [`record`] writes an entry on the connection of the
//! transaction whose change it records (every audited store write calls it before its
//! commit); [`AuditStore`] records events that change nothing else (a failed sign-in),
//! reads the trail with filters and keyset paging, and purges entries past retention.
//! Nothing updates an entry.

use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use rand::RngCore;
use serde_json::Value;
use sqlx::{AnyConnection, FromRow};

use super::{SqlStore, StoreError, StoreResult};
use crate::domain::audit::{AuditContext, AuditEvent, Target, Via};

/// An entry as read back.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditEntry {
    /// Orders entries: ids grow with time, so `(at, id)` is the trail's order.
    pub id: String,
    pub at: i64,
    pub host_id: Option<String>,
    pub actor_id: Option<String>,
    pub actor_name: Option<String>,
    pub via: Via,
    pub action: String,
    pub target: Option<Target>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub detail: Option<Value>,
    pub request_id: Option<String>,
    pub client_address: Option<String>,
}

/// Which entries to read: all filters are optional and combine with AND.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    /// Entries of this host only; none reads every host's and Tessera's own.
    pub host_id: Option<String>,
    pub actor_id: Option<String>,
    pub target_id: Option<String>,
    /// An action's exact name, or a prefix ending in `.` (`user.`).
    pub action: Option<String>,
    /// From this time on (unix seconds, inclusive).
    pub since: Option<i64>,
    /// Before this time (unix seconds, exclusive).
    pub until: Option<i64>,
    /// The last entry of the previous page: `(at, id)`.
    pub before: Option<(i64, String)>,
    pub limit: u32,
}

/// One page of entries, newest first.
#[derive(Clone, Debug)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// The position to pass as `before` for the next page, when there is one.
    pub next: Option<(i64, String)>,
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Records an event that changes nothing else, in a transaction of its own.
    async fn record_audit(
        &self,
        context: &AuditContext,
        event: &AuditEvent,
        now: i64,
    ) -> StoreResult<()>;
    async fn list_audit(&self, query: &AuditQuery) -> StoreResult<AuditPage>;
    /// Deletes the entries older than `before` (the retention setting); returns how many.
    async fn purge_audit(&self, before: i64) -> StoreResult<u64>;
}

/// An id that sorts in the order entries were written on this node: the wall clock in
/// milliseconds, then randomness (entries of one millisecond, or of two nodes, order
/// arbitrarily but stably).
fn entry_id() -> String {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    format!("{millis:013x}{:016x}", rand::rngs::OsRng.next_u64())
}

fn json_text(value: Option<&Value>) -> Option<String> {
    value.map(Value::to_string)
}

/// Writes `event` on `conn`, which is inside the transaction of the change it records.
pub(crate) async fn record(
    conn: &mut AnyConnection,
    context: &AuditContext,
    event: &AuditEvent,
    now: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO audit_t (audit_id, at, host_id, actor_id, actor_name, via, action, \
         target_kind, target_id, before_state, after_state, detail, request_id, client_address) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(entry_id())
    .bind(now)
    .bind(&event.host_id)
    .bind(&context.actor_id)
    .bind(&context.actor_name)
    .bind(context.via().as_str())
    .bind(event.action)
    .bind(event.target.as_ref().map(|t| t.kind.clone()))
    .bind(event.target.as_ref().map(|t| t.id.clone()))
    .bind(json_text(event.before.as_ref()))
    .bind(json_text(event.after.as_ref()))
    .bind(json_text(event.detail.as_ref()))
    .bind(&context.request_id)
    .bind(&context.client_address)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(FromRow)]
struct AuditRow {
    audit_id: String,
    at: i64,
    host_id: Option<String>,
    actor_id: Option<String>,
    actor_name: Option<String>,
    via: String,
    action: String,
    target_kind: Option<String>,
    target_id: Option<String>,
    before_state: Option<String>,
    after_state: Option<String>,
    detail: Option<String>,
    request_id: Option<String>,
    client_address: Option<String>,
}

fn parse_json(text: Option<String>) -> StoreResult<Option<Value>> {
    text.map(|t| serde_json::from_str(&t))
        .transpose()
        .map_err(|e| StoreError::Corrupt(format!("audit entry state: {e}")))
}

impl TryFrom<AuditRow> for AuditEntry {
    type Error = StoreError;

    fn try_from(r: AuditRow) -> StoreResult<Self> {
        let via = Via::parse(&r.via)
            .ok_or_else(|| StoreError::Corrupt(format!("audit channel {:?}", r.via)))?;
        let target = match (r.target_kind, r.target_id) {
            (Some(kind), Some(id)) => Some(Target { kind, id }),
            _ => None,
        };
        Ok(Self {
            id: r.audit_id,
            at: r.at,
            host_id: r.host_id,
            actor_id: r.actor_id,
            actor_name: r.actor_name,
            via,
            action: r.action,
            target,
            before: parse_json(r.before_state)?,
            after: parse_json(r.after_state)?,
            detail: parse_json(r.detail)?,
            request_id: r.request_id,
            client_address: r.client_address,
        })
    }
}

/// A bound value of the list query.
enum Bind {
    Text(String),
    Int(i64),
}

#[async_trait]
impl AuditStore for SqlStore {
    async fn record_audit(
        &self,
        context: &AuditContext,
        event: &AuditEvent,
        now: i64,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        record(&mut tx, context, event, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_audit(&self, query: &AuditQuery) -> StoreResult<AuditPage> {
        // Conditions are added in order, each taking the next placeholder number, so
        // that numbering and binding order agree on both backends.
        let mut sql = String::from(
            "SELECT audit_id, at, host_id, actor_id, actor_name, via, action, target_kind, \
             target_id, before_state, after_state, detail, request_id, client_address \
             FROM audit_t WHERE 1 = 1",
        );
        let mut binds: Vec<Bind> = Vec::new();
        let mut push = |sql: &mut String, condition: &str, value: Bind| {
            binds.push(value);
            sql.push_str(&condition.replace('?', &format!("${}", binds.len())));
        };
        if let Some(host) = &query.host_id {
            push(&mut sql, " AND host_id = ?", Bind::Text(host.clone()));
        }
        if let Some(actor) = &query.actor_id {
            push(&mut sql, " AND actor_id = ?", Bind::Text(actor.clone()));
        }
        if let Some(target) = &query.target_id {
            push(&mut sql, " AND target_id = ?", Bind::Text(target.clone()));
        }
        match query.action.as_deref() {
            Some(prefix) if prefix.ends_with('.') => {
                // Action names are letters, digits, `_` and `.`; a prefix match by range
                // needs no LIKE escaping: `.` sorts just before `/`.
                let upper = format!("{}/", &prefix[..prefix.len() - 1]);
                push(&mut sql, " AND action > ?", Bind::Text(prefix.to_owned()));
                push(&mut sql, " AND action < ?", Bind::Text(upper));
            }
            Some(action) => push(&mut sql, " AND action = ?", Bind::Text(action.to_owned())),
            None => {}
        }
        if let Some(since) = query.since {
            push(&mut sql, " AND at >= ?", Bind::Int(since));
        }
        if let Some(until) = query.until {
            push(&mut sql, " AND at < ?", Bind::Int(until));
        }
        if let Some((at, id)) = &query.before {
            push(&mut sql, " AND (at < ?", Bind::Int(*at));
            push(&mut sql, " OR (at = ?", Bind::Int(*at));
            push(&mut sql, " AND audit_id < ?))", Bind::Text(id.clone()));
        }
        sql.push_str(&format!(
            " ORDER BY at DESC, audit_id DESC LIMIT {}",
            i64::from(query.limit) + 1
        ));
        let mut statement = sqlx::query_as::<_, AuditRow>(&sql);
        for value in binds {
            statement = match value {
                Bind::Text(t) => statement.bind(t),
                Bind::Int(i) => statement.bind(i),
            };
        }
        let mut entries = statement
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(AuditEntry::try_from)
            .collect::<StoreResult<Vec<_>>>()?;
        let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
        let next = if entries.len() > limit {
            entries.truncate(limit);
            entries.last().map(|e| (e.at, e.id.clone()))
        } else {
            None
        };
        Ok(AuditPage { entries, next })
    }

    async fn purge_audit(&self, before: i64) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM audit_t WHERE at < $1")
            .bind(before)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_ids_sort_in_the_order_they_are_made() {
        let a = entry_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = entry_id();
        assert!(a < b, "{a} {b}");
        assert_eq!(a.len(), 29);
    }
}

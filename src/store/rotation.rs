//! Refresh token rotations (RFC 6749 §6, RFC 9700 §4.14.2) committed in groups: the
//! rotations that arrive while one group commits wait and commit together in the next
//! transaction (group commit), in a fixed handful of statements whatever their number.
//!
//! Why: a rotation is a write transaction, and a database has one writer at a time
//! (SQLite) or pays a round trip per statement (PostgreSQL). One by one, a rotation
//! held the writer for six statements, each a hand-off to the database and back to a
//! request worker that was busy signing tokens; together, a group of n holds it for
//! six statements in all.
//!
//! What does not change: each token is consumed by a conditional `UPDATE` inside the
//! transaction that writes its successor (single use: a token that is no longer current,
//! unexpired and of an unrevoked family is not consumed, and its request is told so);
//! nobody is answered before the commit (a committed rotation is durable as before, and
//! an answered one is committed); a token presented twice in one group is consumed once,
//! and the second request goes the way of a concurrent second use. A group that fails
//! is rolled back whole and each of its requests gets the error: nothing of it was
//! written, so each token is still usable.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use sqlx::AnyPool;
use tokio::sync::oneshot;

use super::grants::RefreshRecord;
use super::{Backend, StoreError, StoreResult};

/// At most this many rotations in one transaction (the widest statement then binds
/// 64 × 11 values, far below SQLite's and PostgreSQL's limits).
const MAX_GROUP: usize = 64;

/// One rotation: the token to consume and the rows of what it issues.
#[derive(Debug)]
pub(super) struct Rotation {
    pub token_hash: String,
    pub client_id: String,
    pub successor_sealed: Option<String>,
    pub now: i64,
    pub family_id: String,
    pub refresh: Option<(String, RefreshRecord)>,
    pub access_jti: String,
    pub access_expires_at: i64,
}

struct Waiting {
    rotation: Rotation,
    answer: oneshot::Sender<StoreResult<bool>>,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Waiting>,
    /// Tasks committing groups; each takes the waiting ones before it stops.
    committing: usize,
}

/// How many groups may commit at once: SQLite has one writer; PostgreSQL runs
/// transactions side by side, and one group at a time would queue what it can overlap
/// (its own commit flushes batch the WAL of concurrent transactions).
fn committers(backend: Backend) -> usize {
    match backend {
        Backend::Sqlite => 1,
        Backend::Postgres => 4,
    }
}

/// The rotations waiting for the writer.
#[derive(Clone, Default)]
pub(super) struct Rotations(Arc<Mutex<Queue>>);

impl std::fmt::Debug for Rotations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rotations").finish_non_exhaustive()
    }
}

impl Rotations {
    /// Commits `rotation` with whatever else is waiting; whether its token was
    /// consumed (`false`: it was not current any more, nothing of it was written).
    pub(super) async fn rotate(
        &self,
        writer: &AnyPool,
        backend: Backend,
        rotation: Rotation,
    ) -> StoreResult<bool> {
        let (answer, answered) = oneshot::channel();
        let lead = {
            let mut queue = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            queue.waiting.push(Waiting { rotation, answer });
            let lead = queue.committing < committers(backend);
            if lead {
                queue.committing += 1;
            }
            lead
        };
        if lead {
            // A task of its own: a request that goes away must not stop the groups
            // that others wait on.
            tokio::spawn(commit_groups(self.clone(), writer.clone(), backend));
        }
        answered.await.map_err(|_| {
            StoreError::Corrupt("the rotation's group ended without an answer".to_owned())
        })?
    }

    /// The next group, or `None` (and one task committing fewer) when none waits.
    fn next_group(&self) -> Option<Vec<Waiting>> {
        let mut queue = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if queue.waiting.is_empty() {
            queue.committing = queue.committing.saturating_sub(1);
            return None;
        }
        let take = queue.waiting.len().min(MAX_GROUP);
        Some(queue.waiting.drain(..take).collect())
    }
}

async fn commit_groups(rotations: Rotations, writer: AnyPool, backend: Backend) {
    while let Some(group) = rotations.next_group() {
        let (items, answers): (Vec<Rotation>, Vec<_>) =
            group.into_iter().map(|w| (w.rotation, w.answer)).unzip();
        match commit_group(&writer, backend, &items).await {
            Ok(consumed) => {
                for (answer, ok) in answers.into_iter().zip(consumed) {
                    // A receiver that is gone was a request that went away.
                    let _ = answer.send(Ok(ok));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, rotations = items.len(), "a group of refresh token rotations failed");
                for answer in answers {
                    let _ = answer.send(Err(StoreError::Corrupt(format!(
                        "the rotation's group failed: {e}"
                    ))));
                }
            }
        }
    }
}

/// `$n` for the n-th bound value.
struct Binder(usize);

impl Binder {
    fn next(&mut self) -> String {
        self.0 += 1;
        format!("${}", self.0)
    }
}

/// One transaction for the group; for each rotation, whether it consumed its token.
async fn commit_group(
    writer: &AnyPool,
    backend: Backend,
    items: &[Rotation],
) -> StoreResult<Vec<bool>> {
    // A token presented twice in one group is a candidate once: the first comes first.
    let mut seen = HashSet::new();
    let candidates: Vec<&Rotation> = items
        .iter()
        .filter(|r| seen.insert(r.token_hash.as_str()))
        .collect();
    let begin = match backend {
        Backend::Sqlite => "BEGIN IMMEDIATE",
        Backend::Postgres => "BEGIN",
    };
    let mut tx = writer.begin_with(begin).await?;

    // The single use, for every candidate at once: only a current, unexpired token of
    // its own client and of an unrevoked family is consumed.
    let mut b = Binder(0);
    let (mut at, mut sealed, mut filter) = (Vec::new(), Vec::new(), Vec::new());
    for _ in &candidates {
        let (h1, now1) = (b.next(), b.next());
        at.push(format!("WHEN {h1} THEN {now1}"));
        let (h2, s) = (b.next(), b.next());
        sealed.push(format!("WHEN {h2} THEN {s}"));
        let (h3, c, now3) = (b.next(), b.next(), b.next());
        filter.push(format!(
            "(token_hash = {h3} AND client_id = {c} AND expires_at > {now3})"
        ));
    }
    let sql = format!(
        "UPDATE refresh_token_t SET rotated_at = CASE token_hash {} END, \
         successor_sealed = CASE token_hash {} END \
         WHERE rotated_at IS NULL AND ({}) \
         AND family_id IN (SELECT family_id FROM token_family_t WHERE revoked = 0) \
         RETURNING token_hash",
        at.join(" "),
        sealed.join(" "),
        filter.join(" OR ")
    );
    let mut query = sqlx::query_as::<_, (String,)>(&sql);
    for r in &candidates {
        query = query
            .bind(&r.token_hash)
            .bind(r.now)
            .bind(&r.token_hash)
            .bind(&r.successor_sealed)
            .bind(&r.token_hash)
            .bind(&r.client_id)
            .bind(r.now);
    }
    let consumed: HashSet<String> = query
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .map(|(h,)| h)
        .collect();
    let rotated: Vec<&Rotation> = candidates
        .into_iter()
        .filter(|r| consumed.contains(&r.token_hash))
        .collect();

    if !rotated.is_empty() {
        insert_successors(&mut tx, &rotated).await?;
        extend_families(&mut tx, &rotated).await?;
        insert_access_tokens(&mut tx, &rotated).await?;
    }
    tx.commit().await?;

    // In the order asked; a duplicate's answer is `false` (its twin took the token).
    let mut answered = HashSet::new();
    Ok(items
        .iter()
        .map(|r| consumed.contains(&r.token_hash) && answered.insert(r.token_hash.as_str()))
        .collect())
}

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// The new refresh tokens, in one statement.
async fn insert_successors(tx: &mut Tx, rotated: &[&Rotation]) -> StoreResult<()> {
    let rows: Vec<(&str, &RefreshRecord, i64)> = rotated
        .iter()
        .filter_map(|r| {
            r.refresh
                .as_ref()
                .map(|(hash, record)| (hash.as_str(), record, r.now))
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    let mut b = Binder(0);
    let values: Vec<String> = rows
        .iter()
        .map(|_| {
            let v: Vec<String> = (0..11).map(|_| b.next()).collect();
            format!("({})", v.join(", "))
        })
        .collect();
    let sql = format!(
        "INSERT INTO refresh_token_t (token_hash, family_id, client_id, user_id, host_id, \
         scope, auth_time, sid, amr, created_at, expires_at) VALUES {}",
        values.join(", ")
    );
    let mut query = sqlx::query(&sql);
    for (hash, r, now) in rows {
        query = query
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
            .bind(r.expires_at);
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

/// A family lives at least as long as its newest refresh token: the group's families
/// are extended to the latest expiry among its new tokens, in one statement.
async fn extend_families(tx: &mut Tx, rotated: &[&Rotation]) -> StoreResult<()> {
    let Some(until) = rotated
        .iter()
        .filter_map(|r| r.refresh.as_ref().map(|(_, record)| record.expires_at))
        .max()
    else {
        return Ok(());
    };
    let mut families: Vec<&str> = rotated.iter().map(|r| r.family_id.as_str()).collect();
    families.sort_unstable();
    families.dedup();
    let mut b = Binder(2);
    let list: Vec<String> = families.iter().map(|_| b.next()).collect();
    let sql = format!(
        "UPDATE token_family_t SET expires_at = $1 WHERE expires_at < $2 AND family_id IN ({})",
        list.join(", ")
    );
    let mut query = sqlx::query(&sql).bind(until).bind(until);
    for f in families {
        query = query.bind(f);
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

/// The access tokens' rows (their family's revocation reaches them), in one statement.
async fn insert_access_tokens(tx: &mut Tx, rotated: &[&Rotation]) -> StoreResult<()> {
    let mut b = Binder(0);
    let values: Vec<String> = rotated
        .iter()
        .map(|_| format!("({}, {}, {})", b.next(), b.next(), b.next()))
        .collect();
    let sql = format!(
        "INSERT INTO access_token_t (jti, family_id, expires_at) VALUES {}",
        values.join(", ")
    );
    let mut query = sqlx::query(&sql);
    for r in rotated {
        query = query
            .bind(&r.access_jti)
            .bind(&r.family_id)
            .bind(r.access_expires_at);
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SqlStore;

    const NOW: i64 = 1_000_000;

    async fn store_with_tokens(tokens: &[(&str, &str)]) -> SqlStore {
        let store = SqlStore::connect("sqlite::memory:", 1).await.unwrap();
        store.migrate().await.unwrap();
        for (token, family) in tokens {
            sqlx::query(
                "INSERT INTO token_family_t (family_id, client_id, user_id, created_at, \
                 expires_at, sid, offline) VALUES ($1, 'c', 'u', $2, $3, 's', 0) \
                 ON CONFLICT (family_id) DO NOTHING",
            )
            .bind(*family)
            .bind(NOW)
            .bind(NOW + 10)
            .execute(&store.writer)
            .await
            .unwrap();
            sqlx::query(
                "INSERT INTO refresh_token_t (token_hash, family_id, client_id, user_id, \
                 scope, auth_time, sid, amr, created_at, expires_at) \
                 VALUES ($1, $2, 'c', 'u', 'openid', $3, 's', 'pwd', $3, $4)",
            )
            .bind(*token)
            .bind(*family)
            .bind(NOW)
            .bind(NOW + 10)
            .execute(&store.writer)
            .await
            .unwrap();
        }
        store
    }

    fn rotation(token: &str, family: &str, client: &str) -> Rotation {
        Rotation {
            token_hash: token.to_owned(),
            client_id: client.to_owned(),
            successor_sealed: None,
            now: NOW,
            family_id: family.to_owned(),
            refresh: Some((
                format!("{token}-next"),
                RefreshRecord {
                    family_id: family.to_owned(),
                    client_id: client.to_owned(),
                    user_id: "u".to_owned(),
                    host_id: None,
                    scope: "openid".to_owned(),
                    auth_time: NOW,
                    sid: "s".to_owned(),
                    amr: "pwd".to_owned(),
                    expires_at: NOW + 1000,
                },
            )),
            access_jti: format!("{token}-jti"),
            access_expires_at: NOW + 3600,
        }
    }

    async fn count(store: &SqlStore, sql: &str) -> i64 {
        sqlx::query_as::<_, (i64,)>(sql)
            .fetch_one(&store.writer)
            .await
            .unwrap()
            .0
    }

    #[tokio::test]
    async fn a_group_consumes_each_current_token_once_and_writes_only_what_it_consumed() {
        let store = store_with_tokens(&[("t1", "f1"), ("t2", "f2"), ("t3", "f1")]).await;
        let group = [
            rotation("t1", "f1", "c"),
            rotation("t2", "f2", "c"),
            // The same token again in the same group: its twin takes it.
            rotation("t1", "f1", "c"),
            // Another client's token is not consumed.
            rotation("t3", "f1", "other"),
            // An unknown token.
            rotation("t9", "f1", "c"),
        ];
        let consumed = commit_group(&store.writer, Backend::Sqlite, &group)
            .await
            .unwrap();
        assert_eq!(consumed, [true, true, false, false, false]);
        assert_eq!(
            count(
                &store,
                "SELECT COUNT(*) FROM refresh_token_t WHERE token_hash LIKE '%-next'"
            )
            .await,
            2
        );
        assert_eq!(
            count(&store, "SELECT COUNT(*) FROM access_token_t").await,
            2
        );
        assert_eq!(
            count(
                &store,
                "SELECT COUNT(*) FROM refresh_token_t WHERE rotated_at IS NOT NULL"
            )
            .await,
            2
        );
        // Both families now live as long as their new tokens.
        assert_eq!(
            count(&store, "SELECT MIN(expires_at) FROM token_family_t").await,
            NOW + 1000
        );
        // A second group finds them used.
        let again = commit_group(&store.writer, Backend::Sqlite, &group[..2])
            .await
            .unwrap();
        assert_eq!(again, [false, false]);
    }

    #[tokio::test]
    async fn a_revoked_familys_token_is_not_consumed() {
        let store = store_with_tokens(&[("t1", "f1"), ("t2", "f2")]).await;
        sqlx::query("UPDATE token_family_t SET revoked = 1 WHERE family_id = 'f1'")
            .execute(&store.writer)
            .await
            .unwrap();
        let consumed = commit_group(
            &store.writer,
            Backend::Sqlite,
            &[rotation("t1", "f1", "c"), rotation("t2", "f2", "c")],
        )
        .await
        .unwrap();
        assert_eq!(consumed, [false, true]);
    }

    #[tokio::test]
    async fn rotations_at_once_are_all_answered() {
        let tokens: Vec<(String, String)> = (0..40)
            .map(|i| (format!("t{i}"), format!("f{i}")))
            .collect();
        let refs: Vec<(&str, &str)> = tokens
            .iter()
            .map(|(t, f)| (t.as_str(), f.as_str()))
            .collect();
        let store = store_with_tokens(&refs).await;
        let answers = tokens.iter().map(|(t, f)| {
            let store = store.clone();
            let r = rotation(t, f, "c");
            tokio::spawn(async move {
                store
                    .rotations
                    .rotate(&store.writer, Backend::Sqlite, r)
                    .await
            })
        });
        for answer in answers.collect::<Vec<_>>() {
            assert!(answer.await.unwrap().unwrap());
        }
        assert_eq!(
            count(&store, "SELECT COUNT(*) FROM access_token_t").await,
            40
        );
    }
}

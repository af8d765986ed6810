//! Rules a write must check inside its own transaction, against the state it changes:
//! the host's last admin (seed 004: the last admin cannot be removed, demoted, locked
//! or deleted). Two admins demoting each other at once must not both succeed, so a
//! write that can remove an admin first takes the host's row lock ([`lock_host`]); the
//! count it then reads cannot change under it.

use sqlx::AnyConnection;

use super::{StoreError, StoreResult};
use crate::domain::rights::HOST_ADMIN_ROLE;

/// Serialises the writes that can change who administers `host_id`. On PostgreSQL the
/// no-op update takes the host row's lock until the transaction ends; on SQLite every
/// write transaction (`BEGIN IMMEDIATE`) is serialised already.
///
/// # Errors
/// `NotFound` when the host does not exist.
pub(crate) async fn lock_host(conn: &mut AnyConnection, host_id: &str) -> StoreResult<()> {
    let done = sqlx::query("UPDATE host_t SET host_id = host_id WHERE host_id = $1")
        .bind(host_id)
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound("host"));
    }
    Ok(())
}

/// The admins of a host on `day`: active, unlocked members holding the admin role in
/// effect that day.
const ADMINS_SQL: &str = "\
SELECT DISTINCT ru.user_id FROM role_user_t ru \
  JOIN role_t r ON r.host_id = ru.host_id AND r.role_id = ru.role_id \
  JOIN user_host_t uh ON uh.host_id = ru.host_id AND uh.user_id = ru.user_id \
  JOIN user_t u ON u.user_id = ru.user_id \
 WHERE ru.host_id = $1 AND r.role_name = $2 AND ru.start_date <= $3 \
   AND (ru.end_date IS NULL OR ru.end_date >= $4) AND uh.active = 1 AND u.locked = 0";

/// The ids of the host's admins on `day`.
pub(crate) async fn host_admins(
    conn: &mut AnyConnection,
    host_id: &str,
    day: &str,
) -> StoreResult<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(ADMINS_SQL)
        .bind(host_id)
        .bind(HOST_ADMIN_ROLE)
        .bind(day)
        .bind(day)
        .fetch_all(conn)
        .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// Refuses a change that would leave the host without an admin: `user_id` is an admin
/// today and no other admin remains. Call after [`lock_host`], before the write.
/// `what` completes "the host's last admin cannot be …".
///
/// # Errors
/// `Refused` naming the rule.
pub(crate) async fn keep_an_admin(
    conn: &mut AnyConnection,
    host_id: &str,
    user_id: &str,
    day: &str,
    what: &str,
) -> StoreResult<()> {
    let admins = host_admins(conn, host_id, day).await?;
    if admins.iter().any(|a| a == user_id) && admins.len() == 1 {
        return Err(StoreError::Refused(format!(
            "the host's last admin cannot be {what}; make another user admin first"
        )));
    }
    Ok(())
}

//! The security profile: loading it in one round trip, and the position rules that
//! keep inherited rows (`position_type` D and S) in step with own ones (P).

use async_trait::async_trait;
use sqlx::AnyConnection;

use super::{accounts, SqlStore, StoreError, StoreResult};
use crate::domain::SecurityProfile;

/// The profile of a user in a host, on a day, as rows of (kind, name, value), one query
/// whatever the number of assignments (a UNION ALL, not the seed's join of every table,
/// which multiplies rows). Kinds: `u` user (type, business id), `d` the host's default
/// role, `r` role, `g` group, `p` position, `a` attribute.
const PROFILE_SQL: &str = "\
SELECT 'u' AS kind, u.user_type AS name, \
       CASE WHEN u.user_type = 'E' THEN e.employee_id ELSE c.customer_id END AS value \
  FROM user_host_t uh JOIN user_t u ON u.user_id = uh.user_id \
  LEFT JOIN employee_t e ON e.host_id = uh.host_id AND e.user_id = uh.user_id \
  LEFT JOIN customer_t c ON c.host_id = uh.host_id AND c.user_id = uh.user_id \
 WHERE uh.host_id = $1 AND uh.user_id = $2 AND uh.active = 1 \
UNION ALL \
SELECT 'd', h.default_role, NULL FROM host_t h WHERE h.host_id = $3 AND h.default_role IS NOT NULL \
UNION ALL \
SELECT 'r', r.role_name, NULL FROM role_user_t ru \
  JOIN role_t r ON r.host_id = ru.host_id AND r.role_id = ru.role_id \
 WHERE ru.host_id = $4 AND ru.user_id = $5 AND ru.start_date <= $6 \
   AND (ru.end_date IS NULL OR ru.end_date >= $7) \
UNION ALL \
SELECT 'g', g.group_name, NULL FROM group_user_t gu \
  JOIN group_t g ON g.host_id = gu.host_id AND g.group_id = gu.group_id \
 WHERE gu.host_id = $8 AND gu.user_id = $9 AND gu.start_date <= $10 \
   AND (gu.end_date IS NULL OR gu.end_date >= $11) \
UNION ALL \
SELECT 'p', p.position_name, NULL FROM employee_t e \
  JOIN employee_position_t ep ON ep.host_id = e.host_id AND ep.employee_id = e.employee_id \
  JOIN position_t p ON p.host_id = ep.host_id AND p.position_id = ep.position_id \
 WHERE e.host_id = $12 AND e.user_id = $13 AND ep.start_date <= $14 \
   AND (ep.end_date IS NULL OR ep.end_date >= $15) \
UNION ALL \
SELECT 'a', a.attribute_name, au.attribute_value FROM attribute_user_t au \
  JOIN attribute_t a ON a.host_id = au.host_id AND a.attribute_id = au.attribute_id \
 WHERE au.host_id = $16 AND au.user_id = $17 AND au.start_date <= $18 \
   AND (au.end_date IS NULL OR au.end_date >= $19)";

#[async_trait]
pub trait ProfileStore: Send + Sync {
    /// The profile of `user_id` in `host_id` with the assignments in effect on `day`
    /// (`YYYY-MM-DD`), in one round trip.
    async fn load_profile(
        &self,
        user_id: &str,
        host_id: &str,
        day: &str,
    ) -> StoreResult<SecurityProfile>;
    /// Gives an employee a position of their own from `start` (until `end`, if any).
    async fn assign_position(
        &self,
        host_id: &str,
        employee_id: &str,
        position_name: &str,
        start: &str,
        end: Option<&str>,
    ) -> StoreResult<()>;
    /// Ends an employee's own position on `end` (the last day it counts).
    async fn end_position(
        &self,
        host_id: &str,
        employee_id: &str,
        position_name: &str,
        end: &str,
    ) -> StoreResult<()>;
    /// Removes an employee's own position altogether.
    async fn remove_position(
        &self,
        host_id: &str,
        employee_id: &str,
        position_name: &str,
    ) -> StoreResult<()>;
    /// Changes an employee's manager (or removes it).
    async fn set_manager(
        &self,
        host_id: &str,
        employee_id: &str,
        manager_id: Option<&str>,
    ) -> StoreResult<()>;
}

#[async_trait]
impl ProfileStore for SqlStore {
    async fn load_profile(
        &self,
        user_id: &str,
        host_id: &str,
        day: &str,
    ) -> StoreResult<SecurityProfile> {
        let mut query = sqlx::query_as::<_, (String, Option<String>, Option<String>)>(PROFILE_SQL)
            .bind(host_id)
            .bind(user_id)
            .bind(host_id);
        // Roles, groups, positions, attributes: the same four parameters each.
        for _ in 0..4 {
            query = query.bind(host_id).bind(user_id).bind(day).bind(day);
        }
        let rows = query.fetch_all(&self.pool).await?;
        profile_from_rows(host_id, rows)
    }

    async fn assign_position(
        &self,
        host_id: &str,
        employee_id: &str,
        position_name: &str,
        start: &str,
        end: Option<&str>,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let position_id = position_id(&mut tx, host_id, position_name).await?;
        upsert_own_position(&mut tx, host_id, employee_id, &position_id, start, end).await?;
        recompute_positions(&mut tx, host_id).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn end_position(
        &self,
        host_id: &str,
        employee_id: &str,
        position_name: &str,
        end: &str,
    ) -> StoreResult<()> {
        self.edit_own_position(host_id, employee_id, position_name, Some(end))
            .await
    }

    async fn remove_position(
        &self,
        host_id: &str,
        employee_id: &str,
        position_name: &str,
    ) -> StoreResult<()> {
        self.edit_own_position(host_id, employee_id, position_name, None)
            .await
    }

    async fn set_manager(
        &self,
        host_id: &str,
        employee_id: &str,
        manager_id: Option<&str>,
    ) -> StoreResult<()> {
        if manager_id == Some(employee_id) {
            return Err(StoreError::Invalid(format!(
                "employee {employee_id} cannot be their own manager"
            )));
        }
        let mut tx = self.begin_write().await?;
        let exists: Option<(String,)> = sqlx::query_as(
            "SELECT employee_id FROM employee_t WHERE host_id = $1 AND employee_id = $2",
        )
        .bind(host_id)
        .bind(employee_id)
        .fetch_optional(&mut *tx)
        .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound("employee"));
        }
        accounts::set_manager(&mut tx, host_id, employee_id, manager_id)
            .await
            .map_err(|e| match &e {
                StoreError::Database(sqlx::Error::Database(db))
                    if db.is_foreign_key_violation() =>
                {
                    StoreError::NotFound("manager")
                }
                _ => e,
            })?;
        recompute_positions(&mut tx, host_id).await?;
        tx.commit().await?;
        Ok(())
    }
}

impl SqlStore {
    /// Ends an own position on `end`, or removes it when `end` is none, then rebuilds
    /// the host's inherited positions, in one transaction.
    async fn edit_own_position(
        &self,
        host_id: &str,
        employee_id: &str,
        position_name: &str,
        end: Option<&str>,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let position_id = position_id(&mut tx, host_id, position_name).await?;
        let query = match end {
            Some(end) => sqlx::query(
                "UPDATE employee_position_t SET end_date = $1 WHERE host_id = $2 \
                 AND employee_id = $3 AND position_id = $4 AND position_type = 'P'",
            )
            .bind(end),
            None => sqlx::query(
                "DELETE FROM employee_position_t WHERE host_id = $1 AND employee_id = $2 \
                 AND position_id = $3 AND position_type = 'P'",
            ),
        };
        let done = query
            .bind(host_id)
            .bind(employee_id)
            .bind(&position_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("position assignment"));
        }
        recompute_positions(&mut tx, host_id).await?;
        tx.commit().await?;
        Ok(())
    }
}

fn profile_from_rows(
    host_id: &str,
    rows: Vec<(String, Option<String>, Option<String>)>,
) -> StoreResult<SecurityProfile> {
    let mut profile = SecurityProfile {
        host: Some(host_id.to_owned()),
        ..SecurityProfile::default()
    };
    let mut found = false;
    let mut default_role = None;
    for (kind, name, value) in rows {
        match (kind.as_str(), name) {
            ("u", uty) => {
                found = true;
                profile.uty = uty;
                profile.uid = value;
            }
            ("d", role) => default_role = role,
            ("r", Some(n)) => profile.roles.push(n),
            ("g", Some(n)) => profile.groups.push(n),
            ("p", Some(n)) => profile.positions.push(n),
            ("a", Some(n)) => profile.attributes.push((n, value.unwrap_or_default())),
            _ => {}
        }
    }
    if !found {
        return Err(StoreError::NotFound("user in host"));
    }
    // The host's default role stands in when the user has no role in effect.
    if profile.roles.is_empty() {
        profile.roles.extend(default_role);
    }
    Ok(profile)
}

pub(crate) async fn position_id(
    conn: &mut AnyConnection,
    host_id: &str,
    name: &str,
) -> StoreResult<String> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT position_id FROM position_t WHERE host_id = $1 AND position_name = $2",
    )
    .bind(host_id)
    .bind(name)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|(id,)| id).ok_or(StoreError::NotFound("position"))
}

/// Inserts or updates an own (P) position; returns whether anything changed.
pub(crate) async fn upsert_own_position(
    conn: &mut AnyConnection,
    host_id: &str,
    employee_id: &str,
    position_id: &str,
    start: &str,
    end: Option<&str>,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "INSERT INTO employee_position_t (host_id, employee_id, position_id, position_type, \
         inherited_from, start_date, end_date) VALUES ($1, $2, $3, 'P', '', $4, $5) \
         ON CONFLICT (host_id, employee_id, position_id, position_type, inherited_from) DO UPDATE \
         SET start_date = excluded.start_date, end_date = excluded.end_date \
         WHERE employee_position_t.start_date IS DISTINCT FROM excluded.start_date \
            OR employee_position_t.end_date IS DISTINCT FROM excluded.end_date",
    )
    .bind(host_id)
    .bind(employee_id)
    .bind(position_id)
    .bind(start)
    .bind(end)
    .execute(&mut *conn)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            StoreError::NotFound("employee")
        }
        _ => StoreError::Database(e),
    })?;
    Ok(done.rows_affected() > 0)
}

/// Ends an employee's own position in effect on `today` so that `yesterday` is its
/// last day; one planned to start later, which never took effect, is deleted. Answers
/// the rows changed. The caller rebuilds the inherited positions.
pub(crate) async fn end_own_position(
    conn: &mut AnyConnection,
    host_id: &str,
    employee_id: &str,
    position_id: &str,
    today: &str,
    yesterday: &str,
) -> StoreResult<u64> {
    let ended = sqlx::query(
        "UPDATE employee_position_t SET end_date = $1 WHERE host_id = $2 AND employee_id = $3 \
         AND position_id = $4 AND position_type = 'P' AND start_date <= $5 \
         AND (end_date IS NULL OR end_date >= $6)",
    )
    .bind(yesterday)
    .bind(host_id)
    .bind(employee_id)
    .bind(position_id)
    .bind(today)
    .bind(today)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let planned = sqlx::query(
        "DELETE FROM employee_position_t WHERE host_id = $1 AND employee_id = $2 \
         AND position_id = $3 AND position_type = 'P' AND start_date > $4",
    )
    .bind(host_id)
    .bind(employee_id)
    .bind(position_id)
    .bind(today)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(ended + planned)
}

/// Rebuilds the inherited positions of a host from its own ones: a position with
/// `inherit_to_ancestor` held by an employee is also held by their manager (D); one with
/// `inherit_to_sibling` by every other employee with the same manager (S). Inheritance
/// goes one step along the reporting line, from own positions only, and each derived
/// row keeps the dates of the assignment it comes from.
pub(crate) async fn recompute_positions(
    conn: &mut AnyConnection,
    host_id: &str,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM employee_position_t WHERE host_id = $1 AND position_type <> 'P'")
        .bind(host_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO employee_position_t (host_id, employee_id, position_id, position_type, \
         inherited_from, start_date, end_date) \
         SELECT e.host_id, e.manager_id, ep.position_id, 'D', ep.employee_id, ep.start_date, ep.end_date \
           FROM employee_position_t ep \
           JOIN employee_t e ON e.host_id = ep.host_id AND e.employee_id = ep.employee_id \
           JOIN position_t p ON p.host_id = ep.host_id AND p.position_id = ep.position_id \
          WHERE ep.host_id = $1 AND ep.position_type = 'P' AND p.inherit_to_ancestor = 1 \
            AND e.manager_id IS NOT NULL",
    )
    .bind(host_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO employee_position_t (host_id, employee_id, position_id, position_type, \
         inherited_from, start_date, end_date) \
         SELECT t.host_id, t.employee_id, ep.position_id, 'S', ep.employee_id, ep.start_date, ep.end_date \
           FROM employee_position_t ep \
           JOIN employee_t e ON e.host_id = ep.host_id AND e.employee_id = ep.employee_id \
           JOIN employee_t t ON t.host_id = e.host_id AND t.manager_id = e.manager_id \
                            AND t.employee_id <> e.employee_id \
           JOIN position_t p ON p.host_id = ep.host_id AND p.position_id = ep.position_id \
          WHERE ep.host_id = $1 AND ep.position_type = 'P' AND p.inherit_to_sibling = 1",
    )
    .bind(host_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

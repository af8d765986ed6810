//! The one writer of the dated assignment tables `role_user_t`, `group_user_t` and
//! `attribute_user_t` (seed 003; issue 13, "one writer per table"): the import, the
//! directory provisioning and the management API all write them through these
//! functions, on the caller's connection (inside its transaction). An assignment is in
//! effect from `start_date` to `end_date` included; ending one sets its `end_date`,
//! so its history stays. `source` tells rows a directory gave (`directory`, replaced
//! at each sign-in) from those made in Tessera (`local`). Own positions
//! (`employee_position_t`) are written by `profile`'s position rules, which also keep
//! the inherited ones.

use sqlx::AnyConnection;

use super::policy::bump_if_changed;
use super::StoreResult;

/// A kind of assignment that names a definition of the host (a role or a group).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Assigned {
    Role,
    Group,
}

impl Assigned {
    /// (assignment table, definition table, id column, name column); constants only.
    pub(super) fn tables(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            Self::Role => ("role_user_t", "role_t", "role_id", "role_name"),
            Self::Group => ("group_user_t", "group_t", "group_id", "group_name"),
        }
    }
}

/// Where an assignment comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Source {
    Local,
    Directory,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Directory => "directory",
        }
    }
}

/// Inserts a role or group assignment starting on `start`, or sets the end of the one
/// starting that day; writes only what differs.
pub(super) async fn upsert_dated(
    conn: &mut AnyConnection,
    kind: Assigned,
    host_id: &str,
    id: &str,
    user_id: &str,
    start: &str,
    end: Option<&str>,
) -> StoreResult<u64> {
    let (assignment, _, id_col, _) = kind.tables();
    let sql = format!(
        "INSERT INTO {assignment} (host_id, {id_col}, user_id, start_date, end_date) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (host_id, {id_col}, user_id, start_date) DO UPDATE SET end_date = excluded.end_date \
         WHERE {assignment}.end_date IS DISTINCT FROM excluded.end_date"
    );
    let rows = sqlx::query(&sql)
        .bind(host_id)
        .bind(id)
        .bind(user_id)
        .bind(start)
        .bind(end)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    bump_if_changed(conn, host_id, rows).await
}

/// Inserts a new role or group assignment from `source`. A row of the same start
/// already there is left as it is for a directory (a local row of that start wins),
/// and is a unique violation for the caller to name otherwise.
pub(super) async fn insert_dated(
    conn: &mut AnyConnection,
    kind: Assigned,
    host_id: &str,
    id: &str,
    user_id: &str,
    (start, end): (&str, Option<&str>),
    source: Source,
) -> StoreResult<u64> {
    let (assignment, _, id_col, _) = kind.tables();
    let tail = if source == Source::Directory {
        " ON CONFLICT DO NOTHING"
    } else {
        ""
    };
    let sql = format!(
        "INSERT INTO {assignment} (host_id, {id_col}, user_id, start_date, end_date, source) \
         VALUES ($1, $2, $3, $4, $5, $6){tail}"
    );
    let rows = sqlx::query(&sql)
        .bind(host_id)
        .bind(id)
        .bind(user_id)
        .bind(start)
        .bind(end)
        .bind(source.as_str())
        .execute(&mut *conn)
        .await?
        .rows_affected();
    bump_if_changed(conn, host_id, rows).await
}

/// Deletes the user's role or group assignments in the host that came from `source`
/// (a directory sign-in replaces its own rows, never those made in Tessera).
pub(super) async fn delete_from_source(
    conn: &mut AnyConnection,
    kind: Assigned,
    host_id: &str,
    user_id: &str,
    source: Source,
) -> StoreResult<u64> {
    let (assignment, _, _, _) = kind.tables();
    let sql =
        format!("DELETE FROM {assignment} WHERE host_id = $1 AND user_id = $2 AND source = $3");
    let rows = sqlx::query(&sql)
        .bind(host_id)
        .bind(user_id)
        .bind(source.as_str())
        .execute(&mut *conn)
        .await?
        .rows_affected();
    bump_if_changed(conn, host_id, rows).await
}

/// Inserts an attribute value from `start`, or updates the value and end of the one
/// starting that day; writes only what differs.
pub(super) async fn upsert_attribute(
    conn: &mut AnyConnection,
    host_id: &str,
    attribute_id: &str,
    user_id: &str,
    value: &str,
    (start, end): (&str, Option<&str>),
) -> StoreResult<u64> {
    let rows = sqlx::query(
        "INSERT INTO attribute_user_t (host_id, attribute_id, user_id, attribute_value, start_date, end_date) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (host_id, attribute_id, user_id, start_date) DO UPDATE \
         SET attribute_value = excluded.attribute_value, end_date = excluded.end_date \
         WHERE attribute_user_t.attribute_value IS DISTINCT FROM excluded.attribute_value \
            OR attribute_user_t.end_date IS DISTINCT FROM excluded.end_date",
    )
    .bind(host_id)
    .bind(attribute_id)
    .bind(user_id)
    .bind(value)
    .bind(start)
    .bind(end)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    bump_if_changed(conn, host_id, rows).await
}

/// The assignment tables keyed by a definition id, for [`end_current`]: a role,
/// group or attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Table {
    Role,
    Group,
    Attribute,
}

impl Table {
    fn names(self) -> (&'static str, &'static str) {
        match self {
            Self::Role => ("role_user_t", "role_id"),
            Self::Group => ("group_user_t", "group_id"),
            Self::Attribute => ("attribute_user_t", "attribute_id"),
        }
    }
}

/// Ends the user's assignment of `id` in effect on `today`, so that `yesterday` is its
/// last day; one planned to start later, which never took effect, is deleted. Answers
/// the rows ended or deleted.
pub(super) async fn end_current(
    conn: &mut AnyConnection,
    table: Table,
    host_id: &str,
    id: &str,
    user_id: &str,
    today: &str,
    yesterday: &str,
) -> StoreResult<u64> {
    let (assignment, id_col) = table.names();
    let ended = sqlx::query(&format!(
        "UPDATE {assignment} SET end_date = $1 WHERE host_id = $2 AND {id_col} = $3 AND user_id = $4 \
         AND start_date <= $5 AND (end_date IS NULL OR end_date >= $6)"
    ))
    .bind(yesterday)
    .bind(host_id)
    .bind(id)
    .bind(user_id)
    .bind(today)
    .bind(today)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let planned = sqlx::query(&format!(
        "DELETE FROM {assignment} WHERE host_id = $1 AND {id_col} = $2 AND user_id = $3 \
         AND start_date > $4"
    ))
    .bind(host_id)
    .bind(id)
    .bind(user_id)
    .bind(today)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    bump_if_changed(conn, host_id, ended + planned).await
}

/// Whether the user has an assignment of `id` overlapping `start`..`end` (open end:
/// none), so that a new one would double it.
pub(super) async fn overlaps(
    conn: &mut AnyConnection,
    table: Table,
    host_id: &str,
    id: &str,
    user_id: &str,
    (start, end): (&str, Option<&str>),
) -> StoreResult<bool> {
    let (assignment, id_col) = table.names();
    // ISO dates compare as text; '9999-12-31' stands for an open end.
    let row: Option<(String,)> = sqlx::query_as(&format!(
        "SELECT start_date FROM {assignment} WHERE host_id = $1 AND {id_col} = $2 AND user_id = $3 \
         AND start_date <= $4 AND (end_date IS NULL OR end_date >= $5) LIMIT 1"
    ))
    .bind(host_id)
    .bind(id)
    .bind(user_id)
    .bind(end.unwrap_or("9999-12-31"))
    .bind(start)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.is_some())
}

/// Deletes every assignment and per-user permission of the user in the host (the
/// user leaves it).
pub(super) async fn remove_all(
    conn: &mut AnyConnection,
    host_id: &str,
    user_id: &str,
) -> StoreResult<()> {
    for table in [
        "role_user_t",
        "group_user_t",
        "attribute_user_t",
        "user_permission_t",
    ] {
        sqlx::query(&format!(
            "DELETE FROM {table} WHERE host_id = $1 AND user_id = $2"
        ))
        .bind(host_id)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    }
    super::policy::bump_policy(conn, host_id).await
}

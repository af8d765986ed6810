//! The rows of roles, groups, positions and attributes (seed 003's `role_t`,
//! `group_t`, `position_t`, `attribute_t`): one set of statements, the table and
//! columns chosen by [`Kind`] (constants, never input): the statements that the
//! audited changes (`definitions`) and the import share.

use sqlx::AnyConnection;

use super::{Definition, NewDefinition};
use crate::domain::catalog::{AttributeType, Kind};
use crate::store::{flag, on_unique, StoreError, StoreResult};

/// The table, id column and name column of a kind.
pub(super) fn columns(kind: Kind) -> (&'static str, &'static str, &'static str) {
    match kind {
        Kind::Role => ("role_t", "role_id", "role_name"),
        Kind::Group => ("group_t", "group_id", "group_name"),
        Kind::Position => ("position_t", "position_id", "position_name"),
        Kind::Attribute => ("attribute_t", "attribute_id", "attribute_name"),
    }
}

/// What a unique violation the checks did not foresee (a concurrent insert) means.
pub(super) fn duplicate(kind: Kind) -> &'static str {
    match kind {
        Kind::Role => "a role with this name or id",
        Kind::Group => "a group with this name or id",
        Kind::Position => "a position with this name or id",
        Kind::Attribute => "an attribute with this name or id",
    }
}

/// The select of a kind's rows, with the columns of other kinds as constants so that
/// every kind reads into one row type.
pub(super) fn select_sql(kind: Kind) -> String {
    let (table, id, name) = columns(kind);
    let extra = match kind {
        Kind::Position => "inherit_to_ancestor, inherit_to_sibling, CAST(NULL AS TEXT)",
        Kind::Attribute => "CAST(0 AS BIGINT), CAST(0 AS BIGINT), attribute_type",
        Kind::Role | Kind::Group => "CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(NULL AS TEXT)",
    };
    format!("SELECT {id}, {name}, description, {extra} FROM {table} WHERE host_id = $1")
}

pub(super) type DefinitionRow = (String, String, Option<String>, i64, i64, Option<String>);

pub(super) fn definition(kind: Kind, row: DefinitionRow) -> StoreResult<Definition> {
    let (id, name, description, ancestor, sibling, attribute_type) = row;
    let is_position = kind == Kind::Position;
    let attribute_type = match (kind, attribute_type) {
        (Kind::Attribute, Some(t)) => Some(
            AttributeType::parse(&t)
                .ok_or_else(|| StoreError::Corrupt(format!("attribute type {t:?}")))?,
        ),
        _ => None,
    };
    Ok(Definition {
        kind,
        id,
        name,
        description,
        inherit_to_ancestor: is_position.then_some(ancestor != 0),
        inherit_to_sibling: is_position.then_some(sibling != 0),
        attribute_type,
    })
}

pub(super) async fn fetch(
    conn: &mut AnyConnection,
    host_id: &str,
    kind: Kind,
    id: &str,
) -> StoreResult<Option<Definition>> {
    let (_, id_col, _) = columns(kind);
    let sql = format!("{} AND {id_col} = $2", select_sql(kind));
    let row: Option<DefinitionRow> = sqlx::query_as(&sql)
        .bind(host_id)
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.map(|r| definition(kind, r)).transpose()
}

/// The id of the definition of `kind` named `name` in the host.
pub(crate) async fn definition_id_by_name(
    conn: &mut AnyConnection,
    host_id: &str,
    kind: Kind,
    name: &str,
) -> StoreResult<Option<String>> {
    let (table, id_col, name_col) = columns(kind);
    let sql = format!("SELECT {id_col} FROM {table} WHERE host_id = $1 AND {name_col} = $2");
    let row: Option<(String,)> = sqlx::query_as(&sql)
        .bind(host_id)
        .bind(name)
        .fetch_optional(conn)
        .await?;
    Ok(row.map(|(id,)| id))
}

/// Inserts a definition, or updates the one with its id (its name when it has none)
/// when anything differs; returns the rows changed. For an import, inside its
/// transaction; not audited here (the import records its own entry).
pub(crate) async fn upsert_definition(
    conn: &mut AnyConnection,
    host_id: &str,
    d: &NewDefinition,
) -> StoreResult<u64> {
    write(conn, host_id, d, true).await
}

/// Inserts a new definition; a taken id or name is a unique violation, never an
/// update of the row that holds it (two creations racing must not merge).
pub(super) async fn insert_definition(
    conn: &mut AnyConnection,
    host_id: &str,
    d: &NewDefinition,
) -> StoreResult<()> {
    write(conn, host_id, d, false).await.map(|_| ())
}

/// The insert of a kind's columns, with the import's update of what differs when
/// `upsert`.
fn insert_sql(kind: Kind, upsert: bool) -> String {
    let (table, id_col, name_col) = columns(kind);
    let (columns, values, extra_set, extra_differs) = match kind {
        Kind::Role | Kind::Group => ("", "", String::new(), String::new()),
        Kind::Position => (
            ", inherit_to_ancestor, inherit_to_sibling",
            ", $5, $6",
            ", inherit_to_ancestor = excluded.inherit_to_ancestor, \
             inherit_to_sibling = excluded.inherit_to_sibling"
                .to_owned(),
            format!(
                " OR {table}.inherit_to_ancestor IS DISTINCT FROM excluded.inherit_to_ancestor \
                 OR {table}.inherit_to_sibling IS DISTINCT FROM excluded.inherit_to_sibling"
            ),
        ),
        Kind::Attribute => (
            ", attribute_type",
            ", $5",
            ", attribute_type = excluded.attribute_type".to_owned(),
            format!(" OR {table}.attribute_type IS DISTINCT FROM excluded.attribute_type"),
        ),
    };
    let insert = format!(
        "INSERT INTO {table} (host_id, {id_col}, {name_col}, description{columns}) \
         VALUES ($1, $2, $3, $4{values})"
    );
    if !upsert {
        return insert;
    }
    format!(
        "{insert} ON CONFLICT (host_id, {id_col}) DO UPDATE SET {name_col} = excluded.{name_col}, \
         description = excluded.description{extra_set} \
         WHERE {table}.{name_col} IS DISTINCT FROM excluded.{name_col} \
         OR {table}.description IS DISTINCT FROM excluded.description{extra_differs}"
    )
}

async fn write(
    conn: &mut AnyConnection,
    host_id: &str,
    d: &NewDefinition,
    upsert: bool,
) -> StoreResult<u64> {
    let sql = insert_sql(d.kind, upsert);
    let id = d.id.as_deref().unwrap_or(&d.name);
    let mut query = sqlx::query(&sql)
        .bind(host_id)
        .bind(id)
        .bind(d.name.as_str())
        .bind(d.description.as_deref());
    match d.kind {
        Kind::Position => {
            query = query
                .bind(flag(d.inherit_to_ancestor))
                .bind(flag(d.inherit_to_sibling));
        }
        Kind::Attribute => query = query.bind(d.attribute_type.as_str()),
        Kind::Role | Kind::Group => {}
    }
    Ok(query.execute(conn).await?.rows_affected())
}

/// Takes the row's lock (PostgreSQL; SQLite's write transactions are serialised
/// already) with a no-op update. `NotFound` when there is no such definition.
pub(super) async fn lock(
    conn: &mut AnyConnection,
    host_id: &str,
    kind: Kind,
    id: &str,
) -> StoreResult<()> {
    let (table, id_col, name_col) = columns(kind);
    let sql =
        format!("UPDATE {table} SET {name_col} = {name_col} WHERE host_id = $1 AND {id_col} = $2");
    let done = sqlx::query(&sql)
        .bind(host_id)
        .bind(id)
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(kind.as_str()));
    }
    Ok(())
}

/// How many users hold (or held: history is deleted with it) the definition.
pub(super) async fn users_of(
    conn: &mut AnyConnection,
    host_id: &str,
    kind: Kind,
    id: &str,
) -> StoreResult<i64> {
    let sql = match kind {
        Kind::Role => "SELECT COUNT(DISTINCT user_id) FROM role_user_t WHERE host_id = $1 AND role_id = $2",
        Kind::Group => "SELECT COUNT(DISTINCT user_id) FROM group_user_t WHERE host_id = $1 AND group_id = $2",
        Kind::Attribute => "SELECT COUNT(DISTINCT user_id) FROM attribute_user_t WHERE host_id = $1 AND attribute_id = $2",
        Kind::Position => "SELECT COUNT(DISTINCT employee_id) FROM employee_position_t WHERE host_id = $1 AND position_id = $2",
    };
    let (n,): (i64,) = sqlx::query_as(sql)
        .bind(host_id)
        .bind(id)
        .fetch_one(conn)
        .await?;
    Ok(n)
}

/// Writes a definition's new state (its name, description and the fields of its kind).
pub(super) async fn write_change(
    conn: &mut AnyConnection,
    host_id: &str,
    after: &Definition,
) -> StoreResult<()> {
    let (table, id_col, name_col) = columns(after.kind);
    let sql = format!(
        "UPDATE {table} SET {name_col} = $1, description = $2 WHERE host_id = $3 AND {id_col} = $4"
    );
    sqlx::query(&sql)
        .bind(after.name.as_str())
        .bind(after.description.as_deref())
        .bind(host_id)
        .bind(after.id.as_str())
        .execute(&mut *conn)
        .await
        .map_err(on_unique(duplicate(after.kind)))?;
    if let (Some(ancestor), Some(sibling)) = (after.inherit_to_ancestor, after.inherit_to_sibling) {
        sqlx::query(
            "UPDATE position_t SET inherit_to_ancestor = $1, inherit_to_sibling = $2 \
             WHERE host_id = $3 AND position_id = $4",
        )
        .bind(flag(ancestor))
        .bind(flag(sibling))
        .bind(host_id)
        .bind(after.id.as_str())
        .execute(&mut *conn)
        .await?;
    }
    if let Some(t) = after.attribute_type {
        sqlx::query(
            "UPDATE attribute_t SET attribute_type = $1 WHERE host_id = $2 AND attribute_id = $3",
        )
        .bind(t.as_str())
        .bind(host_id)
        .bind(after.id.as_str())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

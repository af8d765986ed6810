//! Roles, groups, positions and attributes of a host (seed 003): one set of statements
//! over `role_t`, `group_t`, `position_t` and `attribute_t`, the table and columns
//! chosen by [`Kind`] (constants, never input). Names are unique per host; a change
//! first takes the row's lock with a no-op update, so what it reads stays true until
//! it commits.

use async_trait::async_trait;
use serde_json::json;
use sqlx::AnyConnection;

use super::{trim_page, CatalogQuery, Definition, DefinitionChange, DefinitionPage, NewDefinition};
use crate::domain::audit::{actions, AuditContext, AuditEvent};
use crate::domain::catalog::{AttributeType, Kind};
use crate::domain::rights::{HOST_ADMIN_ROLE, MANAGER_ROLE};
use crate::domain::secret::random_id;
use crate::store::profile::recompute_positions;
use crate::store::{audit, flag, on_unique, SqlStore, StoreError, StoreResult};

#[async_trait]
pub trait DefinitionStore: Send + Sync {
    async fn list_definitions(
        &self,
        host_id: &str,
        kind: Kind,
        query: &CatalogQuery,
    ) -> StoreResult<DefinitionPage>;
    async fn find_definition(
        &self,
        host_id: &str,
        kind: Kind,
        id: &str,
    ) -> StoreResult<Option<Definition>>;
    /// Creates a definition. `Refused` (409) when its name or id is taken.
    async fn create_definition(
        &self,
        host_id: &str,
        new: &NewDefinition,
        audit: &AuditContext,
        now: i64,
    ) -> StoreResult<Definition>;
    /// Renames or changes a definition. `Refused` when the new name is taken, when a
    /// role that gives rights by its name (or the host's default role) would be
    /// renamed, or when an attribute's stored values do not fit its new type.
    async fn update_definition(
        &self,
        host_id: &str,
        kind: Kind,
        id: &str,
        change: &DefinitionChange,
        audit: &AuditContext,
        now: i64,
    ) -> StoreResult<Definition>;
    /// Deletes a definition. Assigned to users, it is `Refused` ("in use by N users")
    /// unless `force`, which deletes the assignments too (the entry records how many
    /// users lost it).
    async fn delete_definition(
        &self,
        host_id: &str,
        kind: Kind,
        id: &str,
        force: bool,
        audit: &AuditContext,
        now: i64,
    ) -> StoreResult<()>;
}

/// The table, id column and name column of a kind.
fn columns(kind: Kind) -> (&'static str, &'static str, &'static str) {
    match kind {
        Kind::Role => ("role_t", "role_id", "role_name"),
        Kind::Group => ("group_t", "group_id", "group_name"),
        Kind::Position => ("position_t", "position_id", "position_name"),
        Kind::Attribute => ("attribute_t", "attribute_id", "attribute_name"),
    }
}

/// The audit actions of a kind: created, updated, deleted.
fn kind_actions(kind: Kind) -> [&'static str; 3] {
    match kind {
        Kind::Role => [
            actions::ROLE_CREATED,
            actions::ROLE_UPDATED,
            actions::ROLE_DELETED,
        ],
        Kind::Group => [
            actions::GROUP_CREATED,
            actions::GROUP_UPDATED,
            actions::GROUP_DELETED,
        ],
        Kind::Position => [
            actions::POSITION_CREATED,
            actions::POSITION_UPDATED,
            actions::POSITION_DELETED,
        ],
        Kind::Attribute => [
            actions::ATTRIBUTE_CREATED,
            actions::ATTRIBUTE_UPDATED,
            actions::ATTRIBUTE_DELETED,
        ],
    }
}

/// What a unique violation the checks did not foresee (a concurrent insert) means.
fn duplicate(kind: Kind) -> &'static str {
    match kind {
        Kind::Role => "a role with this name or id",
        Kind::Group => "a group with this name or id",
        Kind::Position => "a position with this name or id",
        Kind::Attribute => "an attribute with this name or id",
    }
}

/// The select of a kind's rows, with the columns of other kinds as constants so that
/// every kind reads into one row type.
fn select_sql(kind: Kind) -> String {
    let (table, id, name) = columns(kind);
    let extra = match kind {
        Kind::Position => "inherit_to_ancestor, inherit_to_sibling, CAST(NULL AS TEXT)",
        Kind::Attribute => "CAST(0 AS BIGINT), CAST(0 AS BIGINT), attribute_type",
        Kind::Role | Kind::Group => "CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(NULL AS TEXT)",
    };
    format!("SELECT {id}, {name}, description, {extra} FROM {table} WHERE host_id = $1")
}

type DefinitionRow = (String, String, Option<String>, i64, i64, Option<String>);

fn definition(kind: Kind, row: DefinitionRow) -> StoreResult<Definition> {
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
    let (table, id_col, name_col) = columns(d.kind);
    let id = d.id.as_deref().unwrap_or(&d.name);
    let common = format!(
        "ON CONFLICT (host_id, {id_col}) DO UPDATE SET {name_col} = excluded.{name_col}, \
         description = excluded.description"
    );
    let differs = format!(
        "WHERE {table}.{name_col} IS DISTINCT FROM excluded.{name_col} \
         OR {table}.description IS DISTINCT FROM excluded.description"
    );
    let sql = match d.kind {
        Kind::Role | Kind::Group => format!(
            "INSERT INTO {table} (host_id, {id_col}, {name_col}, description) \
             VALUES ($1, $2, $3, $4) {common} {differs}"
        ),
        Kind::Position => format!(
            "INSERT INTO {table} (host_id, {id_col}, {name_col}, description, inherit_to_ancestor, \
             inherit_to_sibling) VALUES ($1, $2, $3, $4, $5, $6) {common}, \
             inherit_to_ancestor = excluded.inherit_to_ancestor, \
             inherit_to_sibling = excluded.inherit_to_sibling {differs} \
             OR {table}.inherit_to_ancestor IS DISTINCT FROM excluded.inherit_to_ancestor \
             OR {table}.inherit_to_sibling IS DISTINCT FROM excluded.inherit_to_sibling"
        ),
        Kind::Attribute => format!(
            "INSERT INTO {table} (host_id, {id_col}, {name_col}, description, attribute_type) \
             VALUES ($1, $2, $3, $4, $5) {common}, attribute_type = excluded.attribute_type \
             {differs} OR {table}.attribute_type IS DISTINCT FROM excluded.attribute_type"
        ),
    };
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

/// Refuses a name already used by another definition of the kind in the host.
async fn check_name_free(
    conn: &mut AnyConnection,
    host_id: &str,
    kind: Kind,
    name: &str,
    except_id: Option<&str>,
) -> StoreResult<()> {
    match definition_id_by_name(conn, host_id, kind, name).await? {
        Some(other) if Some(other.as_str()) != except_id => Err(StoreError::Refused(format!(
            "a {kind} named {name:?} already exists"
        ))),
        _ => Ok(()),
    }
}

/// Takes the row's lock (PostgreSQL; SQLite's write transactions are serialised
/// already) with a no-op update. `NotFound` when there is no such definition.
async fn lock(conn: &mut AnyConnection, host_id: &str, kind: Kind, id: &str) -> StoreResult<()> {
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

/// Refuses to rename or delete a role that gives rights by its name (`admin`,
/// `manager`: every holder would lose them at once, and the last-admin rule with them)
/// or that is the host's default role (which names it).
async fn keep_named_role(
    conn: &mut AnyConnection,
    host_id: &str,
    role: &Definition,
    what: &str,
) -> StoreResult<()> {
    if role.kind != Kind::Role {
        return Ok(());
    }
    if role.name == HOST_ADMIN_ROLE || role.name == MANAGER_ROLE {
        return Err(StoreError::Refused(format!(
            "the role {:?} gives rights by its name and cannot be {what}",
            role.name
        )));
    }
    let default: Option<(Option<String>,)> =
        sqlx::query_as("SELECT default_role FROM host_t WHERE host_id = $1")
            .bind(host_id)
            .fetch_optional(conn)
            .await?;
    if default.and_then(|(d,)| d).as_deref() == Some(role.name.as_str()) {
        return Err(StoreError::Refused(format!(
            "the role {:?} is the host's default role and cannot be {what}; choose another default role first",
            role.name
        )));
    }
    Ok(())
}

/// How many users hold (or held: history is deleted with it) the definition.
async fn users_of(
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

/// Refuses a new type for an attribute when a stored value (of a user, or of an
/// attribute permission) is not of it.
async fn check_values_fit(
    conn: &mut AnyConnection,
    host_id: &str,
    attribute: &Definition,
    new_type: AttributeType,
) -> StoreResult<()> {
    let values: Vec<(String,)> = sqlx::query_as(
        "SELECT attribute_value FROM attribute_user_t WHERE host_id = $1 AND attribute_id = $2 \
         UNION ALL \
         SELECT attribute_value FROM attribute_permission_t WHERE host_id = $3 AND attribute_id = $4",
    )
    .bind(host_id)
    .bind(attribute.id.as_str())
    .bind(host_id)
    .bind(attribute.id.as_str())
    .fetch_all(conn)
    .await?;
    let misfits: Vec<&str> = values
        .iter()
        .map(|(v,)| v.as_str())
        .filter(|v| !new_type.accepts(v))
        .collect();
    if let Some(first) = misfits.first() {
        return Err(StoreError::Refused(format!(
            "{} stored values of the attribute {:?} are not of type {new_type} (such as {first:?})",
            misfits.len(),
            attribute.name
        )));
    }
    Ok(())
}

async fn write_change(
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

/// The definition with the change applied (fields of other kinds stay none).
fn changed(before: &Definition, change: &DefinitionChange) -> Definition {
    let mut after = before.clone();
    if let Some(name) = &change.name {
        after.name.clone_from(name);
    }
    if let Some(description) = &change.description {
        after.description.clone_from(description);
    }
    if before.kind == Kind::Position {
        after.inherit_to_ancestor = change.inherit_to_ancestor.or(before.inherit_to_ancestor);
        after.inherit_to_sibling = change.inherit_to_sibling.or(before.inherit_to_sibling);
    }
    if before.kind == Kind::Attribute {
        after.attribute_type = change.attribute_type.or(before.attribute_type);
    }
    after
}

#[async_trait]
impl DefinitionStore for SqlStore {
    async fn list_definitions(
        &self,
        host_id: &str,
        kind: Kind,
        query: &CatalogQuery,
    ) -> StoreResult<DefinitionPage> {
        let (_, _, name_col) = columns(kind);
        let mut sql = select_sql(kind);
        if query.after.is_some() {
            sql.push_str(&format!(" AND {name_col} > $2"));
        }
        // One row more than asked tells whether another page follows.
        sql.push_str(&format!(
            " ORDER BY {name_col} LIMIT {}",
            i64::from(query.limit) + 1
        ));
        let mut statement = sqlx::query_as::<_, DefinitionRow>(&sql).bind(host_id);
        if let Some(after) = &query.after {
            statement = statement.bind(after.as_str());
        }
        let rows = statement.fetch_all(&self.pool).await?;
        let mut items = rows
            .into_iter()
            .map(|r| definition(kind, r))
            .collect::<StoreResult<Vec<_>>>()?;
        let more = trim_page(&mut items, query.limit);
        let next = if more {
            items.last().map(|d| d.name.clone())
        } else {
            None
        };
        Ok(DefinitionPage { items, next })
    }

    async fn find_definition(
        &self,
        host_id: &str,
        kind: Kind,
        id: &str,
    ) -> StoreResult<Option<Definition>> {
        let mut conn = self.pool.acquire().await?;
        fetch(&mut conn, host_id, kind, id).await
    }

    async fn create_definition(
        &self,
        host_id: &str,
        new: &NewDefinition,
        context: &AuditContext,
        now: i64,
    ) -> StoreResult<Definition> {
        let kind = new.kind;
        let mut tx = self.begin_write().await?;
        check_name_free(&mut tx, host_id, kind, &new.name, None).await?;
        let id = match &new.id {
            Some(id) => {
                if fetch(&mut tx, host_id, kind, id).await?.is_some() {
                    return Err(StoreError::Refused(format!(
                        "a {kind} with the id {id:?} already exists"
                    )));
                }
                id.clone()
            }
            None => random_id(),
        };
        let with_id = NewDefinition {
            id: Some(id.clone()),
            ..new.clone()
        };
        upsert_definition(&mut tx, host_id, &with_id)
            .await
            .map_err(|e| match e {
                StoreError::Database(db) => on_unique(duplicate(kind))(db),
                other => other,
            })?;
        let after = fetch(&mut tx, host_id, kind, &id)
            .await?
            .ok_or(StoreError::NotFound(kind.as_str()))?;
        let event = AuditEvent::new(kind_actions(kind)[0])
            .host(host_id)
            .target(kind.as_str(), &id)
            .after(&after);
        audit::record(&mut tx, context, &event, now).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn update_definition(
        &self,
        host_id: &str,
        kind: Kind,
        id: &str,
        change: &DefinitionChange,
        context: &AuditContext,
        now: i64,
    ) -> StoreResult<Definition> {
        let mut tx = self.begin_write().await?;
        lock(&mut tx, host_id, kind, id).await?;
        let before = fetch(&mut tx, host_id, kind, id)
            .await?
            .ok_or(StoreError::NotFound(kind.as_str()))?;
        let after = changed(&before, change);
        if after.name != before.name {
            keep_named_role(&mut tx, host_id, &before, "renamed").await?;
            check_name_free(&mut tx, host_id, kind, &after.name, Some(id)).await?;
        }
        if let Some(new_type) = after
            .attribute_type
            .filter(|t| Some(*t) != before.attribute_type)
        {
            check_values_fit(&mut tx, host_id, &before, new_type).await?;
        }
        write_change(&mut tx, host_id, &after).await?;
        // Inheritance flags decide the derived positions of the whole host.
        if kind == Kind::Position
            && (after.inherit_to_ancestor != before.inherit_to_ancestor
                || after.inherit_to_sibling != before.inherit_to_sibling)
        {
            recompute_positions(&mut tx, host_id).await?;
        }
        let event = AuditEvent::new(kind_actions(kind)[1])
            .host(host_id)
            .target(kind.as_str(), id)
            .before(&before)
            .after(&after);
        audit::record(&mut tx, context, &event, now).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn delete_definition(
        &self,
        host_id: &str,
        kind: Kind,
        id: &str,
        force: bool,
        context: &AuditContext,
        now: i64,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        lock(&mut tx, host_id, kind, id).await?;
        let before = fetch(&mut tx, host_id, kind, id)
            .await?
            .ok_or(StoreError::NotFound(kind.as_str()))?;
        keep_named_role(&mut tx, host_id, &before, "deleted").await?;
        let users = users_of(&mut tx, host_id, kind, id).await?;
        if users > 0 && !force {
            return Err(StoreError::Refused(format!(
                "the {kind} {:?} is in use by {users} users; delete it with force to remove \
                 their assignments too",
                before.name
            )));
        }
        // The assignments and permissions go with it (ON DELETE CASCADE).
        let (table, id_col, _) = columns(kind);
        sqlx::query(&format!(
            "DELETE FROM {table} WHERE host_id = $1 AND {id_col} = $2"
        ))
        .bind(host_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let event = AuditEvent::new(kind_actions(kind)[2])
            .host(host_id)
            .target(kind.as_str(), id)
            .before(&before)
            .detail(json!({ "force": force, "users": users }));
        audit::record(&mut tx, context, &event, now).await?;
        tx.commit().await?;
        Ok(())
    }
}

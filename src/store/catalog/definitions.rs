//! Roles, groups, positions and attributes of a host (seed 003): the audited changes
//! and their rules (names unique per host, roles that give rights kept, attribute
//! types that fit the stored values, definitions in use kept unless forced). A change
//! first takes the row's lock with a no-op update, so what it reads stays true until
//! it commits. The statements are in `definition_rows`.

use async_trait::async_trait;
use serde_json::json;
use sqlx::AnyConnection;

use super::definition_id_by_name;
use super::definition_rows::{
    columns, definition, duplicate, fetch, insert_definition, lock, select_sql, users_of,
    write_change, DefinitionRow,
};
use super::{trim_page, CatalogQuery, Definition, DefinitionChange, DefinitionPage, NewDefinition};
use crate::domain::audit::{actions, AuditContext, AuditEvent};
use crate::domain::catalog::{AttributeType, Kind};
use crate::domain::rights::{HOST_ADMIN_ROLE, MANAGER_ROLE};
use crate::domain::secret::random_id;
use crate::store::profile::recompute_positions;
use crate::store::{audit, on_unique, SqlStore, StoreError, StoreResult};

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
        insert_definition(&mut tx, host_id, &with_id)
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
        // Decisions read endpoints, permissions and names: every node reloads the host.
        crate::store::policy::bump_policy(&mut tx, host_id).await?;
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
        // Decisions read endpoints, permissions and names: every node reloads the host.
        crate::store::policy::bump_policy(&mut tx, host_id).await?;
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
        // Decisions read endpoints, permissions and names: every node reloads the host.
        crate::store::policy::bump_policy(&mut tx, host_id).await?;
        audit::record(&mut tx, context, &event, now).await?;
        tx.commit().await?;
        Ok(())
    }
}

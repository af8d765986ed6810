//! Who holds a permission on an API endpoint (seed 003's `role_permission_t`,
//! `group_permission_t`, `user_permission_t` with effective dates, and
//! `attribute_permission_t` with the value a user's attribute must have).

use async_trait::async_trait;
use serde_json::json;
use sqlx::AnyConnection;

use super::definition_rows::fetch;
use super::endpoints::fetch_endpoint;
use super::{trim_page, CatalogQuery, Grant, Permission, PermissionPage};
use crate::domain::audit::{actions, AuditContext, AuditEvent};
use crate::domain::catalog::{AttributeType, Holder};
use crate::store::members::member_in;
use crate::store::{audit, on_unique, SqlStore, StoreError, StoreResult};

#[async_trait]
pub trait PermissionStore: Send + Sync {
    /// A page of the permissions of a role, group, member or attribute, ordered by
    /// endpoint path, then method (`after` as for endpoints). `NotFound` when the
    /// holder is not in the host.
    async fn list_permissions(
        &self,
        host_id: &str,
        holder: Holder,
        holder_id: &str,
        query: &CatalogQuery,
    ) -> StoreResult<PermissionPage>;
    /// Grants a permission. `NotFound` for a holder or endpoint not in the host,
    /// `Refused` for one already granted, `Invalid` for an attribute value that does
    /// not fit the attribute's type.
    async fn grant_permission(
        &self,
        host_id: &str,
        holder: Holder,
        holder_id: &str,
        grant: &Grant,
        audit: &AuditContext,
        now: i64,
    ) -> StoreResult<Permission>;
    /// Takes a permission away. `NotFound` when it is not held.
    async fn revoke_permission(
        &self,
        host_id: &str,
        holder: Holder,
        holder_id: &str,
        endpoint_id: &str,
        audit: &AuditContext,
        now: i64,
    ) -> StoreResult<()>;
}

/// The table and holder column of a holder.
fn columns(holder: Holder) -> (&'static str, &'static str) {
    match holder {
        Holder::Role => ("role_permission_t", "role_id"),
        Holder::Group => ("group_permission_t", "group_id"),
        Holder::User => ("user_permission_t", "user_id"),
        Holder::Attribute => ("attribute_permission_t", "attribute_id"),
    }
}

fn select_sql(holder: Holder) -> String {
    let (table, col) = columns(holder);
    let extra = match holder {
        Holder::User => "p.start_date, p.end_date, CAST(NULL AS TEXT)",
        Holder::Attribute => "CAST(NULL AS TEXT), CAST(NULL AS TEXT), p.attribute_value",
        Holder::Role | Holder::Group => {
            "CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT)"
        }
    };
    format!(
        "SELECT p.endpoint_id, e.endpoint, e.http_method, {extra} FROM {table} p \
         JOIN api_endpoint_t e ON e.host_id = p.host_id AND e.endpoint_id = p.endpoint_id \
         WHERE p.host_id = $1 AND p.{col} = $2"
    )
}

type PermissionRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn permission(row: PermissionRow) -> Permission {
    let (endpoint_id, endpoint, http_method, start_date, end_date, value) = row;
    Permission {
        endpoint_id,
        endpoint,
        http_method,
        start_date,
        end_date,
        value,
    }
}

/// Checks that the holder is in the host; for an attribute, returns its type.
async fn check_holder(
    conn: &mut AnyConnection,
    host_id: &str,
    holder: Holder,
    holder_id: &str,
) -> StoreResult<Option<AttributeType>> {
    match holder.kind() {
        Some(kind) => fetch(conn, host_id, kind, holder_id)
            .await?
            .map(|d| d.attribute_type)
            .ok_or(StoreError::NotFound(kind.as_str())),
        // A user is a holder in the hosts they are a member of only.
        None => member_in(conn, host_id, holder_id)
            .await?
            .map(|_| None)
            .ok_or(StoreError::NotFound("user")),
    }
}

async fn fetch_permission(
    conn: &mut AnyConnection,
    host_id: &str,
    holder: Holder,
    holder_id: &str,
    endpoint_id: &str,
) -> StoreResult<Option<Permission>> {
    let sql = format!("{} AND p.endpoint_id = $3", select_sql(holder));
    let row: Option<PermissionRow> = sqlx::query_as(&sql)
        .bind(host_id)
        .bind(holder_id)
        .bind(endpoint_id)
        .fetch_optional(conn)
        .await?;
    Ok(row.map(permission))
}

async fn insert(
    conn: &mut AnyConnection,
    host_id: &str,
    holder: Holder,
    holder_id: &str,
    grant: &Grant,
) -> StoreResult<()> {
    let (table, col) = columns(holder);
    let plain = format!("INSERT INTO {table} (host_id, {col}, endpoint_id) VALUES ($1, $2, $3)");
    let query = match holder {
        Holder::Role | Holder::Group => sqlx::query(&plain)
        .bind(host_id)
        .bind(holder_id)
        .bind(grant.endpoint_id.as_str()),
        Holder::User => sqlx::query(
            "INSERT INTO user_permission_t (host_id, user_id, endpoint_id, start_date, end_date) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(host_id)
        .bind(holder_id)
        .bind(grant.endpoint_id.as_str())
        .bind(grant.start_date.as_deref().unwrap_or("1970-01-01"))
        .bind(grant.end_date.as_deref()),
        Holder::Attribute => sqlx::query(
            "INSERT INTO attribute_permission_t (host_id, attribute_id, endpoint_id, attribute_value) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(host_id)
        .bind(holder_id)
        .bind(grant.endpoint_id.as_str())
        .bind(grant.value.as_deref().unwrap_or_default()),
    };
    query
        .execute(conn)
        .await
        .map_err(on_unique("this permission"))?;
    Ok(())
}

#[async_trait]
impl PermissionStore for SqlStore {
    async fn list_permissions(
        &self,
        host_id: &str,
        holder: Holder,
        holder_id: &str,
        query: &CatalogQuery,
    ) -> StoreResult<PermissionPage> {
        let mut conn = self.pool.acquire().await?;
        check_holder(&mut conn, host_id, holder, holder_id).await?;
        let after = query
            .after
            .as_deref()
            .map(|a| a.split_once('\n').unwrap_or((a, "")));
        let mut sql = select_sql(holder);
        if after.is_some() {
            sql.push_str(" AND (e.endpoint > $3 OR (e.endpoint = $4 AND e.http_method > $5))");
        }
        // One row more than asked tells whether another page follows.
        sql.push_str(&format!(
            " ORDER BY e.endpoint, e.http_method LIMIT {}",
            i64::from(query.limit) + 1
        ));
        let mut statement = sqlx::query_as::<_, PermissionRow>(&sql)
            .bind(host_id)
            .bind(holder_id);
        if let Some((path, method)) = after {
            statement = statement.bind(path).bind(path).bind(method);
        }
        let mut permissions: Vec<Permission> = statement
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(permission)
            .collect();
        let next = if trim_page(&mut permissions, query.limit) {
            permissions
                .last()
                .map(|p| format!("{}\n{}", p.endpoint, p.http_method))
        } else {
            None
        };
        Ok(PermissionPage { permissions, next })
    }

    async fn grant_permission(
        &self,
        host_id: &str,
        holder: Holder,
        holder_id: &str,
        grant: &Grant,
        context: &AuditContext,
        now: i64,
    ) -> StoreResult<Permission> {
        let mut tx = self.begin_write().await?;
        let attribute_type = check_holder(&mut tx, host_id, holder, holder_id).await?;
        let endpoint = fetch_endpoint(&mut tx, host_id, &grant.endpoint_id)
            .await?
            .ok_or(StoreError::NotFound("endpoint"))?;
        if let (Some(t), Some(value)) = (attribute_type, &grant.value) {
            if !t.accepts(value) {
                return Err(StoreError::Invalid(format!(
                    "value: {value:?} is not of the attribute's type, {t}"
                )));
            }
        }
        if fetch_permission(&mut tx, host_id, holder, holder_id, &endpoint.id)
            .await?
            .is_some()
        {
            return Err(StoreError::Refused(format!(
                "the {} already has the permission on {} {}",
                holder.as_str(),
                endpoint.http_method,
                endpoint.endpoint
            )));
        }
        insert(&mut tx, host_id, holder, holder_id, grant).await?;
        let after = fetch_permission(&mut tx, host_id, holder, holder_id, &endpoint.id)
            .await?
            .ok_or(StoreError::NotFound("permission"))?;
        let event = AuditEvent::new(actions::PERMISSION_GRANTED)
            .host(host_id)
            .target(holder.as_str(), holder_id)
            .after(&after)
            .detail(json!({ "endpoint_id": endpoint.id }));
        // Decisions read endpoints, permissions and names: every node reloads the host.
        crate::store::policy::bump_policy(&mut tx, host_id).await?;
        audit::record(&mut tx, context, &event, now).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn revoke_permission(
        &self,
        host_id: &str,
        holder: Holder,
        holder_id: &str,
        endpoint_id: &str,
        context: &AuditContext,
        now: i64,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        check_holder(&mut tx, host_id, holder, holder_id).await?;
        let (table, col) = columns(holder);
        let before = fetch_permission(&mut tx, host_id, holder, holder_id, endpoint_id)
            .await?
            .ok_or(StoreError::NotFound("permission"))?;
        sqlx::query(&format!(
            "DELETE FROM {table} WHERE host_id = $1 AND {col} = $2 AND endpoint_id = $3"
        ))
        .bind(host_id)
        .bind(holder_id)
        .bind(endpoint_id)
        .execute(&mut *tx)
        .await?;
        let event = AuditEvent::new(actions::PERMISSION_REVOKED)
            .host(host_id)
            .target(holder.as_str(), holder_id)
            .before(&before)
            .detail(json!({ "endpoint_id": endpoint_id }));
        // Decisions read endpoints, permissions and names: every node reloads the host.
        crate::store::policy::bump_policy(&mut tx, host_id).await?;
        audit::record(&mut tx, context, &event, now).await?;
        tx.commit().await?;
        Ok(())
    }
}

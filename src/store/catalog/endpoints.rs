//! The API endpoints of a host (seed 003's `api_endpoint_t`): a service's path
//! template and HTTP method, unique together per host, which the permission tables
//! name.

use async_trait::async_trait;
use serde_json::json;
use sqlx::AnyConnection;

use super::{trim_page, CatalogQuery, Endpoint, EndpointChange, EndpointPage, NewEndpoint};
use crate::domain::audit::{actions, AuditContext, AuditEvent};
use crate::domain::secret::random_id;
use crate::store::{audit, on_unique, SqlStore, StoreError, StoreResult};

#[async_trait]
pub trait EndpointStore: Send + Sync {
    /// A page of endpoints ordered by path, then method; `after` is the previous
    /// page's last path and method joined by a newline.
    async fn list_endpoints(
        &self,
        host_id: &str,
        query: &CatalogQuery,
    ) -> StoreResult<EndpointPage>;
    async fn find_endpoint(&self, host_id: &str, id: &str) -> StoreResult<Option<Endpoint>>;
    /// Creates an endpoint; `Refused` when its path and method, or its id, are taken.
    async fn create_endpoint(
        &self,
        host_id: &str,
        new: &NewEndpoint,
        audit: &AuditContext,
        now: i64,
    ) -> StoreResult<Endpoint>;
    async fn update_endpoint(
        &self,
        host_id: &str,
        id: &str,
        change: &EndpointChange,
        audit: &AuditContext,
        now: i64,
    ) -> StoreResult<Endpoint>;
    /// Deletes an endpoint; one that permissions name is `Refused` unless `force`,
    /// which deletes them too.
    async fn delete_endpoint(
        &self,
        host_id: &str,
        id: &str,
        force: bool,
        audit: &AuditContext,
        now: i64,
    ) -> StoreResult<()>;
}

const SELECT: &str =
    "SELECT endpoint_id, endpoint, http_method, description FROM api_endpoint_t WHERE host_id = $1";

type EndpointRow = (String, String, String, Option<String>);

fn endpoint((id, endpoint, http_method, description): EndpointRow) -> Endpoint {
    Endpoint {
        id,
        endpoint,
        http_method,
        description,
    }
}

pub(super) async fn fetch_endpoint(
    conn: &mut AnyConnection,
    host_id: &str,
    id: &str,
) -> StoreResult<Option<Endpoint>> {
    let row: Option<EndpointRow> = sqlx::query_as(&format!("{SELECT} AND endpoint_id = $2"))
        .bind(host_id)
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(row.map(endpoint))
}

/// Refuses a path and method another endpoint of the host has.
async fn check_free(
    conn: &mut AnyConnection,
    host_id: &str,
    path: &str,
    method: &str,
    except_id: Option<&str>,
) -> StoreResult<()> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT endpoint_id FROM api_endpoint_t WHERE host_id = $1 AND endpoint = $2 AND http_method = $3",
    )
    .bind(host_id)
    .bind(path)
    .bind(method)
    .fetch_optional(conn)
    .await?;
    match row {
        Some((other,)) if Some(other.as_str()) != except_id => Err(StoreError::Refused(format!(
            "an endpoint {method} {path} already exists"
        ))),
        _ => Ok(()),
    }
}

/// How many permissions (of roles, groups, users and attributes) name the endpoint.
async fn permissions_of(conn: &mut AnyConnection, host_id: &str, id: &str) -> StoreResult<i64> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM role_permission_t WHERE host_id = $1 AND endpoint_id = $2) \
              + (SELECT COUNT(*) FROM group_permission_t WHERE host_id = $3 AND endpoint_id = $4) \
              + (SELECT COUNT(*) FROM user_permission_t WHERE host_id = $5 AND endpoint_id = $6) \
              + (SELECT COUNT(*) FROM attribute_permission_t WHERE host_id = $7 AND endpoint_id = $8)",
    )
    .bind(host_id)
    .bind(id)
    .bind(host_id)
    .bind(id)
    .bind(host_id)
    .bind(id)
    .bind(host_id)
    .bind(id)
    .fetch_one(conn)
    .await?;
    Ok(n)
}

/// Takes the row's lock with a no-op update; `NotFound` when there is no such endpoint.
async fn lock(conn: &mut AnyConnection, host_id: &str, id: &str) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE api_endpoint_t SET endpoint = endpoint WHERE host_id = $1 AND endpoint_id = $2",
    )
    .bind(host_id)
    .bind(id)
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound("endpoint"));
    }
    Ok(())
}

#[async_trait]
impl EndpointStore for SqlStore {
    async fn list_endpoints(
        &self,
        host_id: &str,
        query: &CatalogQuery,
    ) -> StoreResult<EndpointPage> {
        let after = query
            .after
            .as_deref()
            .map(|a| a.split_once('\n').unwrap_or((a, "")));
        let mut sql = SELECT.to_owned();
        if after.is_some() {
            sql.push_str(" AND (endpoint > $2 OR (endpoint = $3 AND http_method > $4))");
        }
        sql.push_str(&format!(
            " ORDER BY endpoint, http_method LIMIT {}",
            i64::from(query.limit) + 1
        ));
        let mut statement = sqlx::query_as::<_, EndpointRow>(&sql).bind(host_id);
        if let Some((path, method)) = after {
            statement = statement.bind(path).bind(path).bind(method);
        }
        let mut endpoints: Vec<Endpoint> = statement
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(endpoint)
            .collect();
        let more = trim_page(&mut endpoints, query.limit);
        let next = if more {
            endpoints
                .last()
                .map(|e| format!("{}\n{}", e.endpoint, e.http_method))
        } else {
            None
        };
        Ok(EndpointPage { endpoints, next })
    }

    async fn find_endpoint(&self, host_id: &str, id: &str) -> StoreResult<Option<Endpoint>> {
        let mut conn = self.pool.acquire().await?;
        fetch_endpoint(&mut conn, host_id, id).await
    }

    async fn create_endpoint(
        &self,
        host_id: &str,
        new: &NewEndpoint,
        context: &AuditContext,
        now: i64,
    ) -> StoreResult<Endpoint> {
        let mut tx = self.begin_write().await?;
        check_free(&mut tx, host_id, &new.endpoint, &new.http_method, None).await?;
        let id = match &new.id {
            Some(id) => {
                if fetch_endpoint(&mut tx, host_id, id).await?.is_some() {
                    return Err(StoreError::Refused(format!(
                        "an endpoint with the id {id:?} already exists"
                    )));
                }
                id.clone()
            }
            None => random_id(),
        };
        sqlx::query(
            "INSERT INTO api_endpoint_t (host_id, endpoint_id, endpoint, http_method, description) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(host_id)
        .bind(id.as_str())
        .bind(new.endpoint.as_str())
        .bind(new.http_method.as_str())
        .bind(new.description.as_deref())
        .execute(&mut *tx)
        .await
        .map_err(on_unique("an endpoint with this path and method or id"))?;
        let after = Endpoint {
            id: id.clone(),
            endpoint: new.endpoint.clone(),
            http_method: new.http_method.clone(),
            description: new.description.clone(),
        };
        let event = AuditEvent::new(actions::ENDPOINT_CREATED)
            .host(host_id)
            .target("endpoint", &id)
            .after(&after);
        // Decisions read endpoints, permissions and names: every node reloads the host.
        crate::store::policy::bump_policy(&mut tx, host_id).await?;
        audit::record(&mut tx, context, &event, now).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn update_endpoint(
        &self,
        host_id: &str,
        id: &str,
        change: &EndpointChange,
        context: &AuditContext,
        now: i64,
    ) -> StoreResult<Endpoint> {
        let mut tx = self.begin_write().await?;
        lock(&mut tx, host_id, id).await?;
        let before = fetch_endpoint(&mut tx, host_id, id)
            .await?
            .ok_or(StoreError::NotFound("endpoint"))?;
        let mut after = before.clone();
        if let Some(path) = &change.endpoint {
            after.endpoint.clone_from(path);
        }
        if let Some(method) = &change.http_method {
            after.http_method.clone_from(method);
        }
        if let Some(description) = &change.description {
            after.description.clone_from(description);
        }
        if (&after.endpoint, &after.http_method) != (&before.endpoint, &before.http_method) {
            check_free(
                &mut tx,
                host_id,
                &after.endpoint,
                &after.http_method,
                Some(id),
            )
            .await?;
        }
        sqlx::query(
            "UPDATE api_endpoint_t SET endpoint = $1, http_method = $2, description = $3 \
             WHERE host_id = $4 AND endpoint_id = $5",
        )
        .bind(after.endpoint.as_str())
        .bind(after.http_method.as_str())
        .bind(after.description.as_deref())
        .bind(host_id)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(on_unique("an endpoint with this path and method"))?;
        let event = AuditEvent::new(actions::ENDPOINT_UPDATED)
            .host(host_id)
            .target("endpoint", id)
            .before(&before)
            .after(&after);
        // Decisions read endpoints, permissions and names: every node reloads the host.
        crate::store::policy::bump_policy(&mut tx, host_id).await?;
        audit::record(&mut tx, context, &event, now).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn delete_endpoint(
        &self,
        host_id: &str,
        id: &str,
        force: bool,
        context: &AuditContext,
        now: i64,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        lock(&mut tx, host_id, id).await?;
        let before = fetch_endpoint(&mut tx, host_id, id)
            .await?
            .ok_or(StoreError::NotFound("endpoint"))?;
        let permissions = permissions_of(&mut tx, host_id, id).await?;
        if permissions > 0 && !force {
            return Err(StoreError::Refused(format!(
                "the endpoint {} {} is in use by {permissions} permissions; delete it with \
                 force to remove them too",
                before.http_method, before.endpoint
            )));
        }
        // Its permissions go with it (ON DELETE CASCADE).
        sqlx::query("DELETE FROM api_endpoint_t WHERE host_id = $1 AND endpoint_id = $2")
            .bind(host_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let event = AuditEvent::new(actions::ENDPOINT_DELETED)
            .host(host_id)
            .target("endpoint", id)
            .before(&before)
            .detail(json!({ "force": force, "permissions": permissions }));
        // Decisions read endpoints, permissions and names: every node reloads the host.
        crate::store::policy::bump_policy(&mut tx, host_id).await?;
        audit::record(&mut tx, context, &event, now).await?;
        tx.commit().await?;
        Ok(())
    }
}

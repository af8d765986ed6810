//! What the policy decision endpoint needs (issue 14): one host's endpoints,
//! permissions and members' assignments, read as [`PolicyRows`] for a
//! `domain::policy::PolicySnapshot`, and the hosts' policy versions (`policy_version_t`),
//! which every write to those tables bumps in its own transaction ([`bump_policy`]) so
//! that every node reloads a changed host within a second.

use async_trait::async_trait;
use sqlx::AnyConnection;

use super::{SqlStore, StoreResult};
use crate::domain::policy::{Dates, Endpoint, PolicyRows};

#[async_trait]
pub trait PolicyStore: Send + Sync {
    /// Everything a decision for `host_id` may need.
    async fn policy_rows(&self, host_id: &str) -> StoreResult<PolicyRows>;
    /// Every host's policy version (hosts never changed have none).
    async fn policy_versions(&self) -> StoreResult<Vec<(String, i64)>>;
}

/// Marks `host_id`'s policy changed, on the connection of the transaction that changes
/// it: its endpoints, their permissions, or who holds which role, group or attribute.
pub(crate) async fn bump_policy(conn: &mut AnyConnection, host_id: &str) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO policy_version_t (host_id, version) VALUES ($1, 1) \
         ON CONFLICT (host_id) DO UPDATE SET version = policy_version_t.version + 1",
    )
    .bind(host_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks changed the policy of every host `user_id` belongs to (a change of the
/// account: its lock, its deletion), before the change if it removes the memberships.
pub(crate) async fn bump_user_hosts(conn: &mut AnyConnection, user_id: &str) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO policy_version_t (host_id, version)          SELECT host_id, 1 FROM user_host_t WHERE user_id = $1          ON CONFLICT (host_id) DO UPDATE SET version = policy_version_t.version + 1",
    )
    .bind(user_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Bumps `host_id`'s policy when a write changed rows; answers the rows.
pub(crate) async fn bump_if_changed(
    conn: &mut AnyConnection,
    host_id: &str,
    rows: u64,
) -> StoreResult<u64> {
    if rows > 0 {
        bump_policy(conn, host_id).await?;
    }
    Ok(rows)
}

fn dates(start: String, end: Option<String>) -> Dates {
    Dates { start, end }
}

type Dated2 = (String, String, String, Option<String>);
type Dated3 = (String, String, String, String, Option<String>);

#[async_trait]
impl PolicyStore for SqlStore {
    async fn policy_rows(&self, host_id: &str) -> StoreResult<PolicyRows> {
        // One connection for the nine reads; each is one indexed range of the host.
        let mut conn = self.pool.acquire().await?;
        let endpoints: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT endpoint_id, endpoint, http_method FROM api_endpoint_t WHERE host_id = $1",
        )
        .bind(host_id)
        .fetch_all(&mut *conn)
        .await?;
        let role_permissions: Vec<(String, String)> = sqlx::query_as(
            "SELECT p.endpoint_id, r.role_name FROM role_permission_t p \
             JOIN role_t r ON r.host_id = p.host_id AND r.role_id = p.role_id \
             WHERE p.host_id = $1",
        )
        .bind(host_id)
        .fetch_all(&mut *conn)
        .await?;
        let group_permissions: Vec<(String, String)> = sqlx::query_as(
            "SELECT p.endpoint_id, g.group_name FROM group_permission_t p \
             JOIN group_t g ON g.host_id = p.host_id AND g.group_id = p.group_id \
             WHERE p.host_id = $1",
        )
        .bind(host_id)
        .fetch_all(&mut *conn)
        .await?;
        let attribute_permissions: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT p.endpoint_id, a.attribute_name, p.attribute_value \
             FROM attribute_permission_t p \
             JOIN attribute_t a ON a.host_id = p.host_id AND a.attribute_id = p.attribute_id \
             WHERE p.host_id = $1",
        )
        .bind(host_id)
        .fetch_all(&mut *conn)
        .await?;
        let user_permissions: Vec<Dated2> = sqlx::query_as(
            "SELECT endpoint_id, user_id, start_date, end_date FROM user_permission_t \
             WHERE host_id = $1",
        )
        .bind(host_id)
        .fetch_all(&mut *conn)
        .await?;
        let user_roles: Vec<Dated2> = sqlx::query_as(
            "SELECT ru.user_id, r.role_name, ru.start_date, ru.end_date FROM role_user_t ru \
             JOIN role_t r ON r.host_id = ru.host_id AND r.role_id = ru.role_id \
             WHERE ru.host_id = $1",
        )
        .bind(host_id)
        .fetch_all(&mut *conn)
        .await?;
        let user_groups: Vec<Dated2> = sqlx::query_as(
            "SELECT gu.user_id, g.group_name, gu.start_date, gu.end_date FROM group_user_t gu \
             JOIN group_t g ON g.host_id = gu.host_id AND g.group_id = gu.group_id \
             WHERE gu.host_id = $1",
        )
        .bind(host_id)
        .fetch_all(&mut *conn)
        .await?;
        let user_attributes: Vec<Dated3> = sqlx::query_as(
            "SELECT au.user_id, a.attribute_name, au.attribute_value, au.start_date, \
             au.end_date FROM attribute_user_t au \
             JOIN attribute_t a ON a.host_id = au.host_id AND a.attribute_id = au.attribute_id \
             WHERE au.host_id = $1",
        )
        .bind(host_id)
        .fetch_all(&mut *conn)
        .await?;
        // Active members of unlocked accounts only: a locked or deactivated user is
        // no subject of this host.
        let members: Vec<(String,)> = sqlx::query_as(
            "SELECT uh.user_id FROM user_host_t uh JOIN user_t u ON u.user_id = uh.user_id \
             WHERE uh.host_id = $1 AND uh.active = 1 AND u.locked = 0",
        )
        .bind(host_id)
        .fetch_all(&mut *conn)
        .await?;
        let default_role: Option<(Option<String>,)> =
            sqlx::query_as("SELECT default_role FROM host_t WHERE host_id = $1")
                .bind(host_id)
                .fetch_optional(&mut *conn)
                .await?;
        let mut members: Vec<String> = members.into_iter().map(|(u,)| u).collect();
        members.sort();
        let member = |u: &String| members.binary_search(u).is_ok();
        Ok(PolicyRows {
            endpoints: endpoints
                .into_iter()
                .map(|(endpoint_id, path, method)| Endpoint {
                    endpoint_id,
                    path,
                    method,
                })
                .collect(),
            role_permissions,
            group_permissions,
            attribute_permissions,
            user_permissions: user_permissions
                .into_iter()
                .map(|(e, u, s, end)| (e, u, dates(s, end)))
                .collect(),
            user_roles: user_roles
                .into_iter()
                .filter(|r| member(&r.0))
                .map(|(u, r, s, e)| (u, r, dates(s, e)))
                .collect(),
            user_groups: user_groups
                .into_iter()
                .filter(|r| member(&r.0))
                .map(|(u, g, s, e)| (u, g, dates(s, e)))
                .collect(),
            user_attributes: user_attributes
                .into_iter()
                .filter(|r| member(&r.0))
                .map(|(u, n, v, s, e)| (u, n, v, dates(s, e)))
                .collect(),
            members: members.clone(),
            default_role: default_role.and_then(|(r,)| r),
        })
    }

    async fn policy_versions(&self) -> StoreResult<Vec<(String, i64)>> {
        Ok(
            sqlx::query_as("SELECT host_id, version FROM policy_version_t")
                .fetch_all(&self.pool)
                .await?,
        )
    }
}

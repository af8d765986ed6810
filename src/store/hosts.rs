//! Hosts (tenants): `host_t`.

use async_trait::async_trait;
use sqlx::FromRow;

use super::{on_unique, SqlStore, StoreResult};

#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct Host {
    pub host_id: String,
    pub domain: String,
    pub name: String,
    pub user_type_model: String,
    pub default_role: Option<String>,
}

#[derive(Clone, Debug)]
pub struct NewHost {
    pub host_id: String,
    pub domain: String,
    pub name: String,
}

#[async_trait]
pub trait HostStore: Send + Sync {
    async fn create_host(&self, host: &NewHost, now: i64) -> StoreResult<()>;
    async fn list_hosts(&self) -> StoreResult<Vec<Host>>;
    /// A host by id or by domain.
    async fn find_host(&self, id_or_domain: &str) -> StoreResult<Option<Host>>;
}

const HOST_COLUMNS: &str = "host_id, domain, name, user_type_model, default_role";

#[async_trait]
impl HostStore for SqlStore {
    async fn create_host(&self, host: &NewHost, now: i64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO host_t (host_id, domain, name, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&host.host_id)
        .bind(&host.domain)
        .bind(&host.name)
        .bind(now)
        .execute(&self.writer)
        .await
        .map_err(on_unique("a host with this id or domain"))?;
        Ok(())
    }

    async fn list_hosts(&self) -> StoreResult<Vec<Host>> {
        let sql = format!("SELECT {HOST_COLUMNS} FROM host_t ORDER BY domain");
        Ok(sqlx::query_as(&sql).fetch_all(&self.pool).await?)
    }

    async fn find_host(&self, id_or_domain: &str) -> StoreResult<Option<Host>> {
        let sql = format!("SELECT {HOST_COLUMNS} FROM host_t WHERE host_id = $1 OR domain = $2");
        Ok(sqlx::query_as(&sql)
            .bind(id_or_domain)
            .bind(id_or_domain)
            .fetch_optional(&self.pool)
            .await?)
    }
}

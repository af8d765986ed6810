//! Hosts (tenants): `host_t`, written here only (the import's upsert included). A host's settings the
//! management API and the CLI change (issue 13) are its domain, name, user-type model,
//! default role, feature flags and the directory kept in the database, each change in
//! one transaction with its audit entry.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::Serialize;
use sqlx::{AnyConnection, FromRow};

use super::{audit, on_unique, SqlStore, StoreError, StoreResult};
use crate::domain::audit::{actions, AuditContext, AuditEvent};
use crate::domain::import::HostDoc;
use crate::domain::UserTypeModel;

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

/// Feature flags: names and whether each is on.
pub type FeatureFlags = BTreeMap<String, bool>;

/// Everything the management API shows and changes of a host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HostSettings {
    pub host_id: String,
    pub domain: String,
    pub name: String,
    pub user_type_model: String,
    pub default_role: Option<String>,
    pub feature_flags: FeatureFlags,
    /// The directory kept in the database: the JSON of a `[[directories]]` entry
    /// (`authn::directory::DirectorySettings`), whose service password is a reference.
    pub directory: Option<serde_json::Value>,
}

#[derive(FromRow)]
struct SettingsRow {
    host_id: String,
    domain: String,
    name: String,
    user_type_model: String,
    default_role: Option<String>,
    feature_flags: String,
    directory: Option<String>,
}

impl TryFrom<SettingsRow> for HostSettings {
    type Error = StoreError;

    fn try_from(r: SettingsRow) -> StoreResult<Self> {
        let corrupt = |e: serde_json::Error| StoreError::Corrupt(e.to_string());
        Ok(Self {
            feature_flags: serde_json::from_str(&r.feature_flags).map_err(corrupt)?,
            directory: r
                .directory
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(corrupt)?,
            host_id: r.host_id,
            domain: r.domain,
            name: r.name,
            user_type_model: r.user_type_model,
            default_role: r.default_role,
        })
    }
}

/// A page of hosts, by domain.
#[derive(Debug)]
pub struct HostPage {
    pub hosts: Vec<HostSettings>,
    /// The last domain of this page when more follow.
    pub next: Option<String>,
}

/// A host's directory kept in the database, as the authenticator loads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredDirectory {
    pub host_id: String,
    pub domain: String,
    pub settings: serde_json::Value,
}

#[async_trait]
pub trait HostStore: Send + Sync {
    /// Adds a host, audited as Tessera's own doing (tests).
    async fn create_host(&self, host: &NewHost, now: i64) -> StoreResult<()> {
        let settings = HostSettings {
            host_id: host.host_id.clone(),
            domain: host.domain.clone(),
            name: host.name.clone(),
            user_type_model: UserTypeModel::EmployeeCustomer.as_str().to_owned(),
            default_role: None,
            feature_flags: FeatureFlags::new(),
            directory: None,
        };
        self.register_host(&settings, &AuditContext::system(), now)
            .await
    }
    /// Adds a host with its audit entry. `Conflict` when the id or domain is taken.
    /// A new host has no roles yet, so it cannot have a default role.
    async fn register_host(
        &self,
        host: &HostSettings,
        context: &AuditContext,
        now: i64,
    ) -> StoreResult<()>;
    async fn list_hosts(&self) -> StoreResult<Vec<Host>>;
    /// A host by id or by domain.
    async fn find_host(&self, id_or_domain: &str) -> StoreResult<Option<Host>>;
    /// A host's settings by id.
    async fn host_settings(&self, host_id: &str) -> StoreResult<Option<HostSettings>>;
    /// Hosts after the domain `after`, at most `limit`.
    async fn list_host_settings(&self, after: Option<&str>, limit: u32) -> StoreResult<HostPage>;
    /// Replaces a host's settings (not its id) with `changed`'s. Refused when a member's
    /// user type is not in the new model, `Invalid` when the default role is no role of
    /// the host, `Conflict` when the domain is taken.
    async fn update_host(
        &self,
        changed: &HostSettings,
        context: &AuditContext,
        now: i64,
    ) -> StoreResult<HostSettings>;
    /// Every directory kept in the database.
    async fn stored_directories(&self) -> StoreResult<Vec<StoredDirectory>>;
}

const HOST_COLUMNS: &str = "host_id, domain, name, user_type_model, default_role";
const SETTINGS_COLUMNS: &str =
    "host_id, domain, name, user_type_model, default_role, feature_flags, directory";

fn json_text<T: Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Writes an imported host where it differs from the stored one (the import's upsert
/// by host id; flags and directory are the API's, left as they are); answers the rows
/// changed (0 or 1).
pub(super) async fn upsert(conn: &mut AnyConnection, h: &HostDoc, now: i64) -> StoreResult<u64> {
    let done = sqlx::query(
        "INSERT INTO host_t (host_id, domain, name, user_type_model, default_role, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (host_id) DO UPDATE SET domain = excluded.domain, \
         name = excluded.name, user_type_model = excluded.user_type_model, default_role = excluded.default_role \
         WHERE host_t.domain IS DISTINCT FROM excluded.domain OR host_t.name IS DISTINCT FROM excluded.name \
            OR host_t.user_type_model IS DISTINCT FROM excluded.user_type_model \
            OR host_t.default_role IS DISTINCT FROM excluded.default_role",
    )
    .bind(h.host_id.as_str())
    .bind(h.domain.as_str())
    .bind(h.name.as_str())
    .bind(h.user_types.as_str())
    .bind(h.default_role.as_deref())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

async fn settings_in(conn: &mut AnyConnection, host_id: &str) -> StoreResult<Option<HostSettings>> {
    let sql = format!("SELECT {SETTINGS_COLUMNS} FROM host_t WHERE host_id = $1");
    let row: Option<SettingsRow> = sqlx::query_as(&sql)
        .bind(host_id)
        .fetch_optional(conn)
        .await?;
    row.map(HostSettings::try_from).transpose()
}

/// Refuses a model that a member's user type is not in.
async fn check_model(conn: &mut AnyConnection, host_id: &str, model: &str) -> StoreResult<()> {
    let model = UserTypeModel::parse(model).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let types: Vec<(String,)> = sqlx::query_as(
        "SELECT DISTINCT u.user_type FROM user_host_t uh JOIN user_t u ON u.user_id = uh.user_id \
         WHERE uh.host_id = $1 AND u.user_type IS NOT NULL",
    )
    .bind(host_id)
    .fetch_all(conn)
    .await?;
    for (t,) in types {
        if model.check(&t).is_err() {
            return Err(StoreError::Refused(format!(
                "members of type {t} would not fit the user-type model {}",
                model.as_str()
            )));
        }
    }
    Ok(())
}

async fn check_default_role(
    conn: &mut AnyConnection,
    host_id: &str,
    role: Option<&str>,
) -> StoreResult<()> {
    let Some(role) = role else { return Ok(()) };
    let found: Option<(String,)> =
        sqlx::query_as("SELECT role_id FROM role_t WHERE host_id = $1 AND role_name = $2")
            .bind(host_id)
            .bind(role)
            .fetch_optional(conn)
            .await?;
    match found {
        Some(_) => Ok(()),
        None => Err(StoreError::Invalid(format!(
            "default_role: the host has no role {role:?}"
        ))),
    }
}

#[async_trait]
impl HostStore for SqlStore {
    async fn register_host(
        &self,
        h: &HostSettings,
        context: &AuditContext,
        now: i64,
    ) -> StoreResult<()> {
        UserTypeModel::parse(&h.user_type_model).map_err(|e| StoreError::Invalid(e.to_string()))?;
        if h.default_role.is_some() {
            return Err(StoreError::Invalid(
                "default_role: a new host has no roles yet; set it once the role exists".to_owned(),
            ));
        }
        let directory = h.directory.as_ref().map(json_text).transpose()?;
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO host_t (host_id, domain, name, user_type_model, feature_flags, \
             directory, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&h.host_id)
        .bind(&h.domain)
        .bind(&h.name)
        .bind(&h.user_type_model)
        .bind(json_text(&h.feature_flags)?)
        .bind(directory)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(on_unique("a host with this id or domain"))?;
        let event = AuditEvent::new(actions::HOST_CREATED)
            .host(&h.host_id)
            .target("host", &h.host_id)
            .after(h);
        audit::record(&mut tx, context, &event, now).await?;
        tx.commit().await?;
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

    async fn host_settings(&self, host_id: &str) -> StoreResult<Option<HostSettings>> {
        let mut conn = self.pool.acquire().await?;
        settings_in(&mut conn, host_id).await
    }

    async fn list_host_settings(&self, after: Option<&str>, limit: u32) -> StoreResult<HostPage> {
        let sql = format!(
            "SELECT {SETTINGS_COLUMNS} FROM host_t WHERE domain > $1 ORDER BY domain LIMIT $2"
        );
        let rows: Vec<SettingsRow> = sqlx::query_as(&sql)
            .bind(after.unwrap_or_default())
            .bind(i64::from(limit) + 1)
            .fetch_all(&self.pool)
            .await?;
        let mut hosts = rows
            .into_iter()
            .map(HostSettings::try_from)
            .collect::<StoreResult<Vec<_>>>()?;
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let next = if hosts.len() > limit {
            hosts.truncate(limit);
            hosts.last().map(|h| h.domain.clone())
        } else {
            None
        };
        Ok(HostPage { hosts, next })
    }

    async fn update_host(
        &self,
        h: &HostSettings,
        context: &AuditContext,
        now: i64,
    ) -> StoreResult<HostSettings> {
        let mut tx = self.begin_write().await?;
        super::guard::lock_host(&mut tx, &h.host_id).await?;
        let before = settings_in(&mut tx, &h.host_id)
            .await?
            .ok_or(StoreError::NotFound("host"))?;
        if h.user_type_model != before.user_type_model {
            check_model(&mut tx, &h.host_id, &h.user_type_model).await?;
        }
        // Only a new default role is checked: one set by an import stays as it is.
        if h.default_role != before.default_role {
            check_default_role(&mut tx, &h.host_id, h.default_role.as_deref()).await?;
        }
        sqlx::query(
            "UPDATE host_t SET domain = $1, name = $2, user_type_model = $3, default_role = $4, \
             feature_flags = $5, directory = $6 WHERE host_id = $7",
        )
        .bind(&h.domain)
        .bind(&h.name)
        .bind(&h.user_type_model)
        .bind(&h.default_role)
        .bind(json_text(&h.feature_flags)?)
        .bind(h.directory.as_ref().map(json_text).transpose()?)
        .bind(&h.host_id)
        .execute(&mut *tx)
        .await
        .map_err(on_unique("a host with this domain"))?;
        let after = settings_in(&mut tx, &h.host_id)
            .await?
            .ok_or(StoreError::NotFound("host"))?;
        let event = AuditEvent::new(actions::HOST_UPDATED)
            .host(&h.host_id)
            .target("host", &h.host_id)
            .before(&before)
            .after(&after);
        audit::record(&mut tx, context, &event, now).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn stored_directories(&self) -> StoreResult<Vec<StoredDirectory>> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT host_id, domain, directory FROM host_t WHERE directory IS NOT NULL",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(host_id, domain, text)| {
                Ok(StoredDirectory {
                    host_id,
                    domain,
                    settings: serde_json::from_str(&text)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                })
            })
            .collect()
    }
}

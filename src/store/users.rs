//! Users and their hosts: `user_t`, `user_host_t`.

use async_trait::async_trait;
use sqlx::FromRow;

use super::accounts::{self, UserValues};
use super::{audit, unique_as, Host, SqlStore, StoreError, StoreResult};
use crate::domain::audit::{actions, AuditContext, AuditEvent};
use crate::domain::{Contact, User, UserTypeModel};

#[derive(Clone, Debug)]
pub struct NewUser {
    pub user_id: String,
    pub email: String,
    pub username: Option<String>,
    /// An argon2id PHC string, or none for users who authenticate elsewhere.
    pub password_hash: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub user_type: Option<String>,
    pub verified: bool,
}

/// What the password check needs about a user found by login name.
#[derive(Clone, Debug)]
pub struct UserCredentials {
    pub user: User,
    pub password_hash: Option<String>,
}

#[derive(FromRow)]
pub(super) struct UserRow {
    user_id: String,
    email: String,
    username: Option<String>,
    password: Option<String>,
    language: String,
    first_name: Option<String>,
    last_name: Option<String>,
    user_type: Option<String>,
    verified: i64,
    locked: i64,
    phone_number: Option<String>,
    phone_verified: i64,
    gender: Option<String>,
    birthday: Option<String>,
    country: Option<String>,
    province: Option<String>,
    city: Option<String>,
    address: Option<String>,
    post_code: Option<String>,
}

impl UserRow {
    pub(super) fn into_credentials(self) -> UserCredentials {
        UserCredentials {
            password_hash: self.password,
            user: User {
                user_id: self.user_id,
                email: self.email,
                username: self.username,
                first_name: self.first_name,
                last_name: self.last_name,
                language: self.language,
                user_type: self.user_type,
                verified: self.verified != 0,
                locked: self.locked != 0,
                contact: Contact {
                    phone_number: self.phone_number,
                    phone_verified: self.phone_verified != 0,
                    gender: self.gender,
                    birthday: self.birthday,
                    address: self.address,
                    city: self.city,
                    province: self.province,
                    post_code: self.post_code,
                    country: self.country,
                },
            },
        }
    }
}

pub(super) const USER_COLUMNS: &str = "user_id, email, username, password, language, first_name, \
                            last_name, user_type, verified, locked, phone_number, phone_verified, \
                            gender, birthday, country, province, city, address, post_code";

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates a user and makes it a member of `host_id`, in one transaction.
    async fn create_user(&self, user: &NewUser, host_id: &str, now: i64) -> StoreResult<()>;
    /// Finds a user by email or username, case-insensitively.
    async fn find_user_by_login(&self, login: &str) -> StoreResult<Option<UserCredentials>>;
    async fn find_user(&self, user_id: &str) -> StoreResult<Option<User>>;
    async fn list_users(&self, host_id: Option<&str>) -> StoreResult<Vec<User>>;
    async fn set_password(&self, user_id: &str, password_hash: &str, now: i64) -> StoreResult<()>;
    /// The hosts a user belongs to, ordered by domain.
    async fn user_hosts(&self, user_id: &str) -> StoreResult<Vec<Host>>;
    /// Makes a user a system admin (every host's administrator), or no longer one.
    async fn set_system_admin(
        &self,
        user_id: &str,
        on: bool,
        audit: &AuditContext,
        now: i64,
    ) -> StoreResult<()>;
}

#[async_trait]
impl UserStore for SqlStore {
    async fn create_user(&self, user: &NewUser, host_id: &str, now: i64) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        check_user_type(&mut tx, host_id, user.user_type.as_deref()).await?;
        let values = UserValues {
            user_id: &user.user_id,
            email: &user.email,
            username: user.username.as_deref(),
            password_hash: user.password_hash.as_deref(),
            language: "en",
            first_name: user.first_name.as_deref(),
            last_name: user.last_name.as_deref(),
            user_type: user.user_type.as_deref(),
            verified: user.verified,
            locked: false,
        };
        accounts::insert_user(&mut tx, &values, now)
            .await
            .map_err(unique_as("a user with this email or username"))?;
        accounts::join_host(&mut tx, host_id, &user.user_id, now)
            .await
            .map_err(|e| match &e {
                StoreError::Database(sqlx::Error::Database(db))
                    if db.is_foreign_key_violation() =>
                {
                    StoreError::NotFound("host")
                }
                _ => e,
            })?;
        tx.commit().await?;
        Ok(())
    }

    async fn find_user_by_login(&self, login: &str) -> StoreResult<Option<UserCredentials>> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM user_t WHERE lower(email) = lower($1) \
             OR lower(username) = lower($2)"
        );
        let row: Option<UserRow> = sqlx::query_as(&sql)
            .bind(login)
            .bind(login)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(UserRow::into_credentials))
    }

    async fn find_user(&self, user_id: &str) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM user_t WHERE user_id = $1");
        let row: Option<UserRow> = sqlx::query_as(&sql)
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.into_credentials().user))
    }

    async fn list_users(&self, host_id: Option<&str>) -> StoreResult<Vec<User>> {
        let rows: Vec<UserRow> = match host_id {
            Some(host) => {
                let sql = format!(
                    "SELECT {USER_COLUMNS} FROM user_t WHERE user_id IN \
                     (SELECT user_id FROM user_host_t WHERE host_id = $1) ORDER BY email"
                );
                sqlx::query_as(&sql)
                    .bind(host)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                let sql = format!("SELECT {USER_COLUMNS} FROM user_t ORDER BY email");
                sqlx::query_as(&sql).fetch_all(&self.pool).await?
            }
        };
        Ok(rows
            .into_iter()
            .map(|r| r.into_credentials().user)
            .collect())
    }

    async fn set_password(&self, user_id: &str, password_hash: &str, now: i64) -> StoreResult<()> {
        let mut conn = self.writer.acquire().await?;
        let done = accounts::set_password(&mut conn, user_id, password_hash, now).await?;
        if done == 0 {
            return Err(StoreError::NotFound("user"));
        }
        Ok(())
    }

    async fn user_hosts(&self, user_id: &str) -> StoreResult<Vec<Host>> {
        Ok(sqlx::query_as(
            "SELECT h.host_id, h.domain, h.name, h.user_type_model, h.default_role \
             FROM user_host_t uh JOIN host_t h ON h.host_id = uh.host_id \
             WHERE uh.user_id = $1 AND uh.active = 1 ORDER BY h.domain",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn set_system_admin(
        &self,
        user_id: &str,
        on: bool,
        context: &AuditContext,
        now: i64,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let before: Option<(i64,)> =
            sqlx::query_as("SELECT system_admin FROM user_t WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?;
        let (before,) = before.ok_or(StoreError::NotFound("user"))?;
        accounts::set_system_admin(&mut tx, user_id, on, now).await?;
        let event = AuditEvent::new(actions::USER_SYSTEM_ADMIN_CHANGED)
            .target("user", user_id)
            .before(&serde_json::json!({ "system_admin": before != 0 }))
            .after(&serde_json::json!({ "system_admin": on }));
        audit::record(&mut tx, context, &event, now).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// A user's type must belong to the user-type model of each host they join.
pub(crate) async fn check_user_type(
    conn: &mut sqlx::AnyConnection,
    host_id: &str,
    user_type: Option<&str>,
) -> StoreResult<()> {
    let model: Option<(String,)> =
        sqlx::query_as("SELECT user_type_model FROM host_t WHERE host_id = $1")
            .bind(host_id)
            .fetch_optional(&mut *conn)
            .await?;
    let (model,) = model.ok_or(StoreError::NotFound("host"))?;
    let model = UserTypeModel::parse(&model).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    if let Some(t) = user_type {
        model
            .check(t)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
    }
    Ok(())
}

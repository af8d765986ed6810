//! Provisioning employees who signed in through their host's directory: the user, the
//! membership, the employee record with its manager, and the roles and groups the
//! directory's groups map to. Assignments from the directory carry `source =
//! 'directory'` and are replaced at each sign-in; those made in Tessera stay.

use async_trait::async_trait;
use sqlx::AnyConnection;

use super::accounts::{self, EmployeeValues, UserValues};
use super::assignment_rows::{self, Assigned, Source};
use super::profile::recompute_positions;
use super::users::check_user_type;
use super::{SqlStore, StoreError, StoreResult};
use crate::domain::import::SINCE_EVER;
use crate::domain::secret::random_id;

/// What a directory says about an employee.
#[derive(Clone, Debug, Default)]
pub struct EmployeeFacts {
    pub employee_id: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub title: Option<String>,
}

/// A sign-in's provisioning request.
#[derive(Debug)]
pub struct Provision<'a> {
    pub host_id: &'a str,
    pub employee: &'a EmployeeFacts,
    pub manager: Option<&'a EmployeeFacts>,
    pub roles: &'a [String],
    pub groups: &'a [String],
    /// Whether a customer of the host may be matched (by email) and signed in.
    pub customers_allowed: bool,
}

#[async_trait]
pub trait DirectoryStore: Send + Sync {
    /// Creates or refreshes the employee and their assignments from the directory, in one
    /// transaction; returns the user id.
    async fn provision_employee(&self, request: &Provision<'_>, now: i64) -> StoreResult<String>;
}

#[async_trait]
impl DirectoryStore for SqlStore {
    async fn provision_employee(&self, request: &Provision<'_>, now: i64) -> StoreResult<String> {
        let mut tx = self.begin_write().await?;
        let host = request.host_id;
        let manager_id = match request.manager {
            Some(m) => {
                upsert_person(&mut tx, host, m, None, request.customers_allowed, now).await?;
                Some(m.employee_id.as_str())
            }
            None => None,
        };
        let (user_id, manager_changed) = upsert_person(
            &mut tx,
            host,
            request.employee,
            Some(manager_id),
            request.customers_allowed,
            now,
        )
        .await?;
        for (kind, names) in [
            (Assigned::Role, request.roles),
            (Assigned::Group, request.groups),
        ] {
            let (_, definition, id_col, name_col) = kind.tables();
            assignment_rows::delete_from_source(&mut tx, kind, host, &user_id, Source::Directory)
                .await?;
            for name in names {
                // A mapped role or group that the host does not define yet is created.
                sqlx::query(&format!(
                    "INSERT INTO {definition} (host_id, {id_col}, {name_col}) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
                ))
                .bind(host)
                .bind(name.as_str())
                .bind(name.as_str())
                .execute(&mut *tx)
                .await?;
                let found: Option<(String,)> = sqlx::query_as(&format!(
                    "SELECT {id_col} FROM {definition} WHERE host_id = $1 AND {name_col} = $2"
                ))
                .bind(host)
                .bind(name.as_str())
                .fetch_optional(&mut *tx)
                .await?;
                if let Some((id,)) = found {
                    assignment_rows::insert_dated(
                        &mut tx,
                        kind,
                        host,
                        &id,
                        &user_id,
                        (SINCE_EVER, None),
                        Source::Directory,
                    )
                    .await?;
                }
            }
        }
        if manager_changed {
            recompute_positions(&mut tx, host).await?;
        }
        tx.commit().await?;
        Ok(user_id)
    }
}

/// Creates or refreshes one employee: `user_t`, `user_host_t`, `employee_t`. The
/// manager is set when `manager` is given (`Some(None)` clears it); returns the user id
/// and whether the manager changed.
async fn upsert_person(
    conn: &mut AnyConnection,
    host_id: &str,
    facts: &EmployeeFacts,
    manager: Option<Option<&str>>,
    customers_allowed: bool,
    now: i64,
) -> StoreResult<(String, bool)> {
    let by_employee: Option<(String,)> =
        sqlx::query_as("SELECT user_id FROM employee_t WHERE host_id = $1 AND employee_id = $2")
            .bind(host_id)
            .bind(facts.employee_id.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    // Without a mail attribute, a placeholder keeps the email column unique and never
    // reaches anyone (.invalid, RFC 2606).
    let email = facts
        .email
        .clone()
        .unwrap_or_else(|| format!("{}@{host_id}.directory.invalid", facts.employee_id));
    let user_id = match by_employee {
        Some((id,)) => id,
        None => {
            let by_email: Option<(String, Option<String>)> = sqlx::query_as(
                "SELECT user_id, user_type FROM user_t WHERE lower(email) = lower($1)",
            )
            .bind(email.as_str())
            .fetch_optional(&mut *conn)
            .await?;
            match by_email {
                Some((id, user_type)) => {
                    if user_type.as_deref() != Some("E") && !customers_allowed {
                        return Err(StoreError::Invalid(format!(
                            "{email} is a customer account; customers do not sign in through the directory"
                        )));
                    }
                    id
                }
                None => {
                    let id = random_id();
                    let values = UserValues {
                        user_id: &id,
                        email: &email,
                        username: None,
                        password_hash: None,
                        language: "en",
                        first_name: facts.first_name.as_deref(),
                        last_name: facts.last_name.as_deref(),
                        user_type: Some("E"),
                        verified: true,
                        locked: false,
                    };
                    accounts::insert_user(conn, &values, now).await?;
                    id
                }
            }
        }
    };
    // The directory is the source of truth for its employees' names and email.
    accounts::set_directory_names(
        conn,
        &user_id,
        &email,
        facts.first_name.as_deref(),
        facts.last_name.as_deref(),
        now,
    )
    .await
    .map_err(|e| match &e {
        StoreError::Database(sqlx::Error::Database(db)) if db.is_unique_violation() => {
            StoreError::Invalid(format!("{email} already belongs to another user"))
        }
        _ => e,
    })?;
    let member: Option<(String,)> =
        sqlx::query_as("SELECT user_id FROM user_host_t WHERE host_id = $1 AND user_id = $2")
            .bind(host_id)
            .bind(user_id.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    if member.is_none() {
        check_user_type(conn, host_id, Some("E")).await?;
        accounts::join_host(conn, host_id, &user_id, now).await?;
    }
    let employee = EmployeeValues {
        host_id,
        employee_id: &facts.employee_id,
        user_id: &user_id,
        title: facts.title.as_deref(),
        hire_date: None,
    };
    accounts::upsert_employee(conn, &employee, now).await?;
    let mut manager_changed = false;
    if let Some(manager_id) = manager {
        manager_changed =
            accounts::set_manager(conn, host_id, &facts.employee_id, manager_id).await? > 0;
    }
    Ok((user_id, manager_changed))
}

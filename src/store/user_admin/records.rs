//! A member's records in a host (employee, customer) as the user administration reads
//! and writes them, with the rules the API adds to the writer's: an id must be free in
//! the host, a manager must be another employee of it.

use sqlx::AnyConnection;

use super::EmployeeRecord;
use crate::store::accounts::{self, EmployeeValues};
use crate::store::{StoreError, StoreResult};

pub(in crate::store) async fn employee_of(
    conn: &mut AnyConnection,
    host_id: &str,
    user_id: &str,
) -> StoreResult<Option<EmployeeRecord>> {
    let row: Option<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT employee_id, title, manager_id FROM employee_t WHERE host_id = $1 AND user_id = $2",
    )
    .bind(host_id)
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(employee_id, title, manager_id)| EmployeeRecord {
        employee_id,
        title,
        manager_id,
    }))
}

pub(super) async fn customer_of(
    conn: &mut AnyConnection,
    host_id: &str,
    user_id: &str,
) -> StoreResult<Option<String>> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT customer_id FROM customer_t WHERE host_id = $1 AND user_id = $2")
            .bind(host_id)
            .bind(user_id)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(row.map(|(id,)| id))
}

/// A new employee record: its id must be free in the host (an upsert would take over
/// another's record), and its manager an employee of the host.
pub(super) async fn write_employee(
    conn: &mut AnyConnection,
    host_id: &str,
    user_id: &str,
    e: &EmployeeRecord,
    now: i64,
) -> StoreResult<()> {
    let taken: Option<(String,)> =
        sqlx::query_as("SELECT user_id FROM employee_t WHERE host_id = $1 AND employee_id = $2")
            .bind(host_id)
            .bind(&e.employee_id)
            .fetch_optional(&mut *conn)
            .await?;
    if taken.is_some() {
        return Err(StoreError::Conflict("an employee with this employee_id"));
    }
    let values = EmployeeValues {
        host_id,
        employee_id: &e.employee_id,
        user_id,
        title: e.title.as_deref(),
        hire_date: None,
    };
    accounts::upsert_employee(conn, &values, now).await?;
    if e.manager_id.is_some() {
        set_manager_checked(conn, host_id, &e.employee_id, e.manager_id.as_deref()).await?;
    }
    Ok(())
}

pub(super) async fn add_customer(
    conn: &mut AnyConnection,
    host_id: &str,
    customer_id: &str,
    user_id: &str,
    now: i64,
) -> StoreResult<()> {
    let taken: Option<(String,)> =
        sqlx::query_as("SELECT user_id FROM customer_t WHERE host_id = $1 AND customer_id = $2")
            .bind(host_id)
            .bind(customer_id)
            .fetch_optional(&mut *conn)
            .await?;
    if taken.is_some() {
        return Err(StoreError::Conflict("a customer with this customer_id"));
    }
    accounts::upsert_customer(conn, host_id, customer_id, user_id, now).await?;
    Ok(())
}

/// Sets a manager who must be another employee of the host, then rebuilds the
/// inherited positions (they follow the reporting line).
pub(super) async fn set_manager_checked(
    conn: &mut AnyConnection,
    host_id: &str,
    employee_id: &str,
    manager_id: Option<&str>,
) -> StoreResult<()> {
    if manager_id == Some(employee_id) {
        return Err(StoreError::Invalid(
            "manager_id: an employee cannot be their own manager".into(),
        ));
    }
    let changed = accounts::set_manager(conn, host_id, employee_id, manager_id)
        .await
        .map_err(|e| match &e {
            StoreError::Database(sqlx::Error::Database(db)) if db.is_foreign_key_violation() => {
                StoreError::Invalid("manager_id: not an employee of this host".into())
            }
            _ => e,
        })?;
    if changed > 0 {
        crate::store::profile::recompute_positions(conn, host_id).await?;
    }
    Ok(())
}

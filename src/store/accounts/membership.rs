//! The membership half of the accounts writer: `user_host_t`, `employee_t`,
//! `customer_t` (a user's standing and records in one host), and leaving a host.

use sqlx::AnyConnection;

use super::run;
use crate::store::policy::bump_if_changed;
use crate::store::{flag, StoreError, StoreResult};

/// Makes the user a member of the host, if not one already.
pub(in crate::store) async fn join_host(
    conn: &mut AnyConnection,
    host_id: &str,
    user_id: &str,
    now: i64,
) -> StoreResult<u64> {
    let rows = run(
        conn,
        sqlx::query(
            "INSERT INTO user_host_t (host_id, user_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(host_id)
        .bind(user_id)
        .bind(now),
    )
    .await?;
    bump_if_changed(conn, host_id, rows).await
}

/// Activates or deactivates a membership.
pub(in crate::store) async fn set_member_active(
    conn: &mut AnyConnection,
    host_id: &str,
    user_id: &str,
    active: bool,
) -> StoreResult<u64> {
    let rows = run(
        conn,
        sqlx::query("UPDATE user_host_t SET active = $1 WHERE host_id = $2 AND user_id = $3")
            .bind(flag(active))
            .bind(host_id)
            .bind(user_id),
    )
    .await?;
    bump_if_changed(conn, host_id, rows).await
}

/// An employee record as written.
#[derive(Clone, Copy, Debug)]
pub(in crate::store) struct EmployeeValues<'a> {
    pub host_id: &'a str,
    pub employee_id: &'a str,
    pub user_id: &'a str,
    pub title: Option<&'a str>,
    /// The hire date to write; none keeps the stored one (a directory knows none).
    pub hire_date: Option<Option<&'a str>>,
}

/// Inserts or updates an employee record, keyed by (host, employee id), writing only
/// what differs.
pub(in crate::store) async fn upsert_employee(
    conn: &mut AnyConnection,
    e: &EmployeeValues<'_>,
    now: i64,
) -> StoreResult<u64> {
    let query = match e.hire_date {
        Some(hire_date) => sqlx::query(
            "INSERT INTO employee_t (host_id, employee_id, user_id, title, hire_date, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (host_id, employee_id) DO UPDATE \
             SET user_id = excluded.user_id, title = excluded.title, hire_date = excluded.hire_date \
             WHERE employee_t.user_id IS DISTINCT FROM excluded.user_id \
                OR employee_t.title IS DISTINCT FROM excluded.title \
                OR employee_t.hire_date IS DISTINCT FROM excluded.hire_date",
        )
        .bind(e.host_id)
        .bind(e.employee_id)
        .bind(e.user_id)
        .bind(e.title)
        .bind(hire_date)
        .bind(now),
        None => sqlx::query(
            "INSERT INTO employee_t (host_id, employee_id, user_id, title, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (host_id, employee_id) DO UPDATE \
             SET user_id = excluded.user_id, title = excluded.title \
             WHERE employee_t.user_id IS DISTINCT FROM excluded.user_id \
                OR employee_t.title IS DISTINCT FROM excluded.title",
        )
        .bind(e.host_id)
        .bind(e.employee_id)
        .bind(e.user_id)
        .bind(e.title)
        .bind(now),
    };
    run(conn, query).await
}

/// Changes an employee's title where it differs.
pub(in crate::store) async fn set_title(
    conn: &mut AnyConnection,
    host_id: &str,
    employee_id: &str,
    title: Option<&str>,
) -> StoreResult<u64> {
    run(
        conn,
        sqlx::query(
            "UPDATE employee_t SET title = $1 WHERE host_id = $2 AND employee_id = $3 \
             AND title IS DISTINCT FROM $4",
        )
        .bind(title)
        .bind(host_id)
        .bind(employee_id)
        .bind(title),
    )
    .await
}

/// Points an employee at their manager (none: no manager) where it differs. A manager
/// who is not an employee of the host is a foreign-key error, for the caller to name.
pub(in crate::store) async fn set_manager(
    conn: &mut AnyConnection,
    host_id: &str,
    employee_id: &str,
    manager_id: Option<&str>,
) -> StoreResult<u64> {
    run(
        conn,
        sqlx::query(
            "UPDATE employee_t SET manager_id = $1 WHERE host_id = $2 AND employee_id = $3 \
             AND manager_id IS DISTINCT FROM $4",
        )
        .bind(manager_id)
        .bind(host_id)
        .bind(employee_id)
        .bind(manager_id),
    )
    .await
}

/// Inserts or re-points a customer record, keyed by (host, customer id).
pub(in crate::store) async fn upsert_customer(
    conn: &mut AnyConnection,
    host_id: &str,
    customer_id: &str,
    user_id: &str,
    now: i64,
) -> StoreResult<u64> {
    run(
        conn,
        sqlx::query(
            "INSERT INTO customer_t (host_id, customer_id, user_id, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (host_id, customer_id) DO UPDATE SET user_id = excluded.user_id \
             WHERE customer_t.user_id IS DISTINCT FROM excluded.user_id",
        )
        .bind(host_id)
        .bind(customer_id)
        .bind(user_id)
        .bind(now),
    )
    .await
}

/// Points a customer at the customer who referred them, where it differs.
pub(in crate::store) async fn set_referral(
    conn: &mut AnyConnection,
    host_id: &str,
    customer_id: &str,
    referral_id: Option<&str>,
) -> StoreResult<u64> {
    run(
        conn,
        sqlx::query(
            "UPDATE customer_t SET referral_id = $1 WHERE host_id = $2 AND customer_id = $3 \
             AND referral_id IS DISTINCT FROM $4",
        )
        .bind(referral_id)
        .bind(host_id)
        .bind(customer_id)
        .bind(referral_id),
    )
    .await
}

/// Refuses to remove a member whose records others point at: an employee who manages
/// others, a customer who referred others (those links have no cascade on purpose).
pub(in crate::store) async fn check_unreferenced(
    conn: &mut AnyConnection,
    host_id: &str,
    user_id: &str,
) -> StoreResult<()> {
    let (reports,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM employee_t r JOIN employee_t m \
           ON m.host_id = r.host_id AND m.employee_id = r.manager_id \
         WHERE m.host_id = $1 AND m.user_id = $2",
    )
    .bind(host_id)
    .bind(user_id)
    .fetch_one(&mut *conn)
    .await?;
    if reports > 0 {
        return Err(StoreError::Refused(format!(
            "the user manages {reports} employee(s) of the host; give them another manager first"
        )));
    }
    let (referred,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM customer_t r JOIN customer_t c \
           ON c.host_id = r.host_id AND c.customer_id = r.referral_id \
         WHERE c.host_id = $1 AND c.user_id = $2",
    )
    .bind(host_id)
    .bind(user_id)
    .fetch_one(&mut *conn)
    .await?;
    if referred > 0 {
        return Err(StoreError::Refused(format!(
            "the user referred {referred} customer(s) of the host; change their referral first"
        )));
    }
    Ok(())
}

/// Removes a user's membership of a host and the host's data about them: the
/// employee or customer record (and with it the positions) and every assignment
/// there. The account itself stays.
pub(in crate::store) async fn leave_host(
    conn: &mut AnyConnection,
    host_id: &str,
    user_id: &str,
) -> StoreResult<u64> {
    crate::store::assignment_rows::remove_all(conn, host_id, user_id).await?;
    for sql in [
        "DELETE FROM employee_t WHERE host_id = $1 AND user_id = $2",
        "DELETE FROM customer_t WHERE host_id = $1 AND user_id = $2",
        "DELETE FROM user_host_t WHERE host_id = $1 AND user_id = $2",
    ] {
        run(conn, sqlx::query(sql).bind(host_id).bind(user_id)).await?;
    }
    Ok(1)
}

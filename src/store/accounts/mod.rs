//! The one writer of the users aggregate's tables: `user_t`, `user_host_t`,
//! `employee_t`, `customer_t` (issue 13, "one writer per table"). Every write of these
//! tables — the import, directory provisioning, the CLI, the management API — goes
//! through a function here, each taking the caller's connection so that it runs inside
//! the caller's transaction beside its other writes and its audit entry. The functions
//! check no rights and record no audit entry; they answer how many rows changed, so
//! that the import can count them. Database errors come back unmapped: the caller
//! knows what a duplicate means in its context (a 409, an import entry at fault).

mod membership;

use sqlx::AnyConnection;

pub(super) use membership::{
    check_unreferenced, join_host, leave_host, set_manager, set_member_active, set_referral,
    set_title, upsert_customer, upsert_employee, EmployeeValues,
};

use super::{flag, StoreResult};
use crate::domain::Contact;

/// A user row as written whole (on creation, or by the import's update).
#[derive(Clone, Copy, Debug)]
pub(super) struct UserValues<'a> {
    pub user_id: &'a str,
    pub email: &'a str,
    pub username: Option<&'a str>,
    /// An argon2id PHC string; on update, none keeps the stored one.
    pub password_hash: Option<&'a str>,
    pub language: &'a str,
    pub first_name: Option<&'a str>,
    pub last_name: Option<&'a str>,
    pub user_type: Option<&'a str>,
    pub verified: bool,
    pub locked: bool,
}

pub(super) async fn run<'q>(
    conn: &mut AnyConnection,
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
) -> StoreResult<u64> {
    Ok(query.execute(&mut *conn).await?.rows_affected())
}

/// Inserts a user.
pub(super) async fn insert_user(
    conn: &mut AnyConnection,
    u: &UserValues<'_>,
    now: i64,
) -> StoreResult<u64> {
    run(
        conn,
        sqlx::query(
            "INSERT INTO user_t (user_id, email, username, password, language, first_name, last_name, \
             user_type, verified, locked, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(u.user_id)
        .bind(u.email)
        .bind(u.username)
        .bind(u.password_hash)
        .bind(u.language)
        .bind(u.first_name)
        .bind(u.last_name)
        .bind(u.user_type)
        .bind(flag(u.verified))
        .bind(flag(u.locked))
        .bind(now)
        .bind(now),
    )
    .await
}

/// Rewrites a user's row from `u` (the email aside, which identifies it), keeping the
/// password when `u` gives none; writes only when something differs.
pub(super) async fn replace_user(
    conn: &mut AnyConnection,
    u: &UserValues<'_>,
    now: i64,
) -> StoreResult<u64> {
    run(
        conn,
        sqlx::query(
            "UPDATE user_t SET username = $1, language = $2, first_name = $3, last_name = $4, user_type = $5, \
             verified = $6, locked = $7, password = COALESCE($8, password), updated_at = $9 \
             WHERE user_id = $10 AND (username IS DISTINCT FROM $11 OR language IS DISTINCT FROM $12 \
             OR first_name IS DISTINCT FROM $13 OR last_name IS DISTINCT FROM $14 \
             OR user_type IS DISTINCT FROM $15 OR verified IS DISTINCT FROM $16 OR locked IS DISTINCT FROM $17 \
             OR ($18 IS NOT NULL AND password IS DISTINCT FROM $19))",
        )
        .bind(u.username)
        .bind(u.language)
        .bind(u.first_name)
        .bind(u.last_name)
        .bind(u.user_type)
        .bind(flag(u.verified))
        .bind(flag(u.locked))
        .bind(u.password_hash)
        .bind(now)
        .bind(u.user_id)
        .bind(u.username)
        .bind(u.language)
        .bind(u.first_name)
        .bind(u.last_name)
        .bind(u.user_type)
        .bind(flag(u.verified))
        .bind(flag(u.locked))
        .bind(u.password_hash)
        .bind(u.password_hash),
    )
    .await
}

/// A change of a user's profile; a field left none is kept. `Some(None)` clears an
/// optional field.
#[derive(Clone, Debug, Default)]
pub(super) struct ProfileChange<'a> {
    pub email: Option<&'a str>,
    pub username: Option<Option<&'a str>>,
    pub first_name: Option<Option<&'a str>>,
    pub last_name: Option<Option<&'a str>>,
    pub language: Option<&'a str>,
}

/// Writes the fields `change` gives, where they differ from the stored ones.
pub(super) async fn update_profile(
    conn: &mut AnyConnection,
    user_id: &str,
    change: &ProfileChange<'_>,
    now: i64,
) -> StoreResult<u64> {
    // A CASE per optional field: `$k = 1` says the field is given (and may be null).
    let given = |o: bool| flag(o);
    run(
        conn,
        sqlx::query(
            "UPDATE user_t SET email = COALESCE($1, email), \
             username = CASE WHEN $2 = 1 THEN $3 ELSE username END, \
             first_name = CASE WHEN $4 = 1 THEN $5 ELSE first_name END, \
             last_name = CASE WHEN $6 = 1 THEN $7 ELSE last_name END, \
             language = COALESCE($8, language), updated_at = $9 WHERE user_id = $10",
        )
        .bind(change.email)
        .bind(given(change.username.is_some()))
        .bind(change.username.flatten())
        .bind(given(change.first_name.is_some()))
        .bind(change.first_name.flatten())
        .bind(given(change.last_name.is_some()))
        .bind(change.last_name.flatten())
        .bind(change.language)
        .bind(now)
        .bind(user_id),
    )
    .await
}

/// Sets the email and names a directory gives, where they differ.
pub(super) async fn set_directory_names(
    conn: &mut AnyConnection,
    user_id: &str,
    email: &str,
    first_name: Option<&str>,
    last_name: Option<&str>,
    now: i64,
) -> StoreResult<u64> {
    run(
        conn,
        sqlx::query(
            "UPDATE user_t SET email = $1, first_name = $2, last_name = $3, updated_at = $4 WHERE user_id = $5 \
             AND (email IS DISTINCT FROM $6 OR first_name IS DISTINCT FROM $7 OR last_name IS DISTINCT FROM $8)",
        )
        .bind(email)
        .bind(first_name)
        .bind(last_name)
        .bind(now)
        .bind(user_id)
        .bind(email)
        .bind(first_name)
        .bind(last_name),
    )
    .await
}

/// Writes a user's contact facts where they differ; answers the rows changed (0 or 1).
pub(super) async fn write_contact(
    conn: &mut AnyConnection,
    user_id: &str,
    c: &Contact,
    now: i64,
) -> StoreResult<u64> {
    let fields = [
        c.phone_number.as_deref(),
        c.gender.as_deref(),
        c.birthday.as_deref(),
        c.country.as_deref(),
        c.province.as_deref(),
        c.city.as_deref(),
        c.address.as_deref(),
        c.post_code.as_deref(),
    ];
    let mut query = sqlx::query(
        "UPDATE user_t SET phone_number = $1, gender = $2, birthday = $3, country = $4, \
         province = $5, city = $6, address = $7, post_code = $8, phone_verified = $9, \
         updated_at = $10 WHERE user_id = $11 AND (phone_number IS DISTINCT FROM $12 \
         OR gender IS DISTINCT FROM $13 OR birthday IS DISTINCT FROM $14 \
         OR country IS DISTINCT FROM $15 OR province IS DISTINCT FROM $16 \
         OR city IS DISTINCT FROM $17 OR address IS DISTINCT FROM $18 \
         OR post_code IS DISTINCT FROM $19 OR phone_verified IS DISTINCT FROM $20)",
    );
    for field in fields {
        query = query.bind(field);
    }
    query = query.bind(flag(c.phone_verified)).bind(now).bind(user_id);
    for field in fields {
        query = query.bind(field);
    }
    run(conn, query.bind(flag(c.phone_verified))).await
}

/// Sets the system-admin flag where it differs.
pub(super) async fn set_system_admin(
    conn: &mut AnyConnection,
    user_id: &str,
    on: bool,
    now: i64,
) -> StoreResult<u64> {
    run(
        conn,
        sqlx::query(
            "UPDATE user_t SET system_admin = $1, updated_at = $2 \
             WHERE user_id = $3 AND system_admin <> $4",
        )
        .bind(flag(on))
        .bind(now)
        .bind(user_id)
        .bind(flag(on)),
    )
    .await
}

pub(super) async fn set_password(
    conn: &mut AnyConnection,
    user_id: &str,
    password_hash: &str,
    now: i64,
) -> StoreResult<u64> {
    run(
        conn,
        sqlx::query("UPDATE user_t SET password = $1, updated_at = $2 WHERE user_id = $3")
            .bind(password_hash)
            .bind(now)
            .bind(user_id),
    )
    .await
}

/// Sets the account's lock and verification flags; none keeps a flag.
pub(super) async fn set_account_flags(
    conn: &mut AnyConnection,
    user_id: &str,
    locked: Option<bool>,
    verified: Option<bool>,
    now: i64,
) -> StoreResult<u64> {
    if locked.is_some() {
        // A lock takes the user out of every host's subjects.
        crate::store::policy::bump_user_hosts(conn, user_id).await?;
    }
    // COALESCE keeps a flag the change leaves out.
    run(
        conn,
        sqlx::query(
            "UPDATE user_t SET locked = COALESCE($1, locked), verified = COALESCE($2, verified), \
             updated_at = $3 WHERE user_id = $4",
        )
        .bind(locked.map(flag))
        .bind(verified.map(flag))
        .bind(now)
        .bind(user_id),
    )
    .await
}

/// Deletes an account; memberships, records and assignments go with it (cascades).
pub(super) async fn delete_user(conn: &mut AnyConnection, user_id: &str) -> StoreResult<u64> {
    // Before the memberships go: the hosts they name are the ones to reload.
    crate::store::policy::bump_user_hosts(conn, user_id).await?;
    run(
        conn,
        sqlx::query("DELETE FROM user_t WHERE user_id = $1").bind(user_id),
    )
    .await
}

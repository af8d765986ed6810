//! Writes an import document (`domain::import`) in one transaction: everything or
//! nothing. Upserts are keyed by natural keys (host id, role/group/position/attribute
//! id, user email, assignment keys) and only write what differs, so importing the same
//! document twice changes nothing the second time. Import adds and updates; it never
//! deletes what the document leaves out.

use std::collections::{BTreeSet, HashMap};

use sqlx::AnyConnection;

use super::profile::{position_id, recompute_positions, upsert_own_position};
use super::users::{check_user_type, write_contact};
use super::{flag, SqlStore, StoreError, StoreResult};
use crate::domain::import::{ClientDoc, Document, HostDoc, MembershipDoc, UserDoc};
use crate::domain::secret::random_id;

/// How many rows the import inserted or changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ImportReport {
    pub changed: u64,
}

/// Puts the entry's name in front of an error.
fn at(entry: &str) -> impl Fn(StoreError) -> StoreError + '_ {
    move |e| match e {
        StoreError::Database(sqlx::Error::Database(db)) if db.is_unique_violation() => {
            StoreError::Invalid(format!(
                "{entry}: conflicts with an existing row ({})",
                db.message()
            ))
        }
        StoreError::Database(sqlx::Error::Database(db)) if db.is_foreign_key_violation() => {
            StoreError::Invalid(format!(
                "{entry}: refers to something that does not exist ({})",
                db.message()
            ))
        }
        StoreError::NotFound(what) => StoreError::Invalid(format!("{entry}: {what} not found")),
        StoreError::Invalid(m) => StoreError::Invalid(format!("{entry}: {m}")),
        other => other,
    }
}

async fn run<'q>(
    conn: &mut AnyConnection,
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
) -> StoreResult<u64> {
    Ok(query.execute(&mut *conn).await?.rows_affected())
}

impl SqlStore {
    /// Imports `doc`; `password_hashes` maps a user's email (lower case) to the argon2
    /// hash to store for them.
    ///
    /// # Errors
    /// `Invalid` naming the entry at fault; the database is then unchanged.
    pub async fn import(
        &self,
        doc: &Document,
        password_hashes: &HashMap<String, String>,
        now: i64,
    ) -> StoreResult<ImportReport> {
        let mut tx = self.begin_write().await?;
        let mut changed = 0;
        let mut recompute = BTreeSet::new();
        for (i, host) in doc.hosts.iter().enumerate() {
            let entry = format!("hosts[{i}] ({})", host.domain);
            let (n, positions_changed) =
                import_host(&mut tx, host, now).await.map_err(at(&entry))?;
            changed += n;
            if positions_changed {
                recompute.insert(host.host_id.clone());
            }
        }
        let mut links = Vec::new();
        for (i, user) in doc.users.iter().enumerate() {
            let entry = format!("users[{i}] ({})", user.email);
            let hash = password_hashes
                .get(&user.email.to_lowercase())
                .map(String::as_str);
            let user_id = import_user(&mut tx, user, hash, now, &mut changed)
                .await
                .map_err(at(&entry))?;
            for (j, m) in user.hosts.iter().enumerate() {
                let entry = format!("{entry}.hosts[{j}] ({})", m.host);
                let host_id = host_id(&mut tx, &m.host).await.map_err(at(&entry))?;
                let n = import_membership(&mut tx, &user_id, user, &host_id, m, now)
                    .await
                    .map_err(at(&entry))?;
                if n > 0 && (m.employee.is_some() || !m.positions.is_empty()) {
                    recompute.insert(host_id.clone());
                }
                changed += n;
                links.push((entry, host_id, m));
            }
        }
        // Managers and referrals once every employee and customer exists.
        for (entry, host_id, m) in &links {
            if let Some(e) = &m.employee {
                let target = e.manager_id.as_deref();
                let sql = "UPDATE employee_t SET manager_id = $1 WHERE host_id = $2 AND employee_id = $3 \
                           AND manager_id IS DISTINCT FROM $4";
                let missing = || {
                    format!(
                        "manager {:?} is not an employee of this host",
                        target.unwrap_or_default()
                    )
                };
                if link(
                    &mut tx,
                    entry,
                    sql,
                    host_id,
                    &e.employee_id,
                    target,
                    missing,
                )
                .await?
                {
                    recompute.insert(host_id.clone());
                    changed += 1;
                }
            }
            if let Some(c) = &m.customer {
                let target = c.referral_id.as_deref();
                let sql = "UPDATE customer_t SET referral_id = $1 WHERE host_id = $2 AND customer_id = $3 \
                           AND referral_id IS DISTINCT FROM $4";
                let missing = || {
                    format!(
                        "referral {:?} is not a customer of this host",
                        target.unwrap_or_default()
                    )
                };
                if link(
                    &mut tx,
                    entry,
                    sql,
                    host_id,
                    &c.customer_id,
                    target,
                    missing,
                )
                .await?
                {
                    changed += 1;
                }
            }
        }
        for (i, c) in doc.clients.iter().enumerate() {
            let entry = format!("clients[{i}] ({})", c.client_id);
            changed += import_client(&mut tx, c, now).await.map_err(at(&entry))?;
        }
        for host_id in &recompute {
            recompute_positions(&mut tx, host_id).await?;
        }
        tx.commit().await?;
        Ok(ImportReport { changed })
    }
}

/// Points a record at another of the same host (an employee at their manager, a
/// customer at their referrer) with `sql`; returns whether it changed. A target that
/// does not exist is an error naming the entry.
async fn link(
    conn: &mut AnyConnection,
    entry: &str,
    sql: &'static str,
    host_id: &str,
    key: &str,
    target: Option<&str>,
    missing: impl FnOnce() -> String,
) -> StoreResult<bool> {
    let query = sqlx::query(sql)
        .bind(target)
        .bind(host_id)
        .bind(key)
        .bind(target);
    match run(conn, query).await {
        Ok(n) => Ok(n > 0),
        Err(StoreError::Database(sqlx::Error::Database(db))) if db.is_foreign_key_violation() => {
            Err(StoreError::Invalid(format!("{entry}: {}", missing())))
        }
        Err(other) => Err(at(entry)(other)),
    }
}

/// Upserts a host and its definitions; returns the rows changed and whether positions
/// changed (their inheritance flags decide derived rows).
async fn import_host(conn: &mut AnyConnection, h: &HostDoc, now: i64) -> StoreResult<(u64, bool)> {
    let mut changed = super::hosts::upsert(conn, h, now).await?;
    for (table, id_col, name_col, list) in [
        ("role_t", "role_id", "role_name", &h.roles),
        ("group_t", "group_id", "group_name", &h.groups),
    ] {
        let sql = format!(
            "INSERT INTO {table} (host_id, {id_col}, {name_col}, description) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (host_id, {id_col}) DO UPDATE SET {name_col} = excluded.{name_col}, \
             description = excluded.description WHERE {table}.{name_col} IS DISTINCT FROM excluded.{name_col} \
             OR {table}.description IS DISTINCT FROM excluded.description"
        );
        for item in list {
            let id = item.id.as_deref().unwrap_or(&item.name);
            changed += run(
                conn,
                sqlx::query(&sql)
                    .bind(h.host_id.as_str())
                    .bind(id)
                    .bind(item.name.as_str())
                    .bind(item.description.as_deref()),
            )
            .await
            .map_err(|e| StoreError::Invalid(format!("{table} {:?}: {e}", item.name)))?;
        }
    }
    let mut positions_changed = false;
    for p in &h.positions {
        let n = run(
            conn,
            sqlx::query(
                "INSERT INTO position_t (host_id, position_id, position_name, description, inherit_to_ancestor, \
                 inherit_to_sibling) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (host_id, position_id) DO UPDATE \
                 SET position_name = excluded.position_name, description = excluded.description, \
                 inherit_to_ancestor = excluded.inherit_to_ancestor, inherit_to_sibling = excluded.inherit_to_sibling \
                 WHERE position_t.position_name IS DISTINCT FROM excluded.position_name \
                    OR position_t.description IS DISTINCT FROM excluded.description \
                    OR position_t.inherit_to_ancestor IS DISTINCT FROM excluded.inherit_to_ancestor \
                    OR position_t.inherit_to_sibling IS DISTINCT FROM excluded.inherit_to_sibling",
            )
            .bind(h.host_id.as_str())
            .bind(p.id.as_deref().unwrap_or(&p.name))
            .bind(p.name.as_str())
            .bind(p.description.as_deref())
            .bind(flag(p.inherit_to_ancestor))
            .bind(flag(p.inherit_to_sibling)),
        )
        .await?;
        positions_changed |= n > 0;
        changed += n;
    }
    for a in &h.attributes {
        changed += run(
            conn,
            sqlx::query(
                "INSERT INTO attribute_t (host_id, attribute_id, attribute_name, attribute_type, description) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (host_id, attribute_id) DO UPDATE \
                 SET attribute_name = excluded.attribute_name, attribute_type = excluded.attribute_type, \
                 description = excluded.description \
                 WHERE attribute_t.attribute_name IS DISTINCT FROM excluded.attribute_name \
                    OR attribute_t.attribute_type IS DISTINCT FROM excluded.attribute_type \
                    OR attribute_t.description IS DISTINCT FROM excluded.description",
            )
            .bind(h.host_id.as_str())
            .bind(a.id.as_deref().unwrap_or(&a.name))
            .bind(a.name.as_str())
            .bind(a.attribute_type.as_str())
            .bind(a.description.as_deref()),
        )
        .await?;
    }
    Ok((changed, positions_changed))
}

/// Inserts or updates a user found by email; returns their id.
async fn import_user(
    conn: &mut AnyConnection,
    u: &UserDoc,
    password_hash: Option<&str>,
    now: i64,
    changed: &mut u64,
) -> StoreResult<String> {
    let existing: Option<(String,)> =
        sqlx::query_as("SELECT user_id FROM user_t WHERE lower(email) = lower($1)")
            .bind(u.email.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    let user_id = match (&existing, &u.user_id) {
        (Some((found,)), Some(given)) if found != given => {
            return Err(StoreError::Invalid(format!(
                "the email belongs to user {found}, not {given}"
            )));
        }
        (Some((found,)), _) => found.clone(),
        (None, Some(given)) => given.clone(),
        (None, None) => random_id(),
    };
    let language = u.language.as_deref().unwrap_or("en");
    if existing.is_none() {
        *changed += run(
            conn,
            sqlx::query(
                "INSERT INTO user_t (user_id, email, username, password, language, first_name, last_name, \
                 user_type, verified, locked, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(user_id.as_str())
            .bind(u.email.as_str())
            .bind(u.username.as_deref())
            .bind(password_hash)
            .bind(language)
            .bind(u.first_name.as_deref())
            .bind(u.last_name.as_deref())
            .bind(u.user_type.as_str())
            .bind(flag(u.verified))
            .bind(flag(u.locked))
            .bind(now)
            .bind(now),
        )
        .await?;
        // Counted with the insert: the row is new either way.
        write_contact(conn, &user_id, &u.contact(), now).await?;
        import_system_admin(conn, &user_id, u.system_admin, now).await?;
        return Ok(user_id);
    }
    *changed += run(
        conn,
        sqlx::query(
            "UPDATE user_t SET username = $1, language = $2, first_name = $3, last_name = $4, user_type = $5, \
             verified = $6, locked = $7, password = COALESCE($8, password), updated_at = $9 \
             WHERE user_id = $10 AND (username IS DISTINCT FROM $11 OR language IS DISTINCT FROM $12 \
             OR first_name IS DISTINCT FROM $13 OR last_name IS DISTINCT FROM $14 \
             OR user_type IS DISTINCT FROM $15 OR verified IS DISTINCT FROM $16 OR locked IS DISTINCT FROM $17 \
             OR ($18 IS NOT NULL AND password IS DISTINCT FROM $19))",
        )
        .bind(u.username.as_deref())
        .bind(language)
        .bind(u.first_name.as_deref())
        .bind(u.last_name.as_deref())
        .bind(u.user_type.as_str())
        .bind(flag(u.verified))
        .bind(flag(u.locked))
        .bind(password_hash)
        .bind(now)
        .bind(user_id.as_str())
        .bind(u.username.as_deref())
        .bind(language)
        .bind(u.first_name.as_deref())
        .bind(u.last_name.as_deref())
        .bind(u.user_type.as_str())
        .bind(flag(u.verified))
        .bind(flag(u.locked))
        .bind(password_hash)
        .bind(password_hash),
    )
    .await?;
    *changed += write_contact(conn, &user_id, &u.contact(), now).await?;
    *changed += import_system_admin(conn, &user_id, u.system_admin, now).await?;
    Ok(user_id)
}

/// Sets the system-admin flag when the document gives it. A document that leaves it
/// out keeps the stored flag, as for everything an import leaves out; so re-importing
/// a host's document never demotes the system's administrators.
async fn import_system_admin(
    conn: &mut AnyConnection,
    user_id: &str,
    system_admin: Option<bool>,
    now: i64,
) -> StoreResult<u64> {
    let Some(on) = system_admin else {
        return Ok(0);
    };
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

async fn import_client(conn: &mut AnyConnection, c: &ClientDoc, now: i64) -> StoreResult<u64> {
    let host = match &c.host {
        Some(h) => Some(host_id(conn, h).await?),
        None => None,
    };
    let client = c.to_client(host).map_err(StoreError::Invalid)?;
    super::clients::upsert(conn, &client, now).await
}

async fn host_id(conn: &mut AnyConnection, id_or_domain: &str) -> StoreResult<String> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT host_id FROM host_t WHERE host_id = $1 OR domain = $2")
            .bind(id_or_domain)
            .bind(id_or_domain)
            .fetch_optional(&mut *conn)
            .await?;
    row.map(|(h,)| h).ok_or(StoreError::NotFound("host"))
}

async fn id_by_name(
    conn: &mut AnyConnection,
    table: &str,
    host_id: &str,
    name: &str,
) -> StoreResult<String> {
    let (id_col, name_col) = match table {
        "role_t" => ("role_id", "role_name"),
        "group_t" => ("group_id", "group_name"),
        _ => ("attribute_id", "attribute_name"),
    };
    let sql = format!("SELECT {id_col} FROM {table} WHERE host_id = $1 AND {name_col} = $2");
    let row: Option<(String,)> = sqlx::query_as(&sql)
        .bind(host_id)
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?;
    let kind = table.trim_end_matches("_t");
    row.map(|(id,)| id)
        .ok_or_else(|| StoreError::Invalid(format!("{kind} {name:?} is not defined in this host")))
}

async fn import_membership(
    conn: &mut AnyConnection,
    user_id: &str,
    u: &UserDoc,
    host_id: &str,
    m: &MembershipDoc,
    now: i64,
) -> StoreResult<u64> {
    check_user_type(conn, host_id, Some(&u.user_type)).await?;
    let mut changed = run(
        conn,
        sqlx::query("INSERT INTO user_host_t (host_id, user_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(host_id)
            .bind(user_id)
            .bind(now),
    )
    .await?;
    if let Some(e) = &m.employee {
        changed += run(
            conn,
            sqlx::query(
                "INSERT INTO employee_t (host_id, employee_id, user_id, title, hire_date, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (host_id, employee_id) DO UPDATE \
                 SET user_id = excluded.user_id, title = excluded.title, hire_date = excluded.hire_date \
                 WHERE employee_t.user_id IS DISTINCT FROM excluded.user_id \
                    OR employee_t.title IS DISTINCT FROM excluded.title \
                    OR employee_t.hire_date IS DISTINCT FROM excluded.hire_date",
            )
            .bind(host_id)
            .bind(e.employee_id.as_str())
            .bind(user_id)
            .bind(e.title.as_deref())
            .bind(e.hire_date.as_deref())
            .bind(now),
        )
        .await?;
    }
    if let Some(c) = &m.customer {
        changed += run(
            conn,
            sqlx::query(
                "INSERT INTO customer_t (host_id, customer_id, user_id, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (host_id, customer_id) DO UPDATE SET user_id = excluded.user_id \
                 WHERE customer_t.user_id IS DISTINCT FROM excluded.user_id",
            )
            .bind(host_id)
            .bind(c.customer_id.as_str())
            .bind(user_id)
            .bind(now),
        )
        .await?;
    }
    for (table, assignment, id_col, list) in [
        ("role_t", "role_user_t", "role_id", &m.roles),
        ("group_t", "group_user_t", "group_id", &m.groups),
    ] {
        let sql = format!(
            "INSERT INTO {assignment} (host_id, {id_col}, user_id, start_date, end_date) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (host_id, {id_col}, user_id, start_date) DO UPDATE SET end_date = excluded.end_date \
             WHERE {assignment}.end_date IS DISTINCT FROM excluded.end_date"
        );
        for a in list {
            let (name, start, end) = a.dated().map_err(StoreError::Invalid)?;
            let id = id_by_name(conn, table, host_id, &name).await?;
            changed += run(
                conn,
                sqlx::query(&sql)
                    .bind(host_id)
                    .bind(id.as_str())
                    .bind(user_id)
                    .bind(start.as_str())
                    .bind(end.as_deref()),
            )
            .await?;
        }
    }
    for (name, value, start, end) in m.attributes.values().map_err(StoreError::Invalid)? {
        let id = id_by_name(conn, "attribute_t", host_id, &name).await?;
        changed += run(
            conn,
            sqlx::query(
                "INSERT INTO attribute_user_t (host_id, attribute_id, user_id, attribute_value, start_date, end_date) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (host_id, attribute_id, user_id, start_date) DO UPDATE \
                 SET attribute_value = excluded.attribute_value, end_date = excluded.end_date \
                 WHERE attribute_user_t.attribute_value IS DISTINCT FROM excluded.attribute_value \
                    OR attribute_user_t.end_date IS DISTINCT FROM excluded.end_date",
            )
            .bind(host_id)
            .bind(id.as_str())
            .bind(user_id)
            .bind(value.as_str())
            .bind(start.as_str())
            .bind(end.as_deref()),
        )
        .await?;
    }
    if let Some(e) = &m.employee {
        for p in &m.positions {
            let (name, start, end) = p.dated().map_err(StoreError::Invalid)?;
            let position = position_id(conn, host_id, &name).await.map_err(|_| {
                StoreError::Invalid(format!("position {name:?} is not defined in this host"))
            })?;
            if upsert_own_position(
                conn,
                host_id,
                &e.employee_id,
                &position,
                &start,
                end.as_deref(),
            )
            .await?
            {
                changed += 1;
            }
        }
    }
    Ok(changed)
}

//! Writes an import document (`domain::import`) in one transaction: everything or
//! nothing. Upserts are keyed by natural keys (host id, role/group/position/attribute
//! id, user email, assignment keys) and only write what differs, so importing the same
//! document twice changes nothing the second time. Import adds and updates; it never
//! deletes what the document leaves out.

use std::collections::{BTreeSet, HashMap};

use sqlx::AnyConnection;

use super::accounts::{self, EmployeeValues, UserValues};
use super::assignment_rows::{self, Assigned};
use super::catalog::{definition_id_by_name, upsert_definition};
use super::profile::{position_id, recompute_positions, upsert_own_position};
use super::users::check_user_type;
use super::{NewDefinition, SqlStore, StoreError, StoreResult};
use crate::domain::audit::{actions, AuditContext, AuditEvent};
use crate::domain::catalog::{AttributeType, Kind};
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
        context: &AuditContext,
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
                let written = accounts::set_manager(&mut tx, host_id, &e.employee_id, target).await;
                let missing = || {
                    format!(
                        "manager {:?} is not an employee of this host",
                        target.unwrap_or_default()
                    )
                };
                if linked(entry, written, missing)? {
                    recompute.insert(host_id.clone());
                    changed += 1;
                }
            }
            if let Some(c) = &m.customer {
                let target = c.referral_id.as_deref();
                let written =
                    accounts::set_referral(&mut tx, host_id, &c.customer_id, target).await;
                let missing = || {
                    format!(
                        "referral {:?} is not a customer of this host",
                        target.unwrap_or_default()
                    )
                };
                if linked(entry, written, missing)? {
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
        if changed > 0 {
            // Every host the document touched has its policy snapshots reloaded.
            let touched: BTreeSet<&str> = doc
                .hosts
                .iter()
                .map(|h| h.host_id.as_str())
                .chain(links.iter().map(|(_, host_id, _)| host_id.as_str()))
                .collect();
            // The trail gets one entry per host the document touched (its admins see
            // it), or one of Tessera's own for a document of clients only; what changed
            // in detail is the document's to say, the counts are the entry's.
            let detail = serde_json::json!({
                "changed": changed,
                "hosts": doc.hosts.len(),
                "users": doc.users.len(),
                "clients": doc.clients.len(),
            });
            let event = AuditEvent::new(actions::IMPORT_APPLIED).detail(detail);
            if touched.is_empty() {
                super::audit::record(&mut tx, context, &event, now).await?;
            }
            for host_id in touched {
                super::policy::bump_policy(&mut tx, host_id).await?;
                let event = event.clone().host(host_id);
                super::audit::record(&mut tx, context, &event, now).await?;
            }
        }
        tx.commit().await?;
        Ok(ImportReport { changed })
    }
}

/// The outcome of pointing a record at another of the same host (an employee at their
/// manager, a customer at their referrer): whether it changed. A target that does not
/// exist is an error naming the entry.
fn linked(
    entry: &str,
    written: StoreResult<u64>,
    missing: impl FnOnce() -> String,
) -> StoreResult<bool> {
    match written {
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
    // The definitions are written by the catalog, their one writer.
    for (kind, list) in [(Kind::Role, &h.roles), (Kind::Group, &h.groups)] {
        for item in list {
            let d = NewDefinition {
                id: item.id.clone(),
                description: item.description.clone(),
                ..NewDefinition::named(kind, &item.name)
            };
            changed += upsert_definition(conn, &h.host_id, &d)
                .await
                .map_err(|e| StoreError::Invalid(format!("{kind} {:?}: {e}", item.name)))?;
        }
    }
    let mut positions_changed = false;
    for p in &h.positions {
        let d = NewDefinition {
            id: p.id.clone(),
            description: p.description.clone(),
            inherit_to_ancestor: p.inherit_to_ancestor,
            inherit_to_sibling: p.inherit_to_sibling,
            ..NewDefinition::named(Kind::Position, &p.name)
        };
        let n = upsert_definition(conn, &h.host_id, &d).await?;
        positions_changed |= n > 0;
        changed += n;
    }
    for a in &h.attributes {
        let attribute_type = AttributeType::parse(&a.attribute_type).ok_or_else(|| {
            StoreError::Invalid(format!(
                "attribute {:?}: unknown type {:?}",
                a.name, a.attribute_type
            ))
        })?;
        let d = NewDefinition {
            id: a.id.clone(),
            description: a.description.clone(),
            attribute_type,
            ..NewDefinition::named(Kind::Attribute, &a.name)
        };
        changed += upsert_definition(conn, &h.host_id, &d).await?;
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
    let values = UserValues {
        user_id: &user_id,
        email: &u.email,
        username: u.username.as_deref(),
        password_hash,
        language,
        first_name: u.first_name.as_deref(),
        last_name: u.last_name.as_deref(),
        user_type: Some(&u.user_type),
        verified: u.verified,
        locked: u.locked,
    };
    if existing.is_none() {
        *changed += accounts::insert_user(conn, &values, now).await?;
        // Counted with the insert: the row is new either way.
        accounts::write_contact(conn, &user_id, &u.contact(), now).await?;
        import_system_admin(conn, &user_id, u.system_admin, now).await?;
        return Ok(user_id);
    }
    *changed += accounts::replace_user(conn, &values, now).await?;
    *changed += accounts::write_contact(conn, &user_id, &u.contact(), now).await?;
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
    accounts::set_system_admin(conn, user_id, on, now).await
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

/// The id of a role, group or attribute the document names, which the host must define.
async fn id_by_name(
    conn: &mut AnyConnection,
    kind: Kind,
    host_id: &str,
    name: &str,
) -> StoreResult<String> {
    definition_id_by_name(conn, host_id, kind, name)
        .await?
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
    let mut changed = accounts::join_host(conn, host_id, user_id, now).await?;
    if let Some(e) = &m.employee {
        let employee = EmployeeValues {
            host_id,
            employee_id: &e.employee_id,
            user_id,
            title: e.title.as_deref(),
            hire_date: Some(e.hire_date.as_deref()),
        };
        changed += accounts::upsert_employee(conn, &employee, now).await?;
    }
    if let Some(c) = &m.customer {
        changed += accounts::upsert_customer(conn, host_id, &c.customer_id, user_id, now).await?;
    }
    for (kind, assigned, list) in [
        (Kind::Role, Assigned::Role, &m.roles),
        (Kind::Group, Assigned::Group, &m.groups),
    ] {
        for a in list {
            let (name, start, end) = a.dated().map_err(StoreError::Invalid)?;
            let id = id_by_name(conn, kind, host_id, &name).await?;
            changed += assignment_rows::upsert_dated(
                conn,
                assigned,
                host_id,
                &id,
                user_id,
                &start,
                end.as_deref(),
            )
            .await?;
        }
    }
    for (name, value, start, end) in m.attributes.values().map_err(StoreError::Invalid)? {
        let id = id_by_name(conn, Kind::Attribute, host_id, &name).await?;
        changed += assignment_rows::upsert_attribute(
            conn,
            host_id,
            &id,
            user_id,
            &value,
            (&start, end.as_deref()),
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

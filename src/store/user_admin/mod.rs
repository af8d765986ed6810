//! A host's administrators creating, changing and deleting its users (issue 13, seed
//! 001's `POST /users`, `PATCH /users/:id`, `DELETE /users/:id`). Each change is one
//! transaction with its audit entry; the rows are written by `accounts`, the
//! aggregate's one writer. The audit trail records the facts below, never a password
//! or its hash.

mod records;

use async_trait::async_trait;
use serde::Serialize;
use sqlx::AnyConnection;

pub(super) use records::employee_of;
use records::{add_customer, customer_of, set_manager_checked, write_employee};

use super::accounts::{self, ProfileChange, UserValues};
use super::guard::{keep_an_admin, lock_host};
use super::members::{member_in, Member};
use super::users::check_user_type;
use super::{audit, unique_as, SqlStore, StoreError, StoreResult};
use crate::domain::audit::{actions, AuditContext, AuditEvent};
use crate::domain::Contact;

/// An employee's record in the host.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct EmployeeRecord {
    pub employee_id: String,
    pub title: Option<String>,
    pub manager_id: Option<String>,
}

/// A new member of a host: a new account, with its employee or customer record.
#[derive(Clone, Debug)]
pub struct NewMember {
    pub user_id: String,
    pub email: String,
    pub username: Option<String>,
    /// An argon2id PHC string (customers); employees may have none.
    pub password_hash: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub language: String,
    pub user_type: String,
    pub verified: bool,
    pub employee: Option<EmployeeRecord>,
    pub customer_id: Option<String>,
}

/// A change of a member's profile; a field left none is kept, `Some(None)` clears.
#[derive(Clone, Debug, Default)]
pub struct MemberChange {
    pub email: Option<String>,
    pub username: Option<Option<String>>,
    pub first_name: Option<Option<String>>,
    pub last_name: Option<Option<String>>,
    pub language: Option<String>,
    /// The contact facts as they are to be (the caller merges and checks them).
    pub contact: Option<Contact>,
    /// Employees only.
    pub title: Option<Option<String>>,
    pub manager_id: Option<Option<String>>,
}

impl MemberChange {
    /// Whether the change touches the account (`user_t`, shared by every host of the
    /// user) rather than only the host's records.
    #[must_use]
    pub fn is_account_wide(&self) -> bool {
        self.email.is_some()
            || self.username.is_some()
            || self.first_name.is_some()
            || self.last_name.is_some()
            || self.language.is_some()
            || self.contact.is_some()
    }
}

/// What a deletion removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Removal {
    /// The account, which belonged to this host only.
    Account,
    /// The membership of this host; the account stays for its other hosts.
    Membership,
}

/// A member as the audit trail records them: no password, no hash.
#[derive(Serialize)]
struct MemberFacts {
    email: String,
    username: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    language: String,
    user_type: Option<String>,
    verified: bool,
    contact: ContactFacts,
    #[serde(skip_serializing_if = "Option::is_none")]
    employee: Option<EmployeeRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer_id: Option<String>,
}

#[derive(Serialize)]
struct ContactFacts {
    phone_number: Option<String>,
    gender: Option<String>,
    birthday: Option<String>,
    address: Option<String>,
    city: Option<String>,
    province: Option<String>,
    post_code: Option<String>,
    country: Option<String>,
}

#[async_trait]
pub trait UserAdminStore: Send + Sync {
    /// Creates an account and its membership of `host_id`; `Conflict` when the email,
    /// username, employee id or customer id is taken (by anyone, in any host: an
    /// account of another host is neither revealed nor attached).
    async fn add_member(
        &self,
        host_id: &str,
        new: &NewMember,
        audit: &AuditContext,
        now: i64,
    ) -> StoreResult<Member>;
    /// Changes a member's profile; `NotFound` when not a member of the host.
    async fn update_member(
        &self,
        host_id: &str,
        user_id: &str,
        change: &MemberChange,
        audit: &AuditContext,
        now: i64,
    ) -> StoreResult<Member>;
    /// Deletes a member: the account when it belongs to this host only, otherwise the
    /// membership and the host's data about them. The host's last admin on `day` is
    /// refused.
    async fn remove_member(
        &self,
        host_id: &str,
        user_id: &str,
        day: &str,
        audit: &AuditContext,
        now: i64,
    ) -> StoreResult<Removal>;
    /// A member's employee record in the host, if any.
    async fn employee_record(
        &self,
        host_id: &str,
        user_id: &str,
    ) -> StoreResult<Option<EmployeeRecord>>;
}

#[async_trait]
impl UserAdminStore for SqlStore {
    async fn add_member(
        &self,
        host_id: &str,
        new: &NewMember,
        context: &AuditContext,
        now: i64,
    ) -> StoreResult<Member> {
        let mut tx = self.begin_write().await?;
        check_user_type(&mut tx, host_id, Some(&new.user_type)).await?;
        let values = UserValues {
            user_id: &new.user_id,
            email: &new.email,
            username: new.username.as_deref(),
            password_hash: new.password_hash.as_deref(),
            language: &new.language,
            first_name: new.first_name.as_deref(),
            last_name: new.last_name.as_deref(),
            user_type: Some(&new.user_type),
            verified: new.verified,
            locked: false,
        };
        accounts::insert_user(&mut tx, &values, now)
            .await
            .map_err(unique_as("a user with this email or username"))?;
        accounts::join_host(&mut tx, host_id, &new.user_id, now).await?;
        if let Some(e) = &new.employee {
            write_employee(&mut tx, host_id, &new.user_id, e, now).await?;
        }
        if let Some(customer_id) = &new.customer_id {
            add_customer(&mut tx, host_id, customer_id, &new.user_id, now).await?;
        }
        let after = read_member(&mut tx, host_id, &new.user_id).await?;
        let event = AuditEvent::new(actions::USER_CREATED)
            .host(host_id)
            .target("user", &new.user_id)
            .after(&facts(&mut tx, host_id, &after).await?);
        audit::record(&mut tx, context, &event, now).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn update_member(
        &self,
        host_id: &str,
        user_id: &str,
        change: &MemberChange,
        context: &AuditContext,
        now: i64,
    ) -> StoreResult<Member> {
        let mut tx = self.begin_write().await?;
        let before = read_member(&mut tx, host_id, user_id).await?;
        let before_facts = facts(&mut tx, host_id, &before).await?;
        let profile = ProfileChange {
            email: change.email.as_deref(),
            username: change.username.as_ref().map(Option::as_deref),
            first_name: change.first_name.as_ref().map(Option::as_deref),
            last_name: change.last_name.as_ref().map(Option::as_deref),
            language: change.language.as_deref(),
        };
        accounts::update_profile(&mut tx, user_id, &profile, now)
            .await
            .map_err(unique_as("a user with this email or username"))?;
        if let Some(contact) = &change.contact {
            accounts::write_contact(&mut tx, user_id, contact, now).await?;
        }
        if change.title.is_some() || change.manager_id.is_some() {
            let record = employee_of(&mut tx, host_id, user_id)
                .await?
                .ok_or_else(|| {
                    StoreError::Invalid("title and manager_id are for employees only".into())
                })?;
            if let Some(title) = &change.title {
                accounts::set_title(&mut tx, host_id, &record.employee_id, title.as_deref())
                    .await?;
            }
            if let Some(manager) = &change.manager_id {
                set_manager_checked(&mut tx, host_id, &record.employee_id, manager.as_deref())
                    .await?;
            }
        }
        let after = read_member(&mut tx, host_id, user_id).await?;
        let event = AuditEvent::new(actions::USER_UPDATED)
            .host(host_id)
            .target("user", user_id)
            .before(&before_facts)
            .after(&facts(&mut tx, host_id, &after).await?);
        audit::record(&mut tx, context, &event, now).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn remove_member(
        &self,
        host_id: &str,
        user_id: &str,
        day: &str,
        context: &AuditContext,
        now: i64,
    ) -> StoreResult<Removal> {
        let mut tx = self.begin_write().await?;
        lock_host(&mut tx, host_id).await?;
        let before = read_member(&mut tx, host_id, user_id).await?;
        keep_an_admin(&mut tx, host_id, user_id, day, "deleted").await?;
        let before_facts = facts(&mut tx, host_id, &before).await?;
        let (hosts,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM user_host_t WHERE user_id = $1")
                .bind(user_id)
                .fetch_one(&mut *tx)
                .await?;
        accounts::check_unreferenced(&mut tx, host_id, user_id).await?;
        let removal = if hosts > 1 {
            accounts::leave_host(&mut tx, host_id, user_id).await?;
            super::profile::recompute_positions(&mut tx, host_id).await?;
            Removal::Membership
        } else {
            accounts::delete_user(&mut tx, user_id).await?;
            super::profile::recompute_positions(&mut tx, host_id).await?;
            Removal::Account
        };
        let scope = match removal {
            Removal::Account => "account",
            Removal::Membership => "membership",
        };
        let event = AuditEvent::new(actions::USER_DELETED)
            .host(host_id)
            .target("user", user_id)
            .before(&before_facts)
            .detail(serde_json::json!({ "removed": scope }));
        audit::record(&mut tx, context, &event, now).await?;
        tx.commit().await?;
        Ok(removal)
    }

    async fn employee_record(
        &self,
        host_id: &str,
        user_id: &str,
    ) -> StoreResult<Option<EmployeeRecord>> {
        let mut conn = self.pool.acquire().await?;
        employee_of(&mut conn, host_id, user_id).await
    }
}

async fn read_member(
    conn: &mut AnyConnection,
    host_id: &str,
    user_id: &str,
) -> StoreResult<Member> {
    member_in(conn, host_id, user_id)
        .await?
        .ok_or(StoreError::NotFound("user"))
}

async fn facts(conn: &mut AnyConnection, host_id: &str, m: &Member) -> StoreResult<MemberFacts> {
    let u = &m.user;
    let c = &u.contact;
    Ok(MemberFacts {
        email: u.email.clone(),
        username: u.username.clone(),
        first_name: u.first_name.clone(),
        last_name: u.last_name.clone(),
        language: u.language.clone(),
        user_type: u.user_type.clone(),
        verified: u.verified,
        contact: ContactFacts {
            phone_number: c.phone_number.clone(),
            gender: c.gender.clone(),
            birthday: c.birthday.clone(),
            address: c.address.clone(),
            city: c.city.clone(),
            province: c.province.clone(),
            post_code: c.post_code.clone(),
            country: c.country.clone(),
        },
        employee: employee_of(conn, host_id, &u.user_id).await?,
        customer_id: customer_of(conn, host_id, &u.user_id).await?,
    })
}

//! A member's status in a host (issue 13, seed 001's `PUT /users/:id/status`): the
//! account's lock and email verification (`user_t`) and the membership's activation
//! (`user_host_t`), changed in one transaction with its audit entry. Part of the users
//! aggregate, whose tables only `accounts` writes.

use async_trait::async_trait;
use serde::Serialize;
use sqlx::AnyConnection;

use super::guard::{keep_an_admin, lock_host};
use super::members::{member_in, Member};
use super::{accounts, audit, SqlStore, StoreError, StoreResult};
use crate::domain::audit::{actions, AuditContext, AuditEvent};

/// A change of status; a field left out is kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatusChange {
    /// Lock or unlock the account (every host).
    pub locked: Option<bool>,
    /// Activate or deactivate the membership in this host.
    pub active: Option<bool>,
    /// Mark the email verified or not.
    pub verified: Option<bool>,
}

/// The status as the audit trail records it.
#[derive(Serialize)]
struct StatusFacts {
    locked: bool,
    active: bool,
    verified: bool,
}

impl From<&Member> for StatusFacts {
    fn from(m: &Member) -> Self {
        Self {
            locked: m.user.locked,
            active: m.active,
            verified: m.user.verified,
        }
    }
}

#[async_trait]
pub trait UserStatusStore: Send + Sync {
    /// Changes a member's status in `host_id`, refusing to lock or deactivate the host's
    /// last admin on `day`; returns the member as changed. `NotFound` when the user is
    /// not a member of the host.
    async fn set_member_status(
        &self,
        host_id: &str,
        user_id: &str,
        change: StatusChange,
        day: &str,
        audit: &AuditContext,
        now: i64,
    ) -> StoreResult<Member>;
}

#[async_trait]
impl UserStatusStore for SqlStore {
    async fn set_member_status(
        &self,
        host_id: &str,
        user_id: &str,
        change: StatusChange,
        day: &str,
        context: &AuditContext,
        now: i64,
    ) -> StoreResult<Member> {
        let mut tx = self.begin_write().await?;
        lock_host(&mut tx, host_id).await?;
        let before = member_in(&mut tx, host_id, user_id)
            .await?
            .ok_or(StoreError::NotFound("user"))?;
        if change.locked == Some(true) && !before.user.locked {
            keep_an_admin(&mut tx, host_id, user_id, day, "locked").await?;
        }
        if change.active == Some(false) && before.active {
            keep_an_admin(&mut tx, host_id, user_id, day, "deactivated").await?;
        }
        write_status(&mut tx, host_id, user_id, change, now).await?;
        let after = member_in(&mut tx, host_id, user_id)
            .await?
            .ok_or(StoreError::NotFound("user"))?;
        let event = AuditEvent::new(actions::USER_STATUS_CHANGED)
            .host(host_id)
            .target("user", user_id)
            .before(&StatusFacts::from(&before))
            .after(&StatusFacts::from(&after));
        audit::record(&mut tx, context, &event, now).await?;
        tx.commit().await?;
        Ok(after)
    }
}

async fn write_status(
    conn: &mut AnyConnection,
    host_id: &str,
    user_id: &str,
    change: StatusChange,
    now: i64,
) -> StoreResult<()> {
    if change.locked.is_some() || change.verified.is_some() {
        accounts::set_account_flags(conn, user_id, change.locked, change.verified, now).await?;
    }
    if let Some(active) = change.active {
        accounts::set_member_active(conn, host_id, user_id, active).await?;
    }
    Ok(())
}

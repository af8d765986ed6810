//! A member's dated assignments as the management API handles them (issue 13,
//! "assignments with effective dates"): roles, groups, attributes and (employees)
//! positions, listed with their history, added from a day, and ended — ending sets the
//! last day to yesterday and keeps the row. Each change is one transaction with its
//! audit entry; rows are written by `assignment_rows` and, for positions, by
//! `profile`'s position rules (which rebuild the inherited ones). Ending the admin role
//! of the host's last admin is refused (`guard`).

mod rows;

use async_trait::async_trait;
use serde::Serialize;
use sqlx::AnyConnection;

use rows::rows_of;

use super::assignment_rows::{self, Assigned, Source, Table};
use super::guard::{keep_an_admin, lock_host};
use super::profile::{end_own_position, recompute_positions, upsert_own_position};
use super::user_admin::employee_of;
use super::{audit, SqlStore, StoreError, StoreResult};
use crate::domain::audit::{actions, AuditContext, AuditEvent};
use crate::domain::rights::HOST_ADMIN_ROLE;

/// What is assigned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssignmentKind {
    Role,
    Group,
    Attribute,
    Position,
}

impl AssignmentKind {
    /// The kind's name, as a body field and in messages.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Role => "role",
            Self::Group => "group",
            Self::Attribute => "attribute",
            Self::Position => "position",
        }
    }

    /// (definition table, id column, name column); constants only.
    fn definition(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::Role => ("role_t", "role_id", "role_name"),
            Self::Group => ("group_t", "group_id", "group_name"),
            Self::Attribute => ("attribute_t", "attribute_id", "attribute_name"),
            Self::Position => ("position_t", "position_id", "position_name"),
        }
    }

    fn actions(self) -> (&'static str, &'static str) {
        match self {
            Self::Role => (actions::USER_ROLE_ADDED, actions::USER_ROLE_ENDED),
            Self::Group => (actions::USER_GROUP_ADDED, actions::USER_GROUP_ENDED),
            Self::Attribute => (actions::USER_ATTRIBUTE_ADDED, actions::USER_ATTRIBUTE_ENDED),
            Self::Position => (actions::USER_POSITION_ADDED, actions::USER_POSITION_ENDED),
        }
    }
}

/// A definition of the host, found by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedDefinition {
    pub id: String,
    /// Attributes only: the type their values must have.
    pub attribute_type: Option<String>,
}

/// One assignment row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Assignment {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub start_date: String,
    pub end_date: Option<String>,
    /// `local` (made in Tessera) or `directory`; attributes and positions: `local`.
    pub source: String,
    /// Positions: `P` own, `D` from a report, `S` from a teammate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position_type: Option<String>,
    /// Positions: the employee an inherited position comes from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inherited_from: Option<String>,
}

/// An assignment to add.
#[derive(Clone, Debug)]
pub struct NewAssignment<'a> {
    pub kind: AssignmentKind,
    pub definition_id: &'a str,
    /// Attributes only, already checked against the attribute's type.
    pub value: Option<&'a str>,
    pub start_date: &'a str,
    pub end_date: Option<&'a str>,
}

/// An assignment to end: yesterday becomes its last day.
#[derive(Clone, Copy, Debug)]
pub struct Ending<'a> {
    pub kind: AssignmentKind,
    pub definition_id: &'a str,
    /// The definition's name (the admin role is guarded by name).
    pub name: &'a str,
    pub today: &'a str,
    pub yesterday: &'a str,
}

#[async_trait]
pub trait AssignmentStore: Send + Sync {
    /// The host's definition of a role, group, attribute or position by name.
    async fn find_definition_by_name(
        &self,
        host_id: &str,
        kind: AssignmentKind,
        name: &str,
    ) -> StoreResult<Option<NamedDefinition>>;
    /// Every assignment of the kind the member has in the host, past, current and
    /// planned, by name and start. `NotFound` when not a member.
    async fn list_assignments(
        &self,
        host_id: &str,
        user_id: &str,
        kind: AssignmentKind,
    ) -> StoreResult<Vec<Assignment>>;
    /// Adds an assignment (`Conflict` when one of the same name overlaps its dates;
    /// `Invalid` for a position of a non-employee); answers the kind's rows after.
    async fn add_assignment(
        &self,
        host_id: &str,
        user_id: &str,
        new: &NewAssignment<'_>,
        audit: &AuditContext,
        now: i64,
    ) -> StoreResult<Vec<Assignment>>;
    /// Ends the member's assignment in effect `today` (and drops planned ones);
    /// `NotFound` when there is none.
    async fn end_assignment(
        &self,
        host_id: &str,
        user_id: &str,
        ending: &Ending<'_>,
        audit: &AuditContext,
        now: i64,
    ) -> StoreResult<()>;
}

#[async_trait]
impl AssignmentStore for SqlStore {
    async fn find_definition_by_name(
        &self,
        host_id: &str,
        kind: AssignmentKind,
        name: &str,
    ) -> StoreResult<Option<NamedDefinition>> {
        let (table, id_col, name_col) = kind.definition();
        let type_col = if kind == AssignmentKind::Attribute {
            "attribute_type"
        } else {
            "NULL"
        };
        let row: Option<(String, Option<String>)> = sqlx::query_as(&format!(
            "SELECT {id_col}, {type_col} FROM {table} WHERE host_id = $1 AND {name_col} = $2"
        ))
        .bind(host_id)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(id, attribute_type)| NamedDefinition { id, attribute_type }))
    }

    async fn list_assignments(
        &self,
        host_id: &str,
        user_id: &str,
        kind: AssignmentKind,
    ) -> StoreResult<Vec<Assignment>> {
        let mut conn = self.pool.acquire().await?;
        if !is_member(&mut conn, host_id, user_id).await? {
            return Err(StoreError::NotFound("user"));
        }
        rows_of(&mut conn, host_id, user_id, kind, None).await
    }

    async fn add_assignment(
        &self,
        host_id: &str,
        user_id: &str,
        new: &NewAssignment<'_>,
        context: &AuditContext,
        now: i64,
    ) -> StoreResult<Vec<Assignment>> {
        let mut tx = self.begin_write().await?;
        if !is_member(&mut tx, host_id, user_id).await? {
            return Err(StoreError::NotFound("user"));
        }
        let dates = (new.start_date, new.end_date);
        let id = new.definition_id;
        let overlap = StoreError::Conflict("an assignment of this name overlapping these dates");
        match new.kind {
            AssignmentKind::Role | AssignmentKind::Group => {
                let (table, kind) = if new.kind == AssignmentKind::Role {
                    (Table::Role, Assigned::Role)
                } else {
                    (Table::Group, Assigned::Group)
                };
                if assignment_rows::overlaps(&mut tx, table, host_id, id, user_id, dates).await? {
                    return Err(overlap);
                }
                assignment_rows::insert_dated(
                    &mut tx,
                    kind,
                    host_id,
                    id,
                    user_id,
                    dates,
                    Source::Local,
                )
                .await?;
            }
            AssignmentKind::Attribute => {
                let table = Table::Attribute;
                if assignment_rows::overlaps(&mut tx, table, host_id, id, user_id, dates).await? {
                    return Err(overlap);
                }
                let value = new.value.unwrap_or_default();
                assignment_rows::upsert_attribute(&mut tx, host_id, id, user_id, value, dates)
                    .await?;
            }
            AssignmentKind::Position => {
                let employee = employee_id(&mut tx, host_id, user_id).await?;
                // One own row per position (the table keys it so): a new one replaces
                // an ended one, and may not overlap one in effect.
                let current = rows_of(&mut tx, host_id, user_id, new.kind, Some(id)).await?;
                let clash = current.iter().any(|a| {
                    a.position_type.as_deref() == Some("P")
                        && a.start_date.as_str() <= new.end_date.unwrap_or("9999-12-31")
                        && a.end_date.as_deref().is_none_or(|e| e >= new.start_date)
                });
                if clash {
                    return Err(overlap);
                }
                upsert_own_position(
                    &mut tx,
                    host_id,
                    &employee,
                    id,
                    new.start_date,
                    new.end_date,
                )
                .await?;
                recompute_positions(&mut tx, host_id).await?;
            }
        }
        let after = rows_of(&mut tx, host_id, user_id, new.kind, Some(id)).await?;
        let (added, _) = new.kind.actions();
        let event = AuditEvent::new(added)
            .host(host_id)
            .target("user", user_id)
            .after(&after)
            .detail(serde_json::json!({
                new.kind.as_str(): id,
                "start_date": new.start_date,
                "end_date": new.end_date,
            }));
        audit::record(&mut tx, context, &event, now).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn end_assignment(
        &self,
        host_id: &str,
        user_id: &str,
        ending: &Ending<'_>,
        context: &AuditContext,
        now: i64,
    ) -> StoreResult<()> {
        let Ending {
            kind,
            definition_id: id,
            name,
            today,
            yesterday,
        } = *ending;
        let mut tx = self.begin_write().await?;
        if !is_member(&mut tx, host_id, user_id).await? {
            return Err(StoreError::NotFound("user"));
        }
        if kind == AssignmentKind::Role && name == HOST_ADMIN_ROLE {
            lock_host(&mut tx, host_id).await?;
            keep_an_admin(&mut tx, host_id, user_id, today, "demoted").await?;
        }
        let before = rows_of(&mut tx, host_id, user_id, kind, Some(id)).await?;
        let changed = match kind {
            AssignmentKind::Role | AssignmentKind::Group | AssignmentKind::Attribute => {
                let table = match kind {
                    AssignmentKind::Role => Table::Role,
                    AssignmentKind::Group => Table::Group,
                    _ => Table::Attribute,
                };
                assignment_rows::end_current(&mut tx, table, host_id, id, user_id, today, yesterday)
                    .await?
            }
            AssignmentKind::Position => {
                let employee = employee_id(&mut tx, host_id, user_id).await?;
                let n = end_own_position(&mut tx, host_id, &employee, id, today, yesterday).await?;
                recompute_positions(&mut tx, host_id).await?;
                n
            }
        };
        if changed == 0 {
            return Err(StoreError::NotFound("assignment in effect"));
        }
        let after = rows_of(&mut tx, host_id, user_id, kind, Some(id)).await?;
        let (_, ended) = kind.actions();
        let event = AuditEvent::new(ended)
            .host(host_id)
            .target("user", user_id)
            .before(&before)
            .after(&after)
            .detail(serde_json::json!({ kind.as_str(): id, "end_date": yesterday }));
        audit::record(&mut tx, context, &event, now).await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn is_member(conn: &mut AnyConnection, host_id: &str, user_id: &str) -> StoreResult<bool> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT user_id FROM user_host_t WHERE host_id = $1 AND user_id = $2")
            .bind(host_id)
            .bind(user_id)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(row.is_some())
}

async fn employee_id(
    conn: &mut AnyConnection,
    host_id: &str,
    user_id: &str,
) -> StoreResult<String> {
    employee_of(conn, host_id, user_id)
        .await?
        .map(|e| e.employee_id)
        .ok_or_else(|| StoreError::Invalid("position: only employees hold positions".into()))
}

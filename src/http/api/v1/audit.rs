//! The audit trail of the host a request acts in: `GET /api/v1/audit`, newest first,
//! with filters and keyset paging. Host admins read their host's entries; a system
//! admin may ask for Tessera's own (key events, host-less CLI changes) with
//! `host=*`. There is no route that changes or deletes an entry.

use axum::extract::{RawQuery, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::query::{
    bad, decode_timed_cursor, encode_timed_cursor, page_limit, parse_query, read_cursor,
};
use crate::domain::{authorize, Action, Principal, Refusal, Right};
use crate::http::error::V1Error;
use crate::http::state::AppState;
use crate::store::{AuditEntry, AuditQuery};

/// An entry of the trail.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct AuditEntryResponse {
    id: String,
    /// When, in unix seconds.
    at: i64,
    host_id: Option<String>,
    /// The acting user's id (absent for the CLI, imports and Tessera itself).
    actor_id: Option<String>,
    actor_name: Option<String>,
    /// `api`, `cli`, `import`, `sign_in` or `system`.
    via: String,
    /// A dotted name, e.g. `user.status_changed`, `sign_in.failed`.
    action: String,
    target_kind: Option<String>,
    target_id: Option<String>,
    #[schema(value_type = Option<Object>)]
    before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    after: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    detail: Option<serde_json::Value>,
    request_id: Option<String>,
    client_address: Option<String>,
}

impl From<AuditEntry> for AuditEntryResponse {
    fn from(e: AuditEntry) -> Self {
        let (target_kind, target_id) = e.target.map(|t| (t.kind, t.id)).unzip();
        Self {
            id: e.id,
            at: e.at,
            host_id: e.host_id,
            actor_id: e.actor_id,
            actor_name: e.actor_name,
            via: e.via.as_str().to_owned(),
            action: e.action,
            target_kind,
            target_id,
            before: e.before,
            after: e.after,
            detail: e.detail,
            request_id: e.request_id,
            client_address: e.client_address,
        }
    }
}

/// The query of `GET /api/v1/audit`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct ListAuditRequest {
    /// Only entries of this acting user.
    actor: Option<String>,
    /// Only entries about this target id (a user, client, role… id).
    target: Option<String>,
    /// An action's exact name, or a prefix ending in `.` (`user.`).
    action: Option<String>,
    /// From this unix time on (inclusive).
    since: Option<i64>,
    /// Before this unix time (exclusive).
    until: Option<i64>,
    /// `*` for every host's entries and Tessera's own (system admins only).
    host: Option<String>,
    /// Entries per page, 1 to 200 (default 50).
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// A page of entries, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct ListAuditResponse {
    entries: Vec<AuditEntryResponse>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_audit))
}

fn to_query(principal: &Principal, request: ListAuditRequest) -> Result<AuditQuery, V1Error> {
    let limit = page_limit(request.limit)?;
    if let (Some(since), Some(until)) = (request.since, request.until) {
        if until < since {
            return Err(
                crate::domain::input::FieldError::new("until", "must not be before since").into(),
            );
        }
    }
    let host_id = match request.host.as_deref() {
        None => Some(principal.host_id.clone()),
        Some("*") if principal.right >= Right::SystemAdmin => None,
        Some("*") => {
            return Err(Refusal::Forbidden {
                missing: Right::SystemAdmin,
            }
            .into())
        }
        Some(_) => return Err(bad("host", "only `*` is accepted")),
    };
    let before = read_cursor(request.cursor, decode_timed_cursor)?;
    Ok(AuditQuery {
        host_id,
        actor_id: request.actor,
        target_id: request.target,
        action: request.action,
        since: request.since,
        until: request.until,
        before,
        limit,
    })
}

/// The host's audit trail, newest first, a page at a time.
#[utoipa::path(
    get,
    path = "/audit",
    tag = "audit",
    params(ListAuditRequest),
    responses(
        (status = 200, body = ListAuditResponse),
        (status = 400, description = "A parameter is malformed; `field` names it"),
        (status = 401, description = "No valid token"),
        (status = 403, description = "The caller is not a host admin"),
    )
)]
async fn get_audit(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(raw): RawQuery,
) -> Result<Json<ListAuditResponse>, V1Error> {
    authorize(&principal, Action::ReadAudit, &principal.host_id)?;
    let request: ListAuditRequest = parse_query(raw.as_deref())?;
    let query = to_query(&principal, request)?;
    let page = state.store.list_audit(&query).await?;
    Ok(Json(ListAuditResponse {
        entries: page
            .entries
            .into_iter()
            .map(AuditEntryResponse::from)
            .collect(),
        next_cursor: page.next.as_ref().map(encode_timed_cursor),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips() {
        let at = (1_700_000_000, "0190abc".to_owned());
        assert_eq!(decode_timed_cursor(&encode_timed_cursor(&at)), Some(at));
        assert_eq!(decode_timed_cursor("%%"), None);
    }

    #[test]
    fn only_a_system_admin_reads_every_host() {
        let mut p = Principal {
            user_id: "u".into(),
            host_id: "h".into(),
            right: Right::HostAdmin,
        };
        let all = || ListAuditRequest {
            host: Some("*".into()),
            ..ListAuditRequest::default()
        };
        assert!(matches!(to_query(&p, all()), Err(V1Error::Refused(_))));
        let q = to_query(&p, ListAuditRequest::default()).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(q.host_id.as_deref(), Some("h"));
        p.right = Right::SystemAdmin;
        let q = to_query(&p, all()).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(q.host_id, None);
    }
}

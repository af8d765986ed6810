//! The users of the host a request acts in: `GET /api/v1/users` (search, filters,
//! cursor paging) and `GET /api/v1/users/{id}`. Both need the manager right (seed
//! 001: "List users (Manager+)"). A user of another host is a 404, never a 403.

use axum::extract::{Path, RawQuery, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::query::{bad, decode_cursor, encode_cursor, page_limit, parse_query, read_cursor};
use crate::domain::date::iso_date;
use crate::domain::{authorize, authorize_account_change, Action, Principal, Refusal};
use crate::http::error::V1Error;
use crate::http::extract::{ApiJson, Caller};
use crate::http::state::AppState;
use crate::store::{Member, MemberQuery, RoleFilter, StatusChange, UserStatus};

/// A user as the API shows them.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct UserResponse {
    id: String,
    email: String,
    username: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    /// `E` employee, `C` customer (`P`, `B` in hosts of that model).
    user_type: Option<String>,
    verified: bool,
    /// The account is locked (in every host).
    locked: bool,
    /// The membership in this host is active.
    active: bool,
    /// The preferred language (a BCP 47 tag).
    language: String,
    /// `locked` if the account is locked, else `inactive` if the membership is
    /// deactivated, else `active`.
    status: Status,
}

/// Whether a user may sign in to the host.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(super) enum Status {
    Active,
    Locked,
    Inactive,
}

impl From<Member> for UserResponse {
    fn from(Member { user: u, active }: Member) -> Self {
        Self {
            id: u.user_id,
            email: u.email,
            username: u.username,
            first_name: u.first_name,
            last_name: u.last_name,
            user_type: u.user_type,
            verified: u.verified,
            locked: u.locked,
            language: u.language,
            active,
            status: if u.locked {
                Status::Locked
            } else if active {
                Status::Active
            } else {
                Status::Inactive
            },
        }
    }
}

/// The query of `GET /api/v1/users`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct ListUsersRequest {
    /// Text found, case-insensitively, in the email, first or last name.
    q: Option<String>,
    /// Only users of this type (`E`, `C`, …).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    user_type: Option<String>,
    /// Only active, locked or inactive users.
    status: Option<Status>,
    /// Only the users holding this role today.
    role: Option<String>,
    /// Users per page, 1 to 200 (default 50).
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// A page of users, ordered by email.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct ListUsersResponse {
    users: Vec<UserResponse>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_users))
        .routes(routes!(get_user))
        .routes(routes!(put_user_status))
}

/// Parses the query; an unknown parameter is refused rather than ignored.
fn parse_list_query(raw: Option<&str>) -> Result<MemberQuery, V1Error> {
    let request: ListUsersRequest = parse_query(raw)?;
    let limit = page_limit(request.limit)?;
    let after = read_cursor(request.cursor, decode_cursor)?;
    Ok(MemberQuery {
        text: request.q,
        user_type: request.user_type,
        status: request.status.map(|s| match s {
            Status::Active => UserStatus::Active,
            Status::Locked => UserStatus::Locked,
            Status::Inactive => UserStatus::Inactive,
        }),
        // The day is the request's: the handler sets it.
        role: request.role.map(|name| RoleFilter {
            name,
            day: String::new(),
        }),
        after,
        limit,
    })
}

/// The host's users, a page at a time. Paging is by key (the email), not by offset:
/// a user added between two pages neither repeats nor hides a row of the next.
#[utoipa::path(
    get,
    path = "/users",
    tag = "users",
    params(ListUsersRequest),
    responses(
        (status = 200, body = ListUsersResponse),
        (status = 400, description = "A parameter is malformed; `field` names it"),
        (status = 401, description = "No valid token"),
        (status = 403, description = "The caller is not a manager (`right` names the missing right)"),
    )
)]
async fn get_users(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(raw): RawQuery,
) -> Result<Json<ListUsersResponse>, V1Error> {
    authorize(&principal, Action::ReadUsers, &principal.host_id)?;
    let mut query = parse_list_query(raw.as_deref())?;
    if let Some(role) = &mut query.role {
        role.day = iso_date(state.now());
    }
    let page = state.store.list_members(&principal.host_id, &query).await?;
    Ok(Json(ListUsersResponse {
        users: page.users.into_iter().map(UserResponse::from).collect(),
        next_cursor: page.next.as_deref().map(encode_cursor),
    }))
}

/// One user of the host.
#[utoipa::path(
    get,
    path = "/users/{id}",
    tag = "users",
    params(("id" = String, Path, description = "The user's id")),
    responses(
        (status = 200, body = UserResponse),
        (status = 401, description = "No valid token"),
        (status = 403, description = "The caller is not a manager"),
        (status = 404, description = "No such user in the host"),
    )
)]
async fn get_user(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<UserResponse>, V1Error> {
    authorize(&principal, Action::ReadUsers, &principal.host_id)?;
    let user = state
        .store
        .find_member(&principal.host_id, &id)
        .await?
        .ok_or(crate::domain::Refusal::NotFound)?;
    Ok(Json(UserResponse::from(user)))
}

/// The body of `PUT /api/v1/users/{id}/status`: each field given is set, the others
/// kept; at least one is needed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct StatusRequest {
    /// Lock or unlock the account. A locked user cannot sign in anywhere and their
    /// refresh tokens stop working; for a user who also belongs to another host this
    /// needs a system admin.
    locked: Option<bool>,
    /// Activate or deactivate the membership in this host only.
    active: Option<bool>,
    /// Mark the email address verified or not (account-wide, as `locked`).
    verified: Option<bool>,
}

/// Changes a user's status (seed 001: "Update user status (Manager+)"). The host's last
/// admin cannot be locked or deactivated (409). One transaction with its audit entry.
#[utoipa::path(
    put,
    path = "/users/{id}/status",
    tag = "users",
    params(("id" = String, Path, description = "The user's id")),
    request_body = StatusRequest,
    responses(
        (status = 200, body = UserResponse, description = "The user as changed"),
        (status = 400, description = "The body is malformed; `field` names the field"),
        (status = 401, description = "No valid token"),
        (status = 403, description = "The caller is not a manager, or the account is shared with another host"),
        (status = 404, description = "No such user in the host"),
        (status = 409, description = "The change would leave the host without an admin"),
    )
)]
async fn put_user_status(
    State(state): State<AppState>,
    Caller { principal, audit }: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<StatusRequest>,
) -> Result<Json<UserResponse>, V1Error> {
    let host = principal.host_id.as_str();
    authorize(&principal, Action::ChangeUserStatus, host)?;
    let change = StatusChange {
        locked: body.locked,
        active: body.active,
        verified: body.verified,
    };
    if change == StatusChange::default() {
        return Err(bad("body", "give at least one of locked, active, verified"));
    }
    state
        .store
        .find_member(host, &id)
        .await?
        .ok_or(Refusal::NotFound)?;
    if change.locked.is_some() || change.verified.is_some() {
        let hosts: Vec<String> = state
            .store
            .user_hosts(&id)
            .await?
            .into_iter()
            .map(|h| h.host_id)
            .collect();
        authorize_account_change(&principal, Action::ChangeUserStatus, host, &hosts)?;
    }
    let now = state.now();
    let member = state
        .store
        .set_member_status(host, &id, change, &iso_date(now), &audit, now)
        .await?;
    Ok(Json(UserResponse::from(member)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(raw: &str) -> String {
        match parse_list_query(Some(raw)) {
            Err(V1Error::BadParameter { field, .. }) => field,
            other => panic!("{raw}: {other:?}"),
        }
    }

    #[test]
    fn a_list_query_is_parsed_with_its_defaults() {
        let q = parse_list_query(None).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!((q.limit, q.after, q.text), (50, None, None));
        let q = parse_list_query(Some("q=ann&type=E&status=locked&limit=200&role=admin"))
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(q.text.as_deref(), Some("ann"));
        assert_eq!(q.user_type.as_deref(), Some("E"));
        assert_eq!(q.status, Some(UserStatus::Locked));
        assert_eq!(q.limit, 200);
        assert_eq!(q.role.map(|r| r.name).as_deref(), Some("admin"));
    }

    #[test]
    fn a_bad_parameter_is_named() {
        assert_eq!(field_of("limit=0"), "limit");
        assert_eq!(field_of("limit=201"), "limit");
        assert_eq!(field_of("limit=ten"), "limit");
        assert_eq!(field_of("status=asleep"), "status");
        assert_eq!(field_of("cursor=%25%25"), "cursor");
        assert_eq!(field_of("color=red"), "color");
    }

    #[test]
    fn a_cursor_round_trips() {
        let c = encode_cursor("ann@example.com");
        assert_eq!(decode_cursor(&c).as_deref(), Some("ann@example.com"));
    }
}

//! A user's assignments with effective dates (issue 13; seed 003's `role_user_t`,
//! `group_user_t`, `attribute_user_t`, `employee_position_t`):
//! `GET|POST /users/{id}/{roles,groups,attributes,positions}` and
//! `DELETE /users/{id}/{kind}/{name}`. Reading needs the manager right (it is reading
//! the host's users); adding and ending need a host admin (seed 001: role changes).
//! Ending sets the last day to yesterday and keeps the row: the history stays, and
//! from today the assignment is gone from tokens.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::attribute_value::check_value;
use crate::domain::date::iso_date;
use crate::domain::input::{self, FieldError, MAX_NAME};
use crate::domain::{authorize, Action, Principal, Refusal};
use crate::http::error::V1Error;
use crate::http::extract::{ApiJson, Caller};
use crate::http::state::AppState;
use crate::store::{Assignment, AssignmentKind, Ending, NewAssignment};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_user_roles, post_user_role))
        .routes(routes!(delete_user_role))
        .routes(routes!(get_user_groups, post_user_group))
        .routes(routes!(delete_user_group))
        .routes(routes!(get_user_attributes, post_user_attribute))
        .routes(routes!(delete_user_attribute))
        .routes(routes!(get_user_positions, post_user_position))
        .routes(routes!(delete_user_position))
}

/// One assignment as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct AssignmentResponse {
    /// The role, group, attribute or position.
    name: String,
    /// Attributes: the value.
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<String>,
    start_date: String,
    /// The last day it counts; none: open.
    end_date: Option<String>,
    /// In effect today.
    current: bool,
    /// `local` (made in Tessera) or `directory` (replaced at each directory sign-in).
    source: String,
    /// Positions: `P` own, `D` inherited from a report, `S` from a teammate.
    #[serde(skip_serializing_if = "Option::is_none")]
    position_type: Option<String>,
    /// Positions: the employee id an inherited position comes from.
    #[serde(skip_serializing_if = "Option::is_none")]
    inherited_from: Option<String>,
}

/// A user's assignments of one kind, past, current and planned, by name and start.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct AssignmentsResponse {
    assignments: Vec<AssignmentResponse>,
}

fn response(rows: Vec<Assignment>, today: &str) -> AssignmentsResponse {
    AssignmentsResponse {
        assignments: rows
            .into_iter()
            .map(|a| AssignmentResponse {
                // ISO dates compare as text.
                current: a.start_date.as_str() <= today
                    && a.end_date.as_deref().is_none_or(|e| e >= today),
                name: a.name,
                value: a.value,
                start_date: a.start_date,
                end_date: a.end_date,
                source: a.source,
                position_type: a.position_type,
                inherited_from: a.inherited_from,
            })
            .collect(),
    }
}

/// Dates of a new assignment: from today unless given, open unless given.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RoleRequest {
    role: String,
    /// `YYYY-MM-DD`; default today.
    start_date: Option<String>,
    /// `YYYY-MM-DD`, on or after `start_date`; default none (open).
    end_date: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct GroupRequest {
    group: String,
    start_date: Option<String>,
    end_date: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct AttributeRequest {
    attribute: String,
    /// Checked against the attribute's type: integer, float, boolean, date
    /// (`YYYY-MM-DD`), list (comma-separated) or string. A JSON number or boolean is
    /// taken as its text.
    #[schema(value_type = String)]
    value: Value,
    start_date: Option<String>,
    end_date: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PositionRequest {
    position: String,
    start_date: Option<String>,
    end_date: Option<String>,
}

fn today(state: &AppState) -> String {
    iso_date(state.now())
}

async fn list(
    state: &AppState,
    principal: &Principal,
    id: &str,
    kind: AssignmentKind,
) -> Result<Json<AssignmentsResponse>, V1Error> {
    authorize(principal, Action::ReadUsers, &principal.host_id)?;
    let rows = state
        .store
        .list_assignments(&principal.host_id, id, kind)
        .await?;
    Ok(Json(response(rows, &today(state))))
}

/// What a POST asks for, before checks.
struct Asked<'a> {
    kind: AssignmentKind,
    name: &'a str,
    value: Option<&'a Value>,
    start_date: Option<&'a str>,
    end_date: Option<&'a str>,
}

async fn add(
    state: &AppState,
    Caller { principal, audit }: Caller,
    id: &str,
    asked: Asked<'_>,
) -> Result<(StatusCode, Json<AssignmentsResponse>), V1Error> {
    let host_id = principal.host_id.as_str();
    authorize(&principal, Action::ChangeUserRoles, host_id)?;
    state
        .store
        .find_member(host_id, id)
        .await?
        .ok_or(Refusal::NotFound)?;
    let field = asked.kind.as_str();
    let name = input::text(field, asked.name, MAX_NAME)?;
    let today = today(state);
    let (start, end) = input::date_range(asked.start_date.unwrap_or(&today), asked.end_date)?;
    let definition = state
        .store
        .find_definition_by_name(host_id, asked.kind, &name)
        .await?
        .ok_or_else(|| FieldError::new(field, format!("no {field} {name:?} in the host")))?;
    let value = match asked.value {
        None => None,
        Some(v) => {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => {
                    return Err(
                        FieldError::new("value", "must be a string, number or boolean").into(),
                    )
                }
            };
            let attribute_type = definition.attribute_type.as_deref().unwrap_or("string");
            Some(
                check_value(attribute_type, &text)
                    .map_err(|m| FieldError::new("value", format!("{attribute_type}: {m}")))?,
            )
        }
    };
    if asked.kind == AssignmentKind::Position
        && state.store.employee_record(host_id, id).await?.is_none()
    {
        return Err(FieldError::new("position", "only employees hold positions").into());
    }
    let new = NewAssignment {
        kind: asked.kind,
        definition_id: &definition.id,
        value: value.as_deref(),
        start_date: &start,
        end_date: end.as_deref(),
    };
    let rows = state
        .store
        .add_assignment(host_id, id, &new, &audit, state.now())
        .await?;
    Ok((StatusCode::CREATED, Json(response(rows, &today))))
}

async fn end(
    state: &AppState,
    Caller { principal, audit }: Caller,
    id: &str,
    kind: AssignmentKind,
    name: &str,
) -> Result<StatusCode, V1Error> {
    let host_id = principal.host_id.as_str();
    authorize(&principal, Action::ChangeUserRoles, host_id)?;
    state
        .store
        .find_member(host_id, id)
        .await?
        .ok_or(Refusal::NotFound)?;
    let definition = state
        .store
        .find_definition_by_name(host_id, kind, name)
        .await?
        .ok_or(Refusal::NotFound)?;
    let now = state.now();
    let (today, yesterday) = (iso_date(now), iso_date(now - 86_400));
    state
        .store
        .end_assignment(
            host_id,
            id,
            &Ending {
                kind,
                definition_id: &definition.id,
                name,
                today: &today,
                yesterday: &yesterday,
            },
            &audit,
            now,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Generates the three handlers of one kind; each needs its own `#[utoipa::path]`.
macro_rules! assignment_routes {
    ($kind:expr, $plural:literal, $param:literal, $request:ty, $field:ident,
     $get:ident, $post:ident, $delete:ident, $value:expr) => {
        #[doc = concat!("The user's ", $plural, ", past, current and planned.")]
        #[utoipa::path(
            get,
            path = concat!("/users/{id}/", $plural),
            tag = "assignments",
            params(("id" = String, Path, description = "The user's id")),
            responses(
                (status = 200, body = AssignmentsResponse),
                (status = 401, description = "No valid token"),
                (status = 403, description = "The caller is not a manager"),
                (status = 404, description = "No such user in the host"),
            )
        )]
        async fn $get(
            State(state): State<AppState>,
            principal: Principal,
            Path(id): Path<String>,
        ) -> Result<Json<AssignmentsResponse>, V1Error> {
            list(&state, &principal, &id, $kind).await
        }

        #[doc = concat!("Gives the user a ", $param, " from `start_date` (default today) to `end_date` (default open). One transaction with its audit entry.")]
        #[utoipa::path(
            post,
            path = concat!("/users/{id}/", $plural),
            tag = "assignments",
            params(("id" = String, Path, description = "The user's id")),
            request_body = $request,
            responses(
                (status = 201, body = AssignmentsResponse, description = "The user's assignments of this name"),
                (status = 400, description = "The body is malformed; `field` names the field"),
                (status = 401, description = "No valid token"),
                (status = 403, description = "The caller is not a host admin"),
                (status = 404, description = "No such user in the host"),
                (status = 409, description = "An assignment of this name overlaps these dates"),
                (status = 422, description = "An unknown name, dates out of order, a value of the wrong type; `field` names it"),
            )
        )]
        async fn $post(
            State(state): State<AppState>,
            caller: Caller,
            Path(id): Path<String>,
            ApiJson(body): ApiJson<$request>,
        ) -> Result<(StatusCode, Json<AssignmentsResponse>), V1Error> {
            let asked = Asked {
                kind: $kind,
                name: &body.$field,
                value: $value(&body),
                start_date: body.start_date.as_deref(),
                end_date: body.end_date.as_deref(),
            };
            add(&state, caller, &id, asked).await
        }

        #[doc = concat!("Ends the user's ", $param, " in effect today: yesterday becomes its last day (the row stays); one planned for later is dropped.")]
        #[utoipa::path(
            delete,
            path = concat!("/users/{id}/", $plural, "/{name}"),
            tag = "assignments",
            params(
                ("id" = String, Path, description = "The user's id"),
                ("name" = String, Path, description = concat!("The ", $param, "'s name")),
            ),
            responses(
                (status = 204, description = "Ended"),
                (status = 401, description = "No valid token"),
                (status = 403, description = "The caller is not a host admin"),
                (status = 404, description = "No such user, name, or assignment in effect"),
                (status = 409, description = "It would leave the host without an admin"),
            )
        )]
        async fn $delete(
            State(state): State<AppState>,
            caller: Caller,
            Path((id, name)): Path<(String, String)>,
        ) -> Result<StatusCode, V1Error> {
            end(&state, caller, &id, $kind, &name).await
        }
    };
}

fn no_value<T>(_: &T) -> Option<&Value> {
    None
}

fn attribute_value(body: &AttributeRequest) -> Option<&Value> {
    Some(&body.value)
}

assignment_routes!(
    AssignmentKind::Role,
    "roles",
    "role",
    RoleRequest,
    role,
    get_user_roles,
    post_user_role,
    delete_user_role,
    no_value
);
assignment_routes!(
    AssignmentKind::Group,
    "groups",
    "group",
    GroupRequest,
    group,
    get_user_groups,
    post_user_group,
    delete_user_group,
    no_value
);
assignment_routes!(
    AssignmentKind::Attribute,
    "attributes",
    "attribute",
    AttributeRequest,
    attribute,
    get_user_attributes,
    post_user_attribute,
    delete_user_attribute,
    attribute_value
);
assignment_routes!(
    AssignmentKind::Position,
    "positions",
    "position",
    PositionRequest,
    position,
    get_user_positions,
    post_user_position,
    delete_user_position,
    no_value
);

//! Permissions on API endpoints (issue 13; seed 003's four permission tables):
//! `GET`/`POST /api/v1/{roles,groups,users,attributes}/{id}/permissions` and
//! `DELETE …/permissions/{endpoint_id}`. A user's permission has effective dates and
//! needs the user to be a member of the host; an attribute's names the value a user's
//! attribute must have. Read `ReadCatalog`, change `ManageCatalog`.

use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::catalog::parse_list_query;
use super::query::encode_cursor;
use crate::domain::catalog::Holder;
use crate::domain::date::iso_date;
use crate::domain::input::{date_range, text, FieldError, MAX_TEXT};
use crate::domain::{authorize, Action, Principal};
use crate::http::error::V1Error;
use crate::http::extract::Caller;
use crate::http::state::AppState;
use crate::store::{Grant, Permission};

/// A permission on an endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct PermissionResponse {
    endpoint_id: String,
    endpoint: String,
    http_method: String,
    /// Users: the first day it counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    start_date: Option<String>,
    /// Users: the last day it counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    end_date: Option<String>,
    /// Attributes: the value a user's attribute must have.
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<String>,
}

impl From<Permission> for PermissionResponse {
    fn from(p: Permission) -> Self {
        Self {
            endpoint_id: p.endpoint_id,
            endpoint: p.endpoint,
            http_method: p.http_method,
            start_date: p.start_date,
            end_date: p.end_date,
            value: p.value,
        }
    }
}

/// A page of a holder's permissions, ordered by endpoint path, then method.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct PermissionListResponse {
    permissions: Vec<PermissionResponse>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// The body of a grant.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct GrantRequest {
    /// The endpoint's id (in this host).
    endpoint_id: String,
    /// Users only: the first day (default today).
    start_date: Option<String>,
    /// Users only: the last day (default none).
    end_date: Option<String>,
    /// Attributes only, and needed there: the value, of the attribute's type.
    value: Option<String>,
}

/// Checks a grant's body for a holder.
///
/// # Errors
/// The first field that breaks a rule.
pub(crate) fn grant(holder: Holder, body: &GrantRequest, today: &str) -> Result<Grant, FieldError> {
    let endpoint_id = text("endpoint_id", &body.endpoint_id, MAX_TEXT)?;
    let (start_date, end_date) = if holder == Holder::User {
        let (start, end) = date_range(
            body.start_date.as_deref().unwrap_or(today),
            body.end_date.as_deref(),
        )?;
        (Some(start), end)
    } else {
        for (field, given) in [
            ("start_date", body.start_date.is_some()),
            ("end_date", body.end_date.is_some()),
        ] {
            if given {
                return Err(FieldError::new(field, "is for a user's permission only"));
            }
        }
        (None, None)
    };
    let value = match (holder, &body.value) {
        (Holder::Attribute, Some(v)) => Some(text("value", v, MAX_TEXT)?),
        (Holder::Attribute, None) => {
            return Err(FieldError::new(
                "value",
                "is needed for an attribute's permission",
            ))
        }
        (_, Some(_)) => {
            return Err(FieldError::new(
                "value",
                "is for an attribute's permission only",
            ))
        }
        (_, None) => None,
    };
    Ok(Grant {
        endpoint_id,
        start_date,
        end_date,
        value,
    })
}

async fn list(
    state: AppState,
    principal: Principal,
    holder: Holder,
    id: String,
    raw: Option<String>,
) -> Result<Json<PermissionListResponse>, V1Error> {
    let host = principal.host_id.as_str();
    authorize(&principal, Action::ReadCatalog, host)?;
    let query = parse_list_query(raw.as_deref())?;
    let page = state
        .store
        .list_permissions(host, holder, &id, &query)
        .await?;
    Ok(Json(PermissionListResponse {
        permissions: page.permissions.into_iter().map(Into::into).collect(),
        next_cursor: page.next.as_deref().map(encode_cursor),
    }))
}

async fn create(
    state: AppState,
    Caller { principal, audit }: Caller,
    holder: Holder,
    id: String,
    body: GrantRequest,
) -> Result<(StatusCode, Json<PermissionResponse>), V1Error> {
    let host = principal.host_id.as_str();
    authorize(&principal, Action::ManageCatalog, host)?;
    let now = state.now();
    let grant = grant(holder, &body, &iso_date(now))?;
    let granted = state
        .store
        .grant_permission(host, holder, &id, &grant, &audit, now)
        .await?;
    Ok((StatusCode::CREATED, Json(granted.into())))
}

async fn delete(
    state: AppState,
    Caller { principal, audit }: Caller,
    holder: Holder,
    id: String,
    endpoint_id: String,
) -> Result<StatusCode, V1Error> {
    let host = principal.host_id.as_str();
    authorize(&principal, Action::ManageCatalog, host)?;
    state
        .store
        .revoke_permission(host, holder, &id, &endpoint_id, &audit, state.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Declares one holder's three routes with their `#[utoipa::path]`.
macro_rules! permission_routes {
    ($module:ident, $holder:ident, $tag:literal, $list:literal, $item:literal) => {
        pub(super) mod $module {
            use axum::extract::{Path, RawQuery, State};
            use axum::http::StatusCode;
            use axum::Json;
            use utoipa_axum::router::OpenApiRouter;
            use utoipa_axum::routes;

            use super::{GrantRequest, PermissionListResponse, PermissionResponse};
            use crate::http::api::v1::catalog::ListRequest;
            use crate::domain::catalog::Holder;
            use crate::domain::Principal;
            use crate::http::error::V1Error;
            use crate::http::extract::{ApiJson, Caller};
            use crate::http::state::AppState;

            /// The permissions this holder has, by endpoint.
            #[utoipa::path(get, path = $list, tag = "permissions",
                operation_id = concat!("list_", $tag, "_permissions"),
                params(("id" = String, Path, description = "The holder's id"), ListRequest),
                responses(
                    (status = 200, body = PermissionListResponse),
                    (status = 400, description = "A parameter is malformed; `field` names it"),
                    (status = 403, description = "The caller is not a manager"),
                    (status = 404, description = "No such holder in the host"),
                ))]
            pub(super) async fn list(
                State(state): State<AppState>,
                principal: Principal,
                Path(id): Path<String>,
                RawQuery(raw): RawQuery,
            ) -> Result<Json<PermissionListResponse>, V1Error> {
                super::list(state, principal, Holder::$holder, id, raw).await
            }

            /// Grants a permission on an endpoint.
            #[utoipa::path(post, path = $list, tag = "permissions",
                operation_id = concat!("grant_", $tag, "_permission"),
                params(("id" = String, Path, description = "The holder's id")),
                request_body = GrantRequest,
                responses(
                    (status = 201, body = PermissionResponse),
                    (status = 400, description = "The body is malformed; `field` names the field"),
                    (status = 403, description = "The caller is not a host admin"),
                    (status = 404, description = "No such holder or endpoint in the host"),
                    (status = 409, description = "The permission is held already"),
                    (status = 422, description = "A field breaks a rule; `field` names it"),
                ))]
            pub(super) async fn create(
                State(state): State<AppState>,
                caller: Caller,
                Path(id): Path<String>,
                ApiJson(body): ApiJson<GrantRequest>,
            ) -> Result<(StatusCode, Json<PermissionResponse>), V1Error> {
                super::create(state, caller, Holder::$holder, id, body).await
            }

            /// Takes a permission away.
            #[utoipa::path(delete, path = $item, tag = "permissions",
                operation_id = concat!("revoke_", $tag, "_permission"),
                params(
                    ("id" = String, Path, description = "The holder's id"),
                    ("endpoint_id" = String, Path, description = "The endpoint's id"),
                ),
                responses(
                    (status = 204, description = "Taken away"),
                    (status = 403, description = "The caller is not a host admin"),
                    (status = 404, description = "No such holder or permission in the host"),
                ))]
            pub(super) async fn delete(
                State(state): State<AppState>,
                caller: Caller,
                Path((id, endpoint_id)): Path<(String, String)>,
            ) -> Result<StatusCode, V1Error> {
                super::delete(state, caller, Holder::$holder, id, endpoint_id).await
            }

            pub(in super::super) fn router() -> OpenApiRouter<AppState> {
                OpenApiRouter::new()
                    .routes(routes!(list, create))
                    .routes(routes!(delete))
            }
        }
    };
}

permission_routes!(
    roles,
    Role,
    "role",
    "/roles/{id}/permissions",
    "/roles/{id}/permissions/{endpoint_id}"
);
permission_routes!(
    groups,
    Group,
    "group",
    "/groups/{id}/permissions",
    "/groups/{id}/permissions/{endpoint_id}"
);
permission_routes!(
    users,
    User,
    "user",
    "/users/{id}/permissions",
    "/users/{id}/permissions/{endpoint_id}"
);
permission_routes!(
    attributes,
    Attribute,
    "attribute",
    "/attributes/{id}/permissions",
    "/attributes/{id}/permissions/{endpoint_id}"
);

/// The routes of the four holders.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(roles::router())
        .merge(groups::router())
        .merge(users::router())
        .merge(attributes::router())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: serde_json::Value) -> GrantRequest {
        serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"))
    }

    fn field(holder: Holder, json: serde_json::Value) -> Option<String> {
        grant(holder, &body(json), "2026-12-02")
            .err()
            .map(|e| e.field)
    }

    #[test]
    fn a_users_permission_starts_today_unless_told() {
        let g = grant(
            Holder::User,
            &body(serde_json::json!({"endpoint_id": "e"})),
            "2026-12-02",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(g.start_date.as_deref(), Some("2026-12-02"));
        assert_eq!(g.end_date, None);
    }

    #[test]
    fn fields_of_other_holders_and_bad_dates_are_named() {
        use serde_json::json;
        let e = json!({"endpoint_id": "e", "start_date": "2026-01-01"});
        assert_eq!(field(Holder::Role, e).as_deref(), Some("start_date"));
        let e = json!({"endpoint_id": "e", "value": "x"});
        assert_eq!(field(Holder::Group, e).as_deref(), Some("value"));
        let e = json!({"endpoint_id": "e"});
        assert_eq!(field(Holder::Attribute, e).as_deref(), Some("value"));
        let e = json!({"endpoint_id": "e", "start_date": "2026-02-01", "end_date": "2026-01-01"});
        assert_eq!(field(Holder::User, e).as_deref(), Some("end_date"));
    }
}

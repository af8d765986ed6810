//! The routes of `/api/v1/roles`, `/groups`, `/positions` and `/attributes`: one
//! module per kind, declared by `definition_routes!`, each route with its
//! `#[utoipa::path]` (and an operation id of its own) over the shared handlers of
//! `catalog`.

use utoipa_axum::router::OpenApiRouter;

use crate::http::state::AppState;

/// Declares one kind's five routes, each with its `#[utoipa::path]`, delegating to
/// the shared handlers above.
macro_rules! definition_routes {
    ($module:ident, $kind:ident, $tag:literal, $list:literal, $item:literal) => {
        pub(super) mod $module {
            use axum::extract::{Path, RawQuery, State};
            use axum::http::StatusCode;
            use axum::Json;
            use utoipa_axum::router::OpenApiRouter;
            use utoipa_axum::routes;

            use super::super::catalog::{
                DefinitionListResponse, DefinitionPatch, DefinitionRequest, DefinitionResponse,
                DeleteRequest, ListRequest,
            };
            use crate::domain::Principal;
            use crate::http::error::V1Error;
            use crate::http::extract::{ApiJson, Caller};
            use crate::http::state::AppState;

            /// The host's definitions of this kind, a page at a time, by name.
            #[utoipa::path(get, path = $list, tag = $tag, operation_id = concat!("list_", $tag),
                params(ListRequest),
                responses(
                    (status = 200, body = DefinitionListResponse),
                    (status = 400, description = "A parameter is malformed; `field` names it"),
                    (status = 403, description = "The caller is not a manager"),
                ))]
            pub(super) async fn list(
                State(state): State<AppState>,
                principal: Principal,
                RawQuery(raw): RawQuery,
            ) -> Result<Json<DefinitionListResponse>, V1Error> {
                super::super::catalog::list(state, principal, raw, crate::domain::catalog::Kind::$kind).await
            }

            /// Creates a definition; its name must be free in the host (409 otherwise).
            #[utoipa::path(post, path = $list, tag = $tag, operation_id = concat!("create_", $tag),
                request_body = DefinitionRequest,
                responses(
                    (status = 201, body = DefinitionResponse),
                    (status = 400, description = "The body is malformed; `field` names the field"),
                    (status = 403, description = "The caller is not a host admin"),
                    (status = 409, description = "The name or id is taken"),
                    (status = 422, description = "A field breaks a rule; `field` names it"),
                ))]
            pub(super) async fn create(
                State(state): State<AppState>,
                caller: Caller,
                ApiJson(body): ApiJson<DefinitionRequest>,
            ) -> Result<(StatusCode, Json<DefinitionResponse>), V1Error> {
                super::super::catalog::create(state, caller, body, crate::domain::catalog::Kind::$kind).await
            }

            /// One definition of the host.
            #[utoipa::path(get, path = $item, tag = $tag, operation_id = concat!("get_", $tag),
                params(("id" = String, Path, description = "The id")),
                responses(
                    (status = 200, body = DefinitionResponse),
                    (status = 403, description = "The caller is not a manager"),
                    (status = 404, description = "No such definition in the host"),
                ))]
            pub(super) async fn get(
                State(state): State<AppState>,
                principal: Principal,
                Path(id): Path<String>,
            ) -> Result<Json<DefinitionResponse>, V1Error> {
                super::super::catalog::get(state, principal, id, crate::domain::catalog::Kind::$kind).await
            }

            /// Renames or changes a definition.
            #[utoipa::path(patch, path = $item, tag = $tag, operation_id = concat!("update_", $tag),
                params(("id" = String, Path, description = "The id")),
                request_body = DefinitionPatch,
                responses(
                    (status = 200, body = DefinitionResponse),
                    (status = 400, description = "The body is malformed; `field` names the field"),
                    (status = 403, description = "The caller is not a host admin"),
                    (status = 404, description = "No such definition in the host"),
                    (status = 409, description = "The new name is taken, the role gives rights by its name or is the default role, or stored values do not fit a new type"),
                    (status = 422, description = "A field breaks a rule; `field` names it"),
                ))]
            pub(super) async fn update(
                State(state): State<AppState>,
                caller: Caller,
                Path(id): Path<String>,
                ApiJson(body): ApiJson<DefinitionPatch>,
            ) -> Result<Json<DefinitionResponse>, V1Error> {
                super::super::catalog::update(state, caller, id, body, crate::domain::catalog::Kind::$kind).await
            }

            /// Deletes a definition. One assigned to users is refused (409, "in use by N
            /// users") unless `force=true`, which deletes the assignments too.
            #[utoipa::path(delete, path = $item, tag = $tag, operation_id = concat!("delete_", $tag),
                params(("id" = String, Path, description = "The id"), DeleteRequest),
                responses(
                    (status = 204, description = "Deleted"),
                    (status = 403, description = "The caller is not a host admin"),
                    (status = 404, description = "No such definition in the host"),
                    (status = 409, description = "In use, or a role that gives rights by its name or is the default role"),
                ))]
            pub(super) async fn delete(
                State(state): State<AppState>,
                caller: Caller,
                Path(id): Path<String>,
                RawQuery(raw): RawQuery,
            ) -> Result<StatusCode, V1Error> {
                super::super::catalog::delete(state, caller, id, raw, crate::domain::catalog::Kind::$kind).await
            }

            pub(in super::super) fn router() -> OpenApiRouter<AppState> {
                OpenApiRouter::new()
                    .routes(routes!(list, create))
                    .routes(routes!(get, update, delete))
            }
        }
    };
}

definition_routes!(roles, Role, "roles", "/roles", "/roles/{id}");
definition_routes!(groups, Group, "groups", "/groups", "/groups/{id}");
definition_routes!(
    positions,
    Position,
    "positions",
    "/positions",
    "/positions/{id}"
);
definition_routes!(
    attributes,
    Attribute,
    "attributes",
    "/attributes",
    "/attributes/{id}"
);

/// The routes of the four kinds.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(roles::router())
        .merge(groups::router())
        .merge(positions::router())
        .merge(attributes::router())
}

//! The host's API endpoints (issue 13; seed 003's `api_endpoint_t`):
//! `/api/v1/endpoints`, list (keyset paging by path, then method), create, get, update,
//! delete. Rights as for the rest of the catalog: read `ReadCatalog`, change
//! `ManageCatalog`.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::catalog::{parse_force, parse_list_query, DeleteRequest, ListRequest};
use super::query::bad;
use super::query::encode_cursor;
use crate::domain::catalog::{chosen_id, endpoint_path, http_method, HTTP_METHODS};
use crate::domain::input::{optional_text, FieldError, MAX_TEXT};
use crate::domain::{authorize, Action, Principal, Refusal};
use crate::http::error::V1Error;
use crate::http::extract::{ApiJson, Caller};
use crate::http::state::AppState;
use crate::store::{Endpoint, EndpointChange, NewEndpoint};

/// An API endpoint: a service's path template and an HTTP method.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct EndpointResponse {
    id: String,
    /// The service and path template (`/v1/accounts/{id}`).
    endpoint: String,
    http_method: String,
    description: Option<String>,
}

impl From<Endpoint> for EndpointResponse {
    fn from(e: Endpoint) -> Self {
        Self {
            id: e.id,
            endpoint: e.endpoint,
            http_method: e.http_method,
            description: e.description,
        }
    }
}

/// A page of endpoints, ordered by path, then method.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct EndpointListResponse {
    endpoints: Vec<EndpointResponse>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// The body of `POST /api/v1/endpoints`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct EndpointRequest {
    /// The id (default: a random one).
    id: Option<String>,
    /// The service and path template; unique in the host with the method.
    endpoint: String,
    /// GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS.
    http_method: String,
    description: Option<String>,
}

/// The body of `PATCH /api/v1/endpoints/{id}`: each field given is changed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct EndpointPatch {
    endpoint: Option<String>,
    http_method: Option<String>,
    /// An empty description clears it.
    description: Option<String>,
}

fn method(value: &str) -> Result<String, FieldError> {
    http_method(value).map(str::to_owned).ok_or_else(|| {
        FieldError::new(
            "http_method",
            format!("must be one of {}", HTTP_METHODS.join(", ")),
        )
    })
}

/// Checks a create's body.
///
/// # Errors
/// The first field that breaks a rule.
pub(crate) fn new_endpoint(
    id: Option<&str>,
    endpoint: &str,
    http_method: &str,
    description: Option<&str>,
) -> Result<NewEndpoint, FieldError> {
    Ok(NewEndpoint {
        id: chosen_id(id)?,
        endpoint: endpoint_path(endpoint)?,
        http_method: method(http_method)?,
        description: optional_text("description", description, MAX_TEXT)?,
    })
}

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_endpoints, post_endpoint))
        .routes(routes!(get_endpoint, patch_endpoint, delete_endpoint))
}

/// The host's API endpoints, a page at a time.
#[utoipa::path(get, path = "/endpoints", tag = "endpoints", params(ListRequest),
    responses(
        (status = 200, body = EndpointListResponse),
        (status = 400, description = "A parameter is malformed; `field` names it"),
        (status = 403, description = "The caller is not a manager"),
    ))]
async fn get_endpoints(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(raw): RawQuery,
) -> Result<Json<EndpointListResponse>, V1Error> {
    let host = principal.host_id.as_str();
    authorize(&principal, Action::ReadCatalog, host)?;
    let query = parse_list_query(raw.as_deref())?;
    let page = state.store.list_endpoints(host, &query).await?;
    Ok(Json(EndpointListResponse {
        endpoints: page.endpoints.into_iter().map(Into::into).collect(),
        next_cursor: page.next.as_deref().map(encode_cursor),
    }))
}

/// Creates an endpoint; its path and method must be free in the host (409).
#[utoipa::path(post, path = "/endpoints", tag = "endpoints", request_body = EndpointRequest,
    responses(
        (status = 201, body = EndpointResponse),
        (status = 400, description = "The body is malformed; `field` names the field"),
        (status = 403, description = "The caller is not a host admin"),
        (status = 409, description = "The path and method, or the id, are taken"),
        (status = 422, description = "A field breaks a rule; `field` names it"),
    ))]
async fn post_endpoint(
    State(state): State<AppState>,
    Caller { principal, audit }: Caller,
    ApiJson(body): ApiJson<EndpointRequest>,
) -> Result<(StatusCode, Json<EndpointResponse>), V1Error> {
    let host = principal.host_id.as_str();
    authorize(&principal, Action::ManageCatalog, host)?;
    let new = new_endpoint(
        body.id.as_deref(),
        &body.endpoint,
        &body.http_method,
        body.description.as_deref(),
    )?;
    let created = state
        .store
        .create_endpoint(host, &new, &audit, state.now())
        .await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// One endpoint of the host.
#[utoipa::path(get, path = "/endpoints/{id}", tag = "endpoints",
    params(("id" = String, Path, description = "The endpoint's id")),
    responses(
        (status = 200, body = EndpointResponse),
        (status = 403, description = "The caller is not a manager"),
        (status = 404, description = "No such endpoint in the host"),
    ))]
async fn get_endpoint(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<EndpointResponse>, V1Error> {
    let host = principal.host_id.as_str();
    authorize(&principal, Action::ReadCatalog, host)?;
    let found = state
        .store
        .find_endpoint(host, &id)
        .await?
        .ok_or(Refusal::NotFound)?;
    Ok(Json(found.into()))
}

/// Changes an endpoint's path, method or description.
#[utoipa::path(patch, path = "/endpoints/{id}", tag = "endpoints",
    params(("id" = String, Path, description = "The endpoint's id")),
    request_body = EndpointPatch,
    responses(
        (status = 200, body = EndpointResponse),
        (status = 400, description = "The body is malformed; `field` names the field"),
        (status = 403, description = "The caller is not a host admin"),
        (status = 404, description = "No such endpoint in the host"),
        (status = 409, description = "The new path and method are taken"),
        (status = 422, description = "A field breaks a rule; `field` names it"),
    ))]
async fn patch_endpoint(
    State(state): State<AppState>,
    Caller { principal, audit }: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<EndpointPatch>,
) -> Result<Json<EndpointResponse>, V1Error> {
    let host = principal.host_id.as_str();
    authorize(&principal, Action::ManageCatalog, host)?;
    let change = EndpointChange {
        endpoint: body.endpoint.as_deref().map(endpoint_path).transpose()?,
        http_method: body.http_method.as_deref().map(method).transpose()?,
        description: body
            .description
            .as_deref()
            .map(|d| optional_text("description", Some(d), MAX_TEXT))
            .transpose()?,
    };
    if change == EndpointChange::default() {
        return Err(bad("body", "give at least one field to change"));
    }
    let changed = state
        .store
        .update_endpoint(host, &id, &change, &audit, state.now())
        .await?;
    Ok(Json(changed.into()))
}

/// Deletes an endpoint. One that permissions name is refused (409) unless
/// `force=true`, which deletes them too.
#[utoipa::path(delete, path = "/endpoints/{id}", tag = "endpoints",
    params(("id" = String, Path, description = "The endpoint's id"), DeleteRequest),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "The caller is not a host admin"),
        (status = 404, description = "No such endpoint in the host"),
        (status = 409, description = "Permissions name it"),
    ))]
async fn delete_endpoint(
    State(state): State<AppState>,
    Caller { principal, audit }: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<StatusCode, V1Error> {
    let host = principal.host_id.as_str();
    authorize(&principal, Action::ManageCatalog, host)?;
    let force = parse_force(raw.as_deref())?;
    state
        .store
        .delete_endpoint(host, &id, force, &audit, state.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_method_is_stored_upper_case_and_an_unknown_one_is_named() {
        let e = new_endpoint(None, "/v1/pets", "get", None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(e.http_method, "GET");
        let e = new_endpoint(None, "/v1/pets", "TRACE", None).err();
        assert_eq!(e.map(|e| e.field).as_deref(), Some("http_method"));
        let e = new_endpoint(None, "/v1/ pets", "GET", None).err();
        assert_eq!(e.map(|e| e.field).as_deref(), Some("endpoint"));
    }
}

//! A host's OAuth clients (RFC 6749 §2; issue 13, seed 001: clients for host admins):
//! `GET/POST /api/v1/clients`, `GET/PATCH/DELETE /api/v1/clients/{id}` and
//! `POST /api/v1/clients/{id}/secret`. A client belongs to the host the request acts
//! in; another host's client is a 404. A secret is made by Tessera, shown once (in the
//! answer that made it) and stored as its SHA-256 only. A change reaches this node's
//! client cache at once and other nodes within its TTL (`http::clients`).

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::client_input::{
    new_client, patched, ClientView, CreateClientRequest, NewClientView, SecretView,
    UpdateClientRequest,
};
use super::query::{decode_cursor, encode_cursor, page_limit, parse_query, read_cursor};
use crate::domain::{authorize, Action, Client, Principal, Refusal, Secret};
use crate::http::error::V1Error;
use crate::http::extract::{ApiJson, Caller};
use crate::http::state::AppState;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct ListClientsRequest {
    /// Clients per page, 1 to 200 (default 50).
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// A page of clients, by client id.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct ListClientsResponse {
    clients: Vec<ClientView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_clients, post_client))
        .routes(routes!(get_client, patch_client, delete_client))
        .routes(routes!(post_client_secret))
}

/// The host's client `id`, or a 404 (also for another host's client).
async fn host_client(state: &AppState, host_id: &str, id: &str) -> Result<Client, V1Error> {
    state
        .store
        .find_client(id)
        .await?
        .filter(|c| c.host_id.as_deref() == Some(host_id))
        .ok_or(V1Error::Refused(Refusal::NotFound))
}

/// The host's clients, a page at a time (by client id, so a client added between two
/// pages neither repeats nor hides one).
#[utoipa::path(
    get,
    path = "/clients",
    tag = "clients",
    params(ListClientsRequest),
    responses(
        (status = 200, body = ListClientsResponse),
        (status = 400, description = "A parameter is malformed; `field` names it"),
        (status = 401, description = "No valid token"),
        (status = 403, description = "The caller is not a host admin"),
    )
)]
async fn get_clients(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(raw): RawQuery,
) -> Result<Json<ListClientsResponse>, V1Error> {
    authorize(&principal, Action::ManageClients, &principal.host_id)?;
    let request: ListClientsRequest = parse_query(raw.as_deref())?;
    let limit = page_limit(request.limit)?;
    let after = read_cursor(request.cursor, decode_cursor)?;
    let page = state
        .store
        .list_host_clients(&principal.host_id, after.as_deref(), limit)
        .await?;
    Ok(Json(ListClientsResponse {
        clients: page.clients.iter().map(ClientView::from).collect(),
        next_cursor: page.next.as_deref().map(encode_cursor),
    }))
}

/// One client of the host.
#[utoipa::path(
    get,
    path = "/clients/{id}",
    tag = "clients",
    params(("id" = String, Path, description = "The client id")),
    responses(
        (status = 200, body = ClientView),
        (status = 401, description = "No valid token"),
        (status = 403, description = "The caller is not a host admin"),
        (status = 404, description = "No such client in the host"),
    )
)]
async fn get_client(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<ClientView>, V1Error> {
    authorize(&principal, Action::ManageClients, &principal.host_id)?;
    let client = host_client(&state, &principal.host_id, &id).await?;
    Ok(Json(ClientView::from(&client)))
}

/// Registers a client in the host. A confidential client's secret is in this answer
/// and nowhere else, ever.
#[utoipa::path(
    post,
    path = "/clients",
    tag = "clients",
    request_body = CreateClientRequest,
    responses(
        (status = 201, body = NewClientView),
        (status = 400, description = "The body is malformed (an unknown grant type); `field` names it"),
        (status = 401, description = "No valid token"),
        (status = 403, description = "The caller is not a host admin"),
        (status = 409, description = "A client with this id exists"),
        (status = 422, description = "A value breaks a rule (a redirect URI, a name); `field` names it"),
    )
)]
async fn post_client(
    State(state): State<AppState>,
    Caller { principal, audit }: Caller,
    ApiJson(body): ApiJson<CreateClientRequest>,
) -> Result<(StatusCode, Json<NewClientView>), V1Error> {
    authorize(&principal, Action::ManageClients, &principal.host_id)?;
    let (client, secret) = new_client(body, &principal.host_id)?;
    state
        .store
        .register_client(&client, &audit, state.now())
        .await?;
    state.clients.forget(&client.client_id);
    Ok((
        StatusCode::CREATED,
        Json(NewClientView::new(&client, secret.as_ref())),
    ))
}

/// Changes a client's settings; fields left out are kept.
#[utoipa::path(
    patch,
    path = "/clients/{id}",
    tag = "clients",
    params(("id" = String, Path, description = "The client id")),
    request_body = UpdateClientRequest,
    responses(
        (status = 200, body = ClientView, description = "The client as changed"),
        (status = 400, description = "The body is malformed; `field` names it"),
        (status = 401, description = "No valid token"),
        (status = 403, description = "The caller is not a host admin"),
        (status = 404, description = "No such client in the host"),
        (status = 409, description = "The client was changed meanwhile"),
        (status = 422, description = "A value breaks a rule; `field` names it"),
    )
)]
async fn patch_client(
    State(state): State<AppState>,
    Caller { principal, audit }: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateClientRequest>,
) -> Result<Json<ClientView>, V1Error> {
    let host = principal.host_id.as_str();
    authorize(&principal, Action::ManageClients, host)?;
    let before = host_client(&state, host, &id).await?;
    let after = patched(before.clone(), body)?;
    state
        .store
        .update_client(Some(host), &before, &after, &audit, state.now())
        .await?;
    state.clients.forget(&id);
    Ok(Json(ClientView::from(&after)))
}

/// Deletes a client: its consents go, its tokens are revoked.
#[utoipa::path(
    delete,
    path = "/clients/{id}",
    tag = "clients",
    params(("id" = String, Path, description = "The client id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid token"),
        (status = 403, description = "The caller is not a host admin"),
        (status = 404, description = "No such client in the host"),
    )
)]
async fn delete_client(
    State(state): State<AppState>,
    Caller { principal, audit }: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, V1Error> {
    let host = principal.host_id.as_str();
    authorize(&principal, Action::ManageClients, host)?;
    state
        .store
        .delete_client(Some(host), &id, &audit, state.now())
        .await?;
    state.clients.forget(&id);
    Ok(StatusCode::NO_CONTENT)
}

/// Gives a confidential client a new secret, shown once; the old one stops working
/// at once on this node and within the client cache's TTL on the others.
#[utoipa::path(
    post,
    path = "/clients/{id}/secret",
    tag = "clients",
    params(("id" = String, Path, description = "The client id")),
    responses(
        (status = 200, body = SecretView),
        (status = 401, description = "No valid token"),
        (status = 403, description = "The caller is not a host admin"),
        (status = 404, description = "No such confidential client in the host"),
    )
)]
async fn post_client_secret(
    State(state): State<AppState>,
    Caller { principal, audit }: Caller,
    Path(id): Path<String>,
) -> Result<Json<SecretView>, V1Error> {
    let host = principal.host_id.as_str();
    authorize(&principal, Action::ManageClients, host)?;
    let secret = Secret::generate();
    state
        .store
        .rotate_client_secret(Some(host), &id, &secret.hash(), &audit, state.now())
        .await?;
    state.clients.forget(&id);
    Ok(Json(SecretView {
        client_id: id,
        client_secret: secret.expose().to_owned(),
    }))
}

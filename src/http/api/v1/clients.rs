//! A host's OAuth clients (RFC 6749 §2; issue 13, seed 001: clients for host admins):
//! `GET/POST /api/v1/clients`, `GET/PATCH/DELETE /api/v1/clients/{id}` and
//! `POST /api/v1/clients/{id}/secret`. A client belongs to the host the request acts
//! in; another host's client is a 404. A secret is made by Tessera, shown once (in the
//! answer that made it) and stored as its SHA-256 only. A change reaches this node's
//! client cache at once and other nodes within its TTL (`http::clients`).

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::query::{bad, parse_query};
use crate::domain::input::{self, FieldError};
use crate::domain::secret::random_id;
use crate::domain::{
    authorize, Action, AuthMethod, Client, ClientType, GrantType, Principal, RedirectUri, Refusal,
    Scopes, Secret,
};
use crate::http::error::V1Error;
use crate::http::extract::{ApiJson, Caller};
use crate::http::state::AppState;

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;
/// The scopes a client is given when the request names none.
const DEFAULT_SCOPES: &str = "openid profile email address phone offline_access";

/// A client as the API (and `tessera client … --json`) shows it. Never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ClientView {
    client_id: String,
    name: String,
    /// `confidential` or `public`.
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    client_type: ClientType,
    host_id: Option<String>,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    #[schema(value_type = Vec<String>)]
    grant_types: Vec<GrantType>,
    /// The scopes the client may ask for, space separated.
    scopes: String,
    /// How it authenticates at the token endpoint; null for a client registered before
    /// the method was chosen (either secret method).
    #[schema(value_type = Option<String>)]
    token_endpoint_auth_method: Option<AuthMethod>,
    require_pkce: bool,
    profile_in_id_token: bool,
    skip_consent: bool,
}

impl From<&Client> for ClientView {
    fn from(c: &Client) -> Self {
        let uris = |list: &[RedirectUri]| list.iter().map(|u| u.as_str().to_owned()).collect();
        Self {
            client_id: c.client_id.clone(),
            name: c.name.clone(),
            client_type: c.client_type,
            host_id: c.host_id.clone(),
            redirect_uris: uris(&c.redirect_uris),
            post_logout_redirect_uris: uris(&c.post_logout_redirect_uris),
            grant_types: c.grant_types.clone(),
            scopes: c.allowed_scopes.to_string(),
            token_endpoint_auth_method: c.auth_method,
            require_pkce: c.pkce_required(),
            profile_in_id_token: c.profile_in_id_token,
            skip_consent: c.skip_consent,
        }
    }
}

/// A client just made, with its secret: the only time the secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct NewClientView {
    #[serde(flatten)]
    client: ClientView,
    /// The secret of a confidential client; keep it now, it is never shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
}

impl NewClientView {
    pub(crate) fn new(client: &Client, secret: Option<&Secret>) -> Self {
        Self {
            client: ClientView::from(client),
            client_secret: secret.map(|s| s.expose().to_owned()),
        }
    }
}

/// A new secret, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SecretView {
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
}

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

/// The body of `POST /api/v1/clients`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateClientRequest {
    /// The client id (default: a random one).
    client_id: Option<String>,
    name: String,
    /// `confidential` (default) or `public`.
    #[serde(rename = "type", default = "confidential")]
    #[schema(value_type = Option<String>)]
    client_type: ClientType,
    /// Absolute URIs without a fragment, matched exactly.
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    /// Default: `authorization_code`, `refresh_token`.
    #[schema(value_type = Option<Vec<String>>)]
    grant_types: Option<Vec<GrantType>>,
    /// Space separated (default: `openid profile email address phone offline_access`).
    scopes: Option<String>,
    /// Default: `client_secret_basic` for a confidential client, `none` for a public one.
    #[schema(value_type = Option<String>)]
    token_endpoint_auth_method: Option<AuthMethod>,
    /// Default true; always true for a public client.
    require_pkce: Option<bool>,
    #[serde(default)]
    profile_in_id_token: bool,
    /// A first-party client: no consent page except for `offline_access`.
    #[serde(default)]
    skip_consent: bool,
}

fn confidential() -> ClientType {
    ClientType::Confidential
}

/// The body of `PATCH /api/v1/clients/{id}`: each field given replaces the stored one.
/// The id, type and host do not change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct UpdateClientRequest {
    name: Option<String>,
    redirect_uris: Option<Vec<String>>,
    post_logout_redirect_uris: Option<Vec<String>>,
    #[schema(value_type = Option<Vec<String>>)]
    grant_types: Option<Vec<GrantType>>,
    scopes: Option<String>,
    #[schema(value_type = Option<String>)]
    token_endpoint_auth_method: Option<AuthMethod>,
    require_pkce: Option<bool>,
    profile_in_id_token: Option<bool>,
    skip_consent: Option<bool>,
}

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_clients, post_client))
        .routes(routes!(get_client, patch_client, delete_client))
        .routes(routes!(post_client_secret))
}

/// Redirect URIs as registration takes them (RFC 6749 §3.1.2: absolute, no fragment),
/// each error naming its place (`redirect_uris[1]`).
pub(crate) fn parse_uris(field: &str, list: &[String]) -> Result<Vec<RedirectUri>, FieldError> {
    list.iter()
        .enumerate()
        .map(|(i, u)| {
            RedirectUri::parse(u)
                .map_err(|e| FieldError::new(&format!("{field}[{i}]"), e.to_string()))
        })
        .collect()
}

pub(crate) fn parse_scopes(text: &str) -> Result<Scopes, FieldError> {
    Scopes::parse(text).map_err(|e| FieldError::new("scopes", e.to_string()))
}

/// A client id a caller chooses: a name's rules, and nothing a command line would take
/// for an option or split.
pub(crate) fn client_id(value: &str) -> Result<String, FieldError> {
    let id = input::text("client_id", value, input::MAX_NAME)?;
    if id.starts_with('-') || id.contains(char::is_whitespace) {
        return Err(FieldError::new(
            "client_id",
            "must not start with '-' or contain spaces",
        ));
    }
    Ok(id)
}

/// The client a create request describes, with its new secret if confidential.
fn new_client(
    body: CreateClientRequest,
    host_id: &str,
) -> Result<(Client, Option<Secret>), FieldError> {
    let client_type = body.client_type;
    let secret = (client_type == ClientType::Confidential).then(Secret::generate);
    let client = Client {
        client_id: match body.client_id {
            Some(id) => client_id(&id)?,
            None => random_id(),
        },
        name: input::text("name", &body.name, input::MAX_NAME)?,
        client_type,
        secret_hash: secret.as_ref().map(Secret::hash),
        redirect_uris: parse_uris("redirect_uris", &body.redirect_uris)?,
        post_logout_redirect_uris: parse_uris(
            "post_logout_redirect_uris",
            &body.post_logout_redirect_uris,
        )?,
        grant_types: body
            .grant_types
            .unwrap_or_else(|| vec![GrantType::AuthorizationCode, GrantType::RefreshToken]),
        auth_method: Some(
            body.token_endpoint_auth_method
                .unwrap_or(match client_type {
                    ClientType::Confidential => AuthMethod::ClientSecretBasic,
                    ClientType::Public => AuthMethod::None,
                }),
        ),
        allowed_scopes: parse_scopes(body.scopes.as_deref().unwrap_or(DEFAULT_SCOPES))?,
        require_pkce: body.require_pkce.unwrap_or(true) || client_type == ClientType::Public,
        host_id: Some(host_id.to_owned()),
        profile_in_id_token: body.profile_in_id_token,
        skip_consent: body.skip_consent,
    };
    client.check()?;
    Ok((client, secret))
}

/// The client as a patch leaves it.
fn patched(mut c: Client, body: UpdateClientRequest) -> Result<Client, FieldError> {
    if let Some(name) = body.name {
        c.name = input::text("name", &name, input::MAX_NAME)?;
    }
    if let Some(uris) = body.redirect_uris {
        c.redirect_uris = parse_uris("redirect_uris", &uris)?;
    }
    if let Some(uris) = body.post_logout_redirect_uris {
        c.post_logout_redirect_uris = parse_uris("post_logout_redirect_uris", &uris)?;
    }
    if let Some(grants) = body.grant_types {
        c.grant_types = grants;
    }
    if let Some(scopes) = body.scopes {
        c.allowed_scopes = parse_scopes(&scopes)?;
    }
    if let Some(method) = body.token_endpoint_auth_method {
        c.auth_method = Some(method);
    }
    if let Some(pkce) = body.require_pkce {
        c.require_pkce = pkce || c.is_public();
    }
    if let Some(profile) = body.profile_in_id_token {
        c.profile_in_id_token = profile;
    }
    if let Some(skip) = body.skip_consent {
        c.skip_consent = skip;
    }
    c.check()?;
    Ok(c)
}

fn encode_cursor(after: &str) -> String {
    URL_SAFE_NO_PAD.encode(after)
}

fn decode_cursor(cursor: &str) -> Option<String> {
    String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()
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
    let limit = request.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(bad("limit", format!("limit must be 1 to {MAX_LIMIT}")));
    }
    let after = match request.cursor {
        None => None,
        Some(c) => Some(decode_cursor(&c).ok_or_else(|| bad("cursor", "invalid cursor"))?),
    };
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

//! Hosts (tenants), for system admins (issue 13, seed 001): `GET/POST /api/v1/hosts`,
//! `GET/PATCH /api/v1/hosts/{id}`: domain, name, user-type model, default role,
//! feature flags, and the host's directory kept in the database, whose service password
//! is given by reference (`env:TESSERA_DIRECTORY_PASSWORD_…` or `file:` inside the
//! configured folder) and never stored or shown in clear. A directory change takes
//! effect at this node's next sign-in and within `authn::directories::STORED_TTL` on
//! the others.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::query::{decode_cursor, encode_cursor, page_limit, parse_query, read_cursor};
use crate::authn::directory::{Directory, DirectorySettings, PasswordRules};
use crate::domain::input::{self, FieldError};
use crate::domain::secret::random_id;
use crate::domain::{authorize, Action, Principal, UserTypeModel};
use crate::http::error::V1Error;
use crate::http::extract::{ApiJson, Caller};
use crate::http::state::AppState;
use crate::store::{FeatureFlags, HostSettings, StoreError};

/// The longest feature flag name.
const MAX_FLAG: usize = 64;

/// A host as the API (and `tessera host … --json`) shows it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HostView {
    id: String,
    domain: String,
    name: String,
    /// `EC` (employee, customer) or `EPB` (employee, personal, business).
    user_type_model: String,
    default_role: Option<String>,
    feature_flags: FeatureFlags,
    /// The directory kept in the database (the password as its reference); null when
    /// there is none.
    #[schema(value_type = Option<Object>)]
    directory: Option<Value>,
    /// Whether the configuration file gives this host's directory (which then wins).
    directory_in_configuration: bool,
}

impl HostView {
    pub(crate) fn new(h: HostSettings, configured: bool) -> Self {
        let directory = h.directory.map(|d| {
            serde_json::from_value::<DirectorySettings>(d.clone())
                .map(|s| s.to_api())
                .unwrap_or(d)
        });
        Self {
            id: h.host_id,
            domain: h.domain,
            name: h.name,
            user_type_model: h.user_type_model,
            default_role: h.default_role,
            feature_flags: h.feature_flags,
            directory,
            directory_in_configuration: configured,
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct ListHostsRequest {
    /// Hosts per page, 1 to 200 (default 50).
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// A page of hosts, by domain.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct ListHostsResponse {
    hosts: Vec<HostView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// The body of `POST /api/v1/hosts`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateHostRequest {
    /// The host id (default: a random one).
    id: Option<String>,
    domain: String,
    name: String,
    /// `EC` (default) or `EPB`.
    user_type_model: Option<String>,
    #[serde(default)]
    feature_flags: FeatureFlags,
    /// A `[[directories]]` entry without `host`, the password as `bind_password`
    /// (`env:TESSERA_DIRECTORY_PASSWORD_…` or `file:/path`).
    #[schema(value_type = Option<Object>)]
    directory: Option<Value>,
}

/// The body of `PATCH /api/v1/hosts/{id}`: each field given replaces the stored one;
/// `default_role` or `directory` null removes it.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct UpdateHostRequest {
    domain: Option<String>,
    name: Option<String>,
    user_type_model: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    default_role: Option<Option<String>>,
    feature_flags: Option<FeatureFlags>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Object>)]
    directory: Option<Option<Value>>,
}

/// A field that is present, null or not: `Some(None)` for an explicit null.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_hosts, post_host))
        .routes(routes!(get_host, patch_host))
}

/// A domain: a name's rules, lower case, no spaces or slashes.
pub(crate) fn domain(value: &str) -> Result<String, FieldError> {
    let d = input::text("domain", value, input::MAX_NAME)?.to_lowercase();
    if d.contains(|c: char| c.is_whitespace() || c == '/' || c == '@') {
        return Err(FieldError::new("domain", "must be a domain name"));
    }
    Ok(d)
}

/// A host id a caller chooses: a name's rules, and nothing a path or a command line
/// would split or take for an option.
pub(crate) fn host_id(value: &str) -> Result<String, FieldError> {
    let id = input::text("id", value, input::MAX_NAME)?;
    if id.starts_with('-') || id.contains(|c: char| c.is_whitespace() || c == '/') {
        return Err(FieldError::new(
            "id",
            "must not start with '-' or contain spaces or '/'",
        ));
    }
    Ok(id)
}

pub(crate) fn model(value: &str) -> Result<String, FieldError> {
    UserTypeModel::parse(value)
        .map(|m| m.as_str().to_owned())
        .map_err(|e| FieldError::new("user_type_model", e.to_string()))
}

pub(crate) fn flags(flags: FeatureFlags) -> Result<FeatureFlags, FieldError> {
    for name in flags.keys() {
        input::text("feature_flags", name, MAX_FLAG)?;
    }
    Ok(flags)
}

/// A directory's settings for `host_id` from the API's JSON, checked as a node would
/// set it up (URLs, TLS, the password's reference resolving here).
fn directory(state: &AppState, host_id: &str, value: Value) -> Result<Value, V1Error> {
    if state.authenticator.directories.is_configured(host_id) {
        return Err(V1Error::Store(StoreError::Refused(
            "this host's directory is set in the configuration file, which wins".to_owned(),
        )));
    }
    let rules = PasswordRules {
        folder: state.config.directory_password_files.clone(),
    };
    let settings = DirectorySettings::from_api(host_id, value, &rules)
        .map_err(|e| FieldError::new(&e.field, e.message))?;
    Directory::new(settings.clone()).map_err(|e| FieldError::new("directory", e.to_string()))?;
    serde_json::to_value(&settings).map_err(|e| V1Error::Store(StoreError::Corrupt(e.to_string())))
}

fn view(state: &AppState, h: HostSettings) -> HostView {
    let configured = state.authenticator.directories.is_configured(&h.host_id);
    HostView::new(h, configured)
}

/// Every host, a page at a time.
#[utoipa::path(
    get,
    path = "/hosts",
    tag = "hosts",
    params(ListHostsRequest),
    responses(
        (status = 200, body = ListHostsResponse),
        (status = 400, description = "A parameter is malformed; `field` names it"),
        (status = 401, description = "No valid token"),
        (status = 403, description = "The caller is not a system admin"),
    )
)]
async fn get_hosts(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(raw): RawQuery,
) -> Result<Json<ListHostsResponse>, V1Error> {
    authorize(&principal, Action::ManageHosts, &principal.host_id)?;
    let request: ListHostsRequest = parse_query(raw.as_deref())?;
    let limit = page_limit(request.limit)?;
    let after = read_cursor(request.cursor, decode_cursor)?;
    let page = state
        .store
        .list_host_settings(after.as_deref(), limit)
        .await?;
    Ok(Json(ListHostsResponse {
        hosts: page.hosts.into_iter().map(|h| view(&state, h)).collect(),
        next_cursor: page.next.as_deref().map(encode_cursor),
    }))
}

/// One host.
#[utoipa::path(
    get,
    path = "/hosts/{id}",
    tag = "hosts",
    params(("id" = String, Path, description = "The host id")),
    responses(
        (status = 200, body = HostView),
        (status = 401, description = "No valid token"),
        (status = 403, description = "The caller is not a system admin"),
        (status = 404, description = "No such host"),
    )
)]
async fn get_host(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<HostView>, V1Error> {
    authorize(&principal, Action::ManageHosts, &id)?;
    let host = state
        .store
        .host_settings(&id)
        .await?
        .ok_or(StoreError::NotFound("host"))?;
    Ok(Json(view(&state, host)))
}

/// Adds a host.
#[utoipa::path(
    post,
    path = "/hosts",
    tag = "hosts",
    request_body = CreateHostRequest,
    responses(
        (status = 201, body = HostView),
        (status = 400, description = "The body is malformed; `field` names it"),
        (status = 401, description = "No valid token"),
        (status = 403, description = "The caller is not a system admin"),
        (status = 409, description = "A host with this id or domain exists"),
        (status = 422, description = "A value breaks a rule; `field` names it"),
    )
)]
async fn post_host(
    State(state): State<AppState>,
    Caller { principal, audit }: Caller,
    ApiJson(body): ApiJson<CreateHostRequest>,
) -> Result<(StatusCode, Json<HostView>), V1Error> {
    authorize(&principal, Action::ManageHosts, &principal.host_id)?;
    let host_id = match body.id {
        Some(id) => host_id(&id)?,
        None => random_id(),
    };
    let settings = HostSettings {
        domain: domain(&body.domain)?,
        name: input::text("name", &body.name, input::MAX_NAME)?,
        user_type_model: model(body.user_type_model.as_deref().unwrap_or("EC"))?,
        default_role: None,
        feature_flags: flags(body.feature_flags)?,
        directory: body
            .directory
            .map(|d| directory(&state, &host_id, d))
            .transpose()?,
        host_id,
    };
    state
        .store
        .register_host(&settings, &audit, state.now())
        .await?;
    state.authenticator.directories.forget();
    Ok((StatusCode::CREATED, Json(view(&state, settings))))
}

/// Changes a host; fields left out are kept.
#[utoipa::path(
    patch,
    path = "/hosts/{id}",
    tag = "hosts",
    params(("id" = String, Path, description = "The host id")),
    request_body = UpdateHostRequest,
    responses(
        (status = 200, body = HostView, description = "The host as changed"),
        (status = 400, description = "The body is malformed; `field` names it"),
        (status = 401, description = "No valid token"),
        (status = 403, description = "The caller is not a system admin"),
        (status = 404, description = "No such host"),
        (status = 409, description = "The domain is taken, members' types do not fit the model, or the file sets the directory"),
        (status = 422, description = "A value breaks a rule; `field` names it"),
    )
)]
async fn patch_host(
    State(state): State<AppState>,
    Caller { principal, audit }: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateHostRequest>,
) -> Result<Json<HostView>, V1Error> {
    authorize(&principal, Action::ManageHosts, &id)?;
    let mut h = state
        .store
        .host_settings(&id)
        .await?
        .ok_or(StoreError::NotFound("host"))?;
    if let Some(d) = body.domain {
        h.domain = domain(&d)?;
    }
    if let Some(n) = body.name {
        h.name = input::text("name", &n, input::MAX_NAME)?;
    }
    if let Some(m) = body.user_type_model {
        h.user_type_model = model(&m)?;
    }
    if let Some(role) = body.default_role {
        h.default_role = role
            .map(|r| input::text("default_role", &r, input::MAX_NAME))
            .transpose()?;
    }
    if let Some(f) = body.feature_flags {
        h.feature_flags = flags(f)?;
    }
    if let Some(d) = body.directory {
        h.directory = d.map(|d| directory(&state, &id, d)).transpose()?;
    }
    let after = state.store.update_host(&h, &audit, state.now()).await?;
    state.authenticator.directories.forget();
    Ok(Json(view(&state, after)))
}

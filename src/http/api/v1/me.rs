//! `GET /api/v1/me`, also at `/api/v1/users/current` (seeds 000 and 002 name it so):
//! the caller's own profile, hosts, security profile in the token's host, rights, and
//! the host's feature flags. Any signed-in user may read it.

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::users::UserResponse;
use crate::domain::date::iso_date;
use crate::domain::{authorize, Action, Principal};
use crate::http::error::V1Error;
use crate::http::state::AppState;
use crate::store::StoreError;

/// A host the caller belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct HostSummary {
    id: String,
    domain: String,
    name: String,
}

/// An attribute in effect, with its value.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct AttributeValue {
    name: String,
    value: String,
}

/// What the caller is in the host the request acts in.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct HostStanding {
    /// The host's id (the token's `host`).
    id: String,
    /// Roles in effect today (the host's default role when none is).
    roles: Vec<String>,
    groups: Vec<String>,
    positions: Vec<String>,
    attributes: Vec<AttributeValue>,
    /// The caller's rights, from least to most: `user`, `manager`, `host_admin`,
    /// `system_admin`.
    rights: Vec<String>,
    /// The host's feature flags (`PATCH /api/v1/hosts/{id}` sets them): names and
    /// whether each is on.
    #[schema(value_type = Object)]
    feature_flags: serde_json::Map<String, serde_json::Value>,
}

/// The caller.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct MeResponse {
    user: UserResponse,
    hosts: Vec<HostSummary>,
    host: HostStanding,
}

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_me))
        .routes(routes!(get_users_current))
}

/// The caller's profile, hosts, standing in the token's host and rights.
#[utoipa::path(
    get,
    path = "/me",
    tag = "me",
    responses(
        (status = 200, body = MeResponse),
        (status = 401, description = "No valid token, or the user is locked or gone"),
        (status = 403, description = "The token lacks the tessera:api scope"),
    )
)]
async fn get_me(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<MeResponse>, V1Error> {
    authorize(&principal, Action::ReadSelf, &principal.host_id)?;
    let user = state
        .store
        .find_user(&principal.user_id)
        .await?
        .ok_or(StoreError::NotFound("user"))?;
    let hosts = state.store.user_hosts(&principal.user_id).await?;
    let feature_flags = state
        .store
        .host_settings(&principal.host_id)
        .await?
        .map(|h| {
            h.feature_flags
                .into_iter()
                .map(|(name, on)| (name, serde_json::Value::Bool(on)))
                .collect()
        })
        .unwrap_or_default();
    let profile = state
        .store
        .load_profile(
            &principal.user_id,
            &principal.host_id,
            &iso_date(state.now()),
        )
        .await?;
    Ok(Json(MeResponse {
        // The caller's membership is active: the extractor refuses an inactive one.
        user: UserResponse::from(crate::store::Member { user, active: true }),
        hosts: hosts
            .into_iter()
            .map(|h| HostSummary {
                id: h.host_id,
                domain: h.domain,
                name: h.name,
            })
            .collect(),
        host: HostStanding {
            id: principal.host_id.clone(),
            roles: profile.roles,
            groups: profile.groups,
            positions: profile.positions,
            attributes: profile
                .attributes
                .into_iter()
                .map(|(name, value)| AttributeValue { name, value })
                .collect(),
            rights: principal.rights().map(|r| r.as_str().to_owned()).collect(),
            feature_flags,
        },
    }))
}

/// The same as `GET /api/v1/me`, at the path seeds 000 and 002 name.
#[utoipa::path(
    get,
    path = "/users/current",
    tag = "me",
    responses(
        (status = 200, body = MeResponse),
        (status = 401, description = "No valid token, or the user is locked or gone"),
        (status = 403, description = "The token lacks the tessera:api scope"),
    )
)]
async fn get_users_current(
    state: State<AppState>,
    principal: Principal,
) -> Result<Json<MeResponse>, V1Error> {
    get_me(state, principal).await
}

//! API tokens of the host a request acts in (issue 14; seed 001's
//! `POST/GET/DELETE /api/tokens`): `POST /api/v1/tokens` makes one and shows its
//! secret once, `GET /api/v1/tokens` lists them (never a secret), `GET` and `DELETE
//! /api/v1/tokens/{id}` read and revoke one.
//!
//! Who sees what: every member makes, lists and revokes their own personal tokens; a
//! host admin also makes system tokens and lists and revokes every token of the host,
//! personal ones included (an admin must be able to cut off a leaked token at once).
//! Another member's token is a 404 to a non-admin, as a token of another host is to
//! everyone but a system admin.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::query::{
    bad, decode_timed_cursor, encode_timed_cursor, page_limit, parse_query, read_cursor,
};
use crate::domain::api_token::{self, check_scopes, TokenKind};
use crate::domain::input::{self, FieldError, MAX_NAME};
use crate::domain::scope::API_SCOPE;
use crate::domain::secret::random_id;
use crate::domain::{authorize, Action, Principal, Refusal, TokenHash};
use crate::http::error::V1Error;
use crate::http::extract::{bearer_header, verify_bearer, ApiJson, Caller};
use crate::http::state::AppState;
use crate::oauth::grant::token_exchange::API_TOKEN_CLAIM;
use crate::oauth::{ErrorCode, OAuthError};
use crate::store::{ApiToken, ApiTokenQuery, NewApiToken, StoreError};

const DAY: i64 = 24 * 3600;

/// A token as the API shows it: never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct TokenResponse {
    id: String,
    /// `personal` or `system`.
    kind: String,
    name: String,
    /// Space separated.
    scope: String,
    /// A system token's roles (current names); empty for a personal token.
    roles: Vec<String>,
    /// The owner of a personal token.
    user_id: Option<String>,
    /// Who made it (absent when made with the CLI).
    created_by: Option<String>,
    /// Unix seconds.
    created_at: i64,
    expires_at: i64,
    /// When it was last exchanged (to the minute); absent if never.
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
    /// Neither revoked nor expired.
    active: bool,
}

impl TokenResponse {
    fn of(t: ApiToken, now: i64) -> Self {
        Self {
            active: t.is_live(now),
            id: t.token_id,
            kind: t.kind.as_str().to_owned(),
            name: t.name,
            scope: t.scope,
            roles: t.roles,
            user_id: t.user_id,
            created_by: t.created_by,
            created_at: t.created_at,
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// The body of `POST /api/v1/tokens`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateTokenRequest {
    name: String,
    /// `personal` (default): acts with the caller's rights and profile. `system` (host
    /// admins): a service identity of the host with `roles`.
    kind: Option<String>,
    /// Space separated; neither `openid` nor `offline_access`, and no `tessera:api` for
    /// a system token.
    scope: String,
    /// Days until it expires, at most the server's maximum (`tokens.api_token_max_ttl`,
    /// 365 days by default).
    expires_in_days: i64,
    /// A system token's roles, by name (they must exist in the host).
    #[serde(default)]
    roles: Vec<String>,
}

/// A token just made, with its secret: shown this once, never again.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct CreatedTokenResponse {
    token: TokenResponse,
    /// `tsr_pat_…` or `tsr_sys_…`: exchange it at `/token` (RFC 8693).
    secret: String,
}

/// The query of `GET /api/v1/tokens`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct ListTokensRequest {
    /// `me` (default): the caller's personal tokens. `host` (host admins): every
    /// token of the host.
    owner: Option<String>,
    /// Only `personal` or `system` tokens.
    kind: Option<String>,
    /// Also revoked and expired tokens (default false).
    include_inactive: Option<bool>,
    /// Tokens per page, 1 to 200 (default 50).
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// A page of tokens, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct ListTokensResponse {
    tokens: Vec<TokenResponse>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(post_token, get_tokens))
        .routes(routes!(get_token, delete_token))
}

fn kind_of(field: &str, text: &str) -> Result<TokenKind, V1Error> {
    TokenKind::parse(text).ok_or_else(|| bad(field, "kind must be personal or system"))
}

/// Makes an API token. Its secret is in this answer only; Tessera keeps its SHA-256.
#[utoipa::path(
    post,
    path = "/tokens",
    tag = "tokens",
    request_body = CreateTokenRequest,
    responses(
        (status = 201, body = CreatedTokenResponse, description = "The token and its secret (shown once)"),
        (status = 400, description = "The body is malformed; `field` names the field"),
        (status = 401, description = "No valid token"),
        (status = 403, description = "A system token needs a host admin; a token exchanged from an API token cannot make one"),
        (status = 422, description = "A value breaks a rule; `field` names it"),
    )
)]
async fn post_token(
    State(state): State<AppState>,
    Caller { principal, audit }: Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreateTokenRequest>,
) -> Result<(StatusCode, Json<CreatedTokenResponse>), V1Error> {
    if exchanged_from_api_token(&state, &headers) {
        return Err(V1Error::Bearer(Some(OAuthError::new(
            ErrorCode::InsufficientScope,
            "a token exchanged from an API token cannot make API tokens: sign in",
        ))));
    }
    let host = principal.host_id.clone();
    let kind = match body.kind.as_deref() {
        None => TokenKind::Personal,
        Some(k) => kind_of("kind", k)?,
    };
    authorize(
        &principal,
        match kind {
            TokenKind::Personal => Action::ManageOwnTokens,
            TokenKind::System => Action::ManageHostTokens,
        },
        &host,
    )?;
    let name = input::text("name", &body.name, MAX_NAME)?;
    let scopes = check_scopes(kind, &body.scope)?;
    let max_ttl = state.config.tokens.api_token_max_ttl;
    if body.expires_in_days < 1 || body.expires_in_days.saturating_mul(DAY) > max_ttl {
        return Err(FieldError::new(
            "expires_in_days",
            format!("expires_in_days must be 1 to {}", (max_ttl / DAY).max(1)),
        )
        .into());
    }
    if kind == TokenKind::Personal && !body.roles.is_empty() {
        return Err(FieldError::new(
            "roles",
            "a personal token acts with its owner's roles; only system tokens have roles",
        )
        .into());
    }
    let roles = body
        .roles
        .iter()
        .map(|r| input::text("roles", r, MAX_NAME))
        .collect::<Result<Vec<_>, _>>()?;
    let secret = api_token::generate(kind);
    let now = state.now();
    let new = NewApiToken {
        token_id: random_id(),
        host_id: host,
        kind,
        user_id: (kind == TokenKind::Personal).then(|| principal.user_id.clone()),
        name,
        scope: scopes.to_string(),
        roles,
        token_hash: TokenHash::of(&secret).as_str().to_owned(),
        created_by: Some(principal.user_id.clone()),
        expires_at: now + body.expires_in_days * DAY,
    };
    let made = state
        .store
        .create_api_token(&new, &audit, now)
        .await
        .map_err(|e| match e {
            // The only rule the store checks: the roles must exist in the host.
            StoreError::Invalid(message) => V1Error::from(FieldError::new("roles", message)),
            e => e.into(),
        })?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedTokenResponse {
            token: TokenResponse::of(made, now),
            secret,
        }),
    ))
}

/// Whether the request's bearer token (already verified by the `Caller` extractor) was
/// exchanged from an API token: such a token may not make another, or a leaked token
/// could outlive its revocation through a successor.
fn exchanged_from_api_token(state: &AppState, headers: &HeaderMap) -> bool {
    bearer_header(headers)
        .ok()
        .flatten()
        .and_then(|token| verify_bearer(state, token, API_SCOPE).ok())
        .is_some_and(|token| token.claims.contains_key(API_TOKEN_CLAIM))
}

/// Lists tokens, newest first, a page at a time.
#[utoipa::path(
    get,
    path = "/tokens",
    tag = "tokens",
    params(ListTokensRequest),
    responses(
        (status = 200, body = ListTokensResponse),
        (status = 400, description = "A parameter is malformed; `field` names it"),
        (status = 401, description = "No valid token"),
        (status = 403, description = "`owner=host` needs a host admin"),
    )
)]
async fn get_tokens(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(raw): RawQuery,
) -> Result<Json<ListTokensResponse>, V1Error> {
    let request: ListTokensRequest = parse_query(raw.as_deref())?;
    let limit = page_limit(request.limit)?;
    let after = read_cursor(request.cursor, decode_timed_cursor)?;
    let kind = request
        .kind
        .as_deref()
        .map(|k| kind_of("kind", k))
        .transpose()?;
    let host = principal.host_id.clone();
    let user_id = match request.owner.as_deref().unwrap_or("me") {
        "me" => {
            authorize(&principal, Action::ManageOwnTokens, &host)?;
            Some(principal.user_id.clone())
        }
        "host" => {
            authorize(&principal, Action::ManageHostTokens, &host)?;
            None
        }
        _ => return Err(bad("owner", "owner must be me or host")),
    };
    let now = state.now();
    let page = state
        .store
        .list_api_tokens(&ApiTokenQuery {
            host_id: host,
            user_id,
            kind,
            live_at: (!request.include_inactive.unwrap_or(false)).then_some(now),
            after,
            limit,
        })
        .await?;
    Ok(Json(ListTokensResponse {
        tokens: page
            .tokens
            .into_iter()
            .map(|t| TokenResponse::of(t, now))
            .collect(),
        next_cursor: page.next.as_ref().map(encode_timed_cursor),
    }))
}

/// The token `id` if the caller may see it: their own, or any of the host for a host
/// admin; anything else is not found.
async fn visible_token(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<ApiToken, V1Error> {
    let host = principal.host_id.as_str();
    authorize(principal, Action::ManageOwnTokens, host)?;
    let token = state
        .store
        .find_api_token(host, id)
        .await?
        .ok_or(Refusal::NotFound)?;
    let own = token.user_id.as_deref() == Some(principal.user_id.as_str());
    if !own {
        authorize(principal, Action::ManageHostTokens, host).map_err(|_| Refusal::NotFound)?;
    }
    Ok(token)
}

/// One token.
#[utoipa::path(
    get,
    path = "/tokens/{id}",
    tag = "tokens",
    params(("id" = String, Path, description = "The token's id")),
    responses(
        (status = 200, body = TokenResponse),
        (status = 401, description = "No valid token"),
        (status = 404, description = "No such token the caller may see"),
    )
)]
async fn get_token(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<TokenResponse>, V1Error> {
    let token = visible_token(&state, &principal, &id).await?;
    Ok(Json(TokenResponse::of(token, state.now())))
}

/// Revokes a token: its next exchange or introspection fails at once. Revoking a
/// revoked token changes nothing.
#[utoipa::path(
    delete,
    path = "/tokens/{id}",
    tag = "tokens",
    params(("id" = String, Path, description = "The token's id")),
    responses(
        (status = 200, body = TokenResponse, description = "The token as revoked"),
        (status = 401, description = "No valid token"),
        (status = 404, description = "No such token the caller may see"),
    )
)]
async fn delete_token(
    State(state): State<AppState>,
    Caller { principal, audit }: Caller,
    Path(id): Path<String>,
) -> Result<Json<TokenResponse>, V1Error> {
    visible_token(&state, &principal, &id).await?;
    let now = state.now();
    let token = state
        .store
        .revoke_api_token(&principal.host_id, &id, &audit, now)
        .await?;
    Ok(Json(TokenResponse::of(token, now)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips() {
        let c = encode_timed_cursor(&(1_800_000_000, "abc".to_owned()));
        assert_eq!(
            decode_timed_cursor(&c),
            Some((1_800_000_000, "abc".to_owned()))
        );
        assert_eq!(decode_timed_cursor("%%"), None);
    }
}

//! OAuth 2.0 Token Exchange (RFC 8693) at the token endpoint, for two subjects:
//!
//! - an API token (`subject_token_type` [`API_TOKEN_TYPE`], a URI of Tessera's own as
//!   §3 allows) → a short-lived JWT access token (RFC 9068) carrying the owner's
//!   security profile as it is *now* (read at the exchange), or a system token's host
//!   and current roles. A revoked or expired token, or an owner locked, deleted or
//!   removed from the host, is refused at once. The token is found by its SHA-256: no
//!   slow hash, one indexed read.
//! - a Tessera access token ([`ACCESS_TOKEN_TYPE`]) → a token for another `audience` or
//!   `resource` with a shorter life (`requested_lifetime`, a parameter of Tessera's
//!   own), at most the subject's remaining life and `tokens.access_token_ttl`, with
//!   `act` (§4.1) naming the party that acts for the subject. No database read.
//!
//! Errors follow §2.2.2: an invalid, unacceptable or unsupported subject or actor token
//! is `invalid_request` ("MUST be the invalid_request error code"; the spec folds
//! `unsupported_token_type` into it too); an unusable target is `invalid_target`.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{GrantContext, TokenResponse};
use crate::domain::api_token::{self, TokenKind};
use crate::domain::date::iso_date;
use crate::domain::scope::API_SCOPE;
use crate::domain::{Client, Scopes, SecurityProfile, TokenHash};
use crate::oauth::tokens::{AccessGrant, TokenShape};
use crate::oauth::{ErrorCode, GrantError, OAuthError};
use crate::store::{PresentedToken, StoreError};

/// The grant type (§2.1).
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// An OAuth 2.0 access token (§3).
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// A JWT (§3): Tessera's access tokens are JWTs, so it names them as well.
pub const JWT_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";
/// A Tessera API token (`tsr_pat_…`, `tsr_sys_…`): a token type of Tessera's own.
pub const API_TOKEN_TYPE: &str = "urn:tessera:params:oauth:token-type:api_token";

/// The claim of a JWT exchanged from an API token that names the token: resources may
/// log it, and the management API refuses to make API tokens with such a JWT, so that
/// a leaked token cannot outlive its revocation through a successor it made.
pub const API_TOKEN_CLAIM: &str = "api_token_id";

/// Scopes of Tessera's own resources (userinfo, refresh, the management API): a token
/// for another audience never carries them, so it cannot be used back at Tessera.
const OWN_SCOPES: &[&str] = &["openid", "offline_access", API_SCOPE];

/// The claims of a subject access token that describe the subject, copied into a
/// token exchanged for another audience.
const SUBJECT_CLAIMS: &[&str] = &[
    API_TOKEN_CLAIM,
    "auth_time",
    "amr",
    "uid",
    "uty",
    "host",
    "role",
    "grp",
    "pos",
    "att",
    "ver",
];

/// How stale a token's `last_used_at` may get before an exchange writes it again: a
/// write per exchange would put the database on the path of every exchange.
const LAST_USED_PRECISION: i64 = 60;

/// The parameters of §2.1. Each may appear once (`audience` and `resource` too: one
/// target per request).
#[derive(Debug, Deserialize)]
pub struct ExchangeRequest {
    pub subject_token: String,
    pub subject_token_type: String,
    pub actor_token: Option<String>,
    pub actor_token_type: Option<String>,
    pub audience: Option<String>,
    pub resource: Option<String>,
    pub scope: Option<String>,
    pub requested_token_type: Option<String>,
    /// Seconds the issued token should live (Tessera's own parameter); it is cut to
    /// the subject's remaining life and to `tokens.access_token_ttl`.
    pub requested_lifetime: Option<String>,
}

/// A subject or actor token refused (§2.2.2: `invalid_request`).
fn refused(description: &str) -> GrantError {
    OAuthError::invalid_request(description).into()
}

/// Runs the exchange for an authenticated client allowed the grant.
pub(super) async fn exchange(
    ctx: &GrantContext<'_>,
    client: &Client,
    request: &ExchangeRequest,
) -> Result<TokenResponse, GrantError> {
    if let Some(t) = request.requested_token_type.as_deref() {
        if t != ACCESS_TOKEN_TYPE && t != JWT_TYPE {
            return Err(OAuthError::invalid_request(
                "requested_token_type: only access tokens are issued",
            )
            .into());
        }
    }
    if request.actor_token.is_some() != request.actor_token_type.is_some() {
        return Err(OAuthError::invalid_request(
            "actor_token and actor_token_type go together (RFC 8693 §2.1)",
        )
        .into());
    }
    let lifetime = requested_lifetime(request)?;
    let audience = target(request)?;
    match request.subject_token_type.as_str() {
        API_TOKEN_TYPE => from_api_token(ctx, client, request, audience, lifetime).await,
        ACCESS_TOKEN_TYPE | JWT_TYPE => {
            for_audience(ctx, client, request, audience.as_deref(), lifetime)
        }
        _ => Err(refused("subject_token_type is not supported")),
    }
}

fn requested_lifetime(request: &ExchangeRequest) -> Result<Option<i64>, GrantError> {
    match request.requested_lifetime.as_deref() {
        None => Ok(None),
        Some(text) => match text.parse::<i64>() {
            Ok(seconds) if seconds > 0 => Ok(Some(seconds)),
            _ => Err(OAuthError::invalid_request(
                "requested_lifetime must be a positive number of seconds",
            )
            .into()),
        },
    }
}

/// The audience asked for: `audience` (a name the resource knows itself by) or
/// `resource` (an absolute URI without a fragment, RFC 8707 §2), not both.
fn target(request: &ExchangeRequest) -> Result<Option<String>, GrantError> {
    let invalid_target = |d: &str| GrantError::from(OAuthError::new(ErrorCode::InvalidTarget, d));
    match (&request.audience, &request.resource) {
        (Some(_), Some(_)) => Err(OAuthError::invalid_request(
            "give audience or resource, not both: a token has one target",
        )
        .into()),
        (Some(a), None) => {
            if a.len() > 512 || a.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(invalid_target("the audience is not a usable name"));
            }
            Ok(Some(a.clone()))
        }
        (None, Some(r)) => match url::Url::parse(r) {
            Ok(u) if u.fragment().is_none() && r.len() <= 512 => Ok(Some(r.clone())),
            _ => Err(invalid_target(
                "the resource must be an absolute URI without a fragment",
            )),
        },
        (None, None) => Ok(None),
    }
}

/// The scopes of the issued token: those asked for, which must be the subject's
/// (§1.1: an exchange narrows, never widens), or all of the subject's; a token for
/// another audience loses Tessera's own.
fn narrowed(subject: &Scopes, asked: Option<&str>, foreign: bool) -> Result<Scopes, GrantError> {
    let scopes = match asked {
        None => subject.clone(),
        Some(text) => {
            let asked =
                Scopes::parse(text).map_err(|e| OAuthError::invalid_scope(e.to_string()))?;
            if let Some(extra) = asked.missing_from(subject).next() {
                return Err(OAuthError::invalid_scope(format!(
                    "scope {extra} is not in the subject token"
                ))
                .into());
            }
            asked
        }
    };
    Ok(if foreign {
        OWN_SCOPES.iter().fold(scopes, |s, own| s.without(own))
    } else {
        scopes
    })
}

/// The issued token's lifetime: asked for, or the ordinary one, under both bounds.
fn lifetime(ctx: &GrantContext<'_>, asked: Option<i64>, subject_expires_at: i64) -> i64 {
    asked
        .unwrap_or(ctx.issuer.access_ttl)
        .min(ctx.issuer.access_ttl)
        .min(subject_expires_at - ctx.now)
}

fn response(token: String, expires_in: i64, scopes: &Scopes) -> TokenResponse {
    TokenResponse {
        access_token: token,
        token_type: "Bearer".to_owned(),
        expires_in,
        refresh_token: None,
        id_token: None,
        scope: scopes.to_string(),
        issued_token_type: Some(ACCESS_TOKEN_TYPE.to_owned()),
    }
}

/// An API token for a JWT carrying its owner's current profile.
async fn from_api_token(
    ctx: &GrantContext<'_>,
    client: &Client,
    request: &ExchangeRequest,
    audience: Option<String>,
    asked_lifetime: Option<i64>,
) -> Result<TokenResponse, GrantError> {
    // A string without the prefix and checksum costs no database read.
    if api_token::parse(&request.subject_token).is_none() {
        return Err(refused("the subject_token is not an API token"));
    }
    let presented = ctx
        .store
        .presented_api_token(TokenHash::of(&request.subject_token).as_str())
        .await?
        .ok_or_else(|| refused("the API token is unknown"))?;
    let (sub, profile) = subject_of(ctx, &presented).await?;
    let token = &presented.token;
    let subject_scopes = Scopes::parse(&token.scope).unwrap_or_default();
    let scopes = narrowed(
        &subject_scopes,
        request.scope.as_deref(),
        audience.is_some(),
    )?;
    let ttl = lifetime(ctx, asked_lifetime, token.expires_at);
    let mut origin = Map::new();
    origin.insert(API_TOKEN_CLAIM.into(), token.token_id.clone().into());
    let minted = ctx.issuer.shaped_access_token(
        &AccessGrant {
            sub: &sub,
            client_id: &client.client_id,
            scopes: &scopes,
            auth_time: None,
            amr: None,
            profile: Some(&profile),
        },
        &TokenShape {
            audience: audience.as_deref(),
            ttl: Some(ttl),
            act: None,
            copied: Some(&origin),
        },
        ctx.now,
    )?;
    if token
        .last_used_at
        .is_none_or(|at| ctx.now - at >= LAST_USED_PRECISION)
    {
        ctx.store.touch_api_token(&token.token_id, ctx.now).await?;
    }
    Ok(response(minted.token, ttl, &scopes))
}

/// The subject and profile of a live API token: a personal token's owner with their
/// profile in the token's host today; a system token itself, with its host and roles.
async fn subject_of(
    ctx: &GrantContext<'_>,
    presented: &PresentedToken,
) -> Result<(String, SecurityProfile), GrantError> {
    let token = &presented.token;
    if token.revoked_at.is_some() {
        return Err(refused("the API token was revoked"));
    }
    if token.expires_at <= ctx.now {
        return Err(refused("the API token has expired"));
    }
    match (token.kind, token.user_id.as_deref()) {
        (TokenKind::Personal, Some(user)) => {
            if presented.owner_locked {
                return Err(refused("the API token's owner is locked"));
            }
            if !presented.owner_active {
                return Err(refused(
                    "the API token's owner no longer belongs to the host",
                ));
            }
            let profile = ctx
                .store
                .load_profile(user, &token.host_id, &iso_date(ctx.now))
                .await
                .map_err(|e| match e {
                    StoreError::NotFound(_) => {
                        refused("the API token's owner no longer belongs to the host")
                    }
                    e => e.into(),
                })?;
            Ok((user.to_owned(), profile))
        }
        _ => Ok((
            token.token_id.clone(),
            SecurityProfile {
                host: Some(token.host_id.clone()),
                roles: token.roles.clone(),
                ..SecurityProfile::default()
            },
        )),
    }
}

/// A Tessera access token for a token for another audience.
fn for_audience(
    ctx: &GrantContext<'_>,
    client: &Client,
    request: &ExchangeRequest,
    audience: Option<&str>,
    asked_lifetime: Option<i64>,
) -> Result<TokenResponse, GrantError> {
    let Some(audience) = audience else {
        return Err(OAuthError::invalid_request(
            "audience or resource is required to exchange an access token",
        )
        .into());
    };
    let subject = verified(ctx, &request.subject_token, "subject_token")?;
    let text = |name: &str| subject.get(name).and_then(Value::as_str);
    let sub = text("sub").unwrap_or_default().to_owned();
    let subject_client = text("client_id").unwrap_or_default().to_owned();
    let expires_at = subject
        .get("exp")
        .and_then(Value::as_i64)
        .unwrap_or(ctx.now);
    let subject_scopes = Scopes::parse(text("scope").unwrap_or_default()).unwrap_or_default();
    let scopes = narrowed(&subject_scopes, request.scope.as_deref(), true)?;
    let actor = match (&request.actor_token, request.actor_token_type.as_deref()) {
        (Some(token), Some(ACCESS_TOKEN_TYPE | JWT_TYPE)) => {
            let claims = verified(ctx, token, "actor_token")?;
            Some(actor_claim(&claims))
        }
        (Some(_), Some(_)) => return Err(refused("actor_token_type is not supported")),
        // The client acts for the subject when the subject token was issued to another.
        _ => (subject_client != client.client_id).then(|| json!({ "sub": client.client_id })),
    };
    // §4.1: a prior `act` of the subject token nests inside the new one.
    let act = match (actor, subject.get("act")) {
        (Some(mut act), Some(prior)) => {
            if let Some(object) = act.as_object_mut() {
                object.insert("act".into(), prior.clone());
            }
            Some(act)
        }
        (Some(act), None) => Some(act),
        (None, prior) => prior.cloned(),
    };
    let copied: Map<String, Value> = SUBJECT_CLAIMS
        .iter()
        .filter_map(|name| subject.get(*name).map(|v| ((*name).to_owned(), v.clone())))
        .collect();
    let ttl = lifetime(ctx, asked_lifetime, expires_at);
    let minted = ctx.issuer.shaped_access_token(
        &AccessGrant {
            sub: &sub,
            client_id: &client.client_id,
            scopes: &scopes,
            auth_time: None,
            amr: None,
            profile: None,
        },
        &TokenShape {
            audience: Some(audience),
            ttl: Some(ttl),
            act,
            copied: Some(&copied),
        },
        ctx.now,
    )?;
    Ok(response(minted.token, ttl, &scopes))
}

/// A Tessera access token, verified and not revoked on this node.
fn verified(
    ctx: &GrantContext<'_>,
    token: &str,
    name: &str,
) -> Result<Map<String, Value>, GrantError> {
    let claims = ctx
        .issuer
        .verify_access_token(token, ctx.now)
        .map_err(|_| refused(&format!("the {name} is invalid or expired")))?;
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if ctx.revocations.contains(jti) {
        return Err(refused(&format!("the {name} was revoked")));
    }
    Ok(claims)
}

/// The `act` claim naming an actor token's subject (and its client, when it differs).
fn actor_claim(claims: &Map<String, Value>) -> Value {
    let mut act = Map::new();
    if let Some(sub) = claims.get("sub") {
        act.insert("sub".into(), sub.clone());
    }
    if let Some(client) = claims
        .get("client_id")
        .filter(|c| Some(*c) != claims.get("sub"))
    {
        act.insert("client_id".into(), client.clone());
    }
    if let Some(prior) = claims.get("act") {
        act.insert("act".into(), prior.clone());
    }
    Value::Object(act)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(audience: Option<&str>, resource: Option<&str>) -> ExchangeRequest {
        ExchangeRequest {
            subject_token: String::new(),
            subject_token_type: ACCESS_TOKEN_TYPE.into(),
            actor_token: None,
            actor_token_type: None,
            audience: audience.map(str::to_owned),
            resource: resource.map(str::to_owned),
            scope: None,
            requested_token_type: None,
            requested_lifetime: None,
        }
    }

    fn code(e: GrantError) -> ErrorCode {
        match e {
            GrantError::Protocol(e) => e.code,
            other => panic!("{other}"),
        }
    }

    #[test]
    fn a_target_is_one_audience_or_an_absolute_resource() {
        assert_eq!(
            target(&request(Some("chat"), None))
                .ok()
                .flatten()
                .as_deref(),
            Some("chat")
        );
        assert_eq!(
            target(&request(None, Some("https://ws.example/chat")))
                .ok()
                .flatten()
                .as_deref(),
            Some("https://ws.example/chat")
        );
        for (a, r, expected) in [
            (None, Some("/relative"), ErrorCode::InvalidTarget),
            (
                None,
                Some("https://ws.example/#frag"),
                ErrorCode::InvalidTarget,
            ),
            (Some("two words"), None, ErrorCode::InvalidTarget),
            (
                Some("a"),
                Some("https://b.example"),
                ErrorCode::InvalidRequest,
            ),
        ] {
            let e = target(&request(a, r)).err().map(code);
            assert_eq!(e, Some(expected), "{a:?} {r:?}");
        }
    }

    #[test]
    fn an_exchange_narrows_scopes_and_drops_tesseras_own_for_another_audience() {
        let subject = Scopes::parse("openid tessera:api api:read api:write").unwrap_or_default();
        let all = narrowed(&subject, None, false).ok();
        assert_eq!(all, Some(subject.clone()));
        let foreign = narrowed(&subject, None, true).ok().map(|s| s.to_string());
        assert_eq!(foreign.as_deref(), Some("api:read api:write"));
        let asked = narrowed(&subject, Some("api:read"), true)
            .ok()
            .map(|s| s.to_string());
        assert_eq!(asked.as_deref(), Some("api:read"));
        let wider = narrowed(&subject, Some("api:admin"), false).err().map(code);
        assert_eq!(wider, Some(ErrorCode::InvalidScope));
    }

    #[test]
    fn an_actor_names_its_subject_and_its_client_and_keeps_the_chain() {
        let claims = json!({"sub": "u1", "client_id": "c1", "act": {"sub": "c0"}});
        let act = actor_claim(claims.as_object().unwrap_or(&Map::new()));
        assert_eq!(
            act,
            json!({"sub": "u1", "client_id": "c1", "act": {"sub": "c0"}})
        );
        let service = json!({"sub": "svc", "client_id": "svc"});
        let act = actor_claim(service.as_object().unwrap_or(&Map::new()));
        assert_eq!(act, json!({"sub": "svc"}));
    }
}

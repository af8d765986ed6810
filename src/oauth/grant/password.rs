//! The resource owner password credentials grant (RFC 6749 §4.3), kept for legacy
//! first-party clients only (seed 000's `POST /user_token`, seed 001's
//! `/api/auth/login`). RFC 9700 §2.4 says it "MUST NOT be used": the client sees the
//! user's password, and the grant cannot carry a second factor or consent. So it is
//! refused (`unauthorized_client`) unless the client is explicitly registered with
//! the `password` grant, which only a first-party (`skip_consent`) client may be
//! given, and it is not advertised in discovery (`docs/api-tokens.md` says how to move
//! to the code flow).
//!
//! The password is checked exactly as the login form checks it, through
//! `authn::Authenticator` — the brute-force throttle first, then the directory or
//! argon2 — and the same `sign_in.succeeded` / `sign_in.failed` entries are written.
//! The answer is an access token only: no refresh token (a legacy client signs in
//! again) and no ID token (there is no authentication request to answer).

use std::net::IpAddr;

use serde_json::json;

use super::{GrantContext, TokenResponse};
use crate::authn::{Attempt, Authenticator, Failure};
use crate::domain::audit::{actions, AuditContext, AuditEvent, Via};
use crate::domain::date::iso_date;
use crate::domain::{Client, Scopes};
use crate::oauth::flow::{choose_host, HostChoice};
use crate::oauth::tokens::AccessGrant;
use crate::oauth::{ErrorCode, GrantError, OAuthError};
use crate::store::StoreError;

/// Who presents the password: what the throttle counts and the audit trail records.
pub struct SignInContext<'a> {
    pub authenticator: &'a Authenticator,
    pub address: IpAddr,
    pub request_id: Option<String>,
}

/// The one answer for every refused password: it tells nothing of which accounts exist.
const REFUSED: &str = "the username or password is wrong";

pub(super) async fn sign_in(
    ctx: &GrantContext<'_>,
    client: &Client,
    username: &str,
    password: &str,
    scope: Option<&str>,
) -> Result<TokenResponse, GrantError> {
    let Some(sign_in) = &ctx.sign_in else {
        return Err(OAuthError::new(ErrorCode::ServerError, "no sign-in context").into());
    };
    // Registered with the grant is not enough: a third-party client must never see a
    // user's password (RFC 9700 §2.4).
    if !client.skip_consent {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "the password grant is for legacy first-party clients only",
        )
        .into());
    }
    let scopes = scopes_for(client, scope)?;
    let attempt = Attempt {
        login: username,
        password,
        client_host: client.host_id.as_deref(),
        address: sign_in.address,
        device: None,
    };
    let outcome = sign_in
        .authenticator
        .authenticate(ctx.store, &attempt, ctx.now)
        .await?;
    let authenticated = match outcome {
        Ok(a) => a,
        Err(failure) => {
            record_failure(ctx, sign_in, client, username, None, failure).await?;
            return Err(refusal(failure, ctx.now).into());
        }
    };
    let user_id = authenticated.user_id;
    let host = match choose_host(authenticated.hosts, client.host_id.as_deref(), |h| {
        h.host_id.as_str()
    }) {
        HostChoice::One(h) => h.host_id,
        HostChoice::NotMember => {
            let failure = Failure::Refused(crate::authn::directory::Refusal::InvalidCredentials);
            record_failure(ctx, sign_in, client, username, Some(&user_id), failure).await?;
            return Err(OAuthError::invalid_grant(REFUSED).into());
        }
        // No page to choose on: a client of a user of several hosts must be bound to one.
        HostChoice::Choose(_) => {
            return Err(OAuthError::invalid_grant(
                "the user belongs to several hosts: use a client bound to one",
            )
            .into())
        }
    };
    let profile = ctx
        .store
        .load_profile(&user_id, &host, &iso_date(ctx.now))
        .await
        .map_err(|e| match e {
            StoreError::NotFound(_) => GrantError::from(OAuthError::invalid_grant(REFUSED)),
            e => e.into(),
        })?;
    let amr = ["pwd".to_owned()];
    let access = ctx.issuer.access_token(
        &AccessGrant {
            sub: &user_id,
            client_id: &client.client_id,
            scopes: &scopes,
            auth_time: Some(ctx.now),
            amr: Some(&amr),
            profile: Some(&profile),
        },
        ctx.now,
    )?;
    let event = AuditEvent::new(actions::SIGN_IN_SUCCEEDED)
        .host(&host)
        .target("user", &user_id)
        .detail(json!({ "amr": amr, "client_id": client.client_id, "grant": "password" }));
    let audit = context(sign_in, Some(&user_id), None);
    ctx.store.record_audit(&audit, &event, ctx.now).await?;
    Ok(TokenResponse {
        access_token: access.token,
        token_type: "Bearer".to_owned(),
        expires_in: ctx.issuer.access_ttl,
        refresh_token: None,
        id_token: None,
        scope: scopes.to_string(),
        issued_token_type: None,
    })
}

/// The scopes asked for (or all the client may have), without `offline_access`: the
/// grant issues no refresh token.
fn scopes_for(client: &Client, scope: Option<&str>) -> Result<Scopes, GrantError> {
    let allowed = client.allowed_scopes.without("offline_access");
    match scope {
        None => Ok(allowed),
        Some(text) => {
            let asked =
                Scopes::parse(text).map_err(|e| OAuthError::invalid_scope(e.to_string()))?;
            if let Some(extra) = asked.missing_from(&allowed).next() {
                return Err(OAuthError::invalid_scope(format!(
                    "scope {extra} is not allowed for this grant and client"
                ))
                .into());
            }
            Ok(asked)
        }
    }
}

/// The protocol error for a refused sign-in. A throttled attempt is refused like a
/// wrong password, with the wait (said alike for every login, as on the login page).
fn refusal(failure: Failure, now: i64) -> OAuthError {
    match failure {
        Failure::Throttled { until } => OAuthError::invalid_grant(format!(
            "too many failed sign-ins: try again in {} seconds",
            (until - now).max(1)
        )),
        Failure::DirectoryUnavailable => OAuthError::new(
            ErrorCode::TemporarilyUnavailable,
            "the directory is unavailable; try again later",
        ),
        Failure::Refused(_) => OAuthError::invalid_grant(REFUSED),
    }
}

fn context(
    sign_in: &SignInContext<'_>,
    user_id: Option<&str>,
    login: Option<&str>,
) -> AuditContext {
    AuditContext {
        actor_id: user_id.map(str::to_owned),
        actor_name: login.map(str::to_owned),
        via: Some(Via::SignIn),
        request_id: sign_in.request_id.clone(),
        client_address: Some(sign_in.address.to_string()),
    }
}

/// Records a refused sign-in as the login form does (`http/login_audit.rs`): throttled
/// attempts are not recorded one by one (they cost no password check).
async fn record_failure(
    ctx: &GrantContext<'_>,
    sign_in: &SignInContext<'_>,
    client: &Client,
    login: &str,
    user_id: Option<&str>,
    failure: Failure,
) -> Result<(), GrantError> {
    let reason = match failure {
        Failure::Throttled { .. } => return Ok(()),
        Failure::Refused(r) => format!("{r:?}"),
        Failure::DirectoryUnavailable => "DirectoryUnavailable".to_owned(),
    };
    let mut event = AuditEvent::new(actions::SIGN_IN_FAILED).detail(json!({
        "login": login,
        "reason": reason,
        "client_id": client.client_id,
        "grant": "password",
    }));
    if let Some(host) = &client.host_id {
        event = event.host(host);
    }
    if let Some(user) = user_id {
        event = event.target("user", user);
    }
    let audit = context(sign_in, user_id, Some(login));
    ctx.store.record_audit(&audit, &event, ctx.now).await?;
    Ok(())
}

//! The authorization endpoint (RFC 6749 §3.1, OpenID Connect Core §3.1.2), GET and
//! POST alike, and `proceed`, which the login and consent pages re-enter once the user
//! has signed in or consented.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use super::error::PageError;
use super::pages;
use super::session::{self, PendingAuthorization, SsoSession};
use super::state::AppState;
use crate::domain::secret::random_id;
use crate::domain::{random_token, Scopes, TokenHash};
use crate::oauth::authorize::{self, ResponseMode, ResponseTarget, UntrustedRequest};
use crate::oauth::flow::{self, SignIn, Step};
use crate::oauth::OAuthError;
use crate::oidc::id_token;
use crate::store::{CodeRecord, NewCode};

pub async fn authorize(
    State(state): State<AppState>,
    session: Session,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Result<Response, PageError> {
    let raw = super::parameters(&method, &uri, &body);
    if raw.len() > authorize::MAX_REQUEST_BYTES {
        return Err(PageError::BadRequest(
            "The authorization request is too long.".to_owned(),
        ));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(raw)
        .map_err(|_| PageError::BadRequest("The authorization request is malformed.".to_owned()))?;
    let params = authorize::collect_params(pairs).map_err(untrusted)?;
    let client_id = params
        .get("client_id")
        .ok_or_else(|| untrusted(UntrustedRequest::MissingClient))?;
    // Read from the store, not the cache: the redirect URI is checked against the
    // current registration. The steps after this one use the cache it refreshes.
    let client = state
        .store
        .find_client(client_id)
        .await?
        .map(|c| state.clients.insert(c))
        .ok_or_else(|| untrusted(UntrustedRequest::UnknownClient))?;
    let target = authorize::check_redirect(&params, &client).map_err(untrusted)?;
    // From here on, errors go back to the client.
    let request = match authorize::validate(&params, &client, &target) {
        Ok(request) => request,
        Err(e) => return respond(&state, &target, &Err(e)),
    };
    if let Some(hint) = &request.id_token_hint {
        if id_token::verify_hint(&state.issuer, hint).is_err() {
            return respond(
                &state,
                &target,
                &Err(OAuthError::invalid_request("id_token_hint is not valid")),
            );
        }
    }
    let pending = session::new_pending(request, state.now());
    proceed(&state, &session, pending).await
}

fn untrusted(e: UntrustedRequest) -> PageError {
    PageError::BadRequest(e.to_string())
}

pub(super) fn expired_request() -> &'static str {
    "This sign-in request has expired or was already completed. Go back to the application and start again."
}

/// Asks `oauth::flow` what the request still needs — a sign-in, a consent, or nothing —
/// and either shows that step or answers the client. Only the reads and the answer
/// are here; the rules are in the state machine.
pub(super) async fn proceed(
    state: &AppState,
    session: &Session,
    pending: PendingAuthorization,
) -> Result<Response, PageError> {
    let request = &pending.request;
    let target = request.target();
    let Some(client) = state.clients.get(&*state.store, &request.client_id).await? else {
        return Err(untrusted(UntrustedRequest::UnknownClient));
    };
    let sso = session::sso(session).await?;
    let scopes = request.scopes();
    // The hint was verified when the request arrived; it is verified again (keys may
    // have rotated since) and, if it no longer verifies, counts as absent. Without a
    // session there is nobody to compare it with, so no signature is checked.
    let hint = sso
        .as_ref()
        .and(request.id_token_hint.as_deref())
        .and_then(|h| id_token::verify_hint(&state.issuer, h).ok());
    let facts = flow::Facts {
        request: flow::RequestFacts {
            id: &pending.id,
            prompt: request.prompt,
            max_age: request.max_age,
            scopes: &scopes,
            hint_subject: hint.as_ref().map(|h| h.sub.as_str()),
        },
        session: sso.as_ref().map(|s| flow::SessionFacts {
            user_id: &s.user_id,
            host_id: &s.host_id,
            auth_time: s.auth_time,
            for_request: s.for_request.as_deref(),
        }),
        client: flow::ClientFacts {
            host_id: client.host_id.as_deref(),
            skip_consent: client.skip_consent,
        },
        consented_for_request: request.prompt.consent
            && session_consented_after(session, &pending).await?,
        now: state.now(),
    };
    let step = match decide(state, &facts, &client.client_id).await? {
        Ok(step) => step,
        Err(e) => return respond(state, &target, &Err(e)),
    };
    match (step, &sso) {
        (Step::Login, _) => {
            session::save_pending(session, &pending).await?;
            // The login form's CSRF token now, so the session is written once, not
            // again when the form is shown.
            session::csrf_token(session).await?;
            Ok(Redirect::to(&format!("/login?request_id={}", pending.id)).into_response())
        }
        (Step::Consent, _) => {
            session::save_pending(session, &pending).await?;
            Ok(Redirect::to(&format!("/consent?request_id={}", pending.id)).into_response())
        }
        (Step::Issue, Some(sso)) => {
            let code = issue_code(state, sso, &pending).await?;
            session::remove_pending(session, &pending.id).await?;
            respond(state, &target, &Ok(code))
        }
        (Step::Issue, None) => Err(PageError::internal("signed-in session vanished")),
    }
}

/// Runs the state machine, reading the scopes the user already granted the client only
/// when it needs them (a first-party client's sign-in reads nothing).
async fn decide(
    state: &AppState,
    facts: &flow::Facts<'_>,
    client_id: &str,
) -> Result<Result<Step, OAuthError>, PageError> {
    let signed_in = match flow::sign_in_step(facts) {
        Ok(SignIn::Done(signed_in)) => signed_in,
        Ok(SignIn::Needed) => return Ok(Ok(Step::Login)),
        Err(e) => return Ok(Err(e)),
    };
    let granted = if flow::reads_granted_scopes(facts) {
        state
            .store
            .granted_scopes(signed_in.user_id, client_id)
            .await?
    } else {
        Scopes::default()
    };
    Ok(flow::consent_step(facts, &granted))
}

const CONSENTED: &str = "consented";

async fn session_consented_after(
    session: &Session,
    pending: &PendingAuthorization,
) -> Result<bool, PageError> {
    let consented: Option<Vec<String>> = session.get(CONSENTED).await?;
    Ok(consented.is_some_and(|ids| ids.contains(&pending.id)))
}

/// Records that the user has just answered the consent page for this request.
pub(super) async fn mark_consented(session: &Session, request_id: &str) -> Result<(), PageError> {
    let mut ids: Vec<String> = session.get(CONSENTED).await?.unwrap_or_default();
    ids.push(request_id.to_owned());
    if ids.len() > 8 {
        ids.remove(0);
    }
    session.insert(CONSENTED, ids).await?;
    Ok(())
}

async fn issue_code(
    state: &AppState,
    sso: &SsoSession,
    pending: &PendingAuthorization,
) -> Result<String, PageError> {
    let request = &pending.request;
    let code = random_token();
    state
        .store
        .create_code(&NewCode {
            code_hash: TokenHash::of(&code).as_str().to_owned(),
            record: CodeRecord {
                family_id: random_id(),
                client_id: request.client_id.clone(),
                user_id: sso.user_id.clone(),
                host_id: Some(sso.host_id.clone()),
                redirect_uri: request.redirect_uri.as_str().to_owned(),
                scope: request.scope.clone(),
                nonce: request.nonce.clone(),
                code_challenge: request.code_challenge.clone(),
                auth_time: sso.auth_time,
                sid: sso.sid.clone(),
                amr: sso.amr.join(" "),
            },
            expires_at: state.now() + state.config.tokens.authorization_code_ttl,
        })
        .await?;
    Ok(code)
}

/// Sends the authorization response (a code or an error) to the client's redirect URI,
/// by redirect or by form post, with `state` and `iss` (RFC 9207).
pub(super) fn respond(
    state: &AppState,
    target: &ResponseTarget,
    result: &Result<String, OAuthError>,
) -> Result<Response, PageError> {
    let params = authorize::response_params(target, state.config.issuer_base(), result);
    match target.response_mode {
        ResponseMode::Query => {
            let location = target.redirect_uri.with_query(&params);
            Ok((
                StatusCode::SEE_OTHER,
                [(axum::http::header::LOCATION, location)],
            )
                .into_response())
        }
        ResponseMode::FormPost => pages::form_post(
            target.redirect_uri.as_str(),
            target.redirect_uri.origin().as_deref(),
            &params,
        ),
    }
}

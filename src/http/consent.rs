//! The consent page (OpenID Connect Core §3.1.2.4): the user allows the client the
//! scopes it asks for, and the answer is remembered per user, client and scope set.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use serde::Deserialize;
use tower_sessions::Session;

use super::authorize::{expired_request, mark_consented, proceed, respond};
use super::error::PageError;
use super::pages::{render, ConsentPage};
use super::session;
use super::state::AppState;
use crate::oauth::{ErrorCode, OAuthError};
use crate::oidc::userinfo::consent_list;

#[derive(Deserialize)]
pub struct ConsentQuery {
    request_id: String,
}

#[derive(Deserialize)]
pub struct ConsentForm {
    csrf: Option<String>,
    request_id: String,
    decision: Option<String>,
}

pub async fn get_consent(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<ConsentQuery>,
) -> Result<Response, PageError> {
    let pending = session::load_pending(&session, &q.request_id)
        .await?
        .ok_or_else(|| PageError::BadRequest(expired_request().to_owned()))?;
    let Some(sso) = session::sso(&session).await? else {
        return Err(PageError::BadRequest(expired_request().to_owned()));
    };
    // The page names who is signed in, so that someone at a shared computer sees
    // that it is not them before allowing anything.
    let account = state
        .store
        .find_user(&sso.user_id)
        .await?
        .map(|u| u.email)
        .unwrap_or_default();
    let client = state
        .clients
        .get(&*state.store, &pending.request.client_id)
        .await?
        .ok_or_else(|| PageError::BadRequest("The client is not known.".to_owned()))?;
    let csrf = session::csrf_token(&session).await?;
    let requested = pending.request.scopes();
    let scopes = consent_list(requested.iter());
    render(
        StatusCode::OK,
        &ConsentPage {
            csrf: &csrf,
            request_id: &pending.id,
            client_name: &client.name,
            account: &account,
            scopes,
        },
    )
}

pub async fn post_consent(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<ConsentForm>,
) -> Result<Response, PageError> {
    session::check_csrf(&session, form.csrf.as_deref()).await?;
    let pending = session::load_pending(&session, &form.request_id)
        .await?
        .ok_or_else(|| PageError::BadRequest(expired_request().to_owned()))?;
    let Some(sso) = session::sso(&session).await? else {
        return Err(PageError::BadRequest(expired_request().to_owned()));
    };
    if form.decision.as_deref() != Some("allow") {
        session::remove_pending(&session, &pending.id).await?;
        let denied = OAuthError::new(ErrorCode::AccessDenied, "the user denied the request");
        return respond(&state, &pending.request.target(), &Err(denied));
    }
    state
        .store
        .grant_consent(
            &sso.user_id,
            &pending.request.client_id,
            &pending.request.scopes(),
            state.now(),
        )
        .await?;
    mark_consented(&session, &pending.id).await?;
    proceed(&state, &session, pending).await
}

//! RP-Initiated Logout 1.0: the end-session endpoint, GET and POST, with a
//! confirmation page, then back to a registered `post_logout_redirect_uri` with `state`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::error::PageError;
use super::pages::{render, LogoutPage, MessagePage};
use super::session;
use super::state::AppState;
use crate::oidc::id_token;
use crate::oidc::logout::{self, LogoutError};

#[derive(Deserialize, Default)]
struct LogoutParams {
    id_token_hint: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    client_id: Option<String>,
}

/// Where to send the user once the logout is answered.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct PendingLogout {
    redirect: Option<String>,
    state: Option<String>,
    client_name: Option<String>,
}

const PENDING_LOGOUT: &str = "logout";

pub async fn logout(
    State(state): State<AppState>,
    session: Session,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Result<Response, PageError> {
    let raw = super::parameters(&method, &uri, &body);
    let params: LogoutParams = serde_urlencoded::from_bytes(raw)
        .map_err(|_| PageError::BadRequest("The logout request is malformed.".to_owned()))?;
    let bad = |e: LogoutError| PageError::BadRequest(e.to_string());
    let hint = match params.id_token_hint.as_deref().filter(|h| !h.is_empty()) {
        Some(h) => Some(
            id_token::verify_hint(&state.issuer, h).map_err(|_| bad(LogoutError::InvalidHint))?,
        ),
        None => None,
    };
    let client_id = logout::requesting_client(
        params.client_id.as_deref().filter(|c| !c.is_empty()),
        hint.as_ref().map(|h| h.audiences.as_slice()),
    )
    .map_err(bad)?;
    let client = match client_id {
        Some(id) => Some(
            state
                .store
                .find_client(id)
                .await?
                .ok_or_else(|| bad(LogoutError::UnknownClient))?,
        ),
        None => None,
    };
    let redirect = match params
        .post_logout_redirect_uri
        .as_deref()
        .filter(|u| !u.is_empty())
    {
        Some(uri) => Some(
            logout::check_redirect(uri, client.as_ref())
                .map_err(bad)?
                .as_str()
                .to_owned(),
        ),
        None => None,
    };
    let pending = PendingLogout {
        redirect,
        state: params.state,
        client_name: client.map(|c| c.name),
    };
    if session::sso(&session).await?.is_none() {
        // Nobody is signed in here: nothing to confirm.
        return finish(&pending);
    }
    session.insert(PENDING_LOGOUT, &pending).await?;
    let csrf = session::csrf_token(&session).await?;
    render(
        StatusCode::OK,
        &LogoutPage {
            csrf: &csrf,
            client_name: pending.client_name.as_deref(),
        },
    )
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    csrf: Option<String>,
    decision: Option<String>,
}

pub async fn post_confirm(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, PageError> {
    session::check_csrf(&session, form.csrf.as_deref()).await?;
    let pending: Option<PendingLogout> = session.remove(PENDING_LOGOUT).await?;
    if form.decision.as_deref() != Some("yes") {
        return render(
            StatusCode::OK,
            &MessagePage {
                title: "Still signed in",
                message: "You stayed signed in.",
            },
        );
    }
    if let Some(sso) = session::sso(&session).await? {
        // The session's grants end with it; offline_access ones were granted to outlive
        // it (OpenID Connect Core §11).
        let families = state
            .revocations
            .revoke_session(&*state.store, &sso.sid, state.now())
            .await?;
        tracing::info!(user_id = %sso.user_id, families, "signed out");
    }
    // Ends the SSO session: the row is deleted and the cookie cleared.
    session.flush().await?;
    finish(&pending.unwrap_or(PendingLogout {
        redirect: None,
        state: None,
        client_name: None,
    }))
}

fn finish(pending: &PendingLogout) -> Result<Response, PageError> {
    match &pending.redirect {
        Some(uri) => {
            let target = crate::domain::RedirectUri::parse(uri).map_err(PageError::internal)?;
            let params: Vec<(&str, &str)> = pending
                .state
                .as_deref()
                .map(|s| ("state", s))
                .into_iter()
                .collect();
            let location = target.with_query(&params);
            Ok((
                StatusCode::SEE_OTHER,
                [(axum::http::header::LOCATION, location)],
            )
                .into_response())
        }
        None => render(
            StatusCode::OK,
            &MessagePage {
                title: "Signed out",
                message: "You are signed out.",
            },
        ),
    }
}

//! The sign-in page. One message for every failure, so the page never tells whether
//! an account exists; unknown users cost a dummy argon2 run, so timing does not either.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use tower_sessions::Session;

use super::authorize::expired_request;
use super::error::PageError;
use super::pages::{render, LoginPage, MessagePage};
use super::session::{self, SsoSession};
use super::state::AppState;
use crate::domain::secret::random_id;

const FAILED: &str = "The email, username or password is not right.";

#[derive(Deserialize)]
pub struct LoginQuery {
    request_id: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    csrf: Option<String>,
    request_id: Option<String>,
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
}

pub async fn get_login(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<LoginQuery>,
) -> Result<Response, PageError> {
    let request_id = q.request_id.unwrap_or_default();
    let (client_name, hint) = request_context(&state, &session, &request_id).await?;
    let csrf = session::csrf_token(&session).await?;
    render(
        StatusCode::OK,
        &LoginPage {
            csrf: &csrf,
            request_id: &request_id,
            login: hint.as_deref().unwrap_or_default(),
            client_name: client_name.as_deref(),
            error: None,
        },
    )
}

/// The client's name and the `login_hint` of a pending request, if any.
async fn request_context(
    state: &AppState,
    session: &Session,
    request_id: &str,
) -> Result<(Option<String>, Option<String>), PageError> {
    if request_id.is_empty() {
        return Ok((None, None));
    }
    let pending = session::load_pending(session, request_id)
        .await?
        .ok_or_else(|| PageError::BadRequest(expired_request().to_owned()))?;
    let client = state.store.find_client(&pending.request.client_id).await?;
    Ok((client.map(|c| c.name), pending.request.login_hint))
}

pub async fn post_login(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    session::check_csrf(&session, form.csrf.as_deref()).await?;
    let request_id = form.request_id.unwrap_or_default();
    let (client_name, _) = request_context(&state, &session, &request_id).await?;
    let client_host = match session::load_pending(&session, &request_id).await? {
        Some(p) => state
            .store
            .find_client(&p.request.client_id)
            .await?
            .and_then(|c| c.host_id),
        None => None,
    };
    let login = form.login.trim();
    match authenticate(&state, login, &form.password, client_host.as_deref()).await? {
        Some((user_id, host_id)) => {
            let sso = SsoSession {
                user_id,
                host_id,
                auth_time: state.now(),
                amr: vec!["pwd".to_owned()],
                sid: random_id(),
            };
            session::sign_in(&session, &sso).await?;
            tracing::info!(user_id = %sso.user_id, host_id = %sso.host_id, "signed in");
            if request_id.is_empty() {
                return render(
                    StatusCode::OK,
                    &MessagePage {
                        title: "Signed in",
                        message: "You are signed in.",
                    },
                );
            }
            Ok(
                Redirect::to(&format!("/authorize/continue?request_id={request_id}"))
                    .into_response(),
            )
        }
        None => {
            tracing::info!("sign-in failed");
            let csrf = session::csrf_token(&session).await?;
            render(
                StatusCode::UNAUTHORIZED,
                &LoginPage {
                    csrf: &csrf,
                    request_id: &request_id,
                    login,
                    client_name: client_name.as_deref(),
                    error: Some(FAILED),
                },
            )
        }
    }
}

/// Checks the password and picks the host: the client's host when the client is bound
/// to one (the user must belong to it), the user's first host otherwise. Returns the
/// user and host, or none for any failure.
async fn authenticate(
    state: &AppState,
    login: &str,
    password: &str,
    client_host: Option<&str>,
) -> Result<Option<(String, String)>, PageError> {
    if login.is_empty() || password.is_empty() {
        return Ok(None);
    }
    let found = state.store.find_user_by_login(login).await?;
    let phc = found.as_ref().and_then(|c| c.password_hash.as_deref());
    let verified = state
        .passwords
        .verify(password, phc)
        .await
        .map_err(PageError::internal)?;
    let Some(credentials) = found.filter(|c| verified && !c.user.locked) else {
        return Ok(None);
    };
    let hosts = state.store.user_hosts(&credentials.user.user_id).await?;
    let host = match client_host {
        Some(wanted) => hosts.into_iter().find(|h| h == wanted),
        None => hosts.into_iter().next(),
    };
    Ok(host.map(|h| (credentials.user.user_id, h)))
}

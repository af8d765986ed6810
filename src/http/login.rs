//! The sign-in page. One message for every failure, so the page never tells whether
//! an account exists; unknown users cost a dummy argon2 run, so timing does not either.
//! A user who belongs to several hosts then chooses the host (unless the client is bound
//! to one): tokens carry that host and its assignments only.

use std::net::IpAddr;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Form;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::authorize::{expired_request, proceed};
use super::client_address::ClientAddress;
use super::error::PageError;
use super::pages::{render, LoginPage, MessagePage, SelectHostPage};
use super::session::{self, SsoSession};
use super::state::AppState;
use super::{device, login_audit};
use crate::authn::directory::Refusal;
use crate::authn::{Attempt, Failure};
use crate::domain::secret::random_id;
use crate::oauth::flow::{self, HostChoice};
use crate::store::Host;

/// How long a verified password waits for the host choice.
const HOST_CHOICE_TTL: i64 = 300;
const PREAUTH: &str = "preauth";
/// The same words for every throttled login, existing or not.
const THROTTLED: &str = "Too many failed sign-ins. Please wait a moment before you try again.";

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

/// A password checked, the host not yet chosen.
#[derive(Debug, Serialize, Deserialize)]
struct PreAuth {
    #[serde(default)]
    client_id: Option<String>,
    user_id: String,
    hosts: Vec<String>,
    request_id: String,
    verified_at: i64,
}

pub async fn get_login(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<LoginQuery>,
) -> Result<Response, PageError> {
    let request_id = q.request_id.unwrap_or_default();
    let context = RequestContext::load(&state, &session, &request_id).await?;
    let csrf = session::csrf_token(&session).await?;
    render(
        StatusCode::OK,
        &LoginPage {
            csrf: &csrf,
            request_id: &request_id,
            login: context.login_hint.as_deref().unwrap_or_default(),
            client_name: context.client_name.as_deref(),
            error: None,
        },
    )
}

/// What the pending authorization request (if any) says about this sign-in.
#[derive(Default)]
struct RequestContext {
    client_id: Option<String>,
    client_name: Option<String>,
    client_host: Option<String>,
    login_hint: Option<String>,
}

impl RequestContext {
    async fn load(
        state: &AppState,
        session: &Session,
        request_id: &str,
    ) -> Result<Self, PageError> {
        if request_id.is_empty() {
            return Ok(Self::default());
        }
        let pending = session::load_pending(session, request_id)
            .await?
            .ok_or_else(|| PageError::BadRequest(expired_request().to_owned()))?;
        let client = state
            .clients
            .get(&*state.store, &pending.request.client_id)
            .await?;
        Ok(Self {
            client_id: client.as_ref().map(|c| c.client_id.clone()),
            client_name: client.as_ref().map(|c| c.name.clone()),
            client_host: client.and_then(|c| c.host_id.clone()),
            login_hint: pending.request.login_hint,
        })
    }
}

pub async fn post_login(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    session: Session,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    session::check_csrf(&session, form.csrf.as_deref()).await?;
    let request_id = form.request_id.unwrap_or_default();
    let context = RequestContext::load(&state, &session, &request_id).await?;
    let login = form.login.trim();
    let failed = |csrf: String, status: StatusCode, message: &str| {
        render(
            status,
            &LoginPage {
                csrf: &csrf,
                request_id: &request_id,
                login,
                client_name: context.client_name.as_deref(),
                error: Some(message),
            },
        )
    };
    let device_cookie = device::device_cookie(&headers);
    let device_hash = device_cookie.as_deref().map(device::device_hash);
    let attempt = Attempt {
        login,
        password: &form.password,
        client_host: context.client_host.as_deref(),
        address,
        device: device_hash.as_deref(),
    };
    let outcome = state
        .authenticator
        .authenticate(&*state.store, &attempt, state.now())
        .await
        .map_err(PageError::internal)?;
    let authenticated = match outcome {
        Ok(a) => a,
        Err(failure) => {
            tracing::info!(?failure, "sign-in failed");
            let attempted = login_audit::Attempted {
                address,
                client_id: context.client_id.as_deref(),
                client_host: context.client_host.as_deref(),
            };
            login_audit::failed(&state, &attempted, login, None, failure).await?;
            let csrf = session::csrf_token(&session).await?;
            let (status, message, retry_after) = explain(failure, state.now());
            let mut page = failed(csrf, status, message)?;
            if let Some(seconds) = retry_after {
                page.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            return Ok(page);
        }
    };
    signed_in(
        &state,
        &session,
        &context,
        &request_id,
        authenticated,
        (device_cookie, address),
    )
    .await
}

/// The status, the message and the `Retry-After` seconds (RFC 9110 §10.2.3) of a failed
/// sign-in.
fn explain(failure: Failure, now: i64) -> (StatusCode, &'static str, Option<i64>) {
    match failure {
        Failure::Refused(refusal) => (StatusCode::UNAUTHORIZED, refusal.message(), None),
        Failure::DirectoryUnavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Your organisation's directory is not answering. Please try again in a moment.",
            None,
        ),
        Failure::Throttled { until } => (
            StatusCode::TOO_MANY_REQUESTS,
            THROTTLED,
            Some((until - now).max(1)),
        ),
    }
}

/// After a verified password: the host, then the sign-in itself (or the host choice),
/// and the browser becomes a known device of the user.
async fn signed_in(
    state: &AppState,
    session: &Session,
    context: &RequestContext,
    request_id: &str,
    authenticated: crate::authn::Authenticated,
    (device_cookie, address): (Option<String>, IpAddr),
) -> Result<Response, PageError> {
    let user_id = authenticated.user_id;
    let device_known_until = authenticated.device_known_until;
    let choice = flow::choose_host(
        authenticated.hosts,
        context.client_host.as_deref(),
        |h: &Host| h.host_id.as_str(),
    );
    let response = match choice {
        HostChoice::NotMember => {
            tracing::info!(%user_id, "sign-in refused: not a member of the client's host");
            let attempted = login_audit::Attempted {
                address,
                client_id: context.client_id.as_deref(),
                client_host: context.client_host.as_deref(),
            };
            let refusal = Failure::Refused(Refusal::InvalidCredentials);
            login_audit::failed(state, &attempted, "", Some(&user_id), refusal).await?;
            let csrf = session::csrf_token(session).await?;
            return render(
                StatusCode::UNAUTHORIZED,
                &LoginPage {
                    csrf: &csrf,
                    request_id,
                    login: "",
                    client_name: context.client_name.as_deref(),
                    error: Some(Refusal::InvalidCredentials.message()),
                },
            );
        }
        HostChoice::One(host) => {
            let signed = Signed {
                user_id: user_id.clone(),
                host_id: host.host_id,
                address,
                client_id: context.client_id.clone(),
            };
            complete(state, session, signed, request_id).await?
        }
        HostChoice::Choose(hosts) => {
            let preauth = PreAuth {
                client_id: context.client_id.clone(),
                user_id: user_id.clone(),
                hosts: hosts.iter().map(|h| h.host_id.clone()).collect(),
                request_id: request_id.to_owned(),
                verified_at: state.now(),
            };
            session.insert(PREAUTH, &preauth).await?;
            let csrf = session::csrf_token(session).await?;
            let choices = hosts
                .into_iter()
                .map(|h| (h.host_id, h.name, h.domain))
                .collect();
            render(
                StatusCode::OK,
                &SelectHostPage {
                    csrf: &csrf,
                    hosts: choices,
                },
            )?
        }
    };
    device::remember(state, device_cookie, device_known_until, &user_id, response).await
}

#[derive(Deserialize)]
pub struct HostForm {
    csrf: Option<String>,
    host_id: Option<String>,
}

/// The host chosen after the password was verified.
pub async fn post_select_host(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    session: Session,
    Form(form): Form<HostForm>,
) -> Result<Response, PageError> {
    session::check_csrf(&session, form.csrf.as_deref()).await?;
    let expired =
        || PageError::BadRequest("This sign-in has expired. Please sign in again.".to_owned());
    let preauth: PreAuth = session.remove(PREAUTH).await?.ok_or_else(expired)?;
    if state.now() - preauth.verified_at > HOST_CHOICE_TTL {
        return Err(expired());
    }
    let host_id = form
        .host_id
        .filter(|h| preauth.hosts.contains(h))
        .ok_or_else(|| {
            PageError::BadRequest("Choose one of the listed organisations.".to_owned())
        })?;
    let signed = Signed {
        user_id: preauth.user_id,
        host_id,
        address,
        client_id: preauth.client_id,
    };
    complete(&state, &session, signed, &preauth.request_id).await
}

/// A verified user, the host they sign in to, from where and through which client.
struct Signed {
    user_id: String,
    host_id: String,
    address: IpAddr,
    client_id: Option<String>,
}

/// Signs the user in to `host_id` and goes back to the authorization request, if any.
async fn complete(
    state: &AppState,
    session: &Session,
    signed: Signed,
    request_id: &str,
) -> Result<Response, PageError> {
    let sso = SsoSession {
        user_id: signed.user_id,
        host_id: signed.host_id,
        auth_time: state.now(),
        amr: vec!["pwd".to_owned()],
        sid: random_id(),
        for_request: (!request_id.is_empty()).then(|| request_id.to_owned()),
    };
    session::sign_in(session, &sso).await?;
    login_audit::succeeded(
        state,
        signed.address,
        signed.client_id.as_deref(),
        &sso.user_id,
        &sso.host_id,
        &sso.amr,
    )
    .await?;
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
    // Straight on, in this response, to what the request still needs: the consent page,
    // or the code.
    let pending = session::load_pending(session, request_id)
        .await?
        .ok_or_else(|| PageError::BadRequest(expired_request().to_owned()))?;
    proceed(state, session, pending).await
}

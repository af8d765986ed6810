//! Server-rendered pages (askama templates in `templates/`) and the headers every page
//! carries: a strict Content-Security-Policy with `frame-ancestors 'none'`
//! (clickjacking), `Referrer-Policy: no-referrer` (codes and states never leak through
//! Referer) and `Cache-Control: no-store` (forms and personal data stay out of caches).

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use axum::extract::State;

use super::error::PageError;
use super::state::AppState;
use crate::domain::secret::random_id;

const STYLESHEET: &str = include_str!("../../templates/tessera.css");
const PAGE_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
                        frame-ancestors 'none'; base-uri 'none'";

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub csrf: &'a str,
    pub request_id: &'a str,
    pub login: &'a str,
    pub client_name: Option<&'a str>,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "select_host.html")]
pub struct SelectHostPage<'a> {
    pub csrf: &'a str,
    /// (host id, name, domain)
    pub hosts: Vec<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage<'a> {
    pub csrf: &'a str,
    pub request_id: &'a str,
    pub client_name: &'a str,
    /// The signed-in account's email, with a way to sign in as someone else.
    pub account: &'a str,
    /// (name, description, scope), in the order to show them.
    pub scopes: Vec<(&'static str, &'static str, String)>,
}

#[derive(Template)]
#[template(path = "logout.html")]
pub struct LogoutPage<'a> {
    pub csrf: &'a str,
    pub client_name: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    pub title: &'a str,
    pub message: &'a str,
}

/// The start page at `/`, until an account page takes its place: what this server is
/// and where a developer or a user goes next.
#[derive(Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    discovery_url: &'a str,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    message: &'a str,
    /// The request id, for the person to quote (`x-request-id` in the logs).
    reference: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "form_post.html")]
struct FormPostPage<'a> {
    action: &'a str,
    fields: Vec<(&'a str, &'a str)>,
    nonce: &'a str,
}

fn secure_headers(mut response: Response, csp: &str) -> Response {
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn html(status: StatusCode, body: String, csp: &str) -> Response {
    secure_headers(
        (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            )],
            body,
        )
            .into_response(),
        csp,
    )
}

/// Renders a page template with the page headers.
pub fn render(status: StatusCode, page: &impl Template) -> Result<Response, PageError> {
    let body = page.render().map_err(PageError::internal)?;
    Ok(html(status, body, PAGE_CSP))
}

/// The error page. Rendering it cannot fail in practice; if it did, a plain-text
/// message still goes out.
pub fn render_error_page(status: StatusCode, message: &str, reference: Option<&str>) -> Response {
    match (ErrorPage { message, reference }).render() {
        Ok(body) => html(status, body, PAGE_CSP),
        Err(_) => secure_headers((status, message.to_owned()).into_response(), PAGE_CSP),
    }
}

/// The Form Post Response Mode page: an auto-submitting form to the client's
/// redirect URI. Its script runs under a one-time nonce; `form-action` allows only the
/// redirect URI's origin.
pub fn form_post(
    action: &str,
    origin: Option<&str>,
    fields: &[(&str, &str)],
) -> Result<Response, PageError> {
    let nonce = random_id();
    let page = FormPostPage {
        action,
        fields: fields.to_vec(),
        nonce: &nonce,
    };
    let body = page.render().map_err(PageError::internal)?;
    let csp = format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; form-action {}; frame-ancestors 'none'; base-uri 'none'",
        origin.unwrap_or("'none'")
    );
    Ok(html(StatusCode::OK, body, &csp))
}

pub async fn get_stylesheet() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        STYLESHEET,
    )
        .into_response()
}

pub async fn get_home(State(state): State<AppState>) -> Result<Response, PageError> {
    let discovery_url = format!(
        "{}/.well-known/openid-configuration",
        state.config.issuer_base()
    );
    render(
        StatusCode::OK,
        &HomePage {
            discovery_url: &discovery_url,
        },
    )
}

pub async fn not_found() -> PageError {
    PageError::NotFound
}

//! The HTTP surface: axum handlers, pages, extractors and the mapping of errors to
//! responses. Handlers orchestrate; rules live in `oauth`/`oidc`, SQL in `store`.

mod api;
mod authorize;
mod client_address;
mod clients;
mod consent;
mod device;
mod discovery;
mod error;
mod extract;
mod health;
mod introspect;
mod login;
mod login_audit;
mod logout;
mod metrics;
mod pages;
mod policy_cache;
mod request_id;
mod revoke;
mod session;
mod state;
mod token;
mod userinfo;

use axum::http::{header, Method, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use tower_http::cors::{Any, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

pub(crate) use api::v1::{
    client_id, domain, flags, host_id, model, parse_scopes, parse_uris, ClientView, HostView,
    NewClientView, SecretView,
};
pub use client_address::{client_address, ClientAddress};
pub use error::{ApiError, PageError, V1Error};
pub use session::SqlSessionStore;
pub use state::AppState;

/// The parameters of an endpoint that takes GET and POST alike (OpenID Connect Core
/// §3.1.2.1 for authorization, RP-Initiated Logout §2): the query, or the form body.
fn parameters<'a>(method: &Method, uri: &'a axum::http::Uri, body: &'a [u8]) -> &'a [u8] {
    if *method == Method::POST {
        body
    } else {
        uri.query().unwrap_or_default().as_bytes()
    }
}

/// Every route of Tessera. Pages that need the SSO session get the session layer; the
/// machine endpoints (token, JWKS, …) never read or write a cookie.
pub fn router(state: AppState) -> Router {
    let config = &state.config;
    let sessions = SessionManagerLayer::new(SqlSessionStore::new(
        state.store.clone(),
        state.clock.clone(),
    ))
    .with_name(config.session.cookie_name.clone())
    .with_http_only(true)
    .with_same_site(SameSite::Lax)
    .with_secure(config.secure_cookies())
    .with_path("/")
    .with_expiry(Expiry::OnInactivity(time::Duration::seconds(
        config.session.ttl,
    )));

    let pages = Router::new()
        .route(
            "/authorize",
            get(authorize::authorize).post(authorize::authorize),
        )
        .route("/login", get(login::get_login).post(login::post_login))
        .route("/login/host", post(login::post_select_host))
        .route(
            "/consent",
            get(consent::get_consent).post(consent::post_consent),
        )
        .route("/logout", get(logout::logout).post(logout::logout))
        .route("/logout/confirm", post(logout::post_confirm))
        .layer(sessions)
        .layer(axum::middleware::map_response(error::session_failure_page));

    // Endpoints a browser application (an SPA using PKCE) calls directly get CORS
    // without credentials: they authenticate by token or client credentials, never by
    // cookie, so any origin may call them.
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(std::time::Duration::from_secs(3600));
    let browser_api = Router::new()
        .route("/token", post(token::post_token))
        .route(
            "/userinfo",
            get(userinfo::userinfo).post(userinfo::userinfo),
        )
        .route("/revoke", post(revoke::post_revoke))
        .layer(cors);

    let api = Router::new()
        .route("/introspect", post(introspect::post_introspect))
        .route("/", get(pages::get_home))
        .route("/healthz", get(health::get_healthz))
        .route("/readyz", get(health::get_readyz))
        .route("/static/tessera.css", get(pages::get_stylesheet));

    // Discovery and the JWKS are the hottest and simplest routes: precomputed bytes, no
    // layers. They are plain GETs, so `Access-Control-Allow-Origin: *` in the response
    // is all CORS needs (no preflight).
    let documents = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery::get_metadata),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(discovery::get_metadata),
        )
        .route("/jwks", get(discovery::get_jwks));

    let mut router = pages
        .merge(browser_api)
        .merge(api)
        .merge(api::v1::router())
        .layer(TraceLayer::new_for_http().make_span_with(request_id::span))
        .merge(documents)
        .fallback(pages::not_found);
    if !config.metrics.token.is_empty() {
        router = router.route("/metrics", get(metrics::get_metrics_with_token));
    }
    // Around every route, outermost last: an unsafe incoming request id is dropped, one
    // is set and copied to the response, made current for the error page; the request
    // is counted; and it must finish within the request timeout. That answers 408
    // (RFC 9110 §15.5.9: the server would not wait longer), as Node's requestTimeout.
    let timeout = std::time::Duration::from_secs(config.server.request_timeout);
    router
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::track,
        ))
        .layer(axum::middleware::from_fn(request_id::scope))
        .layer(PropagateRequestIdLayer::new(request_id::X_REQUEST_ID))
        .layer(SetRequestIdLayer::new(
            request_id::X_REQUEST_ID,
            MakeRequestUuid,
        ))
        .layer(axum::middleware::map_request(request_id::drop_unsafe))
        .with_state(state)
}

/// The separate metrics listener's routes: `/metrics` only, without a token (the
/// listener is for the internal network).
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics::get_metrics))
        .with_state(state)
}

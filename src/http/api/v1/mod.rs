//! The management API, version 1 (issue 13): JSON resources under `/api/v1`, each file
//! one resource with its own `router()`, merged here. Every route is declared with
//! `utoipa`'s `routes!`, which takes the path from the handler's `#[utoipa::path]`, so
//! the router and `GET /api/v1/openapi.json` come from the same declarations and no
//! route can be served undocumented.

mod access;
mod assignments;
mod audit;
mod catalog;
mod catalog_routes;
mod client_input;
mod clients;
mod endpoints;
mod hosts;
mod me;
mod permissions;
mod query;
mod tokens;
mod user_admin;
mod users;

use axum::http::{header, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use tower_http::cors::{Any, CorsLayer};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::state::AppState;

pub(crate) use client_input::{
    client_id, parse_scopes, parse_uris, ClientView, NewClientView, SecretView,
};
pub(crate) use hosts::{domain, flags, host_id, model, HostView};

pub(crate) const PREFIX: &str = "/api/v1";

#[derive(OpenApi)]
#[openapi(
    info(title = "Tessera management API", version = "1"),
    modifiers(&BearerScheme),
    security(("bearer" = []))
)]
struct ApiDoc;

/// Declares the bearer scheme: a Tessera access token with the `tessera:api` scope.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A Tessera access token (RFC 9068) with the tessera:api scope",
                    ))
                    .build(),
            ),
        );
    }
}

/// The OpenAPI document, serialised once when the router is built.
#[derive(Clone)]
struct OpenApiJson(bytes::Bytes);

/// The OpenAPI 3.1 description of this API.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    security(()),
    responses((status = 200, description = "This document", content_type = "application/json"))
)]
async fn get_openapi(Extension(OpenApiJson(json)): Extension<OpenApiJson>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        json,
    )
        .into_response()
}

/// The routes and their document, before serving: what the router serves is what the
/// document lists.
fn parts() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let resources = OpenApiRouter::new()
        .routes(routes!(get_openapi))
        .merge(access::router())
        .merge(assignments::router())
        .merge(audit::router())
        .merge(catalog_routes::router())
        .merge(endpoints::router())
        .merge(permissions::router())
        .merge(clients::router())
        .merge(hosts::router())
        .merge(me::router())
        .merge(tokens::router())
        .merge(users::router())
        .merge(user_admin::router());
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest(PREFIX, resources)
        .split_for_parts()
}

/// The OpenAPI document of the API.
#[cfg(test)]
fn openapi() -> utoipa::openapi::OpenApi {
    parts().1
}

/// The API's routes. Browser applications call them with a bearer token, never a
/// cookie, so CORS allows any origin without credentials, as for `/userinfo`.
pub(crate) fn router() -> Router<AppState> {
    let (router, doc) = parts();
    let json = bytes::Bytes::from(doc.to_pretty_json().unwrap_or_default());
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(std::time::Duration::from_secs(3600));
    router.layer(Extension(OpenApiJson(json))).layer(cors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_lists_every_route_under_the_prefix() {
        let doc = openapi();
        let paths: Vec<&str> = doc.paths.paths.keys().map(String::as_str).collect();
        assert!(paths.iter().all(|p| p.starts_with(PREFIX)), "{paths:?}");
        assert!(paths.contains(&"/api/v1/openapi.json"), "{paths:?}");
        assert!(paths.contains(&"/api/v1/users/{id}"), "{paths:?}");
        for catalog in ["roles", "groups", "positions", "attributes", "endpoints"] {
            assert!(
                paths.contains(&format!("/api/v1/{catalog}/{{id}}").as_str()),
                "{paths:?}"
            );
        }
        assert!(
            paths.contains(&"/api/v1/attributes/{id}/permissions/{endpoint_id}"),
            "{paths:?}"
        );
        let ids: Vec<_> = doc
            .paths
            .paths
            .values()
            .flat_map(|item| {
                [&item.get, &item.post, &item.patch, &item.put, &item.delete]
                    .into_iter()
                    .flatten()
                    .filter_map(|op| op.operation_id.clone())
            })
            .collect();
        let unique: std::collections::BTreeSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "operation ids repeat: {ids:?}");
        for path in [
            "/api/v1/clients",
            "/api/v1/clients/{id}",
            "/api/v1/clients/{id}/secret",
            "/api/v1/hosts",
            "/api/v1/hosts/{id}",
        ] {
            assert!(paths.contains(&path), "{path} not in {paths:?}");
        }
        assert!(paths.contains(&"/api/v1/tokens/{id}"), "{paths:?}");
    }
}

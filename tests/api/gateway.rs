//! The example of `docs/policy.md`, run as a test: an API gateway (an axum middleware in
//! front of a small "orders" service) that verifies Tessera's access tokens offline
//! against its JWKS and asks the policy decision endpoint whether the caller may call
//! the request's endpoint. A gateway written in another language follows the same
//! steps.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use josekit::jwk::JwkSet;
use josekit::jws::{JwsHeader, JwsVerifier, ES256, RS256};
use josekit::jwt::{self, JwtPayloadValidator};
use reqwest::StatusCode as HttpStatus;
use serde_json::json;

use crate::access::{gateway_token, seed_permissions};
use crate::admin_api::app_with_two_hosts;

/// What the gateway knows: Tessera's issuer and keys (fetched once; a real gateway
/// refetches on an unknown `kid`), where to ask for decisions, and its own token.
struct Gateway {
    issuer: String,
    verifiers: HashMap<String, Box<dyn JwsVerifier>>,
    decisions: String,
    token: String,
    http: reqwest::Client,
}

impl Gateway {
    async fn new(issuer: &str, token: String) -> Self {
        let http = reqwest::Client::new();
        let discovery: serde_json::Value = http
            .get(format!("{issuer}/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let jwks_uri = discovery["jwks_uri"].as_str().unwrap();
        let jwks = JwkSet::from_bytes(
            http.get(jwks_uri)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap(),
        )
        .unwrap();
        let mut verifiers: HashMap<String, Box<dyn JwsVerifier>> = HashMap::new();
        for jwk in jwks.keys() {
            let verifier: Box<dyn JwsVerifier> = match jwk.algorithm() {
                Some("ES256") => Box::new(ES256.verifier_from_jwk(jwk).unwrap()),
                _ => Box::new(RS256.verifier_from_jwk(jwk).unwrap()),
            };
            verifiers.insert(jwk.key_id().unwrap_or_default().to_owned(), verifier);
        }
        Self {
            issuer: discovery["issuer"].as_str().unwrap().to_owned(),
            verifiers,
            decisions: format!("{issuer}/api/v1/access/evaluation"),
            token,
            http,
        }
    }

    /// Verifies an access token offline (RFC 9068 §4: signature by a published key,
    /// `typ` `at+jwt`, issuer, lifetime) and answers its subject.
    fn verify(&self, token: &str) -> Option<String> {
        let (payload, header) = jwt::decode_with_verifier_selector(token, |h: &JwsHeader| {
            Ok(h.key_id()
                .and_then(|kid| self.verifiers.get(kid))
                .map(|v| &**v))
        })
        .ok()?;
        if header.token_type() != Some("at+jwt") {
            return None;
        }
        let mut validator = JwtPayloadValidator::new();
        validator.set_issuer(&self.issuer);
        validator.set_base_time(std::time::SystemTime::now());
        validator.validate(&payload).ok()?;
        payload.subject().map(str::to_owned)
    }

    /// Asks Tessera whether the token's subject may call `method path`.
    async fn allowed(&self, token: &str, subject: &str, method: &str, path: &str) -> bool {
        let question = json!({
            "subject": {"type": "user", "id": subject, "properties": {"token": token}},
            "resource": {"type": "api_endpoint", "id": path},
            "action": {"name": method},
        });
        let answer = self
            .http
            .post(&self.decisions)
            .bearer_auth(&self.token)
            .json(&question)
            .send()
            .await;
        match answer {
            Ok(r) if r.status().is_success() => r
                .json::<serde_json::Value>()
                .await
                .is_ok_and(|v| v["decision"] == true),
            // The decision point unreachable or refusing: fail closed.
            _ => false,
        }
    }
}

/// The middleware: 401 without a valid token, 403 when the decision is no.
async fn guard(State(gateway): State<Arc<Gateway>>, request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let Some(subject) = token.as_deref().and_then(|t| gateway.verify(t)) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let (method, path) = (
        request.method().to_string(),
        request.uri().path().to_owned(),
    );
    if !gateway
        .allowed(
            token.as_deref().unwrap_or_default(),
            &subject,
            &method,
            &path,
        )
        .await
    {
        return StatusCode::FORBIDDEN.into_response();
    }
    next.run(request).await
}

#[tokio::test]
async fn a_gateway_verifies_tokens_offline_and_asks_for_decisions() {
    let app = app_with_two_hosts().await;
    seed_permissions(&app).await;
    let gateway = Arc::new(Gateway::new(&app.issuer, gateway_token(&app, "acme").await).await);
    let orders = axum::Router::new()
        .route("/orders", axum::routing::get(|| async { "all orders" }))
        .route(
            "/orders/{id}",
            axum::routing::get(|| async { "one order" }).delete(|| async { "deleted" }),
        )
        .layer(axum::middleware::from_fn_with_state(gateway, guard));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let service = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, orders).await });

    let uma = app.api_token("user@acme.example", "acme", "openid").await;
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, token: Option<&str>| {
        let mut r = http.request(method, format!("{service}{path}"));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    let ok = call(reqwest::Method::GET, "/orders/42", Some(&uma))
        .await
        .unwrap();
    assert_eq!(ok.status(), HttpStatus::OK);
    assert_eq!(ok.text().await.unwrap(), "one order");
    let refused = call(reqwest::Method::DELETE, "/orders/42", Some(&uma))
        .await
        .unwrap();
    assert_eq!(refused.status(), HttpStatus::FORBIDDEN);
    let anonymous = call(reqwest::Method::GET, "/orders/42", None)
        .await
        .unwrap();
    assert_eq!(anonymous.status(), HttpStatus::UNAUTHORIZED);
    let forged = call(reqwest::Method::GET, "/orders/42", Some("e30.e30.e30"))
        .await
        .unwrap();
    assert_eq!(forged.status(), HttpStatus::UNAUTHORIZED);
}

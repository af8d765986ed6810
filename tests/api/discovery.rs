use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test]
async fn discovery_metadata_is_complete_and_truthful() {
    let app = spawn_app().await;
    let response = reqwest::get(app.url("/.well-known/openid-configuration"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age"));
    let m: Value = response.json().await.unwrap();
    assert_eq!(m["issuer"], app.issuer);
    for (field, path) in [
        ("authorization_endpoint", "/authorize"),
        ("token_endpoint", "/token"),
        ("userinfo_endpoint", "/userinfo"),
        ("jwks_uri", "/jwks"),
        ("end_session_endpoint", "/logout"),
        ("revocation_endpoint", "/revoke"),
        ("introspection_endpoint", "/introspect"),
    ] {
        assert_eq!(m[field], app.url(path), "{field}");
    }
    assert_eq!(m["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(
        m["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        m["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    assert_eq!(m["authorization_response_iss_parameter_supported"], true);
    assert_eq!(m["request_parameter_supported"], false);
    assert_eq!(m["subject_types_supported"], serde_json::json!(["public"]));
    let modes = m["response_modes_supported"].as_array().unwrap();
    assert!(modes.contains(&"form_post".into()) && modes.contains(&"query".into()));
    // OIDC Core §5.4's scopes and their claims.
    let scopes = m["scopes_supported"].as_array().unwrap();
    let claims = m["claims_supported"].as_array().unwrap();
    // The management API's scope, which a client must be allowed.
    assert!(scopes.contains(&"tessera:api".into()));
    for (scope, claim) in [("address", "address"), ("phone", "phone_number")] {
        assert!(scopes.contains(&scope.into()), "{scope}");
        assert!(claims.contains(&claim.into()), "{claim}");
    }
    // The pages speak English only, and claims are never translated.
    assert_eq!(m["ui_locales_supported"], serde_json::json!(["en"]));
    assert!(m.get("claims_locales_supported").is_none());

    // Every advertised endpoint answers (none is a 404).
    for field in [
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "end_session_endpoint",
    ] {
        let url = m[field].as_str().unwrap();
        let status = app.browser.get(url).send().await.unwrap().status();
        assert_ne!(status, StatusCode::NOT_FOUND, "{field}");
    }
}

#[tokio::test]
async fn the_oauth_metadata_location_serves_the_same_document() {
    let app = spawn_app().await;
    let a: Value = reqwest::get(app.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let b: Value = reqwest::get(app.url("/.well-known/oauth-authorization-server"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(a, b);
}

#[tokio::test]
async fn the_jwks_publishes_public_keys_only_with_caching_headers() {
    let app = spawn_app().await;
    let response = reqwest::get(app.url("/jwks")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    assert!(response.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age=300"));
    let jwks: Value = response.json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    // The active key and the next one.
    assert_eq!(keys.len(), 2);
    for key in keys {
        assert_eq!(key["kty"], "RSA");
        assert_eq!(key["use"], "sig");
        assert!(key["kid"].is_string());
        assert!(key.get("d").is_none(), "private part published: {key}");
    }
    let revalidated = app
        .browser
        .get(app.url("/jwks"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    assert_eq!(
        reqwest::get(app.url("/healthz")).await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        reqwest::get(app.url("/readyz")).await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn browser_applications_may_call_the_token_endpoint_across_origins() {
    let app = spawn_app().await;
    let response = app
        .browser
        .request(reqwest::Method::OPTIONS, app.url("/token"))
        .header("origin", "https://spa.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    // Never with credentials: the pages' session cookie is not for other origins.
    assert!(response
        .headers()
        .get("access-control-allow-credentials")
        .is_none());
    let pages = app
        .browser
        .get(app.url("/login"))
        .header("origin", "https://spa.example")
        .send()
        .await
        .unwrap();
    assert!(pages.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn browser_applications_may_read_discovery_and_the_jwks() {
    let app = spawn_app().await;
    for path in ["/.well-known/openid-configuration", "/jwks"] {
        let response = app
            .browser
            .get(app.url(path))
            .header("origin", "https://spa.example")
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers()["access-control-allow-origin"],
            "*",
            "{path}"
        );
    }
}

//! The legacy password grant (RFC 6749 §4.3; issue 14): only for a client registered
//! with it, which must be first-party; under the login form's throttle, with its audit
//! entries.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::{Response, StatusCode};
use serde_json::Value;
use tessera::config::Config;
use tessera::domain::throttle::Policy;
use tessera::domain::{ClientType, Secret};

use crate::admin_api::{json as body_of, two_hosts, user_id};
use crate::helpers::{assert_oauth_error, client, spawn_app_with, TestApp, PASSWORD};

/// A client with the password grant, bound to acme; `first_party` sets skip_consent.
async fn legacy_client(app: &TestApp, first_party: bool) -> (String, String) {
    let secret = Secret::generate();
    let id = tessera::domain::secret::random_id();
    let mut c = client(&id, ClientType::Confidential, Some(&secret));
    c.grant_types = vec![tessera::domain::GrantType::Password];
    c.skip_consent = first_party;
    c.host_id = Some("acme".to_owned());
    app.state
        .store
        .create_client(&c, app.state.now())
        .await
        .unwrap();
    (id, secret.expose().to_owned())
}

async fn password_grant(
    app: &TestApp,
    client: &(String, String),
    username: &str,
    password: &str,
) -> Response {
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", client.0, client.1))
    );
    app.post_form_as(
        "/token",
        &[
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
            ("scope", "openid api:read"),
        ],
        Some(&basic),
    )
    .await
}

/// Three free failures, then a minute's wait.
fn strict(config: &mut Config) {
    config.throttle.account = Policy {
        free_attempts: 3,
        base_delay: 60,
        max_delay: 60,
        ..Policy::account()
    };
}

async fn app() -> TestApp {
    let app = spawn_app_with(strict).await;
    app.import(&two_hosts()).await.unwrap();
    app
}

async fn trail(app: &TestApp, action: &str) -> Vec<Value> {
    let admin = app.api_as("admin@acme.example", "acme").await;
    let page = body_of(
        admin.get(&format!("/api/v1/audit?action={action}")).await,
        StatusCode::OK,
    )
    .await;
    page["entries"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_legacy_first_party_client_gets_an_access_token_with_the_profile() {
    let app = app().await;
    let legacy = legacy_client(&app, true).await;
    let answer = body_of(
        password_grant(&app, &legacy, "manager@acme.example", PASSWORD).await,
        StatusCode::OK,
    )
    .await;
    assert!(answer.get("refresh_token").is_none());
    assert!(answer.get("id_token").is_none());
    assert_eq!(answer["scope"], "api:read openid");
    let claims = app
        .state
        .issuer
        .verify_access_token(answer["access_token"].as_str().unwrap(), app.state.now())
        .unwrap();
    let manager = user_id(&app, "manager@acme.example").await;
    assert_eq!(claims["sub"], manager.as_str());
    assert_eq!(claims["role"], "manager");
    assert_eq!(claims["host"], "acme");
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));

    let entries = trail(&app, "sign_in.succeeded").await;
    let entry = entries
        .iter()
        .find(|e| e["detail"]["grant"] == "password")
        .expect("the grant's sign-in is in the trail");
    assert_eq!(entry["target_id"], manager.as_str());
    assert_eq!(entry["detail"]["client_id"], legacy.0.as_str());
}

#[tokio::test]
async fn ordinary_clients_are_refused_the_password_grant() {
    let app = app().await;
    // The test app's client may use every other grant.
    let response = app
        .post_token(&[
            ("grant_type", "password"),
            ("username", "manager@acme.example"),
            ("password", PASSWORD),
        ])
        .await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "unauthorized_client").await;
    // Registered with the grant but third-party: refused too.
    let third_party = legacy_client(&app, false).await;
    let response = password_grant(&app, &third_party, "manager@acme.example", PASSWORD).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "unauthorized_client").await;
    // And an import cannot register such a client.
    let refused = app
        .import(
            "clients:\n  - client_id: legacy\n    name: Legacy\n    secret: a-secret-of-sixteen-chars\n    grants: [password]\n",
        )
        .await
        .unwrap_err();
    assert!(refused.contains("first-party"), "{refused}");
}

#[tokio::test]
async fn wrong_passwords_are_audited_and_throttled_like_the_login_form() {
    let app = app().await;
    let legacy = legacy_client(&app, true).await;
    for _ in 0..3 {
        let response = password_grant(&app, &legacy, "manager@acme.example", "wrong").await;
        assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    }
    // Past the free attempts, even the right password waits.
    let response = password_grant(&app, &legacy, "manager@acme.example", PASSWORD).await;
    let body = assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("too many"),
        "{body}"
    );
    let failed = trail(&app, "sign_in.failed").await;
    let ours: Vec<&Value> = failed
        .iter()
        .filter(|e| e["detail"]["grant"] == "password")
        .collect();
    // The three refusals; the throttled attempt is counted, not recorded.
    assert_eq!(ours.len(), 3, "{failed:?}");
    assert_eq!(ours[0]["detail"]["login"], "manager@acme.example");
    // A minute later the right password works again.
    app.clock.advance(61);
    let response = password_grant(&app, &legacy, "manager@acme.example", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
}

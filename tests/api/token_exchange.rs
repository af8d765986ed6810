//! Token exchange (RFC 8693) at `/token`: API tokens for short-lived JWTs carrying the
//! owner's current profile, access tokens for shorter tokens for another audience, and
//! introspection of API tokens (issue 14).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

use crate::admin_api::{app_with_two_hosts, json as body_of, user_id};
use crate::api_tokens::{exchange_client, make_token, personal_token, EXCHANGE};
use crate::helpers::{assert_oauth_error, TestApp};

const API_TOKEN_TYPE: &str = "urn:tessera:params:oauth:token-type:api_token";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

async fn exchange(app: &TestApp, client: &(String, String), form: &[(&str, &str)]) -> Response {
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", client.0, client.1))
    );
    let mut full = vec![("grant_type", EXCHANGE)];
    full.extend_from_slice(form);
    app.post_form_as("/token", &full, Some(&basic)).await
}

/// Exchanges an API token; returns the answer.
async fn exchange_api_token(app: &TestApp, client: &(String, String), secret: &str) -> Response {
    exchange(
        app,
        client,
        &[
            ("subject_token", secret),
            ("subject_token_type", API_TOKEN_TYPE),
        ],
    )
    .await
}

fn claims(app: &TestApp, token: &str) -> Value {
    Value::Object(
        app.state
            .issuer
            .verify_access_token(token, app.state.now())
            .expect("a valid access token"),
    )
}

async fn introspect(app: &TestApp, token: &str) -> Value {
    app.introspect(token).await
}

#[tokio::test]
async fn an_api_token_lives_from_exchange_to_revocation() {
    let app = app_with_two_hosts().await;
    let client = exchange_client(&app).await;
    let (id, secret) = personal_token(&app, "user@acme.example", "api:read tessera:api").await;
    let owner = user_id(&app, "user@acme.example").await;

    let answer = body_of(
        exchange_api_token(&app, &client, &secret).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(answer["issued_token_type"], ACCESS_TOKEN_TYPE);
    assert_eq!(answer["token_type"], "Bearer");
    assert_eq!(answer["expires_in"], 300);
    assert_eq!(answer["scope"], "api:read tessera:api");
    assert!(answer.get("refresh_token").is_none());
    let jwt = claims(&app, answer["access_token"].as_str().unwrap());
    assert_eq!(jwt["sub"], owner.as_str());
    assert_eq!(jwt["client_id"], client.0.as_str());
    assert_eq!(jwt["host"], "acme");
    assert_eq!(jwt["uid"], "c-1");
    assert_eq!(jwt["role"], "staff");
    assert_eq!(jwt["grp"], "night-shift");
    // The JWT acts with the owner's rights at the management API.
    let me = body_of(
        app.api(answer["access_token"].as_str().map(str::to_owned))
            .me()
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(me["user"]["email"], "user@acme.example");
    assert_eq!(jwt["api_token_id"], id.as_str());
    // But it cannot make a successor that would outlive the token's revocation.
    let successor = app
        .api(answer["access_token"].as_str().map(str::to_owned))
        .post(
            "/api/v1/tokens",
            &json!({"name": "next", "scope": "api:read", "expires_in_days": 1}),
        )
        .await;
    let refused = body_of(successor, StatusCode::FORBIDDEN).await;
    assert_eq!(refused["error"], "insufficient_scope");

    let seen = introspect(&app, &secret).await;
    assert_eq!(seen["active"], true);
    assert_eq!(seen["token_type"], "api_token");
    assert_eq!(seen["sub"], owner.as_str());
    assert_eq!(seen["username"], "user@acme.example");
    assert_eq!(seen["scope"], "api:read tessera:api");
    assert!(seen["exp"].as_i64().unwrap() > app.state.now());
    // The exchange marked it used.
    let api = app.api_as("user@acme.example", "acme").await;
    let listed = body_of(
        api.get(&format!("/api/v1/tokens/{id}")).await,
        StatusCode::OK,
    )
    .await;
    assert!(listed["last_used_at"].as_i64().is_some());

    assert_eq!(
        api.delete(&format!("/api/v1/tokens/{id}")).await.status(),
        StatusCode::OK
    );
    let refused = assert_oauth_error(
        exchange_api_token(&app, &client, &secret).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    assert!(refused["error_description"]
        .as_str()
        .unwrap()
        .contains("revoked"));
    assert_eq!(introspect(&app, &secret).await, json!({"active": false}));
}

#[tokio::test]
async fn a_locked_owner_or_an_expired_token_stops_working_at_once() {
    let app = app_with_two_hosts().await;
    let client = exchange_client(&app).await;
    let (_, secret) = personal_token(&app, "user@acme.example", "api:read").await;
    let owner = user_id(&app, "user@acme.example").await;
    let admin = app.api_as("admin@acme.example", "acme").await;
    let locked = admin
        .put(
            &format!("/api/v1/users/{owner}/status"),
            &json!({"locked": true}),
        )
        .await;
    assert_eq!(locked.status(), StatusCode::OK);
    let refused = assert_oauth_error(
        exchange_api_token(&app, &client, &secret).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    assert!(refused["error_description"]
        .as_str()
        .unwrap()
        .contains("locked"));
    assert_eq!(introspect(&app, &secret).await["active"], false);
    let unlocked = admin
        .put(
            &format!("/api/v1/users/{owner}/status"),
            &json!({"locked": false}),
        )
        .await;
    assert_eq!(unlocked.status(), StatusCode::OK);
    assert_eq!(
        exchange_api_token(&app, &client, &secret).await.status(),
        StatusCode::OK
    );

    // Thirty days on, it has expired.
    app.clock.advance(30 * 24 * 3600);
    let refused = assert_oauth_error(
        exchange_api_token(&app, &client, &secret).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    assert!(refused["error_description"]
        .as_str()
        .unwrap()
        .contains("expired"));
}

#[tokio::test]
async fn a_role_taken_away_is_gone_from_the_next_exchange() {
    let app = app_with_two_hosts().await;
    let client = exchange_client(&app).await;
    let (_, secret) = personal_token(&app, "manager@acme.example", "api:read").await;
    let first = body_of(
        exchange_api_token(&app, &client, &secret).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        claims(&app, first["access_token"].as_str().unwrap())["role"],
        "manager"
    );

    // The role is taken away in the database, as a catalog change would.
    let manager = user_id(&app, "manager@acme.example").await;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.state.config.database_url)
        .await
        .unwrap();
    sqlx::query("DELETE FROM role_user_t WHERE host_id = $1 AND user_id = $2")
        .bind("acme")
        .bind(&manager)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    let second = body_of(
        exchange_api_token(&app, &client, &secret).await,
        StatusCode::OK,
    )
    .await;
    // The host's default role stands in, as in a sign-in's token.
    assert_eq!(
        claims(&app, second["access_token"].as_str().unwrap())["role"],
        "staff"
    );
}

#[tokio::test]
async fn a_system_token_is_its_hosts_service_with_its_roles() {
    let app = app_with_two_hosts().await;
    let client = exchange_client(&app).await;
    let admin = app.api_as("admin@acme.example", "acme").await;
    let made = make_token(
        &admin,
        json!({"name": "billing", "kind": "system", "scope": "api:read",
            "expires_in_days": 5, "roles": ["staff", "manager"]}),
    )
    .await;
    let secret = made["secret"].as_str().unwrap();
    let id = made["token"]["id"].as_str().unwrap();
    let answer = body_of(
        exchange_api_token(&app, &client, secret).await,
        StatusCode::OK,
    )
    .await;
    let jwt = claims(&app, answer["access_token"].as_str().unwrap());
    assert_eq!(jwt["sub"], id);
    assert_eq!(jwt["host"], "acme");
    assert_eq!(jwt["role"], "manager staff");
    assert!(jwt.get("uid").is_none());
    assert_eq!(jwt["aud"], app.issuer.as_str());
    // For another audience, if the service asks.
    let billing = body_of(
        exchange(
            &app,
            &client,
            &[
                ("subject_token", secret),
                ("subject_token_type", API_TOKEN_TYPE),
                ("audience", "billing-api"),
            ],
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let jwt = claims(&app, billing["access_token"].as_str().unwrap());
    assert_eq!(jwt["aud"], "billing-api");
    assert_eq!(jwt["api_token_id"], id);
    let seen = introspect(&app, secret).await;
    assert_eq!(seen["active"], true);
    assert_eq!(seen["kind"], "system");
    assert_eq!(seen["role"], "manager staff");
}

#[tokio::test]
async fn an_access_token_is_exchanged_for_a_shorter_one_for_another_audience() {
    let app = app_with_two_hosts().await;
    let subject = app
        .api_token("user@acme.example", "acme", "openid api:read tessera:api")
        .await;
    let service = exchange_client(&app).await;
    let answer = body_of(
        exchange(
            &app,
            &service,
            &[
                ("subject_token", &subject),
                ("subject_token_type", ACCESS_TOKEN_TYPE),
                ("audience", "wss://chat.example"),
                ("requested_lifetime", "60"),
            ],
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(answer["expires_in"], 60);
    assert_eq!(answer["issued_token_type"], ACCESS_TOKEN_TYPE);
    // Tessera's own scopes stay behind: the token cannot be used back here.
    assert_eq!(answer["scope"], "api:read");
    let token = answer["access_token"].as_str().unwrap();
    let jwt = claims(&app, token);
    let original = claims(&app, &subject);
    assert_eq!(jwt["aud"], "wss://chat.example");
    assert_eq!(jwt["sub"], original["sub"]);
    assert_eq!(jwt["role"], original["role"]);
    assert_eq!(jwt["host"], "acme");
    assert_eq!(
        jwt["exp"].as_i64().unwrap() - jwt["iat"].as_i64().unwrap(),
        60
    );
    // The service acts for the user, who signed in through another client.
    assert_eq!(jwt["act"], json!({"sub": service.0}));
    assert_eq!(jwt["client_id"], service.0.as_str());
    let api = app.api(Some(token.to_owned())).me().await;
    assert_eq!(api.status(), StatusCode::FORBIDDEN);

    // Never longer than the server's access tokens, nor than the subject's own life.
    let long = body_of(
        exchange(
            &app,
            &service,
            &[
                ("subject_token", &subject),
                ("subject_token_type", ACCESS_TOKEN_TYPE),
                ("resource", "https://reports.example/api"),
                ("requested_lifetime", "86400"),
            ],
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert!(long["expires_in"].as_i64().unwrap() <= 300, "{long}");
    app.clock.advance(250);
    let late = body_of(
        exchange(
            &app,
            &service,
            &[
                ("subject_token", &subject),
                ("subject_token_type", ACCESS_TOKEN_TYPE),
                ("audience", "wss://chat.example"),
                ("requested_lifetime", "120"),
            ],
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert!(late["expires_in"].as_i64().unwrap() <= 50, "{late}");
    let late_jwt = claims(&app, late["access_token"].as_str().unwrap());
    assert!(late_jwt["exp"].as_i64() <= original["exp"].as_i64());
}

#[tokio::test]
async fn an_actor_token_names_the_actor() {
    let app = app_with_two_hosts().await;
    let subject = app
        .api_token("user@acme.example", "acme", "openid api:read")
        .await;
    let service = exchange_client(&app).await;
    let actor = app
        .api_token("manager@acme.example", "acme", "openid api:read")
        .await;
    let answer = body_of(
        exchange(
            &app,
            &service,
            &[
                ("subject_token", &subject),
                ("subject_token_type", ACCESS_TOKEN_TYPE),
                ("actor_token", &actor),
                ("actor_token_type", ACCESS_TOKEN_TYPE),
                ("audience", "reports"),
            ],
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let jwt = claims(&app, answer["access_token"].as_str().unwrap());
    let manager = user_id(&app, "manager@acme.example").await;
    assert_eq!(jwt["act"]["sub"], manager.as_str());
    assert!(jwt["act"]["client_id"].as_str().is_some());
}

#[tokio::test]
async fn a_bad_exchange_gets_the_error_rfc_8693_names() {
    let app = app_with_two_hosts().await;
    let service = exchange_client(&app).await;
    let subject = app
        .api_token("user@acme.example", "acme", "openid api:read")
        .await;
    let (_, secret) = personal_token(&app, "user@acme.example", "api:read").await;
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        // No target for an access token.
        (
            vec![
                ("subject_token", &subject),
                ("subject_token_type", ACCESS_TOKEN_TYPE),
            ],
            "invalid_request",
        ),
        (
            vec![
                ("subject_token", &subject),
                ("subject_token_type", ACCESS_TOKEN_TYPE),
                ("resource", "/relative"),
            ],
            "invalid_target",
        ),
        (
            vec![
                ("subject_token", &subject),
                ("subject_token_type", "urn:x:saml"),
                ("audience", "a"),
            ],
            "invalid_request",
        ),
        (
            vec![
                ("subject_token", "garbage"),
                ("subject_token_type", ACCESS_TOKEN_TYPE),
                ("audience", "a"),
            ],
            "invalid_request",
        ),
        (
            vec![
                ("subject_token", "tsr_pat_garbage"),
                ("subject_token_type", API_TOKEN_TYPE),
            ],
            "invalid_request",
        ),
        (
            vec![
                ("subject_token", &secret),
                ("subject_token_type", API_TOKEN_TYPE),
                ("scope", "api:write"),
            ],
            "invalid_scope",
        ),
        (
            vec![
                ("subject_token", &secret),
                ("subject_token_type", API_TOKEN_TYPE),
                ("requested_lifetime", "-5"),
            ],
            "invalid_request",
        ),
        (
            vec![
                ("subject_token", &secret),
                ("subject_token_type", API_TOKEN_TYPE),
                (
                    "requested_token_type",
                    "urn:ietf:params:oauth:token-type:refresh_token",
                ),
            ],
            "invalid_request",
        ),
        (
            vec![
                ("subject_token", &subject),
                ("subject_token_type", ACCESS_TOKEN_TYPE),
                ("audience", "a"),
                ("actor_token", &subject),
            ],
            "invalid_request",
        ),
        (
            vec![("subject_token_type", API_TOKEN_TYPE)],
            "invalid_request",
        ),
    ];
    for (form, code) in cases {
        let response = exchange(&app, &service, &form).await;
        let body = assert_oauth_error(response, StatusCode::BAD_REQUEST, code).await;
        assert!(body["error_description"].is_string(), "{form:?}");
    }
    // A client not allowed the grant.
    let response = app
        .post_token(&[
            ("grant_type", EXCHANGE),
            ("subject_token", &secret),
            ("subject_token_type", API_TOKEN_TYPE),
        ])
        .await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "unauthorized_client").await;
}

#[tokio::test]
async fn discovery_lists_the_exchange_but_never_the_password_grant() {
    let app = crate::helpers::spawn_app().await;
    let doc: Value = reqwest::get(app.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let grants = doc["grant_types_supported"].as_array().unwrap();
    assert!(grants.contains(&json!(EXCHANGE)), "{grants:?}");
    assert!(!grants.contains(&json!("password")), "{grants:?}");
}

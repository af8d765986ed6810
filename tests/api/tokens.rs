use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{assert_oauth_error, spawn_app, spawn_app_with, REDIRECT_URI, VERIFIER};

fn exchange<'a>(code: &'a str, verifier: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", verifier),
    ]
}

#[tokio::test]
async fn a_code_exchange_returns_signed_tokens_that_must_not_be_cached() {
    let app = spawn_app().await;
    let code = app.code().await;
    let response = app.post_token(&exchange(&code, VERIFIER)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    assert_eq!(body["scope"], "email openid profile");
    assert!(body["refresh_token"].is_string());
    assert!(body["id_token"].is_string());
    let claims = app
        .state
        .issuer
        .verify_access_token(body["access_token"].as_str().unwrap(), app.state.now())
        .unwrap();
    assert_eq!(claims["sub"], app.user_id);
    assert_eq!(claims["client_id"], app.client_id);
    assert_eq!(claims["host"], app.host_id);
    assert_eq!(claims["uty"], "C");
}

#[tokio::test]
async fn a_reused_code_is_refused_and_revokes_what_it_issued() {
    let app = spawn_app().await;
    let code = app.code().await;
    let first: Value = app
        .post_token(&exchange(&code, VERIFIER))
        .await
        .json()
        .await
        .unwrap();
    let second = app.post_token(&exchange(&code, VERIFIER)).await;
    assert_oauth_error(second, StatusCode::BAD_REQUEST, "invalid_grant").await;
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(app.introspect(access).await["active"], false);
    let refresh = first["refresh_token"].as_str().unwrap();
    let response = app
        .post_token(&[("grant_type", "refresh_token"), ("refresh_token", refresh)])
        .await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

#[tokio::test]
async fn pkce_must_match() {
    let app = spawn_app().await;
    let wrong = "x".repeat(43);
    let code = app.code().await;
    assert_oauth_error(
        app.post_token(&exchange(&code, &wrong)).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    let code = app.code().await;
    let without: Vec<_> = exchange(&code, VERIFIER)
        .into_iter()
        .filter(|(k, _)| *k != "code_verifier")
        .collect();
    assert_oauth_error(
        app.post_token(&without).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn the_redirect_uri_must_match_the_authorization_request() {
    let app = spawn_app().await;
    let code = app.code().await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", "https://rp.example/other"),
        ("code_verifier", VERIFIER),
    ];
    assert_oauth_error(
        app.post_token(&form).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn a_code_is_bound_to_its_client() {
    let app = spawn_app().await;
    let code = app.code().await;
    let mut form = exchange(&code, VERIFIER);
    form.push(("client_id", &app.public_client_id));
    let response = app.post_form_as("/token", &form, None).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

#[tokio::test]
async fn a_bad_secret_is_invalid_client_with_a_basic_challenge() {
    let app = spawn_app().await;
    let bad_basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:wrong", app.client_id))
    );
    let form = [("grant_type", "client_credentials")];
    let response = app.post_form_as("/token", &form, Some(&bad_basic)).await;
    assert_eq!(
        response.headers()["www-authenticate"],
        "Basic realm=\"tessera\""
    );
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;

    // client_secret_post with a wrong secret: 401, no Basic challenge.
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", &app.client_id),
        ("client_secret", "wrong"),
    ];
    let response = app.post_form_as("/token", &form, None).await;
    assert!(response.headers().get("www-authenticate").is_none());
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;

    // An unknown client, and a confidential client without its secret.
    for form in [
        [
            ("grant_type", "client_credentials"),
            ("client_id", "nobody"),
        ],
        [
            ("grant_type", "client_credentials"),
            ("client_id", &app.client_id),
        ],
    ] {
        assert_oauth_error(
            app.post_form_as("/token", &form, None).await,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        )
        .await;
    }
}

#[tokio::test]
async fn client_secret_post_works() {
    let app = spawn_app().await;
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", &app.client_id),
        ("client_secret", &app.client_secret),
    ];
    assert_eq!(
        app.post_form_as("/token", &form, None).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn unsupported_and_malformed_grants_have_their_errors() {
    let app = spawn_app().await;
    let response = app
        .post_token(&[
            ("grant_type", "password"),
            ("username", "a"),
            ("password", "b"),
        ])
        .await;
    // The password grant exists for legacy first-party clients only (password_grant.rs).
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "unauthorized_client").await;
    let response = app.post_token(&[("grant_type", "implicit")]).await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "unsupported_grant_type").await;
    let response = app
        .post_token(&[("grant_type", "authorization_code")])
        .await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    let response = app
        .post_token(&[
            ("grant_type", "client_credentials"),
            ("grant_type", "client_credentials"),
        ])
        .await;
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    let response = reqwest::Client::new()
        .post(app.url("/token"))
        .header("authorization", app.basic())
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    // A public client may not use client_credentials.
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", &app.public_client_id),
    ];
    assert_oauth_error(
        app.post_form_as("/token", &form, None).await,
        StatusCode::BAD_REQUEST,
        "unauthorized_client",
    )
    .await;
}

#[tokio::test]
async fn client_credentials_scopes_are_limited_to_the_client() {
    let app = spawn_app().await;
    let body: Value = app
        .post_token(&[("grant_type", "client_credentials"), ("scope", "api:read")])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["scope"], "api:read");
    assert!(body.get("refresh_token").is_none() && body.get("id_token").is_none());
    let claims = app
        .state
        .issuer
        .verify_access_token(body["access_token"].as_str().unwrap(), app.state.now())
        .unwrap();
    assert_eq!(claims["sub"], app.client_id);
    // By default: every allowed scope that is not about a user.
    let body: Value = app
        .post_token(&[("grant_type", "client_credentials")])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["scope"], "api:read api:write tessera:authz");
    for scope in ["api:admin", "openid"] {
        let response = app
            .post_token(&[("grant_type", "client_credentials"), ("scope", scope)])
            .await;
        assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_scope").await;
    }
}

async fn refresh(app: &crate::helpers::TestApp, token: &str) -> reqwest::Response {
    app.post_token(&[("grant_type", "refresh_token"), ("refresh_token", token)])
        .await
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_replay_revokes_the_family() {
    let app = spawn_app_with(|c| c.tokens.refresh_reuse_grace = 0).await;
    let first = app.tokens().await;
    let r1 = first["refresh_token"].as_str().unwrap();
    let second: Value = refresh(&app, r1).await.json().await.unwrap();
    let r2 = second["refresh_token"].as_str().unwrap();
    assert_ne!(r1, r2, "the refresh token must rotate");
    assert!(second["id_token"].is_string());
    // Past the grace window (0 s), the rotated token is a replay.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_oauth_error(
        refresh(&app, r1).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    // The whole family is revoked: the current token and its access tokens too.
    assert_oauth_error(
        refresh(&app, r2).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    assert_eq!(
        app.introspect(second["access_token"].as_str().unwrap())
            .await["active"],
        false
    );
}

#[tokio::test]
async fn a_retry_within_the_grace_window_is_not_a_replay() {
    let app = spawn_app_with(|c| c.tokens.refresh_reuse_grace = 30).await;
    let first = app.tokens().await;
    let r1 = first["refresh_token"].as_str().unwrap();
    let second: Value = refresh(&app, r1).await.json().await.unwrap();
    let retry = refresh(&app, r1).await;
    assert_eq!(retry.status(), StatusCode::OK);
    assert_eq!(
        refresh(&app, second["refresh_token"].as_str().unwrap())
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_refresh_may_narrow_the_scope_but_not_widen_it() {
    let app = spawn_app().await;
    let first = app.tokens().await;
    let r1 = first["refresh_token"].as_str().unwrap();
    let wide = app
        .post_token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", r1),
            ("scope", "openid api:write"),
        ])
        .await;
    assert_oauth_error(wide, StatusCode::BAD_REQUEST, "invalid_scope").await;
    let narrow: Value = app
        .post_token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", r1),
            ("scope", "openid"),
        ])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(narrow["scope"], "openid");
}

#[tokio::test]
async fn introspection_reports_live_tokens_and_nothing_about_others() {
    let app = spawn_app().await;
    let tokens = app.tokens().await;
    let access = tokens["access_token"].as_str().unwrap();
    let info = app.introspect(access).await;
    assert_eq!(info["active"], true);
    assert_eq!(info["sub"], app.user_id);
    assert_eq!(info["client_id"], app.client_id);
    assert_eq!(info["scope"], "email openid profile");
    assert_eq!(info["token_type"], "Bearer");
    assert_eq!(info["host"], app.host_id);
    let refresh = app
        .introspect(tokens["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(refresh["active"], true);
    assert_eq!(refresh["token_type"], "refresh_token");
    for garbage in ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30."] {
        let info = app.introspect(garbage).await;
        assert_eq!(info, serde_json::json!({"active": false}), "{garbage}");
    }
}

#[tokio::test]
async fn introspection_needs_an_authenticated_confidential_client() {
    let app = spawn_app().await;
    let response = app
        .post_form_as("/introspect", &[("token", "x")], None)
        .await;
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
    let response = app
        .post_form_as(
            "/introspect",
            &[("token", "x"), ("client_id", &app.public_client_id)],
            None,
        )
        .await;
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
}

#[tokio::test]
async fn an_expired_access_token_is_inactive() {
    let app = spawn_app_with(|c| c.tokens.access_token_ttl = 1).await;
    let body: Value = app
        .post_token(&[("grant_type", "client_credentials")])
        .await
        .json()
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(
        app.introspect(body["access_token"].as_str().unwrap()).await["active"],
        false
    );
}

#[tokio::test]
async fn revoking_tokens_makes_them_inactive() {
    let app = spawn_app().await;
    let tokens = app.tokens().await;
    let access = tokens["access_token"].as_str().unwrap();
    let response = app
        .post_form_as(
            "/revoke",
            &[("token", access), ("token_type_hint", "access_token")],
            Some(&app.basic()),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.introspect(access).await["active"], false);

    let refresh = tokens["refresh_token"].as_str().unwrap();
    let response = app
        .post_form_as("/revoke", &[("token", refresh)], Some(&app.basic()))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(app.introspect(refresh).await["active"], false);
    assert_oauth_error(
        app.post_token(&[("grant_type", "refresh_token"), ("refresh_token", refresh)])
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;

    // Unknown tokens: the same empty success (RFC 7009 §2.2).
    let response = app
        .post_form_as("/revoke", &[("token", "unknown")], Some(&app.basic()))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    // No client authentication: refused.
    let response = app
        .post_form_as("/revoke", &[("token", "unknown")], None)
        .await;
    assert_oauth_error(response, StatusCode::UNAUTHORIZED, "invalid_client").await;
}

#[tokio::test]
async fn a_revocation_reaches_the_other_nodes_within_seconds() {
    let app = spawn_app().await;
    // A second node on the same database and issuer.
    let mut config = (*app.state.config).clone();
    config.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let other = tessera::app::App::build(config).await.unwrap();
    let other_url = format!("http://127.0.0.1:{}", other.port());
    tokio::spawn(other.run_until(std::future::pending()));

    let body: Value = app
        .post_token(&[("grant_type", "client_credentials")])
        .await
        .json()
        .await
        .unwrap();
    let token = body["access_token"].as_str().unwrap();
    let introspect_on_other = || async {
        let response = reqwest::Client::new()
            .post(format!("{other_url}/introspect"))
            .header("authorization", app.basic())
            .form(&[("token", token)])
            .send()
            .await
            .unwrap();
        response.json::<Value>().await.unwrap()["active"].clone()
    };
    assert_eq!(
        introspect_on_other().await,
        true,
        "the other node verifies our tokens"
    );
    app.post_form_as("/revoke", &[("token", token)], Some(&app.basic()))
        .await;
    assert_eq!(
        app.introspect(token).await["active"],
        false,
        "at once on the node that revoked it"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while introspect_on_other().await == true {
        assert!(
            std::time::Instant::now() < deadline,
            "the other node never learnt of the revocation"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn client_credentials_without_granted_scopes_leave_scope_out() {
    let app = spawn_app().await;
    // A client allowed only user scopes: client_credentials grants none of them.
    app.import(
        "clients:\n  - client_id: no-api\n    name: No API\n    secret: a-secret-of-enough-length\n    grants: [client_credentials]\n    scopes: openid profile\n",
    )
    .await
    .unwrap();
    let basic = format!(
        "Basic {}",
        STANDARD.encode("no-api:a-secret-of-enough-length")
    );
    let response = app
        .post_form_as(
            "/token",
            &[("grant_type", "client_credentials")],
            Some(&basic),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert!(body.get("access_token").is_some(), "{body}");
    assert!(body.get("scope").is_none(), "{body}");
}

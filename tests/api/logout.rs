use reqwest::StatusCode;

use crate::helpers::{
    assert_oauth_error, hidden_field, location, query_of, spawn_app, TestApp, LOGOUT_URI,
};

#[tokio::test]
async fn logout_confirms_ends_the_session_and_returns_state() {
    let app = spawn_app().await;
    let tokens = app.tokens().await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let response = logout_page(
        &app,
        &[
            ("id_token_hint", id_token),
            ("post_logout_redirect_uri", LOGOUT_URI),
            ("state", "bye"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("Sign out?"));
    let response = confirm(&app, &html).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let to = location(&response);
    assert!(to.starts_with(LOGOUT_URI));
    assert_eq!(query_of(&to)["state"], "bye");
    // The SSO session is gone: prompt=none now needs a sign-in.
    let mut params = app.authorize_params();
    params.push(("prompt", "none".into()));
    let response = app.get_authorize(&params).await;
    assert_eq!(query_of(&location(&response))["error"], "login_required");
}

#[tokio::test]
async fn an_unregistered_post_logout_redirect_uri_is_refused() {
    let app = spawn_app().await;
    let tokens = app.tokens().await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let response = logout_page(
        &app,
        &[
            ("id_token_hint", id_token),
            ("post_logout_redirect_uri", "https://evil.example/"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
    // Without any client to check it against, too.
    let response = logout_page(&app, &[("post_logout_redirect_uri", LOGOUT_URI)]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_forged_id_token_hint_is_refused() {
    let app = spawn_app().await;
    let response = logout_page(
        &app,
        &[("id_token_hint", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_client_id_that_disagrees_with_the_hint_is_refused() {
    let app = spawn_app().await;
    let tokens = app.tokens().await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let response = logout_page(
        &app,
        &[
            ("id_token_hint", id_token),
            ("client_id", app.public_client_id.as_str()),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn logging_out_without_a_session_redirects_at_once() {
    let app = spawn_app().await;
    let response = logout_page(
        &app,
        &[
            ("client_id", app.client_id.as_str()),
            ("post_logout_redirect_uri", LOGOUT_URI),
            ("state", "s"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("{LOGOUT_URI}?state=s"));
}

#[tokio::test]
async fn the_confirmation_needs_its_csrf_token() {
    let app = spawn_app().await;
    app.tokens().await;
    logout_page(&app, &[]).await;
    let response = app
        .browser
        .post(app.url("/logout/confirm"))
        .form(&[("decision", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

/// Signing out ends the grants made in that session: their refresh tokens stop working
/// and their access tokens become inactive. A grant with offline_access outlives it
/// (OpenID Connect Core §11).
#[tokio::test]
async fn logging_out_ends_the_sessions_grants_but_not_offline_ones() {
    let app = spawn_app().await;
    let online = app.tokens().await;
    let mut params = app.authorize_params();
    params.retain(|(k, _)| *k != "scope");
    params.push(("scope", "openid offline_access".into()));
    let response = app.sign_in_through(app.get_authorize(&params).await).await;
    let offline = app.exchange(&query_of(&location(&response))["code"]).await;

    let page = logout_page(&app, &[]).await;
    let response = confirm(&app, &page.text().await.unwrap()).await;
    assert_eq!(response.status(), StatusCode::OK);

    let ended = app_refresh(&app, online["refresh_token"].as_str().unwrap()).await;
    assert_oauth_error(ended, StatusCode::BAD_REQUEST, "invalid_grant").await;
    let access = online["access_token"].as_str().unwrap();
    assert_eq!(app.introspect(access).await["active"], false);

    let kept = app_refresh(&app, offline["refresh_token"].as_str().unwrap()).await;
    assert_eq!(kept.status(), StatusCode::OK);
    let access = offline["access_token"].as_str().unwrap();
    assert_eq!(app.introspect(access).await["active"], true);
}

/// The end-session endpoint, by GET with `query`, in the app's browser.
async fn logout_page(app: &TestApp, query: &[(&str, &str)]) -> reqwest::Response {
    app.browser
        .get(app.url("/logout"))
        .query(query)
        .send()
        .await
        .unwrap()
}

/// Answers "yes" on the logout confirmation page `html`.
async fn confirm(app: &TestApp, html: &str) -> reqwest::Response {
    let csrf = hidden_field(html, "csrf").unwrap();
    app.browser
        .post(app.url("/logout/confirm"))
        .form(&[("csrf", csrf.as_str()), ("decision", "yes")])
        .send()
        .await
        .unwrap()
}

async fn app_refresh(app: &TestApp, token: &str) -> reqwest::Response {
    app.post_token(&[("grant_type", "refresh_token"), ("refresh_token", token)])
        .await
}

use reqwest::StatusCode;

use crate::helpers::{hidden_field, location, query_of, spawn_app, LOGOUT_URI};

#[tokio::test]
async fn logout_confirms_ends_the_session_and_returns_state() {
    let app = spawn_app().await;
    let tokens = app.tokens().await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let response = app
        .browser
        .get(app.url("/logout"))
        .query(&[
            ("id_token_hint", id_token),
            ("post_logout_redirect_uri", LOGOUT_URI),
            ("state", "bye"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("Sign out?"));
    let csrf = hidden_field(&html, "csrf").unwrap();
    let response = app
        .browser
        .post(app.url("/logout/confirm"))
        .form(&[("csrf", csrf.as_str()), ("decision", "yes")])
        .send()
        .await
        .unwrap();
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
    let response = app
        .browser
        .get(app.url("/logout"))
        .query(&[
            ("id_token_hint", id_token),
            ("post_logout_redirect_uri", "https://evil.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
    // Without any client to check it against, too.
    let response = app
        .browser
        .get(app.url("/logout"))
        .query(&[("post_logout_redirect_uri", LOGOUT_URI)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_forged_id_token_hint_is_refused() {
    let app = spawn_app().await;
    let response = app
        .browser
        .get(app.url("/logout"))
        .query(&[("id_token_hint", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_client_id_that_disagrees_with_the_hint_is_refused() {
    let app = spawn_app().await;
    let tokens = app.tokens().await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let response = app
        .browser
        .get(app.url("/logout"))
        .query(&[
            ("id_token_hint", id_token),
            ("client_id", app.public_client_id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn logging_out_without_a_session_redirects_at_once() {
    let app = spawn_app().await;
    let response = app
        .browser
        .get(app.url("/logout"))
        .query(&[
            ("client_id", app.client_id.as_str()),
            ("post_logout_redirect_uri", LOGOUT_URI),
            ("state", "s"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("{LOGOUT_URI}?state=s"));
}

#[tokio::test]
async fn the_confirmation_needs_its_csrf_token() {
    let app = spawn_app().await;
    app.tokens().await;
    app.browser.get(app.url("/logout")).send().await.unwrap();
    let response = app
        .browser
        .post(app.url("/logout/confirm"))
        .form(&[("decision", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

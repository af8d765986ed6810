//! Two nodes on one database (PostgreSQL, or one SQLite file shared by two processes'
//! worth of pools): a browser's sign-in, a refresh, a revocation and a logout spread
//! across them. Nodes keep no state of their own (ARCHITECTURE.md, "Invariants"), so
//! any node answers any step.

use std::time::{Duration, Instant};

use reqwest::{Response, StatusCode};
use serde_json::Value;

use crate::helpers::{
    hidden_field, location, query_of, spawn_app, Node, TestApp, EMAIL, LOGOUT_URI, PASSWORD,
    REDIRECT_URI, VERIFIER,
};

/// Where the browser goes: the node that answers the step.
enum On<'a> {
    A(&'a TestApp),
    B(&'a Node),
}

impl On<'_> {
    fn url(&self, path: &str) -> String {
        match self {
            On::A(app) => app.url(path),
            On::B(node) => node.url(path),
        }
    }
}

/// GETs `to` (a path, as Tessera's redirects inside itself are) on `node`.
async fn get(app: &TestApp, node: &On<'_>, to: &str) -> Response {
    assert!(to.starts_with('/'), "a redirect inside Tessera: {to}");
    app.browser.get(node.url(to)).send().await.unwrap()
}

/// Submits the form of `page` (its csrf and request_id) with `fields` to `path` on `node`.
async fn submit(
    app: &TestApp,
    node: &On<'_>,
    page: Response,
    path: &str,
    fields: &[(&str, &str)],
) -> Response {
    assert_eq!(
        page.status(),
        StatusCode::OK,
        "expected a form at {}",
        page.url()
    );
    let html = page.text().await.unwrap();
    let mut form = vec![
        ("csrf".to_owned(), hidden_field(&html, "csrf").unwrap()),
        (
            "request_id".to_owned(),
            hidden_field(&html, "request_id").unwrap_or_default(),
        ),
    ];
    form.extend(
        fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    app.browser
        .post(node.url(path))
        .form(&form)
        .send()
        .await
        .unwrap()
}

async fn introspect_on(app: &TestApp, node: &On<'_>, token: &str) -> Value {
    app.browser
        .post(node.url("/introspect"))
        .header("authorization", app.basic())
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Authorize on A, login on B, consent on A: the code.
async fn code_across_nodes(app: &TestApp, a: &On<'_>, b: &On<'_>) -> String {
    let response = app.get_authorize(&app.authorize_params()).await;
    let login = get(app, b, &location(&response)).await;
    let response = submit(
        app,
        b,
        login,
        "/login",
        &[("login", EMAIL), ("password", PASSWORD)],
    )
    .await;
    let consent = get(app, a, &location(&response)).await;
    let response = submit(app, a, consent, "/consent", &[("decision", "allow")]).await;
    let to = location(&response);
    assert!(to.starts_with(REDIRECT_URI), "{to}");
    query_of(&to)["code"].clone()
}

#[tokio::test]
async fn a_sign_in_refresh_revocation_and_logout_spread_over_two_nodes() {
    let app = spawn_app().await;
    let node = app.start_node(|_| {}).await.expect("a second node starts");
    let (a, b) = (On::A(&app), On::B(&node));

    let code = code_across_nodes(&app, &a, &b).await;
    let tokens = app.exchange(&code).await; // token on A

    let response = app
        .browser
        .post(b.url("/token"))
        .header("authorization", app.basic())
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "refresh on B");
    let refreshed: Value = response.json().await.unwrap();
    let access = refreshed["access_token"].as_str().unwrap();
    assert_eq!(introspect_on(&app, &b, access).await["active"], true);

    let response = app
        .browser
        .post(a.url("/revoke"))
        .header("authorization", app.basic())
        .form(&[("token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "revoke on A");
    // B reads revocations every second.
    let deadline = Instant::now() + Duration::from_secs(5);
    while introspect_on(&app, &b, access).await["active"] != false {
        assert!(Instant::now() < deadline, "B never saw the revocation");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let id_token = refreshed["id_token"]
        .as_str()
        .or(tokens["id_token"].as_str())
        .unwrap();
    let page = app
        .browser
        .get(b.url("/logout"))
        .query(&[
            ("id_token_hint", id_token),
            ("post_logout_redirect_uri", LOGOUT_URI),
        ])
        .send()
        .await
        .unwrap();
    let response = submit(&app, &b, page, "/logout/confirm", &[("decision", "yes")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "logout on B");
    assert!(location(&response).starts_with(LOGOUT_URI));

    // The session is gone on A too: prompt=none needs a sign-in.
    let mut params = app.authorize_params();
    params.push(("prompt", "none".into()));
    let response = app.get_authorize(&params).await;
    assert_eq!(query_of(&location(&response))["error"], "login_required");
}

#[tokio::test]
async fn a_code_issued_by_one_node_is_redeemed_once_across_both() {
    let app = spawn_app().await;
    let node = app.start_node(|_| {}).await.expect("a second node starts");
    let (a, b) = (On::A(&app), On::B(&node));
    let code = code_across_nodes(&app, &a, &b).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", VERIFIER),
    ];
    let redeem = |node: &On<'_>| {
        app.browser
            .post(node.url("/token"))
            .header("authorization", app.basic())
            .form(&form)
            .send()
    };
    assert_eq!(redeem(&b).await.unwrap().status(), StatusCode::OK);
    assert_eq!(redeem(&a).await.unwrap().status(), StatusCode::BAD_REQUEST);
}

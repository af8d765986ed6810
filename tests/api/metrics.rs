//! Prometheus `/metrics`: where it is served, to whom, and that its counters move.

use reqwest::StatusCode;

use crate::helpers::{spawn_app, spawn_app_with, TestApp, EMAIL};

const TOKEN: &str = "metrics-token-for-the-tests";

async fn scrape(app: &TestApp) -> String {
    let response = app.get_metrics(Some(TOKEN)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    response.text().await.unwrap()
}

/// The value of the sample named `name` with exactly `labels`, 0 when absent.
fn sample(text: &str, name: &str, labels: &str) -> f64 {
    let prefix = format!("{name}{{{labels}}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

#[tokio::test]
async fn metrics_are_not_on_the_public_listener_by_default() {
    let app = spawn_app().await;
    let response = app.get_metrics(None).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = app.get_metrics(Some("")).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn metrics_on_the_public_listener_need_the_configured_token() {
    let app = spawn_app_with(|c| c.metrics.token = TOKEN.into()).await;
    let response = app.get_metrics(None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = app.get_metrics(Some("not-the-token")).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(!response.text().await.unwrap().contains("tessera_"));
    scrape(&app).await;
}

#[tokio::test]
async fn the_metrics_listener_serves_metrics_apart_from_the_public_one() {
    let app = spawn_app_with(|c| c.metrics.listen = "127.0.0.1:0".into()).await;
    let port = app.metrics_port.expect("a metrics listener");
    let response = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("# EOF"));
    assert_eq!(
        app.get_metrics(None).await.status(),
        StatusCode::NOT_FOUND,
        "not on the public listener"
    );
}

#[tokio::test]
async fn counters_move_after_a_sign_in_a_token_request_and_a_failure() {
    let app = spawn_app_with(|c| c.metrics.token = TOKEN.into()).await;
    let before = scrape(&app).await;
    let code = app.code().await;
    app.exchange(&code).await;
    let refused = app
        .login_attempt(&app.client_id, EMAIL, "wrong password")
        .await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let failed = app
        .post_token(&[("grant_type", "authorization_code"), ("code", "nope")])
        .await;
    assert_eq!(failed.status(), StatusCode::BAD_REQUEST);

    let after = scrape(&app).await;
    let moved =
        |name: &str, labels: &str| sample(&after, name, labels) - sample(&before, name, labels);
    assert_eq!(
        moved(
            "tessera_sign_ins_total",
            r#"method="password",outcome="success""#
        ),
        1.0,
        "{after}"
    );
    assert_eq!(
        moved(
            "tessera_sign_ins_total",
            r#"method="password",outcome="refused""#
        ),
        1.0
    );
    assert_eq!(
        moved(
            "tessera_tokens_issued_total",
            r#"grant="authorization_code""#
        ),
        1.0
    );
    // Requests by route template and status, with their latency.
    let token = |status: u16| {
        moved(
            "tessera_http_request_duration_seconds_count",
            &format!(r#"method="POST",route="/token",status="{status}""#),
        )
    };
    assert_eq!(token(200), 1.0);
    assert_eq!(token(400), 1.0);
    assert!(after.lines().any(|l| {
        l.starts_with("tessera_http_request_duration_seconds_bucket{")
            && l.contains(r#"route="/token",status="200""#)
            && l.contains("le=")
    }));
    // The pools are reported.
    assert!(after.contains("tessera_db_connections{state=\"idle\"}"));
    assert!(after.contains("tessera_hash_pool_queued "));
}

#[tokio::test]
async fn unknown_paths_share_one_route_label() {
    let app = spawn_app_with(|c| c.metrics.token = TOKEN.into()).await;
    for path in ["/a", "/b/c", "/d?e=f"] {
        app.browser.get(app.url(path)).send().await.unwrap();
    }
    let text = scrape(&app).await;
    assert_eq!(
        sample(
            &text,
            "tessera_http_request_duration_seconds_count",
            r#"method="GET",route="unmatched",status="404""#
        ),
        3.0,
        "{text}"
    );
    assert!(!text.contains("/b/c"));
}

//! Single use under the pressure of a fast or hostile client: codes and refresh tokens
//! presented twice, at once or within the same second, never leave two live branches
//! of a grant, and a refused request consumes nothing.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{
    assert_oauth_error, spawn_app, spawn_app_with, TestApp, REDIRECT_URI, VERIFIER,
};

async fn refresh(app: &TestApp, token: &str) -> reqwest::Response {
    app.post_token(&[("grant_type", "refresh_token"), ("refresh_token", token)])
        .await
}

fn text<'a>(body: &'a Value, field: &str) -> &'a str {
    body[field]
        .as_str()
        .unwrap_or_else(|| panic!("no {field}: {body}"))
}

/// Sends `n` refreshes of one token at once; returns the answers.
async fn refresh_at_once(app: &TestApp, token: &str, n: usize) -> Vec<(StatusCode, Value)> {
    let requests = (0..n).map(|_| {
        let request = reqwest::Client::new()
            .post(app.url("/token"))
            .header("authorization", app.basic())
            .form(&[("grant_type", "refresh_token"), ("refresh_token", token)]);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        }
    });
    futures_join_all(requests).await
}

async fn futures_join_all<F: std::future::Future + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

#[tokio::test]
async fn without_a_grace_window_a_second_use_in_the_same_second_revokes_the_family() {
    // The default: no grace window.
    let app = spawn_app().await;
    let first = app.tokens().await;
    let r1 = text(&first, "refresh_token");
    let second: Value = refresh(&app, r1).await.json().await.unwrap();
    // At once, well inside the same second.
    assert_oauth_error(
        refresh(&app, r1).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    assert_oauth_error(
        refresh(&app, text(&second, "refresh_token")).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    assert_eq!(
        app.introspect(text(&second, "access_token")).await["active"],
        false
    );
}

#[tokio::test]
async fn concurrent_refreshes_without_a_grace_window_leave_no_live_token() {
    let app = spawn_app().await;
    let first = app.tokens().await;
    let answers = refresh_at_once(&app, text(&first, "refresh_token"), 20).await;
    let winners: Vec<&Value> = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::OK)
        .map(|(_, body)| body)
        .collect();
    assert!(
        winners.len() <= 1,
        "{} rotations of one token",
        winners.len()
    );
    for (status, body) in &answers {
        if *status != StatusCode::OK {
            assert_eq!(body["error"], "invalid_grant", "{body}");
        }
    }
    // The second uses revoked the family, the winner's tokens included.
    for winner in winners {
        assert_eq!(
            refresh(&app, text(winner, "refresh_token")).await.status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            app.introspect(text(winner, "access_token")).await["active"],
            false
        );
    }
}

#[tokio::test]
async fn concurrent_retries_within_the_grace_window_all_get_the_same_answer() {
    let app = spawn_app_with(|c| c.tokens.refresh_reuse_grace = 30).await;
    let first = app.tokens().await;
    let answers = refresh_at_once(&app, text(&first, "refresh_token"), 20).await;
    let mut successors = HashSet::new();
    let mut access_tokens = HashSet::new();
    for (status, body) in &answers {
        assert_eq!(*status, StatusCode::OK, "{body}");
        successors.insert(text(body, "refresh_token").to_owned());
        access_tokens.insert(text(body, "access_token").to_owned());
    }
    assert_eq!(
        successors.len(),
        1,
        "the family forked into {} branches",
        successors.len()
    );
    assert_eq!(access_tokens.len(), 1);
    let successor = successors.into_iter().next().unwrap();
    let next = refresh(&app, &successor).await;
    assert_eq!(next.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_retry_within_the_grace_window_gets_the_same_tokens_back() {
    let app = spawn_app_with(|c| c.tokens.refresh_reuse_grace = 30).await;
    let first = app.tokens().await;
    let r1 = text(&first, "refresh_token");
    let answer: Value = refresh(&app, r1).await.json().await.unwrap();
    let retry: Value = refresh(&app, r1).await.json().await.unwrap();
    for field in ["refresh_token", "access_token", "id_token", "scope"] {
        assert_eq!(answer[field], retry[field], "{field}");
    }
    assert!(retry["expires_in"].as_i64().unwrap() <= answer["expires_in"].as_i64().unwrap());
}

#[tokio::test]
async fn a_thief_inside_the_grace_window_is_caught_once_the_client_moved_on() {
    let app = spawn_app_with(|c| c.tokens.refresh_reuse_grace = 30).await;
    let first = app.tokens().await;
    let r1 = text(&first, "refresh_token");
    let r2: Value = refresh(&app, r1).await.json().await.unwrap();
    let r3: Value = refresh(&app, text(&r2, "refresh_token"))
        .await
        .json()
        .await
        .unwrap();
    // r1 again, after its successor was itself rotated: no retry, a replay.
    assert_oauth_error(
        refresh(&app, r1).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    assert_oauth_error(
        refresh(&app, text(&r3, "refresh_token")).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn a_refused_refresh_consumes_nothing() {
    // No grace window (the default, said here so that no retry rule can hide a burn).
    let app = spawn_app_with(|c| c.tokens.refresh_reuse_grace = 0).await;
    let first = app.tokens().await;
    let r1 = text(&first, "refresh_token");
    let wide = app
        .post_token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", r1),
            ("scope", "openid api:admin"),
        ])
        .await;
    assert_oauth_error(wide, StatusCode::BAD_REQUEST, "invalid_scope").await;
    // Another client's credentials: refused, and the token stays its client's.
    let public = app
        .post_form_as(
            "/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", r1),
                ("client_id", &app.public_client_id),
            ],
            None,
        )
        .await;
    assert_oauth_error(public, StatusCode::BAD_REQUEST, "invalid_grant").await;
    // Seconds later, so that no same-second rule can pass for a retry.
    app.clock.advance(5);
    assert_eq!(refresh(&app, r1).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn racing_redemptions_of_one_code_revoke_what_the_winner_got() {
    let app = spawn_app().await;
    // The race is won and lost at random moments; several rounds try several orders.
    for _ in 0..8 {
        let code = app.code().await;
        let requests = (0..4).map(|_| {
            let request = reqwest::Client::new()
                .post(app.url("/token"))
                .header("authorization", app.basic())
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", REDIRECT_URI),
                    ("code_verifier", VERIFIER),
                ]);
            async move {
                let response = request.send().await.unwrap();
                (response.status(), response.json::<Value>().await.unwrap())
            }
        });
        let answers = futures_join_all(requests).await;
        let winners: Vec<&Value> = answers
            .iter()
            .filter(|(status, _)| *status == StatusCode::OK)
            .map(|(_, body)| body)
            .collect();
        assert!(winners.len() <= 1);
        for (status, body) in &answers {
            if *status != StatusCode::OK {
                assert_eq!(body["error"], "invalid_grant", "{body}");
            }
        }
        for winner in winners {
            assert_eq!(
                app.introspect(text(winner, "access_token")).await["active"],
                false,
                "the winner's access token outlived the reuse"
            );
            assert_eq!(
                refresh(&app, text(winner, "refresh_token")).await.status(),
                StatusCode::BAD_REQUEST
            );
        }
    }
}

//! `PUT /api/v1/users/{id}/status`: lock, unlock, activate, deactivate, verify; the
//! last-admin rule; accounts shared between hosts; bad bodies; the audit entry.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::admin_api::{app_with_two_hosts, json, user_id};
use crate::helpers::{TestApp, PASSWORD};

fn status_path(id: &str) -> String {
    format!("/api/v1/users/{id}/status")
}

async fn audit_of(app: &TestApp, query: &str) -> Vec<Value> {
    let admin = app.api_as("admin@acme.example", "acme").await;
    let page = json(
        admin.get(&format!("/api/v1/audit?{query}")).await,
        StatusCode::OK,
    )
    .await;
    page["entries"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_manager_locks_and_unlocks_a_user_and_the_trail_records_both() {
    let app = app_with_two_hosts().await;
    let manager = app.api_as("manager@acme.example", "acme").await;
    let uma = user_id(&app, "user@acme.example").await;
    let locked = json(
        manager
            .put(&status_path(&uma), &json!({"locked": true}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(locked["status"], "locked");
    assert_eq!(locked["locked"], true);
    // A locked user cannot sign in.
    let (client_id, _) = app.client_for_host(Some("acme"), false).await;
    let attempt = app
        .login_attempt(&client_id, "user@acme.example", PASSWORD)
        .await;
    assert_eq!(attempt.status(), StatusCode::UNAUTHORIZED);
    let unlocked = json(
        manager
            .put(&status_path(&uma), &json!({"locked": false}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(unlocked["status"], "active");

    let entries = audit_of(&app, &format!("action=user.status_changed&target={uma}")).await;
    assert_eq!(entries.len(), 2, "{entries:?}");
    // Newest first.
    assert_eq!(entries[0]["before"]["locked"], true);
    assert_eq!(entries[0]["after"]["locked"], false);
    assert_eq!(entries[1]["before"]["locked"], false);
    assert_eq!(entries[1]["after"]["locked"], true);
    let manager_id = user_id(&app, "manager@acme.example").await;
    for e in &entries {
        assert_eq!(e["actor_id"], manager_id.as_str());
        assert_eq!(e["via"], "api");
        assert_eq!(e["host_id"], "acme");
        assert_eq!(e["target_kind"], "user");
        assert!(
            e["request_id"].as_str().is_some_and(|r| !r.is_empty()),
            "{e}"
        );
        assert!(e["client_address"].as_str().is_some(), "{e}");
    }
}

#[tokio::test]
async fn the_hosts_last_admin_cannot_be_locked_or_deactivated() {
    let app = app_with_two_hosts().await;
    let admin = app.api_as("admin@acme.example", "acme").await;
    let ada = user_id(&app, "admin@acme.example").await;
    for body in [json!({"locked": true}), json!({"active": false})] {
        let refused = json(
            admin.put(&status_path(&ada), &body).await,
            StatusCode::CONFLICT,
        )
        .await;
        assert_eq!(refused["error"], "conflict");
        assert!(
            refused["message"].as_str().unwrap().contains("last admin"),
            "{refused}"
        );
    }
    // Nothing changed, and nothing was recorded.
    let me = json(admin.me().await, StatusCode::OK).await;
    assert_eq!(me["user"]["status"], "active");
    assert!(audit_of(&app, "action=user.status_changed")
        .await
        .is_empty());
    // With a second admin, the first may be locked.
    app.import(
        "hosts:\n  - host_id: acme\n    domain: acme.example\n    name: Acme\nusers:\n  - email: manager@acme.example\n    user_type: E\n    hosts:\n      - host: acme\n        roles: [manager, admin]\n",
    )
    .await
    .unwrap();
    let manager = app.api_as("manager@acme.example", "acme").await;
    let done = json(
        manager
            .put(&status_path(&ada), &json!({"locked": true}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(done["status"], "locked");
}

#[tokio::test]
async fn a_deactivated_member_cannot_sign_in_to_the_host_or_refresh_its_tokens() {
    let app = app_with_two_hosts().await;
    let (client_id, secret) = app.client_for_host(Some("acme"), false).await;
    let tokens = app
        .tokens_with_scope(
            &client_id,
            &secret,
            "user@acme.example",
            PASSWORD,
            "openid offline_access",
        )
        .await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let manager = app.api_as("manager@acme.example", "acme").await;
    let uma = user_id(&app, "user@acme.example").await;
    let off = json(
        manager
            .put(&status_path(&uma), &json!({"active": false}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(off["status"], "inactive");
    assert_eq!(off["active"], false);
    assert_eq!(off["locked"], false);
    let refreshed = app
        .post_form_as(
            "/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh),
                ("client_id", &client_id),
                ("client_secret", &secret),
            ],
            None,
        )
        .await;
    assert_eq!(refreshed.status(), StatusCode::BAD_REQUEST);
    let body: Value = refreshed.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    let attempt = app
        .login_attempt(&client_id, "user@acme.example", PASSWORD)
        .await;
    assert_eq!(attempt.status(), StatusCode::UNAUTHORIZED);
    // The list filters on it.
    let list = json(manager.list_users("status=inactive").await, StatusCode::OK).await;
    assert_eq!(list["users"].as_array().unwrap().len(), 1);
    assert_eq!(list["users"][0]["id"], uma.as_str());
}

#[tokio::test]
async fn status_changes_need_a_manager_and_stay_in_the_callers_host() {
    let app = app_with_two_hosts().await;
    let user = app.api_as("user@acme.example", "acme").await;
    let manager_id = user_id(&app, "manager@acme.example").await;
    let refused = json(
        user.put(&status_path(&manager_id), &json!({"locked": true}))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(refused["right"], "manager");
    let manager = app.api_as("manager@acme.example", "acme").await;
    let stranger = user_id(&app, "stranger@other.example").await;
    let hidden = json(
        manager
            .put(&status_path(&stranger), &json!({"locked": true}))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(hidden["error"], "not_found");
    let store = app.sql_store().await;
    use tessera::store::UserStore as _;
    assert!(!store.find_user(&stranger).await.unwrap().unwrap().locked);
}

#[tokio::test]
async fn an_account_shared_with_another_host_is_locked_by_a_system_admin_only() {
    let app = app_with_two_hosts().await;
    app.import(
        "hosts:\n  - host_id: other\n    domain: other.example\n    name: Other\nusers:\n  - email: user@acme.example\n    user_type: C\n    hosts:\n      - host: other\n        customer: { customer_id: c-10 }\n",
    )
    .await
    .unwrap();
    let uma = user_id(&app, "user@acme.example").await;
    let admin = app.api_as("admin@acme.example", "acme").await;
    let refused = json(
        admin
            .put(&status_path(&uma), &json!({"locked": true}))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(refused["right"], "system_admin");
    // Deactivating the membership here is the host's own business.
    json(
        admin
            .put(&status_path(&uma), &json!({"active": false}))
            .await,
        StatusCode::OK,
    )
    .await;
    let root = app.api_as("root@acme.example", "acme").await;
    let locked = json(
        root.put(&status_path(&uma), &json!({"locked": true})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(locked["locked"], true);
}

#[tokio::test]
async fn a_bad_status_body_is_refused_naming_the_field_and_changes_nothing() {
    let app = app_with_two_hosts().await;
    let manager = app.api_as("manager@acme.example", "acme").await;
    let uma = user_id(&app, "user@acme.example").await;
    let path = status_path(&uma);
    for (body, field) in [
        (r#"{"locked": "yes"}"#, "locked"),
        (r#"{"locked": true, "banned": true}"#, "banned"),
        (r#"{"locked": tru"#, "locked"),
        ("{}", "body"),
    ] {
        let response = manager
            .send_raw(Method::PUT, &path, "application/json", body)
            .await;
        let answer = json(response, StatusCode::BAD_REQUEST).await;
        assert_eq!(answer["field"], field, "{body}: {answer}");
        assert_eq!(answer["error"], "invalid_request");
    }
    let not_json = manager
        .send_raw(Method::PUT, &path, "text/plain", r#"{"locked": true}"#)
        .await;
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    let user = json(manager.get_user(&uma).await, StatusCode::OK).await;
    assert_eq!(user["status"], "active");
    assert!(audit_of(&app, "action=user.").await.is_empty());
}

//! `POST /api/v1/users`, `PATCH` and `DELETE /api/v1/users/{id}`, and the list's
//! `role` filter: rights per role, another host's ids, bad input, the last admin,
//! accounts shared between hosts, the audit entries.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::admin_api::{app_with_two_hosts, json, two_hosts, user_id};
use crate::helpers::{spawn_app_with, TestApp, Workspace, PASSWORD};

/// The audit entries matching `query`, newest first, as acme's admin reads them.
pub(crate) async fn audit_of(app: &TestApp, query: &str) -> Vec<Value> {
    let admin = app.api_as("admin@acme.example", "acme").await;
    let page = json(
        admin.get(&format!("/api/v1/audit?{query}")).await,
        StatusCode::OK,
    )
    .await;
    page["entries"].as_array().unwrap().clone()
}

fn customer(email: &str) -> Value {
    json!({
        "email": email,
        "user_type": "C",
        "password": "a long enough secret",
        "first_name": "Cora",
        "customer_id": "c-42",
        "verified": true
    })
}

async fn user_count(app: &TestApp) -> usize {
    let admin = app.api_as("admin@acme.example", "acme").await;
    let page = json(admin.list_users("limit=200").await, StatusCode::OK).await;
    page["users"].as_array().unwrap().len()
}

#[tokio::test]
async fn a_host_admin_creates_a_customer_who_signs_in_with_the_password() {
    let app = app_with_two_hosts().await;
    let admin = app.api_as("admin@acme.example", "acme").await;
    let created = json(
        admin
            .post("/api/v1/users", &customer("cora@acme.example"))
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(created["email"], "cora@acme.example");
    assert_eq!(created["user_type"], "C");
    assert_eq!(created["verified"], true);
    assert_eq!(created["status"], "active");
    let id = created["id"].as_str().unwrap().to_owned();
    let fetched = json(admin.get_user(&id).await, StatusCode::OK).await;
    assert_eq!(fetched["first_name"], "Cora");

    let (client_id, secret) = app.client_for_host(Some("acme"), false).await;
    let tokens = app
        .tokens_as(
            &client_id,
            &secret,
            "cora@acme.example",
            "a long enough secret",
        )
        .await;
    assert!(tokens["access_token"].is_string());

    let entries = audit_of(&app, &format!("action=user.created&target={id}")).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    let after = &entries[0]["after"];
    assert_eq!(after["email"], "cora@acme.example");
    assert_eq!(after["customer_id"], "c-42");
    let text = entries[0].to_string();
    assert!(
        !text.contains("password") && !text.contains("argon2"),
        "{text}"
    );
}

#[tokio::test]
async fn a_host_admin_creates_an_employee_under_a_manager() {
    let app = app_with_two_hosts().await;
    let admin = app.api_as("admin@acme.example", "acme").await;
    let body = json!({
        "email": "eve@acme.example",
        "user_type": "E",
        "employee_id": "e-7",
        "manager_id": "e-2",
        "title": "Clerk"
    });
    let created = json(
        admin.post("/api/v1/users", &body).await,
        StatusCode::CREATED,
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let entries = audit_of(&app, &format!("action=user.created&target={id}")).await;
    assert_eq!(
        entries[0]["after"]["employee"],
        json!({"employee_id": "e-7", "title": "Clerk", "manager_id": "e-2"})
    );
    // A manager who is not an employee of the host is named.
    let bad = json!({
        "email": "fred@acme.example",
        "user_type": "E",
        "employee_id": "e-8",
        "manager_id": "e-99"
    });
    let refused = json(
        admin.post("/api/v1/users", &bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        refused["message"].as_str().unwrap().contains("manager_id"),
        "{refused}"
    );
    // The employee id is the host's: taken, it is a conflict.
    let taken = json!({"email": "gil@acme.example", "user_type": "E", "employee_id": "e-7"});
    json(
        admin.post("/api/v1/users", &taken).await,
        StatusCode::CONFLICT,
    )
    .await;
}

#[tokio::test]
async fn creating_changing_and_deleting_users_needs_a_host_admin() {
    let app = app_with_two_hosts().await;
    let uma = user_id(&app, "user@acme.example").await;
    for login in ["manager@acme.example", "user@acme.example"] {
        let api = app.api_as(login, "acme").await;
        for response in [
            api.post("/api/v1/users", &customer("x@acme.example")).await,
            api.patch(&format!("/api/v1/users/{uma}"), &json!({"first_name": "U"}))
                .await,
            api.delete(&format!("/api/v1/users/{uma}")).await,
        ] {
            let refused = json(response, StatusCode::FORBIDDEN).await;
            assert_eq!(refused["right"], "host_admin", "{login}: {refused}");
        }
    }
    assert_eq!(user_count(&app).await, 4);
}

#[tokio::test]
async fn an_email_taken_in_any_host_is_a_conflict_that_reveals_nothing() {
    let app = app_with_two_hosts().await;
    let admin = app.api_as("admin@acme.example", "acme").await;
    let mut messages = Vec::new();
    for email in ["user@acme.example", "STRANGER@other.example"] {
        let refused = json(
            admin.post("/api/v1/users", &customer(email)).await,
            StatusCode::CONFLICT,
        )
        .await;
        messages.push(refused["message"].clone());
    }
    assert_eq!(messages[0], messages[1]);
    // The stranger was not attached to acme, and nothing was recorded.
    assert_eq!(user_count(&app).await, 4);
    assert!(audit_of(&app, "action=user.created").await.is_empty());
}

#[tokio::test]
async fn bad_input_names_the_field_and_writes_nothing() {
    let app = app_with_two_hosts().await;
    let admin = app.api_as("admin@acme.example", "acme").await;
    let cases = [
        (
            json!({"email": "not-an-email", "user_type": "C", "password": "long enough"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "email",
        ),
        (
            json!({"email": "a@acme.example", "user_type": "C", "password": "short"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "password",
        ),
        (
            json!({"email": "a@acme.example", "user_type": "C"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "password",
        ),
        (
            json!({"email": "a@acme.example", "user_type": "P", "password": "long enough"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "user_type",
        ),
        (
            json!({"email": "a@acme.example", "user_type": "E"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "employee_id",
        ),
        (
            json!({"email": "a@acme.example", "user_type": "C", "password": "long enough", "employee_id": "e-5"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "employee_id",
        ),
        (
            json!({"email": "a@acme.example", "user_type": "C", "password": "long enough", "first_name": "x".repeat(201)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "first_name",
        ),
        (
            json!({"email": "a@acme.example", "user_type": "C", "password": "long enough", "role": "admin"}),
            StatusCode::BAD_REQUEST,
            "role",
        ),
        (
            json!({"email": 5, "user_type": "C"}),
            StatusCode::BAD_REQUEST,
            "email",
        ),
    ];
    for (body, status, field) in cases {
        let refused = json(admin.post("/api/v1/users", &body).await, status).await;
        assert_eq!(refused["field"], field, "{body}: {refused}");
    }
    let uma = user_id(&app, "user@acme.example").await;
    let path = format!("/api/v1/users/{uma}");
    for (body, status, field) in [
        (
            json!({"birthday": "1990-02-30"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "birthday",
        ),
        (
            json!({"email": "nope"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "email",
        ),
        (json!({}), StatusCode::BAD_REQUEST, "body"),
        (
            json!({"nickname": "u"}),
            StatusCode::BAD_REQUEST,
            "nickname",
        ),
    ] {
        let refused = json(admin.patch(&path, &body).await, status).await;
        assert_eq!(refused["field"], field, "{body}: {refused}");
    }
    assert_eq!(user_count(&app).await, 4);
    assert!(audit_of(&app, "action=user.updated").await.is_empty());
}

#[tokio::test]
async fn a_host_admin_changes_a_profile_and_the_trail_records_before_and_after() {
    let app = app_with_two_hosts().await;
    let admin = app.api_as("admin@acme.example", "acme").await;
    let uma = user_id(&app, "user@acme.example").await;
    let changed = json(
        admin
            .patch(
                &format!("/api/v1/users/{uma}"),
                &json!({"first_name": "Umberta", "last_name": null, "city": "Oslo", "email": "uma@acme.example"}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(changed["first_name"], "Umberta");
    assert_eq!(changed["last_name"], Value::Null);
    assert_eq!(changed["email"], "uma@acme.example");
    let entries = audit_of(&app, &format!("action=user.updated&target={uma}")).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["before"]["first_name"], "Uma");
    assert_eq!(entries[0]["before"]["last_name"], "User");
    assert_eq!(entries[0]["after"]["first_name"], "Umberta");
    assert_eq!(entries[0]["after"]["contact"]["city"], "Oslo");
    // An employee's title is the host's record.
    let max = user_id(&app, "manager@acme.example").await;
    json(
        admin
            .patch(&format!("/api/v1/users/{max}"), &json!({"title": "Lead"}))
            .await,
        StatusCode::OK,
    )
    .await;
    let entries = audit_of(&app, &format!("action=user.updated&target={max}")).await;
    assert_eq!(entries[0]["after"]["employee"]["title"], "Lead");
    // A customer has no title.
    json(
        admin
            .patch(&format!("/api/v1/users/{uma}"), &json!({"title": "Lead"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
}

#[tokio::test]
async fn another_hosts_user_is_not_found_for_every_change() {
    let app = app_with_two_hosts().await;
    let admin = app.api_as("admin@acme.example", "acme").await;
    let sam = user_id(&app, "stranger@other.example").await;
    let path = format!("/api/v1/users/{sam}");
    json(
        admin.patch(&path, &json!({"first_name": "S"})).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    json(admin.delete(&path).await, StatusCode::NOT_FOUND).await;
    let other = app.api_as("stranger@other.example", "other").await;
    json(other.me().await, StatusCode::OK).await;
}

/// `shared@` belongs to acme (as a customer) and to other.
async fn add_shared_user(app: &TestApp) -> String {
    app.import(&format!(
        "users:\n  - email: shared@acme.example\n    user_type: C\n    password: \"{PASSWORD}\"\n    hosts:\n      - host: acme\n        customer: {{ customer_id: c-5 }}\n        groups: [night-shift]\n      - host: other\n"
    ))
    .await
    .unwrap();
    user_id(app, "shared@acme.example").await
}

#[tokio::test]
async fn an_account_shared_with_another_host_needs_a_system_admin_to_change() {
    let app = app_with_two_hosts().await;
    let shared = add_shared_user(&app).await;
    let path = format!("/api/v1/users/{shared}");
    let admin = app.api_as("admin@acme.example", "acme").await;
    let refused = json(
        admin
            .patch(&path, &json!({"email": "s2@acme.example"}))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(refused["right"], "system_admin");
    let root = app.api_as("root@acme.example", "acme").await;
    let done = json(
        root.patch(&path, &json!({"email": "s2@acme.example"}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(done["email"], "s2@acme.example");
}

#[tokio::test]
async fn deleting_a_user_of_one_host_deletes_the_account() {
    let app = app_with_two_hosts().await;
    let admin = app.api_as("admin@acme.example", "acme").await;
    let uma = user_id(&app, "user@acme.example").await;
    let response = admin.delete(&format!("/api/v1/users/{uma}")).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    json(admin.get_user(&uma).await, StatusCode::NOT_FOUND).await;
    assert!(app.state.store.find_user(&uma).await.unwrap().is_none());
    let entries = audit_of(&app, &format!("action=user.deleted&target={uma}")).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["before"]["email"], "user@acme.example");
    assert_eq!(entries[0]["detail"]["removed"], "account");
}

#[tokio::test]
async fn deleting_a_user_of_several_hosts_removes_only_the_membership() {
    let app = app_with_two_hosts().await;
    let shared = add_shared_user(&app).await;
    let admin = app.api_as("admin@acme.example", "acme").await;
    let response = admin.delete(&format!("/api/v1/users/{shared}")).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    json(admin.get_user(&shared).await, StatusCode::NOT_FOUND).await;
    let hosts = app.state.store.user_hosts(&shared).await.unwrap();
    assert_eq!(
        hosts.iter().map(|h| h.host_id.as_str()).collect::<Vec<_>>(),
        ["other"]
    );
    // acme's data about them went with the membership.
    let profile = app
        .state
        .store
        .load_profile(&shared, "acme", "2030-01-01")
        .await;
    assert!(profile.is_err());
    let entries = audit_of(&app, &format!("action=user.deleted&target={shared}")).await;
    assert_eq!(entries[0]["detail"]["removed"], "membership");
}

#[tokio::test]
async fn the_hosts_last_admin_cannot_be_deleted() {
    let app = app_with_two_hosts().await;
    let admin = app.api_as("admin@acme.example", "acme").await;
    let ada = user_id(&app, "admin@acme.example").await;
    let refused = json(
        admin.delete(&format!("/api/v1/users/{ada}")).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        refused["message"].as_str().unwrap().contains("last admin"),
        "{refused}"
    );
    json(admin.get_user(&ada).await, StatusCode::OK).await;
    assert!(audit_of(&app, "action=user.deleted").await.is_empty());
}

#[tokio::test]
async fn the_list_filters_by_a_role_held_today() {
    let app = app_with_two_hosts().await;
    let admin = app.api_as("admin@acme.example", "acme").await;
    let page = json(admin.list_users("role=manager").await, StatusCode::OK).await;
    let emails: Vec<&str> = page["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["manager@acme.example"]);
    let page = json(admin.list_users("role=nobody").await, StatusCode::OK).await;
    assert!(page["users"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn the_openapi_document_lists_the_user_writes() {
    let app = app_with_two_hosts().await;
    let doc = json(app.api(None).openapi().await, StatusCode::OK).await;
    let item = &doc["paths"]["/api/v1/users/{id}"];
    for method in ["get", "patch", "delete"] {
        assert!(item[method].is_object(), "{method}: {item}");
    }
    assert!(doc["paths"]["/api/v1/users"]["post"].is_object());
}

#[tokio::test]
async fn the_cli_adds_and_lists_users_in_the_apis_shape() {
    let cli = Workspace::new().await;
    let database_url = cli.database_url.clone();
    let app = spawn_app_with(|c| c.database_url = database_url).await;
    app.import(&two_hosts()).await.unwrap();
    let out = cli
        .tessera(&[
            "user",
            "add",
            "--email",
            "cli@acme.example",
            "--host",
            "acme.example",
            "--user-type",
            "E",
            "--employee-id",
            "e-50",
            "--verified",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut added: Value = serde_json::from_slice(&out.stdout).unwrap();
    let password = added
        .as_object_mut()
        .unwrap()
        .remove("generated_password")
        .unwrap();
    assert!(password.as_str().unwrap().len() >= 43);
    let id = added["id"].as_str().unwrap().to_owned();
    let admin = app.api_as("admin@acme.example", "acme").await;
    let api = json(admin.get_user(&id).await, StatusCode::OK).await;
    assert_eq!(added, api);
    assert_eq!(added["verified"], true);

    let out = cli
        .tessera(&["user", "list", "--host", "acme", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let page = json(admin.list_users("limit=200").await, StatusCode::OK).await;
    assert_eq!(listed["users"], page["users"]);

    let entries = audit_of(&app, &format!("action=user.created&target={id}")).await;
    assert_eq!(entries[0]["via"], "cli");
    assert_eq!(entries[0]["after"]["employee"]["employee_id"], "e-50");
    // A customer id goes to the host's customer record; a duplicate is refused.
    let args = [
        "user",
        "add",
        "--email",
        "c2@acme.example",
        "--host",
        "acme",
        "--customer-id",
        "c-1",
    ];
    let out = cli.tessera(&args).output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already exists"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn a_manager_of_others_cannot_be_deleted_until_they_report_elsewhere() {
    let app = app_with_two_hosts().await;
    let admin = app.api_as("admin@acme.example", "acme").await;
    let body = json!({"email": "rep@acme.example", "user_type": "E", "employee_id": "e-20", "manager_id": "e-1"});
    let report = json(
        admin.post("/api/v1/users", &body).await,
        StatusCode::CREATED,
    )
    .await;
    let max = user_id(&app, "manager@acme.example").await;
    let refused = json(
        admin.delete(&format!("/api/v1/users/{max}")).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        refused["message"].as_str().unwrap().contains("manages"),
        "{refused}"
    );
    json(admin.get_user(&max).await, StatusCode::OK).await;
    let rep = report["id"].as_str().unwrap();
    json(
        admin
            .patch(
                &format!("/api/v1/users/{rep}"),
                &json!({"manager_id": null}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    let done = admin.delete(&format!("/api/v1/users/{max}")).await;
    assert_eq!(done.status(), StatusCode::NO_CONTENT);
}

//! The policy decision endpoint (AuthZEN shapes): decisions for each permission kind
//! with their dates and attribute values, subjects by id and by token, batches, the
//! caller's token, bad requests, and a change reaching decisions within a second.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::admin_api::{app_with_two_hosts, json, user_id};
use crate::helpers::{TestApp, PASSWORD};

/// Endpoints and the four kinds of permission in host `acme`, written as rows (the
/// catalog has no import section for them).
pub(crate) async fn seed_permissions(app: &TestApp) {
    sqlx::any::install_default_drivers();
    let mut db = <sqlx::AnyConnection as sqlx::Connection>::connect(&app.state.config.database_url)
        .await
        .unwrap();
    let uma = user_id(app, "user@acme.example").await;
    let statements: Vec<(String, Vec<String>)> = vec![
        ("INSERT INTO api_endpoint_t (host_id, endpoint_id, endpoint, http_method) VALUES ('acme', 'orders-get', '/orders/{id}', 'GET')".into(), vec![]),
        ("INSERT INTO api_endpoint_t (host_id, endpoint_id, endpoint, http_method) VALUES ('acme', 'orders-list', '/orders', 'GET')".into(), vec![]),
        ("INSERT INTO api_endpoint_t (host_id, endpoint_id, endpoint, http_method) VALUES ('acme', 'orders-delete', '/orders/{id}', 'DELETE')".into(), vec![]),
        ("INSERT INTO api_endpoint_t (host_id, endpoint_id, endpoint, http_method) VALUES ('acme', 'reports', '/reports/{year}', 'GET')".into(), vec![]),
        ("INSERT INTO api_endpoint_t (host_id, endpoint_id, endpoint, http_method) VALUES ('acme', 'admin', '/admin', 'POST')".into(), vec![]),
        // Staff (acme's default role) may read an order; the night shift may list them.
        ("INSERT INTO role_permission_t (host_id, role_id, endpoint_id) SELECT 'acme', role_id, 'orders-get' FROM role_t WHERE host_id = 'acme' AND role_name = 'staff'".into(), vec![]),
        ("INSERT INTO group_permission_t (host_id, group_id, endpoint_id) SELECT 'acme', group_id, 'orders-list' FROM group_t WHERE host_id = 'acme' AND group_name = 'night-shift'".into(), vec![]),
        // Uma may delete orders in 2020 only; Canadians may read reports.
        ("INSERT INTO user_permission_t (host_id, user_id, endpoint_id, start_date, end_date) VALUES ('acme', $1, 'orders-delete', '2020-01-01', '2020-12-31')".into(), vec![uma]),
        ("INSERT INTO attribute_permission_t (host_id, attribute_id, endpoint_id, attribute_value) SELECT 'acme', attribute_id, 'reports', 'CAN' FROM attribute_t WHERE host_id = 'acme' AND attribute_name = 'country'".into(), vec![]),
    ];
    for (sql, binds) in statements {
        let mut q = sqlx::query(&sql);
        for b in binds {
            q = q.bind(b);
        }
        q.execute(&mut db).await.unwrap();
    }
}

/// A gateway's token: `client_credentials` with `tessera:authz`, its client bound to
/// acme.
pub(crate) async fn gateway_token(app: &TestApp, host: &str) -> String {
    let (id, secret) = app.client_for_host(Some(host), false).await;
    let basic = format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")));
    let response = app
        .post_form_as(
            "/token",
            &[
                ("grant_type", "client_credentials"),
                ("scope", "tessera:authz"),
            ],
            Some(&basic),
        )
        .await;
    let body: Value = response.json().await.unwrap();
    body["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned()
}

fn question(user: &str, path: &str, method: &str) -> Value {
    json!({
        "subject": {"type": "user", "id": user},
        "resource": {"type": "api_endpoint", "id": path},
        "action": {"name": method},
    })
}

async fn decide(app: &TestApp, token: &str, body: &Value) -> Value {
    let api = app.api(Some(token.to_owned()));
    json(
        api.post("/api/v1/access/evaluation", body).await,
        StatusCode::OK,
    )
    .await
}

async fn allowed(app: &TestApp, token: &str, user: &str, path: &str, method: &str) -> bool {
    let answer = decide(app, token, &question(user, path, method)).await;
    answer["decision"]
        .as_bool()
        .unwrap_or_else(|| panic!("{answer}"))
}

#[tokio::test]
async fn each_kind_of_permission_grants_by_its_own_rule() {
    let app = app_with_two_hosts().await;
    seed_permissions(&app).await;
    let gw = gateway_token(&app, "acme").await;
    let uma = user_id(&app, "user@acme.example").await; // staff by default, night shift, CAN
    let max = user_id(&app, "manager@acme.example").await; // manager only
                                                           // Role: the default role stands in for Uma; Max holds another role.
    assert!(allowed(&app, &gw, &uma, "/orders/42", "GET").await);
    assert!(!allowed(&app, &gw, &max, "/orders/42", "GET").await);
    // Group.
    assert!(allowed(&app, &gw, &uma, "/orders", "GET").await);
    assert!(!allowed(&app, &gw, &max, "/orders", "GET").await);
    // User permission, ended in 2020.
    assert!(!allowed(&app, &gw, &uma, "/orders/42", "DELETE").await);
    // Attribute value.
    assert!(allowed(&app, &gw, &uma, "/reports/2026", "GET").await);
    assert!(!allowed(&app, &gw, &max, "/reports/2026", "GET").await);
    // No such endpoint, and the reason says so.
    let answer = decide(&app, &gw, &question(&uma, "/nowhere", "GET")).await;
    assert_eq!(answer["decision"], false);
    assert!(answer["context"]["reason"]
        .as_str()
        .unwrap()
        .contains("no endpoint"));
    let answer = decide(&app, &gw, &question(&uma, "/orders/7", "GET")).await;
    assert_eq!(answer["context"]["endpoint_id"], "orders-get");
    assert_eq!(answer["context"]["reason"], "granted by role staff");
    // A user of another host is no subject here.
    let stranger = user_id(&app, "stranger@other.example").await;
    assert!(!allowed(&app, &gw, &stranger, "/orders/42", "GET").await);
}

#[tokio::test]
async fn a_user_permission_counts_between_its_dates() {
    let app = app_with_two_hosts().await;
    seed_permissions(&app).await;
    let uma = user_id(&app, "user@acme.example").await;
    let gw = gateway_token(&app, "acme").await;
    assert!(!allowed(&app, &gw, &uma, "/orders/1", "DELETE").await);
    // Back to mid-2020: the permission counts (the clock moves the decision day).
    let now = app.state.now();
    let mid_2020 = 1_593_561_600; // 2020-07-01
    app.clock.advance(mid_2020 - now);
    let gw = gateway_token(&app, "acme").await;
    assert!(allowed(&app, &gw, &uma, "/orders/1", "DELETE").await);
}

#[tokio::test]
async fn a_subject_given_by_token_decides_as_by_id_without_changing_hosts() {
    let app = app_with_two_hosts().await;
    seed_permissions(&app).await;
    let gw = gateway_token(&app, "acme").await;
    let uma = user_id(&app, "user@acme.example").await;
    let token = app.api_token("user@acme.example", "acme", "openid").await;
    for (path, method) in [
        ("/orders/1", "GET"),
        ("/orders", "GET"),
        ("/reports/1", "GET"),
        ("/admin", "POST"),
    ] {
        let mut by_token = question(&uma, path, method);
        by_token["subject"]["properties"] = json!({ "token": token });
        let a = decide(&app, &gw, &by_token).await;
        let b = decide(&app, &gw, &question(&uma, path, method)).await;
        assert_eq!(a, b, "{method} {path}");
    }
    // A token naming someone else, a token that is no token, a token of another host.
    let max = user_id(&app, "manager@acme.example").await;
    let mut wrong_user = question(&max, "/orders/1", "GET");
    wrong_user["subject"]["properties"] = json!({ "token": token });
    assert_eq!(decide(&app, &gw, &wrong_user).await["decision"], false);
    let mut forged = question(&uma, "/orders/1", "GET");
    forged["subject"]["properties"] = json!({ "token": "not.a.token" });
    assert_eq!(decide(&app, &gw, &forged).await["decision"], false);
    let stranger = user_id(&app, "stranger@other.example").await;
    let other = app
        .api_token("stranger@other.example", "other", "openid")
        .await;
    let mut elsewhere = question(&stranger, "/orders/1", "GET");
    elsewhere["subject"]["properties"] = json!({ "token": other });
    let answer = decide(&app, &gw, &elsewhere).await;
    assert_eq!(answer["decision"], false);
    assert!(answer["context"]["reason"]
        .as_str()
        .unwrap()
        .contains("another host"));
}

#[tokio::test]
async fn a_batch_takes_defaults_and_honours_its_semantics() {
    let app = app_with_two_hosts().await;
    seed_permissions(&app).await;
    let gw = gateway_token(&app, "acme").await;
    let uma = user_id(&app, "user@acme.example").await;
    let api = app.api(Some(gw));
    let batch = |semantic: &str| {
        json!({
            "subject": {"type": "user", "id": uma},
            "action": {"name": "GET"},
            "evaluations": [
                {"resource": {"type": "api_endpoint", "id": "/orders/1"}},
                {"resource": {"type": "api_endpoint", "id": "/admin"}, "action": {"name": "POST"}},
                {"resource": {"type": "api_endpoint", "id": "/orders"}},
            ],
            "options": {"evaluations_semantic": semantic},
        })
    };
    let decisions = |v: Value| -> Vec<bool> {
        v["evaluations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["decision"].as_bool().unwrap())
            .collect()
    };
    let all = json(
        api.post("/api/v1/access/evaluations", &batch("execute_all"))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(decisions(all), [true, false, true]);
    let deny = json(
        api.post("/api/v1/access/evaluations", &batch("deny_on_first_deny"))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(decisions(deny), [true, false]);
    let permit = json(
        api.post(
            "/api/v1/access/evaluations",
            &batch("permit_on_first_permit"),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(decisions(permit), [true]);
    // Without evaluations, the request is one evaluation.
    let one = json(
        api.post(
            "/api/v1/access/evaluations",
            &question(&uma, "/orders/1", "GET"),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(one["decision"], true);
    // A malformed evaluation refuses the whole batch, naming it.
    let mut bad = batch("execute_all");
    bad["evaluations"][2]["resource"]["type"] = json!("file");
    let refused = json(
        api.post("/api/v1/access/evaluations", &bad).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(refused["field"], "evaluations[2].resource.type");
}

#[tokio::test]
async fn the_caller_needs_the_authz_scope_and_a_host() {
    let app = app_with_two_hosts().await;
    let body = question("u", "/orders/1", "GET");
    let none = app.api(None).post("/api/v1/access/evaluation", &body).await;
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    let user = app
        .api_token("user@acme.example", "acme", "openid tessera:api")
        .await;
    let scopeless = app
        .api(Some(user))
        .post("/api/v1/access/evaluation", &body)
        .await;
    assert_eq!(scopeless.status(), StatusCode::FORBIDDEN);
    let answer: Value = scopeless.json().await.unwrap();
    assert_eq!(answer["error"], "insufficient_scope");
    // A user's token with the scope asks in its own host.
    let user = app
        .api_token("user@acme.example", "acme", "openid tessera:authz")
        .await;
    let ok = app
        .api(Some(user))
        .post("/api/v1/access/evaluation", &body)
        .await;
    assert_eq!(ok.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_request_that_cannot_be_read_is_refused_naming_the_part() {
    let app = app_with_two_hosts().await;
    let api = app.api(Some(gateway_token(&app, "acme").await));
    for (body, field) in [
        (
            json!({"resource": {"type": "api_endpoint", "id": "/a"}, "action": {"name": "GET"}}),
            "subject",
        ),
        (
            json!({"subject": {"type": "group", "id": "x"}, "resource": {"type": "api_endpoint", "id": "/a"}, "action": {"name": "GET"}}),
            "subject.type",
        ),
        (
            json!({"subject": {"type": "user", "id": "x"}, "resource": {"type": "api_endpoint", "id": "a"}, "action": {"name": "GET"}}),
            "resource.id",
        ),
        (
            json!({"subject": {"type": "user", "id": 7}, "resource": {"type": "api_endpoint", "id": "/a"}, "action": {"name": "GET"}}),
            "subject.id",
        ),
    ] {
        let answer = json(
            api.post("/api/v1/access/evaluation", &body).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert_eq!(answer["field"], field, "{body}");
    }
}

#[tokio::test]
async fn a_change_reaches_decisions_within_a_second_or_two() {
    let app = app_with_two_hosts().await;
    seed_permissions(&app).await;
    let gw = gateway_token(&app, "acme").await;
    let max = user_id(&app, "manager@acme.example").await;
    assert!(!allowed(&app, &gw, &max, "/orders", "GET").await);
    // Max joins the night shift (an import: one transaction that bumps the host's
    // policy version).
    app.import(
        "hosts:\n  - host_id: acme\n    domain: acme.example\n    name: Acme\nusers:\n  - email: manager@acme.example\n    user_type: E\n    hosts:\n      - host: acme\n        groups: [night-shift]\n        roles: [manager]\n",
    )
    .await
    .unwrap();
    let mut granted = false;
    for _ in 0..30 {
        if allowed(&app, &gw, &max, "/orders", "GET").await {
            granted = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(granted, "the new group never counted");
    let _ = PASSWORD;
}

#[tokio::test]
async fn an_assignment_made_through_the_api_and_a_lock_reach_decisions() {
    let app = app_with_two_hosts().await;
    seed_permissions(&app).await;
    let gw = gateway_token(&app, "acme").await;
    let max = user_id(&app, "manager@acme.example").await;
    let uma = user_id(&app, "user@acme.example").await;
    assert!(!allowed(&app, &gw, &max, "/orders", "GET").await);
    assert!(allowed(&app, &gw, &uma, "/orders", "GET").await);
    let admin = app.api_as("admin@acme.example", "acme").await;
    let given = admin
        .post(
            &format!("/api/v1/users/{max}/groups"),
            &json!({"group": "night-shift"}),
        )
        .await;
    assert_eq!(given.status(), StatusCode::CREATED);
    let locked = admin
        .put(
            &format!("/api/v1/users/{uma}/status"),
            &json!({"locked": true}),
        )
        .await;
    assert_eq!(locked.status(), StatusCode::OK);
    let mut settled = false;
    for _ in 0..30 {
        let max_now = allowed(&app, &gw, &max, "/orders", "GET").await;
        let uma_now = allowed(&app, &gw, &uma, "/orders", "GET").await;
        if max_now && !uma_now {
            settled = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(settled, "the group given and the lock never counted");
}

#[tokio::test]
async fn a_permission_granted_through_the_catalog_api_reaches_decisions() {
    let app = app_with_two_hosts().await;
    seed_permissions(&app).await;
    let gw = gateway_token(&app, "acme").await;
    let max = user_id(&app, "manager@acme.example").await;
    assert!(!allowed(&app, &gw, &max, "/admin", "POST").await);
    let admin = app.api_as("admin@acme.example", "acme").await;
    let roles = json(admin.get("/api/v1/roles?limit=200").await, StatusCode::OK).await;
    let manager_role = roles["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "manager")
        .unwrap_or_else(|| panic!("{roles}"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let granted = admin
        .post(
            &format!("/api/v1/roles/{manager_role}/permissions"),
            &json!({"endpoint_id": "admin"}),
        )
        .await;
    assert_eq!(granted.status(), StatusCode::CREATED);
    let mut seen = false;
    for _ in 0..30 {
        if allowed(&app, &gw, &max, "/admin", "POST").await {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(seen, "the new permission never counted");
}

//! The management API's first slice (`/api/v1`): who may do what, `/me`, reading the
//! host's users, and the OpenAPI document.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{spawn_app, TestApp, PASSWORD};

/// Two hosts: `acme` with a user, a manager, an admin and a system admin (who is an
/// ordinary member of acme by role), and `other` with one user.
pub(crate) fn two_hosts() -> String {
    format!(
        r#"
hosts:
  - host_id: acme
    domain: acme.example
    name: Acme
    default_role: staff
    roles:
      - {{ name: admin }}
      - {{ name: manager }}
      - {{ name: staff }}
    groups:
      - {{ name: night-shift }}
    attributes:
      - {{ name: country }}
  - host_id: other
    domain: other.example
    name: Other
users:
  - email: user@acme.example
    first_name: Uma
    last_name: User
    user_type: C
    verified: true
    password: "{PASSWORD}"
    hosts:
      - host: acme
        customer: {{ customer_id: c-1 }}
        groups: [night-shift]
        attributes: {{ country: CAN }}
  - email: manager@acme.example
    first_name: Max
    last_name: Manager
    user_type: E
    password: "{PASSWORD}"
    hosts:
      - host: acme
        employee: {{ employee_id: e-1 }}
        roles: [manager]
  - email: admin@acme.example
    first_name: Ada
    last_name: Admin
    user_type: E
    password: "{PASSWORD}"
    hosts:
      - host: acme
        employee: {{ employee_id: e-2 }}
        roles: [admin, staff]
  - email: root@acme.example
    first_name: Rita
    last_name: Root
    user_type: E
    system_admin: true
    password: "{PASSWORD}"
    hosts:
      - host: acme
        employee: {{ employee_id: e-3 }}
  - email: stranger@other.example
    first_name: Sam
    last_name: Stranger
    user_type: C
    password: "{PASSWORD}"
    hosts:
      - host: other
        customer: {{ customer_id: c-9 }}
"#
    )
}

pub(crate) async fn app_with_two_hosts() -> TestApp {
    let app = spawn_app().await;
    app.import(&two_hosts()).await.unwrap();
    app
}

pub(crate) async fn json(response: reqwest::Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status);
    response.json().await.unwrap()
}

fn emails(page: &Value) -> Vec<String> {
    page["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect()
}

pub(crate) async fn user_id(app: &TestApp, email: &str) -> String {
    app.state
        .store
        .find_user_by_login(email)
        .await
        .unwrap()
        .unwrap()
        .user
        .user_id
}

#[tokio::test]
async fn a_user_reads_their_own_profile_at_me_and_at_users_current() {
    let app = app_with_two_hosts().await;
    let api = app.api_as("user@acme.example", "acme").await;
    let me = json(api.me().await, StatusCode::OK).await;
    assert_eq!(me["user"]["email"], "user@acme.example");
    assert_eq!(me["user"]["first_name"], "Uma");
    assert_eq!(me["user"]["user_type"], "C");
    assert_eq!(me["user"]["verified"], true);
    assert_eq!(me["user"]["status"], "active");
    assert_eq!(
        me["hosts"],
        serde_json::json!([{"id": "acme", "domain": "acme.example", "name": "Acme"}])
    );
    assert_eq!(me["host"]["id"], "acme");
    // No role of their own: the host's default role stands in, as in their tokens.
    assert_eq!(me["host"]["roles"], serde_json::json!(["staff"]));
    assert_eq!(me["host"]["groups"], serde_json::json!(["night-shift"]));
    assert_eq!(
        me["host"]["attributes"],
        serde_json::json!([{"name": "country", "value": "CAN"}])
    );
    assert_eq!(me["host"]["rights"], serde_json::json!(["user"]));
    assert_eq!(me["host"]["feature_flags"], serde_json::json!({}));
    let current = json(api.users_current().await, StatusCode::OK).await;
    assert_eq!(current, me);
}

#[tokio::test]
async fn each_role_has_the_rights_of_its_rung_of_the_ladder() {
    let app = app_with_two_hosts().await;
    let cases = [
        ("user@acme.example", vec!["user"]),
        ("manager@acme.example", vec!["user", "manager"]),
        ("admin@acme.example", vec!["user", "manager", "host_admin"]),
        (
            "root@acme.example",
            vec!["user", "manager", "host_admin", "system_admin"],
        ),
    ];
    for (login, rights) in cases {
        let api = app.api_as(login, "acme").await;
        let me = json(api.me().await, StatusCode::OK).await;
        assert_eq!(me["host"]["rights"], serde_json::json!(rights), "{login}");
        let list = api.list_users("").await;
        if login == "user@acme.example" {
            let body = json(list, StatusCode::FORBIDDEN).await;
            assert_eq!(body["error"], "forbidden");
            assert_eq!(body["right"], "manager");
            assert!(body["message"].as_str().unwrap().contains("manager"));
        } else {
            let page = json(list, StatusCode::OK).await;
            assert_eq!(
                emails(&page),
                [
                    "admin@acme.example",
                    "manager@acme.example",
                    "root@acme.example",
                    "user@acme.example"
                ],
                "{login}"
            );
        }
    }
}

#[tokio::test]
async fn a_plain_user_cannot_read_another_user_by_id() {
    let app = app_with_two_hosts().await;
    let manager = user_id(&app, "manager@acme.example").await;
    let api = app.api_as("user@acme.example", "acme").await;
    let body = json(api.get_user(&manager).await, StatusCode::FORBIDDEN).await;
    assert_eq!(body["right"], "manager");
}

#[tokio::test]
async fn a_user_of_another_host_is_not_found_whoever_asks() {
    let app = app_with_two_hosts().await;
    let stranger = user_id(&app, "stranger@other.example").await;
    let colleague = user_id(&app, "user@acme.example").await;
    for login in ["manager@acme.example", "root@acme.example"] {
        let api = app.api_as(login, "acme").await;
        let found = json(api.get_user(&colleague).await, StatusCode::OK).await;
        assert_eq!(found["email"], "user@acme.example");
        assert_eq!(found["id"], colleague.as_str());
        // A real id of another host answers exactly as an id that does not exist.
        let guessed = json(api.get_user(&stranger).await, StatusCode::NOT_FOUND).await;
        let unknown = json(api.get_user("no-such-id").await, StatusCode::NOT_FOUND).await;
        assert_eq!(guessed, unknown);
        assert_eq!(guessed["error"], "not_found");
        let page = json(api.list_users("").await, StatusCode::OK).await;
        assert!(!emails(&page).contains(&"stranger@other.example".to_owned()));
    }
}

#[tokio::test]
async fn pages_neither_repeat_nor_skip_users_added_between_them() {
    let app = app_with_two_hosts().await;
    let api = app.api_as("manager@acme.example", "acme").await;
    let first = json(api.list_users("limit=2").await, StatusCode::OK).await;
    assert_eq!(
        emails(&first),
        ["admin@acme.example", "manager@acme.example"]
    );
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    // Added between the pages: one before the cursor, one after it.
    app.import(&format!(
        "users:\n  - {{ email: aaron@acme.example, user_type: C, password: \"{PASSWORD}\", hosts: [{{ host: acme }}] }}\n  - {{ email: nina@acme.example, user_type: C, hosts: [{{ host: acme }}] }}\n"
    ))
    .await
    .unwrap();
    let second = json(
        api.list_users(&format!("limit=2&cursor={cursor}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(emails(&second), ["nina@acme.example", "root@acme.example"]);
    let cursor = second["next_cursor"].as_str().unwrap().to_owned();
    let last = json(
        api.list_users(&format!("limit=2&cursor={cursor}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(emails(&last), ["user@acme.example"]);
    assert!(last.get("next_cursor").is_none(), "{last}");
}

#[tokio::test]
async fn search_and_filters_narrow_the_list() {
    let app = app_with_two_hosts().await;
    app.import("users:\n  - { email: user@acme.example, user_type: C, locked: true, hosts: [{ host: acme }] }\n")
        .await
        .unwrap();
    let api = app.api_as("admin@acme.example", "acme").await;
    let found = |query: &'static str| {
        let api = &api;
        async move { emails(&json(api.list_users(query).await, StatusCode::OK).await) }
    };
    // Names and emails, case-insensitively; a wildcard is a plain character.
    assert_eq!(found("q=MAX").await, ["manager@acme.example"]);
    assert_eq!(found("q=root").await, ["root@acme.example"]);
    assert_eq!(found("q=admin").await, ["admin@acme.example"]);
    assert!(found("q=%25").await.is_empty());
    assert_eq!(found("type=C").await, ["user@acme.example"]);
    assert_eq!(found("status=locked").await, ["user@acme.example"]);
    assert_eq!(
        found("status=active&type=E&q=a").await,
        [
            "admin@acme.example",
            "manager@acme.example",
            "root@acme.example"
        ]
    );
}

#[tokio::test]
async fn a_locked_users_token_is_refused_at_once() {
    let app = app_with_two_hosts().await;
    let api = app.api_as("manager@acme.example", "acme").await;
    assert_eq!(api.me().await.status(), StatusCode::OK);
    app.import("users:\n  - { email: manager@acme.example, user_type: E, locked: true, hosts: [{ host: acme }] }\n")
        .await
        .unwrap();
    let response = api.list_users("").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token");
}

#[tokio::test]
async fn a_role_taken_away_counts_before_the_token_expires() {
    let app = app_with_two_hosts().await;
    let api = app.api_as("manager@acme.example", "acme").await;
    assert_eq!(api.list_users("").await.status(), StatusCode::OK);
    // An import never deletes an assignment; ending it (an assignment without a start
    // date counts from 1970-01-01) on a past day takes it away.
    app.import("users:\n  - email: manager@acme.example\n    user_type: E\n    hosts:\n      - host: acme\n        roles: [{ name: manager, start_date: 1970-01-01, end_date: 2020-12-31 }]\n")
        .await
        .unwrap();
    let body = json(api.list_users("").await, StatusCode::FORBIDDEN).await;
    assert_eq!(body["right"], "manager");
}

#[tokio::test]
async fn a_token_without_the_api_scope_or_no_token_is_refused() {
    let app = app_with_two_hosts().await;
    let token = app
        .api_token("admin@acme.example", "acme", "openid profile")
        .await;
    let response = app.api(Some(token)).me().await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "insufficient_scope");

    for token in [None, Some("not-a-jwt".to_owned())] {
        let response = app.api(token).list_users("").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer realm=\"tessera\""));
    }
}

#[tokio::test]
async fn client_credentials_never_grant_the_api_scope() {
    let app = spawn_app().await;
    let response = app
        .post_form_as(
            "/token",
            &[
                ("grant_type", "client_credentials"),
                ("scope", "tessera:api"),
            ],
            Some(&app.basic()),
        )
        .await;
    crate::helpers::assert_oauth_error(response, StatusCode::BAD_REQUEST, "invalid_scope").await;
}

#[tokio::test]
async fn a_malformed_query_is_refused_naming_the_parameter() {
    let app = app_with_two_hosts().await;
    let api = app.api_as("manager@acme.example", "acme").await;
    for (query, field) in [
        ("limit=500", "limit"),
        ("limit=0", "limit"),
        ("limit=many", "limit"),
        ("status=sleeping", "status"),
        ("cursor=***", "cursor"),
        ("colour=red", "colour"),
    ] {
        let body = json(api.list_users(query).await, StatusCode::BAD_REQUEST).await;
        assert_eq!(body["error"], "invalid_request", "{query}");
        assert_eq!(body["field"], field, "{query}");
        assert!(body["message"].is_string(), "{query}");
    }
    assert_eq!(api.list_users("limit=200").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_openapi_document_lists_every_route_the_api_serves() {
    let app = spawn_app().await;
    let anonymous = app.api(None);
    let doc = json(anonymous.openapi().await, StatusCode::OK).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
    // Routes the API serves, each in the document.
    for route in [
        "/api/v1/me",
        "/api/v1/users/current",
        "/api/v1/users",
        "/api/v1/users/{id}",
        "/api/v1/users/{id}/status",
        "/api/v1/audit",
        "/api/v1/openapi.json",
    ] {
        assert!(
            paths.iter().any(|p| *p == route),
            "{route} not in {paths:?}"
        );
    }
    // And every documented route is served with each documented method: without a
    // token it asks for one (or, for the document, answers), never the 404 or 405 of a
    // route that does not exist.
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let url = path.replace(['{', '}'], "");
            let status = anonymous
                .send_json(method.clone(), &url, &serde_json::json!({}))
                .await
                .status();
            assert!(
                status == StatusCode::UNAUTHORIZED || path == "/api/v1/openapi.json",
                "{method} {path}: {status}"
            );
        }
    }
    assert_eq!(
        anonymous.get("/api/v1/nothing").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn an_import_that_leaves_system_admin_out_keeps_the_flag() {
    let app = app_with_two_hosts().await;
    let root = user_id(&app, "root@acme.example").await;
    let standing = |app: &TestApp| {
        let (store, root) = (app.state.store.clone(), root.clone());
        async move {
            store
                .standing(&root, "acme", "2025-01-01")
                .await
                .unwrap()
                .unwrap()
                .system_admin
        }
    };
    assert!(standing(&app).await);
    app.import("users:\n  - { email: root@acme.example, user_type: E, hosts: [{ host: acme }] }\n")
        .await
        .unwrap();
    assert!(standing(&app).await, "left out, the flag stays");
    app.import("users:\n  - { email: root@acme.example, user_type: E, system_admin: false, hosts: [{ host: acme }] }\n")
        .await
        .unwrap();
    assert!(!standing(&app).await);
}

#[tokio::test]
async fn a_revoked_token_is_refused() {
    let app = app_with_two_hosts().await;
    let (client_id, secret) = app.client_for_host(Some("acme"), false).await;
    let tokens = app
        .tokens_with_scope(
            &client_id,
            &secret,
            "manager@acme.example",
            PASSWORD,
            "openid tessera:api",
        )
        .await;
    let token = tokens["access_token"].as_str().unwrap().to_owned();
    let api = app.api(Some(token.clone()));
    assert_eq!(api.me().await.status(), StatusCode::OK);
    let basic = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{client_id}:{secret}")
        )
    );
    let revoked = app
        .post_form_as("/revoke", &[("token", token.as_str())], Some(&basic))
        .await;
    assert_eq!(revoked.status(), StatusCode::OK);
    let body = json(api.me().await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(body["error"], "invalid_token");
    assert!(body["message"].as_str().unwrap().contains("revoked"));
}

#[tokio::test]
async fn a_deleted_users_token_is_refused() {
    let app = app_with_two_hosts().await;
    let api = app.api_as("admin@acme.example", "acme").await;
    assert_eq!(api.me().await.status(), StatusCode::OK);
    let id = user_id(&app, "admin@acme.example").await;
    // No API deletes users yet: delete the row as an operator would.
    sqlx::any::install_default_drivers();
    let mut db = <sqlx::AnyConnection as sqlx::Connection>::connect(&app.state.config.database_url)
        .await
        .unwrap();
    sqlx::query("DELETE FROM user_t WHERE user_id = $1")
        .bind(&id)
        .execute(&mut db)
        .await
        .unwrap();
    let body = json(api.me().await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(body["error"], "invalid_token");
}

#[tokio::test]
async fn the_consent_page_says_what_the_api_scope_allows() {
    let app = app_with_two_hosts().await;
    let (client_id, _) = app.client_for_host(Some("acme"), false).await;
    let mut params = app.authorize_params();
    params[0].1 = client_id;
    params[3].1 = "openid tessera:api".into();
    let login = app.follow(app.get_authorize(&params).await).await;
    let consent = app
        .follow(app.submit_login(login, "user@acme.example", PASSWORD).await)
        .await;
    let html = consent.text().await.unwrap();
    assert!(html.contains("Manage Tessera for you"), "{html}");
}

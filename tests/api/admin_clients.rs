//! `/api/v1/clients`: a host admin registers, reads, changes, deletes clients and
//! rotates their secrets; the secret is shown once and works at `/token`; another
//! host's client is a 404; bad input names its field and writes nothing; every change
//! is in the audit trail.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::admin_api::{app_with_two_hosts, json};
use crate::helpers::{Api, TestApp};

fn basic(client_id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{client_id}:{secret}")))
}

/// A `client_credentials` request with Basic credentials.
async fn token_status(app: &TestApp, client_id: &str, secret: &str) -> StatusCode {
    app.post_form_as(
        "/token",
        &[("grant_type", "client_credentials")],
        Some(&basic(client_id, secret)),
    )
    .await
    .status()
}

fn machine_client(id: &str) -> Value {
    json!({
        "client_id": id,
        "name": "Payroll sync",
        "grant_types": ["client_credentials"],
        "scopes": "api:read",
    })
}

async fn audit_of(api: &Api<'_>, query: &str) -> Vec<Value> {
    let page = json(
        api.get(&format!("/api/v1/audit?{query}")).await,
        StatusCode::OK,
    )
    .await;
    page["entries"].as_array().unwrap().clone()
}

async fn client_count(api: &Api<'_>) -> usize {
    let page = json(api.get("/api/v1/clients?limit=200").await, StatusCode::OK).await;
    page["clients"].as_array().unwrap().len()
}

#[tokio::test]
async fn a_host_admin_registers_a_client_whose_secret_is_shown_once_and_works_at_the_token_endpoint(
) {
    let app = app_with_two_hosts().await;
    let admin = app.api_as("admin@acme.example", "acme").await;
    let made = json(
        admin
            .post("/api/v1/clients", &machine_client("payroll"))
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(made["client_id"], "payroll");
    assert_eq!(made["type"], "confidential");
    assert_eq!(made["host_id"], "acme");
    assert_eq!(made["grant_types"], json!(["client_credentials"]));
    assert_eq!(made["token_endpoint_auth_method"], "client_secret_basic");
    let secret = made["client_secret"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 32, "{made}");

    assert_eq!(token_status(&app, "payroll", &secret).await, StatusCode::OK);
    // Registered for Basic: the right secret in the form body is refused.
    let post = app
        .post_form_as(
            "/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "payroll"),
                ("client_secret", &secret),
            ],
            None,
        )
        .await;
    assert_eq!(post.status(), StatusCode::UNAUTHORIZED);

    // Read back: never the secret again.
    let read = json(admin.get("/api/v1/clients/payroll").await, StatusCode::OK).await;
    assert_eq!(read["name"], "Payroll sync");
    assert!(read.get("client_secret").is_none(), "{read}");
    let listed = json(admin.get("/api/v1/clients").await, StatusCode::OK).await;
    assert!(!listed.to_string().contains(&secret));

    let entries = audit_of(&admin, "action=client.created&target=payroll").await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["host_id"], "acme");
    assert_eq!(entries[0]["via"], "api");
    assert_eq!(entries[0]["after"]["has_secret"], true);
    assert!(!entries[0].to_string().contains(&secret));
}

#[tokio::test]
async fn a_public_client_gets_no_secret_and_pkce_whatever_it_asks() {
    let app = app_with_two_hosts().await;
    let admin = app.api_as("admin@acme.example", "acme").await;
    let made = json(
        admin
            .post(
                "/api/v1/clients",
                &json!({
                    "name": "Mobile",
                    "type": "public",
                    "redirect_uris": ["com.acme.app:/cb", "http://127.0.0.1:7000/cb"],
                    "require_pkce": false,
                }),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert!(made.get("client_secret").is_none(), "{made}");
    assert_eq!(made["require_pkce"], true);
    assert_eq!(made["token_endpoint_auth_method"], "none");
    let id = made["client_id"].as_str().unwrap();
    let rotate = admin
        .post(&format!("/api/v1/clients/{id}/secret"), &json!({}))
        .await;
    assert_eq!(rotate.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_rotated_secret_replaces_the_old_one_at_once() {
    let app = app_with_two_hosts().await;
    let admin = app.api_as("admin@acme.example", "acme").await;
    let made = json(
        admin
            .post("/api/v1/clients", &machine_client("payroll"))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let old = made["client_secret"].as_str().unwrap().to_owned();
    // The old secret is in this node's client cache now.
    assert_eq!(token_status(&app, "payroll", &old).await, StatusCode::OK);
    let rotated = json(
        admin
            .post("/api/v1/clients/payroll/secret", &json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    let new = rotated["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert_eq!(
        token_status(&app, "payroll", &old).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(token_status(&app, "payroll", &new).await, StatusCode::OK);
    let entries = audit_of(&admin, "action=client.secret_rotated&target=payroll").await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    let text = entries[0].to_string();
    assert!(!text.contains(&new) && !text.contains(&old), "{text}");
}

#[tokio::test]
async fn a_change_is_audited_and_reaches_the_token_endpoint_at_once() {
    let app = app_with_two_hosts().await;
    let admin = app.api_as("admin@acme.example", "acme").await;
    let made = json(
        admin
            .post("/api/v1/clients", &machine_client("payroll"))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let secret = made["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(token_status(&app, "payroll", &secret).await, StatusCode::OK);
    let changed = json(
        admin
            .patch(
                "/api/v1/clients/payroll",
                &json!({"name": "Payroll", "token_endpoint_auth_method": "client_secret_post"}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(changed["name"], "Payroll");
    assert_eq!(changed["grant_types"], json!(["client_credentials"]));
    // Basic is refused now, without waiting for the cache.
    assert_eq!(
        token_status(&app, "payroll", &secret).await,
        StatusCode::UNAUTHORIZED
    );
    let entries = audit_of(&admin, "action=client.updated&target=payroll").await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["before"]["name"], "Payroll sync");
    assert_eq!(entries[0]["after"]["name"], "Payroll");
    assert_eq!(
        entries[0]["after"]["token_endpoint_auth_method"],
        "client_secret_post"
    );
}

#[tokio::test]
async fn a_deleted_client_is_gone_and_its_secret_refused() {
    let app = app_with_two_hosts().await;
    let admin = app.api_as("admin@acme.example", "acme").await;
    let made = json(
        admin
            .post("/api/v1/clients", &machine_client("payroll"))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let secret = made["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(token_status(&app, "payroll", &secret).await, StatusCode::OK);
    assert_eq!(
        admin.delete("/api/v1/clients/payroll").await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        admin.get("/api/v1/clients/payroll").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        token_status(&app, "payroll", &secret).await,
        StatusCode::UNAUTHORIZED
    );
    let entries = audit_of(&admin, "action=client.deleted&target=payroll").await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["before"]["name"], "Payroll sync");
    assert!(entries[0]["after"].is_null());
}

#[tokio::test]
async fn managers_and_users_are_refused_client_management_naming_the_right() {
    let app = app_with_two_hosts().await;
    for login in ["manager@acme.example", "user@acme.example"] {
        let api = app.api_as(login, "acme").await;
        for response in [
            api.get("/api/v1/clients").await,
            api.post("/api/v1/clients", &machine_client("x")).await,
            api.delete("/api/v1/clients/x").await,
        ] {
            let body = json(response, StatusCode::FORBIDDEN).await;
            assert_eq!(body["right"], "host_admin", "{login}: {body}");
        }
    }
    let admin = app.api_as("admin@acme.example", "acme").await;
    assert_eq!(
        admin.get("/api/v1/clients/x").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn another_hosts_client_is_not_found_whatever_the_verb() {
    let app = app_with_two_hosts().await;
    let (theirs, secret) = app.client_for_host(Some("other"), false).await;
    let admin = app.api_as("admin@acme.example", "acme").await;
    let path = format!("/api/v1/clients/{theirs}");
    assert_eq!(admin.get(&path).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        admin.patch(&path, &json!({"name": "Mine"})).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        admin
            .post(&format!("{path}/secret"), &json!({}))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(admin.delete(&path).await.status(), StatusCode::NOT_FOUND);
    let listed = json(admin.get("/api/v1/clients").await, StatusCode::OK).await;
    assert!(!listed.to_string().contains(&theirs), "{listed}");
    // Untouched: its secret still works.
    let client = app.state.store.find_client(&theirs).await.unwrap().unwrap();
    assert!(client.secret_hash.unwrap().matches(&secret));
    assert_ne!(client.name, "Mine");
}

#[tokio::test]
async fn bad_input_names_its_field_and_writes_nothing() {
    let app = app_with_two_hosts().await;
    let admin = app.api_as("admin@acme.example", "acme").await;
    json(
        admin
            .post("/api/v1/clients", &machine_client("payroll"))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let before = client_count(&admin).await;
    let cases = [
        (
            json!({"name": "A", "redirect_uris": ["https://ok.example/cb", "/relative"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "redirect_uris[1]",
        ),
        (
            json!({"name": "A", "redirect_uris": ["https://a.example/cb#frag"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "redirect_uris[0]",
        ),
        (
            json!({"name": "A", "grant_types": ["implicit"]}),
            StatusCode::BAD_REQUEST,
            "grant_types[0]",
        ),
        (
            json!({"name": "A", "grant_types": ["password"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "grant_types",
        ),
        (
            json!({"name": "x".repeat(201), "grant_types": ["client_credentials"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "name",
        ),
        (
            json!({"name": "A", "type": "public", "grant_types": ["client_credentials"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "grant_types",
        ),
        (
            json!({"name": "A", "grant_types": ["authorization_code"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "redirect_uris",
        ),
        (
            json!({"name": "A", "token_endpoint_auth_method": "private_key_jwt"}),
            StatusCode::BAD_REQUEST,
            "token_endpoint_auth_method",
        ),
        (
            json!({"name": "A", "colour": "red"}),
            StatusCode::BAD_REQUEST,
            "colour",
        ),
    ];
    for (body, status, field) in cases {
        let answer = json(admin.post("/api/v1/clients", &body).await, status).await;
        assert_eq!(answer["field"], field, "{body}: {answer}");
    }
    let duplicate = json(
        admin
            .post("/api/v1/clients", &machine_client("payroll"))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        duplicate["message"]
            .as_str()
            .unwrap()
            .contains("already exists"),
        "{duplicate}"
    );
    let bad_patch = json(
        admin
            .patch(
                "/api/v1/clients/payroll",
                &json!({"redirect_uris": ["nope"]}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(bad_patch["field"], "redirect_uris[0]");
    assert_eq!(client_count(&admin).await, before);
    assert_eq!(
        audit_of(&admin, "action=client.created&target=payroll")
            .await
            .len(),
        1
    );
    assert!(audit_of(&admin, "action=client.updated&target=payroll")
        .await
        .is_empty());
}

#[tokio::test]
async fn the_list_pages_by_cursor_without_repeats() {
    let app = app_with_two_hosts().await;
    let admin = app.api_as("admin@acme.example", "acme").await;
    for id in ["c-1", "c-2", "c-3", "c-4"] {
        json(
            admin.post("/api/v1/clients", &machine_client(id)).await,
            StatusCode::CREATED,
        )
        .await;
    }
    let total = client_count(&admin).await;
    let mut seen = Vec::new();
    let mut query = "limit=2".to_owned();
    loop {
        let page = json(
            admin.get(&format!("/api/v1/clients?{query}")).await,
            StatusCode::OK,
        )
        .await;
        let ids: Vec<String> = page["clients"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["client_id"].as_str().unwrap().to_owned())
            .collect();
        assert!(ids.len() <= 2);
        seen.extend(ids);
        match page["next_cursor"].as_str() {
            Some(c) => query = format!("limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), total);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen);
    assert!(seen.iter().any(|id| id == "c-3"));
    let bad = json(
        admin.get("/api/v1/clients?limit=0").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(bad["field"], "limit");
}

/// Runs `tessera args…` in the workspace with `input` on standard input; answers its
/// standard output, failing the test when the command fails.
pub(crate) fn tessera_ok(
    ws: &crate::helpers::Workspace,
    args: &[&str],
    input: Option<&str>,
) -> String {
    use std::io::Write as _;
    let mut child = ws
        .tessera(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(input.unwrap_or_default().as_bytes())
        .unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "tessera {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn the_cli_manages_clients_with_json_in_the_apis_shape() {
    use tessera::store::ClientStore;
    let ws = crate::helpers::Workspace::new().await;
    let added: Value = serde_json::from_str(&tessera_ok(
        &ws,
        &[
            "client",
            "add",
            "--id",
            "batch",
            "--name",
            "Batch",
            "--grant",
            "client_credentials",
            "--scope",
            "api:read",
            "--auth-method",
            "client_secret_post",
            "--json",
        ],
        None,
    ))
    .unwrap();
    assert_eq!(added["client_id"], "batch");
    assert_eq!(added["type"], "confidential");
    assert_eq!(added["token_endpoint_auth_method"], "client_secret_post");
    assert_eq!(added["grant_types"], json!(["client_credentials"]));
    let secret = added["client_secret"].as_str().unwrap().to_owned();

    // A secret of the operator's, from standard input, is not echoed.
    let own = "operator-chosen-secret-0123456789";
    let out = tessera_ok(
        &ws,
        &[
            "client",
            "add",
            "--id",
            "own",
            "--name",
            "Own",
            "--redirect-uri",
            "https://own.example/cb",
            "--secret-stdin",
            "--json",
        ],
        Some(&format!("{own}\n")),
    );
    let own_json: Value = serde_json::from_str(&out).unwrap();
    assert!(own_json.get("client_secret").is_none(), "{out}");
    assert_eq!(own_json["redirect_uris"], json!(["https://own.example/cb"]));

    let listed: Value =
        serde_json::from_str(&tessera_ok(&ws, &["client", "list", "--json"], None)).unwrap();
    let ids: Vec<&str> = listed["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{listed}");
    assert!(ids.contains(&"batch") && ids.contains(&"own"));
    assert!(!listed.to_string().contains(&secret));

    let updated: Value = serde_json::from_str(&tessera_ok(
        &ws,
        &[
            "client",
            "update",
            "batch",
            "--name",
            "Nightly batch",
            "--json",
        ],
        None,
    ))
    .unwrap();
    assert_eq!(updated["name"], "Nightly batch");
    let rotated: Value = serde_json::from_str(&tessera_ok(
        &ws,
        &["client", "rotate-secret", "batch", "--json"],
        None,
    ))
    .unwrap();
    let new = rotated["client_secret"].as_str().unwrap();

    let config = tessera::config::Config {
        database_url: ws.database_url.clone(),
        ..tessera::config::Config::default()
    };
    let store = tessera::app::open_store(&config).await.unwrap();
    let batch = store.find_client("batch").await.unwrap().unwrap();
    assert!(batch.secret_hash.as_ref().unwrap().matches(new));
    assert!(!batch.secret_hash.as_ref().unwrap().matches(&secret));
    let mine = store.find_client("own").await.unwrap().unwrap();
    assert!(mine.secret_hash.unwrap().matches(own));

    tessera_ok(&ws, &["client", "delete", "own"], None);
    assert!(store.find_client("own").await.unwrap().is_none());
    // Each change is the operator's, through the CLI.
    let query = tessera::store::AuditQuery {
        limit: 50,
        ..tessera::store::AuditQuery::default()
    };
    let entries = tessera::store::AuditStore::list_audit(&store, &query)
        .await
        .unwrap();
    let actions: Vec<&str> = entries.entries.iter().map(|e| e.action.as_str()).collect();
    for action in [
        "client.created",
        "client.updated",
        "client.secret_rotated",
        "client.deleted",
    ] {
        assert!(actions.contains(&action), "{action} not in {actions:?}");
    }
    assert!(entries
        .entries
        .iter()
        .all(|e| e.via == tessera::domain::audit::Via::Cli));
}

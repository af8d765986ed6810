//! API tokens at `/api/v1/tokens` (issue 14): made by members (personal) and host
//! admins (system), the secret shown once, listed without it, revoked, audited.

use reqwest::StatusCode;
use serde_json::{json, Value};
use tessera::domain::{ClientType, Secret};

use crate::admin_api::{app_with_two_hosts, json as body_of};
use crate::helpers::{client, Api, TestApp};

pub(crate) const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// Makes a token through the API; returns the whole answer.
pub(crate) async fn make_token(api: &Api<'_>, body: Value) -> Value {
    body_of(api.post("/api/v1/tokens", &body).await, StatusCode::CREATED).await
}

/// A personal token of `login` in acme with `scope`; returns (id, secret).
pub(crate) async fn personal_token(app: &TestApp, login: &str, scope: &str) -> (String, String) {
    let api = app.api_as(login, "acme").await;
    let made = make_token(
        &api,
        json!({"name": "ci", "scope": scope, "expires_in_days": 30}),
    )
    .await;
    (
        made["token"]["id"].as_str().unwrap().to_owned(),
        made["secret"].as_str().unwrap().to_owned(),
    )
}

/// A confidential client allowed the token exchange (and the code flow, to get access
/// tokens of its own); returns (id, secret).
pub(crate) async fn exchange_client(app: &TestApp) -> (String, String) {
    let secret = Secret::generate();
    let id = tessera::domain::secret::random_id();
    let mut c = client(&id, ClientType::Confidential, Some(&secret));
    c.grant_types
        .push(tessera::domain::GrantType::TokenExchange);
    app.state
        .store
        .create_client(&c, app.state.now())
        .await
        .unwrap();
    (id, secret.expose().to_owned())
}

async fn list(api: &Api<'_>, query: &str) -> Value {
    body_of(
        api.get(&format!("/api/v1/tokens?{query}")).await,
        StatusCode::OK,
    )
    .await
}

fn ids(page: &Value) -> Vec<String> {
    page["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_member_makes_a_personal_token_whose_secret_is_shown_once() {
    let app = app_with_two_hosts().await;
    let api = app.api_as("user@acme.example", "acme").await;
    let made = make_token(
        &api,
        json!({"name": "laptop", "scope": "api:read tessera:api", "expires_in_days": 30}),
    )
    .await;
    let secret = made["secret"].as_str().unwrap();
    assert!(secret.starts_with("tsr_pat_"), "{secret}");
    assert_eq!(
        tessera::domain::api_token::parse(secret),
        Some(tessera::domain::api_token::TokenKind::Personal)
    );
    let token = &made["token"];
    assert_eq!(token["kind"], "personal");
    assert_eq!(token["name"], "laptop");
    assert_eq!(token["scope"], "api:read tessera:api");
    assert_eq!(token["active"], true);
    assert_eq!(token["last_used_at"], Value::Null);
    let created = token["created_at"].as_i64().unwrap();
    assert_eq!(
        token["expires_at"].as_i64().unwrap() - created,
        30 * 24 * 3600
    );
    let id = token["id"].as_str().unwrap();

    let page = list(&api, "").await;
    assert_eq!(ids(&page), [id]);
    let one = body_of(
        api.get(&format!("/api/v1/tokens/{id}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(one["name"], "laptop");
    // Never shown again, nor its hash.
    let hash = tessera::domain::TokenHash::of(secret);
    for text in [page.to_string(), one.to_string()] {
        assert!(!text.contains(secret));
        assert!(!text.contains(hash.as_str()));
    }
}

#[tokio::test]
async fn a_system_token_needs_a_host_admin_and_roles_of_the_host() {
    let app = app_with_two_hosts().await;
    let body = json!({"name": "billing", "kind": "system", "scope": "api:read",
        "expires_in_days": 10, "roles": ["staff"]});
    let manager = app.api_as("manager@acme.example", "acme").await;
    let refused = body_of(
        manager.post("/api/v1/tokens", &body).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(refused["right"], "host_admin");

    let admin = app.api_as("admin@acme.example", "acme").await;
    let made = make_token(&admin, body).await;
    assert!(made["secret"].as_str().unwrap().starts_with("tsr_sys_"));
    assert_eq!(made["token"]["kind"], "system");
    assert_eq!(made["token"]["roles"], json!(["staff"]));
    assert_eq!(made["token"]["user_id"], Value::Null);

    let unknown = json!({"name": "x", "kind": "system", "scope": "api:read",
        "expires_in_days": 10, "roles": ["pilot"]});
    let e = body_of(
        admin.post("/api/v1/tokens", &unknown).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(e["field"], "roles");
    // Nothing written: the host has the one system token.
    assert_eq!(ids(&list(&admin, "owner=host&kind=system").await).len(), 1);
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_field_and_nothing_is_written() {
    let app = app_with_two_hosts().await;
    let api = app.api_as("user@acme.example", "acme").await;
    for (body, status, field) in [
        (
            json!({"name": "a", "scope": "api:read", "expires_in_days": 0}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "expires_in_days",
        ),
        (
            json!({"name": "a", "scope": "api:read", "expires_in_days": 366}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "expires_in_days",
        ),
        (
            json!({"name": "a", "scope": "openid", "expires_in_days": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "scope",
        ),
        (
            json!({"name": "a", "scope": "", "expires_in_days": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "scope",
        ),
        (
            json!({"name": " ", "scope": "api:read", "expires_in_days": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "name",
        ),
        (
            json!({"name": "a", "scope": "api:read", "expires_in_days": 1, "roles": ["staff"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "roles",
        ),
        (
            json!({"name": "a", "scope": "api:read", "expires_in_days": 1, "colour": 1}),
            StatusCode::BAD_REQUEST,
            "colour",
        ),
        (
            json!({"name": "a", "scope": "api:read"}),
            StatusCode::BAD_REQUEST,
            "expires_in_days",
        ),
        (
            json!({"name": "a", "kind": "robot", "scope": "api:read", "expires_in_days": 1}),
            StatusCode::BAD_REQUEST,
            "kind",
        ),
    ] {
        let e = body_of(api.post("/api/v1/tokens", &body).await, status).await;
        assert_eq!(e["field"], field, "{body}: {e}");
    }
    assert!(ids(&list(&api, "include_inactive=true").await).is_empty());
}

#[tokio::test]
async fn another_members_token_is_hidden_but_a_host_admin_lists_and_revokes_it() {
    let app = app_with_two_hosts().await;
    let (id, _) = crate::api_tokens::personal_token(&app, "user@acme.example", "api:read").await;
    let path = format!("/api/v1/tokens/{id}");

    let manager = app.api_as("manager@acme.example", "acme").await;
    assert_eq!(manager.get(&path).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(manager.delete(&path).await.status(), StatusCode::NOT_FOUND);
    let e = body_of(
        manager.get("/api/v1/tokens?owner=host").await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(e["right"], "host_admin");
    assert!(ids(&list(&manager, "").await).is_empty());
    let stranger = app.api_as("stranger@other.example", "other").await;
    assert_eq!(stranger.get(&path).await.status(), StatusCode::NOT_FOUND);

    let admin = app.api_as("admin@acme.example", "acme").await;
    assert_eq!(
        ids(&list(&admin, "owner=host").await),
        std::slice::from_ref(&id)
    );
    assert_eq!(admin.get(&path).await.status(), StatusCode::OK);
    let revoked = body_of(admin.delete(&path).await, StatusCode::OK).await;
    assert_eq!(revoked["active"], false);
    assert!(revoked["revoked_at"].as_i64().is_some());
    // Revoked: gone from the default list, there with include_inactive.
    assert!(ids(&list(&admin, "owner=host").await).is_empty());
    assert_eq!(
        ids(&list(&admin, "owner=host&include_inactive=true").await),
        [id]
    );
}

#[tokio::test]
async fn making_and_revoking_a_token_are_audited_without_its_secret() {
    let app = app_with_two_hosts().await;
    let (id, secret) = personal_token(&app, "user@acme.example", "api:read").await;
    let user = app.api_as("user@acme.example", "acme").await;
    assert_eq!(
        user.delete(&format!("/api/v1/tokens/{id}")).await.status(),
        StatusCode::OK
    );
    // A second revocation changes nothing and records nothing.
    assert_eq!(
        user.delete(&format!("/api/v1/tokens/{id}")).await.status(),
        StatusCode::OK
    );

    let admin = app.api_as("admin@acme.example", "acme").await;
    let trail = body_of(
        admin
            .get(&format!("/api/v1/audit?action=token.&target={id}"))
            .await,
        StatusCode::OK,
    )
    .await;
    let entries = trail["entries"].as_array().unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["token.revoked", "token.created"]);
    let owner = crate::admin_api::user_id(&app, "user@acme.example").await;
    for e in entries {
        assert_eq!(e["target_kind"], "api_token");
        assert_eq!(e["actor_id"], owner.as_str());
        assert_eq!(e["host_id"], "acme");
    }
    assert_eq!(entries[1]["after"]["scope"], "api:read");
    assert_eq!(entries[0]["before"]["revoked"], false);
    assert_eq!(entries[0]["after"]["revoked"], true);
    let text = trail.to_string();
    assert!(!text.contains(&secret));
    assert!(!text.contains(tessera::domain::TokenHash::of(&secret).as_str()));
}

#[tokio::test]
async fn tokens_are_listed_a_page_at_a_time() {
    let app = app_with_two_hosts().await;
    let api = app.api_as("user@acme.example", "acme").await;
    let mut made = Vec::new();
    for name in ["a", "b", "c"] {
        let t = make_token(
            &api,
            json!({"name": name, "scope": "api:read", "expires_in_days": 1}),
        )
        .await;
        made.push(t["token"]["id"].as_str().unwrap().to_owned());
    }
    let first = list(&api, "limit=2").await;
    assert_eq!(ids(&first).len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = list(&api, &format!("limit=2&cursor={cursor}")).await;
    assert_eq!(ids(&second).len(), 1);
    assert!(second.get("next_cursor").is_none());
    let mut seen: Vec<String> = ids(&first).into_iter().chain(ids(&second)).collect();
    seen.sort();
    made.sort();
    assert_eq!(seen, made);
    let e = body_of(
        api.get("/api/v1/tokens?limit=0").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(e["field"], "limit");
    let e = body_of(
        api.get("/api/v1/tokens?cursor=%25").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(e["field"], "cursor");
}

#[tokio::test]
async fn an_operator_adds_lists_and_revokes_tokens_at_the_command_line() {
    let workspace = crate::helpers::Workspace::new().await;
    let ok = |args: &[&str]| {
        let out = workspace.tessera(args).output().unwrap();
        assert!(
            out.status.success(),
            "tessera {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let document = workspace.dir.path().join("hosts.yaml");
    std::fs::write(&document, crate::admin_api::two_hosts()).unwrap();
    ok(&["import", document.to_str().unwrap()]);

    let made: Value = serde_json::from_str(&ok(&[
        "token",
        "add",
        "--host",
        "acme",
        "--user",
        "user@acme.example",
        "--name",
        "ci",
        "--scope",
        "api:read",
        "--days",
        "7",
        "--json",
    ]))
    .unwrap();
    assert!(made["secret"].as_str().unwrap().starts_with("tsr_pat_"));
    assert_eq!(made["token"]["kind"], "personal");
    let id = made["token"]["id"].as_str().unwrap();
    let system: Value = serde_json::from_str(&ok(&[
        "token",
        "add",
        "--host",
        "acme.example",
        "--system",
        "--role",
        "staff",
        "--name",
        "billing",
        "--scope",
        "api:read",
        "--days",
        "7",
        "--json",
    ]))
    .unwrap();
    assert_eq!(system["token"]["roles"], json!(["staff"]));

    let listed: Value =
        serde_json::from_str(&ok(&["token", "list", "--host", "acme", "--json"])).unwrap();
    assert_eq!(listed["tokens"].as_array().unwrap().len(), 2);
    assert!(!listed
        .to_string()
        .contains(made["secret"].as_str().unwrap()));
    let revoked: Value =
        serde_json::from_str(&ok(&["token", "revoke", "--host", "acme", id, "--json"])).unwrap();
    assert_eq!(revoked["active"], false);
    let listed: Value =
        serde_json::from_str(&ok(&["token", "list", "--host", "acme", "--json"])).unwrap();
    assert_eq!(listed["tokens"].as_array().unwrap().len(), 1);

    // Refused input changes nothing.
    for args in [
        &[
            "token",
            "add",
            "--host",
            "acme",
            "--user",
            "user@acme.example",
            "--name",
            "x",
            "--scope",
            "openid",
            "--days",
            "7",
        ][..],
        &[
            "token",
            "add",
            "--host",
            "acme",
            "--user",
            "user@acme.example",
            "--name",
            "x",
            "--scope",
            "api:read",
            "--days",
            "400",
        ][..],
        &[
            "token", "add", "--host", "acme", "--system", "--role", "pilot", "--name", "x",
            "--scope", "api:read", "--days", "7",
        ][..],
    ] {
        let out = workspace.tessera(args).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
    }
    let all: Value =
        serde_json::from_str(&ok(&["token", "list", "--host", "acme", "--all", "--json"])).unwrap();
    assert_eq!(all["tokens"].as_array().unwrap().len(), 2);
}

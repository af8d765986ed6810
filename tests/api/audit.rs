//! The audit trail: sign-ins (both outcomes) are recorded, `GET /api/v1/audit` reads a
//! host's entries with filters and paging for its admins only, the CLI lists them, and
//! the retention purge removes old ones.

use reqwest::StatusCode;
use serde_json::Value;

use crate::admin_api::{app_with_two_hosts, json, user_id};
use crate::helpers::{TestApp, PASSWORD};

async fn entries(app: &TestApp, query: &str) -> Value {
    let admin = app.api_as("admin@acme.example", "acme").await;
    json(
        admin.get(&format!("/api/v1/audit?{query}")).await,
        StatusCode::OK,
    )
    .await
}

#[tokio::test]
async fn sign_ins_that_fail_and_succeed_are_in_the_trail() {
    let app = app_with_two_hosts().await;
    let (client_id, _) = app.client_for_host(Some("acme"), false).await;
    let refused = app
        .login_attempt(&client_id, "user@acme.example", "not the password")
        .await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let ok = app
        .login_attempt(&client_id, "user@acme.example", PASSWORD)
        .await;
    assert!(
        ok.status().is_redirection() || ok.status().is_success(),
        "{}",
        ok.status()
    );

    let failed = entries(&app, "action=sign_in.failed").await;
    let failed = failed["entries"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["via"], "sign_in");
    assert_eq!(failed[0]["detail"]["login"], "user@acme.example");
    assert_eq!(failed[0]["detail"]["reason"], "InvalidCredentials");
    assert_eq!(failed[0]["detail"]["client_id"], client_id.as_str());
    assert!(failed[0]["client_address"].as_str().is_some());
    // The trail never holds the password that was tried.
    assert!(!failed[0].to_string().contains("not the password"));

    let uma = user_id(&app, "user@acme.example").await;
    let page = entries(&app, &format!("action=sign_in.succeeded&target={uma}")).await;
    let succeeded = page["entries"].as_array().unwrap();
    assert_eq!(succeeded.len(), 1, "{succeeded:?}");
    assert_eq!(succeeded[0]["actor_id"], uma.as_str());
    assert_eq!(succeeded[0]["host_id"], "acme");
    assert_eq!(succeeded[0]["detail"]["amr"], serde_json::json!(["pwd"]));
}

#[tokio::test]
async fn the_trail_is_read_by_host_admins_only_and_only_their_hosts() {
    let app = app_with_two_hosts().await;
    let manager = app.api_as("manager@acme.example", "acme").await;
    let refused = json(manager.get("/api/v1/audit").await, StatusCode::FORBIDDEN).await;
    assert_eq!(refused["right"], "host_admin");
    // A sign-in to the other host stays out of acme's trail.
    app.api_as("stranger@other.example", "other").await;
    let page = entries(&app, "limit=200").await;
    for e in page["entries"].as_array().unwrap() {
        assert_eq!(e["host_id"], "acme", "{e}");
    }
    let admin = app.api_as("admin@acme.example", "acme").await;
    let all = json(
        admin.get("/api/v1/audit?host=*").await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(all["right"], "system_admin");
    let root = app.api_as("root@acme.example", "acme").await;
    let all = json(
        root.get("/api/v1/audit?host=*&limit=200").await,
        StatusCode::OK,
    )
    .await;
    assert!(all["entries"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["host_id"] == "other"));
}

#[tokio::test]
async fn the_trail_pages_newest_first_without_repeats() {
    let app = app_with_two_hosts().await;
    let (client_id, _) = app.client_for_host(Some("acme"), false).await;
    for _ in 0..5 {
        app.login_attempt(&client_id, "nobody@acme.example", "wrong")
            .await;
    }
    let admin = app.api_as("admin@acme.example", "acme").await;
    let mut seen = Vec::new();
    let mut query = "action=sign_in.failed&limit=2".to_owned();
    loop {
        let page = json(
            admin.get(&format!("/api/v1/audit?{query}")).await,
            StatusCode::OK,
        )
        .await;
        for e in page["entries"].as_array().unwrap() {
            seen.push((
                e["at"].as_i64().unwrap(),
                e["id"].as_str().unwrap().to_owned(),
            ));
        }
        match page["next_cursor"].as_str() {
            Some(c) => query = format!("action=sign_in.failed&limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5, "{seen:?}");
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    sorted.dedup();
    assert_eq!(sorted, seen, "newest first, no repeats");
    let bad = json(
        admin.get("/api/v1/audit?limit=0").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(bad["field"], "limit");
    let bad = json(
        admin.get("/api/v1/audit?actr=x").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(bad["field"], "actr");
    let bad = json(
        admin.get("/api/v1/audit?since=10&until=5").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(bad["field"], "until");
}

#[tokio::test]
async fn entries_past_retention_are_purged_and_newer_ones_kept() {
    use tessera::domain::audit::{AuditContext, AuditEvent};
    use tessera::store::{AuditQuery, AuditStore as _};
    let app = app_with_two_hosts().await;
    let store = app.sql_store().await;
    let now = app.state.now();
    let old = AuditEvent::new("user.updated")
        .host("acme")
        .target("user", "old");
    let new = AuditEvent::new("user.updated")
        .host("acme")
        .target("user", "new");
    store
        .record_audit(&AuditContext::system(), &old, now - 500 * 86_400)
        .await
        .unwrap();
    store
        .record_audit(&AuditContext::system(), &new, now)
        .await
        .unwrap();
    let purged = store.purge_audit(now - 400 * 86_400).await.unwrap();
    assert_eq!(purged, 1);
    let left = store
        .list_audit(&AuditQuery {
            action: Some("user.updated".into()),
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    let targets: Vec<_> = left
        .entries
        .iter()
        .map(|e| e.target.as_ref().unwrap().id.clone())
        .collect();
    assert_eq!(targets, ["new"]);
}

#[tokio::test]
async fn key_events_are_tesseras_own_entries_seen_by_system_admins() {
    let app = app_with_two_hosts().await;
    let kid = crate::key_storage::rotate(&app).await;
    let root = app.api_as("root@acme.example", "acme").await;
    let page = json(
        root.get("/api/v1/audit?host=*&action=key.&limit=200").await,
        StatusCode::OK,
    )
    .await;
    let entries = page["entries"].as_array().unwrap();
    // The keys made at start, then the rotation: the next key became active.
    assert!(
        entries.iter().any(|e| e["action"] == "key.created"),
        "{entries:?}"
    );
    let activated = entries
        .iter()
        .find(|e| e["action"] == "key.state_changed" && e["target_id"] == kid.as_str());
    let activated = activated.unwrap_or_else(|| panic!("no activation of {kid}: {entries:?}"));
    assert_eq!(activated["after"]["state"], "active");
    assert_eq!(activated["via"], "system");
    assert!(activated["host_id"].is_null());
    // Never the key itself.
    assert!(!page.to_string().contains("PRIVATE"));
    // A host admin's trail holds no key events.
    let admin = entries_as_admin(&app, "action=key.").await;
    assert!(admin.is_empty(), "{admin:?}");
}

async fn entries_as_admin(app: &TestApp, query: &str) -> Vec<Value> {
    entries(app, query).await["entries"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn revocations_are_in_the_trail_without_the_tokens() {
    use base64::Engine as _;
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
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"))
    );
    for token in [access, refresh] {
        let r = app
            .post_form_as("/revoke", &[("token", token)], Some(&basic))
            .await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    let page = entries(&app, "action=token.revoked").await;
    let revoked = page["entries"].as_array().unwrap();
    let kinds: Vec<&str> = revoked
        .iter()
        .map(|e| e["target_kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["token_family", "access_token"], "{revoked:?}");
    for e in revoked {
        assert_eq!(e["via"], "client");
        assert_eq!(e["actor_name"], client_id.as_str());
        assert_eq!(e["host_id"], "acme");
    }
    let text = page.to_string();
    assert!(!text.contains(access) && !text.contains(refresh));
}

#[tokio::test]
async fn a_replayed_refresh_token_revokes_its_grant_and_says_so_in_the_trail() {
    use base64::Engine as _;
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
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"))
    );
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh)];
    let first = app.post_form_as("/token", &form, Some(&basic)).await;
    assert_eq!(first.status(), StatusCode::OK);
    let replay = app.post_form_as("/token", &form, Some(&basic)).await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    let page = entries(&app, "action=token.family_revoked").await;
    let revoked = page["entries"].as_array().unwrap();
    assert_eq!(revoked.len(), 1, "{revoked:?}");
    assert_eq!(revoked[0]["detail"]["reason"], "refresh_token_replayed");
    assert_eq!(revoked[0]["actor_name"], client_id.as_str());
    assert_eq!(revoked[0]["target_kind"], "token_family");
    assert!(!page.to_string().contains(refresh));
}

#[tokio::test]
async fn an_import_is_in_the_trail_of_each_host_it_touched() {
    let app = app_with_two_hosts().await;
    let page = entries(&app, "action=import.applied").await;
    let applied = page["entries"].as_array().unwrap();
    assert_eq!(applied.len(), 1, "{applied:?}");
    assert_eq!(applied[0]["via"], "import");
    assert_eq!(applied[0]["host_id"], "acme");
    assert!(applied[0]["detail"]["changed"].as_u64().unwrap() > 0);
    assert_eq!(applied[0]["detail"]["users"], 5);
    // The same document again changes nothing and records nothing.
    app.import(&crate::admin_api::two_hosts()).await.unwrap();
    let again = entries(&app, "action=import.applied").await;
    assert_eq!(again["entries"].as_array().unwrap().len(), 1);
}

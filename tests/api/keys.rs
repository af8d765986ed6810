use serde_json::Value;
use tessera::keys::{self, Algorithm};

use crate::helpers::{spawn_app, spawn_app_with};

async fn jwks_kids(app: &crate::helpers::TestApp) -> Vec<String> {
    let jwks: Value = reqwest::get(app.url("/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

fn kid_of(token: &str) -> String {
    let header = token.split('.').next().unwrap();
    let bytes =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap();
    serde_json::from_slice::<Value>(&bytes).unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn rotation_promotes_the_published_next_key_and_keeps_the_old_one_published() {
    let app = spawn_app().await;
    let before: Value = app
        .post_token(&[("grant_type", "client_credentials")])
        .await
        .json()
        .await
        .unwrap();
    let old_token = before["access_token"].as_str().unwrap().to_owned();
    let old_kid = kid_of(&old_token);
    let published = jwks_kids(&app).await;
    assert!(published.contains(&old_kid));
    let next_kid = published.iter().find(|k| **k != old_kid).unwrap().clone();

    let store = &*app.state.store;
    let kek = app.state.keys.key_encryption();
    let config = &app.state.config;
    let now = app.state.now();
    let active = keys::rotate(
        store,
        kek,
        Algorithm::RS256,
        config.max_signed_token_ttl(),
        now,
    )
    .await
    .unwrap();
    assert_eq!(
        active, next_kid,
        "the key that becomes active was already published"
    );
    let records = keys::ensure_ready(
        store,
        kek,
        Algorithm::RS256,
        config.max_signed_token_ttl(),
        now,
    )
    .await
    .unwrap();
    app.state.keys.replace(&records).unwrap();

    let after: Value = app
        .post_token(&[("grant_type", "client_credentials")])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(kid_of(after["access_token"].as_str().unwrap()), next_kid);
    let published = jwks_kids(&app).await;
    assert_eq!(published.len(), 3, "retired, active and a new next key");
    assert!(
        published.contains(&old_kid),
        "the retired key stays published"
    );
    // A token signed by the retired key still verifies.
    assert_eq!(app.introspect(&old_token).await["active"], true);
}

#[tokio::test]
async fn a_retired_key_is_removed_once_its_tokens_have_expired() {
    let app = spawn_app().await;
    let store = &*app.state.store;
    let kek = app.state.keys.key_encryption();
    let now = app.state.now();
    let ttl = app.state.config.max_signed_token_ttl();
    keys::rotate(store, kek, Algorithm::RS256, ttl, now)
        .await
        .unwrap();
    assert_eq!(
        keys::ensure_ready(store, kek, Algorithm::RS256, ttl, now)
            .await
            .unwrap()
            .len(),
        3
    );
    let later = now + ttl + 61;
    let records = keys::ensure_ready(store, kek, Algorithm::RS256, ttl, later + 1)
        .await
        .unwrap();
    assert_eq!(records.len(), 2, "the retired key is gone");
}

#[tokio::test]
async fn every_configured_algorithm_signs_verifiable_tokens() {
    for alg in ["ES256", "PS256", "EdDSA"] {
        let app = match alg {
            "ES256" => spawn_app_with(|c| c.signing_alg = Algorithm::ES256).await,
            "PS256" => spawn_app_with(|c| c.signing_alg = Algorithm::PS256).await,
            _ => spawn_app_with(|c| c.signing_alg = Algorithm::EdDSA).await,
        };
        let metadata: Value = reqwest::get(app.url("/.well-known/openid-configuration"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(metadata["id_token_signing_alg_values_supported"][0], alg);
        let tokens = app.tokens().await;
        assert_eq!(
            app.introspect(tokens["access_token"].as_str().unwrap())
                .await["active"],
            true,
            "{alg}"
        );
    }
}

#[tokio::test]
async fn pem_files_in_the_keys_folder_are_imported() {
    let dir = tempfile::tempdir().unwrap();
    let pem = Algorithm::ES256.generate_pem().unwrap();
    std::fs::write(dir.path().join("imported-key.pem"), pem).unwrap();
    let app = spawn_app().await;
    let store = &*app.state.store;
    let kek = app.state.keys.key_encryption();
    let imported = keys::import_dir(store, kek, dir.path(), Algorithm::RS256, app.state.now())
        .await
        .unwrap();
    assert_eq!(imported, vec!["imported-key".to_owned()]);
    // Importing again changes nothing.
    assert!(
        keys::import_dir(store, kek, dir.path(), Algorithm::RS256, app.state.now())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn nodes_racing_to_generate_the_next_key_leave_one() {
    let app = spawn_app().await;
    let store = &*app.state.store;
    let kek = app.state.keys.key_encryption();
    let now = app.state.now();
    let ttl = app.state.config.max_signed_token_ttl();
    // Take the next key away (retired and removable), as if it had just been promoted.
    let mut next = store
        .list_keys()
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.state == "next")
        .unwrap();
    next.state = "retired".into();
    next.retired_at = Some(now - 2);
    next.remove_after = Some(now - 1);
    store.update_key_states(&[next]).await.unwrap();

    // Four nodes see no next key at once; each generates one.
    let race = || keys::ensure_ready(store, kek, Algorithm::RS256, ttl, now);
    let (a, b, c, d) = tokio::join!(race(), race(), race(), race());
    for result in [a, b, c, d] {
        let records = result.expect("losing the race is not an error");
        assert_eq!(records.iter().filter(|k| k.state == "next").count(), 1);
    }
    let keys = store.list_keys().await.unwrap();
    assert_eq!(keys.iter().filter(|k| k.state == "next").count(), 1);
    assert_eq!(keys.iter().filter(|k| k.state == "active").count(), 1);
}

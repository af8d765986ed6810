//! Signing keys at rest (sealed under the key-encryption key), restarts after
//! rotations, and nodes that prepare keys at the same moment.

use std::net::SocketAddr;

use serde_json::Value;
use tessera::app::App;
use tessera::config::Config;
use tessera::keys::{self, kek, Algorithm, KeyEncryption, Reseal};
use tessera::store::{KeyRecord, KeyStore};

use crate::helpers::{fresh_database, new_kek, spawn_app, TestApp};

fn count(keys: &[KeyRecord], state: &str) -> usize {
    keys.iter().filter(|k| k.state == state).count()
}

fn find<'a>(keys: &'a [KeyRecord], kid: &str) -> &'a KeyRecord {
    keys.iter()
        .find(|k| k.kid == kid)
        .unwrap_or_else(|| panic!("no key {kid}"))
}

async fn jwks_kids(url: &str) -> Vec<String> {
    let jwks: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// Rotates with the app's own key-encryption key and configured lifetimes.
pub(crate) async fn rotate(app: &TestApp) -> String {
    let ttl = app.state.config.max_signed_token_ttl();
    let kek = app.state.keys.key_encryption();
    keys::rotate(
        &*app.state.store,
        kek,
        Algorithm::RS256,
        ttl,
        app.state.now(),
    )
    .await
    .unwrap()
}

/// Moves the clock past the removal of every key retired so far, and runs the
/// maintenance step that removes them.
async fn pass_the_purge(app: &TestApp) {
    let ttl = app.state.config.max_signed_token_ttl();
    app.clock.advance(ttl + 62);
    let kek = app.state.keys.key_encryption();
    keys::ensure_ready(
        &*app.state.store,
        kek,
        Algorithm::RS256,
        ttl,
        app.state.now(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn generated_keys_are_sealed_in_the_database_and_never_written_to_disk() {
    let app = spawn_app().await;
    rotate(&app).await;
    let stored = app.state.store.list_keys().await.unwrap();
    assert_eq!(stored.len(), 3);
    let current = app.state.keys.key_encryption().current_id();
    for key in &stored {
        assert!(!key.private_key.contains("PRIVATE KEY"), "{}", key.kid);
        assert_eq!(kek::sealed_by(&key.private_key), Some(current));
    }
    let files = std::fs::read_dir(&app.state.config.keys_dir).map_or(0, Iterator::count);
    assert_eq!(files, 0, "no key file is written");
}

#[tokio::test]
async fn a_node_starts_again_after_a_rotation_s_old_key_was_removed() {
    let app = spawn_app().await;
    let stored = app.state.store.list_keys().await.unwrap();
    let old = stored
        .iter()
        .find(|k| k.state == "active")
        .unwrap()
        .kid
        .clone();
    rotate(&app).await;
    pass_the_purge(&app).await;

    let node = app
        .start_node(|_| {})
        .await
        .expect("a restart after the purge succeeds");
    let stored = node.state.store.list_keys().await.unwrap();
    assert_eq!(find(&stored, &old).state, "removed");
    assert!(find(&stored, &old).private_key.is_empty(), "erased");
    assert_eq!(count(&stored, "active"), 1);
    assert_eq!(count(&stored, "next"), 1);
    let published = jwks_kids(&node.url("/jwks")).await;
    assert_eq!(published.len(), 2);
    assert!(!published.contains(&old));
}

#[tokio::test]
async fn an_operator_key_file_is_imported_once_even_after_its_key_was_removed() {
    let app = spawn_app().await;
    let dir = &app.state.config.keys_dir;
    std::fs::create_dir_all(dir).unwrap();
    let pem = Algorithm::RS256.generate_pem().unwrap();
    std::fs::write(dir.join("operator-key.pem"), pem).unwrap();

    // Imported at a restart as the next key, beside the next key that was waiting.
    app.start_node(|_| {})
        .await
        .expect("an import while a next key exists succeeds");
    let stored = app.state.store.list_keys().await.unwrap();
    assert_eq!(find(&stored, "operator-key").state, "next");
    assert_eq!(count(&stored, "next"), 1);
    assert_eq!(rotate(&app).await, "operator-key");

    rotate(&app).await;
    pass_the_purge(&app).await;
    let stored = app.state.store.list_keys().await.unwrap();
    assert_eq!(find(&stored, "operator-key").state, "removed");

    // The file is still there: the removed key does not come back.
    app.start_node(|_| {})
        .await
        .expect("a restart with a removed key's file succeeds");
    let stored = app.state.store.list_keys().await.unwrap();
    assert_eq!(find(&stored, "operator-key").state, "removed");
    assert_eq!(count(&stored, "active"), 1);
    assert_eq!(count(&stored, "next"), 1);
}

#[tokio::test]
async fn keys_stored_in_plain_pem_are_sealed_at_start() {
    let app = spawn_app().await;
    let now = app.state.now();
    let plain = KeyRecord {
        kid: "plain-key".into(),
        alg: "RS256".into(),
        state: "retired".into(),
        private_key: Algorithm::RS256.generate_pem().unwrap(),
        created_at: now,
        activated_at: Some(now),
        retired_at: Some(now),
        remove_after: Some(now + 3600),
    };
    app.state.store.insert_key(&plain).await.unwrap();

    let node = app.start_node(|_| {}).await.expect("a start seals it");
    let stored = node.state.store.list_keys().await.unwrap();
    let sealed = &find(&stored, "plain-key").private_key;
    assert!(!sealed.contains("PRIVATE KEY"));
    assert_eq!(
        kek::sealed_by(sealed),
        Some(node.state.keys.key_encryption().current_id())
    );
    assert!(jwks_kids(&node.url("/jwks"))
        .await
        .contains(&"plain-key".to_owned()));

    // Sealing is idempotent: the next start leaves sealed rows as they are.
    app.start_node(|_| {}).await.expect("a second start");
    let again = app.state.store.list_keys().await.unwrap();
    assert_eq!(&find(&again, "plain-key").private_key, sealed);
}

#[tokio::test]
async fn rewrap_reseals_every_key_under_the_new_key_encryption_key() {
    let app = spawn_app().await;
    let old = app.state.config.key_encryption_key_file.clone();
    let dir = tempfile::tempdir().unwrap();
    let new = new_kek(dir.path());

    let error = app
        .start_node(|c| c.key_encryption_key_file = new.clone())
        .await
        .err()
        .expect("a new key-encryption key alone opens nothing");
    assert!(format!("{error:#}").contains("not configured"), "{error:#}");

    let node = app
        .start_node(|c| {
            c.key_encryption_key_file = new.clone();
            c.previous_key_encryption_key_files = vec![old.clone()];
        })
        .await
        .expect("the previous key opens what it sealed");
    let kek = node.state.keys.key_encryption();
    let resealed = keys::reseal(&*node.state.store, kek, Reseal::NotCurrent)
        .await
        .unwrap();
    assert_eq!(resealed.len(), 2);
    for key in node.state.store.list_keys().await.unwrap() {
        assert_eq!(kek::sealed_by(&key.private_key), Some(kek.current_id()));
    }

    app.start_node(|c| c.key_encryption_key_file = new.clone())
        .await
        .expect("after the rewrap the new key alone suffices");
    assert!(
        app.start_node(|_| {}).await.is_err(),
        "the old key no longer opens anything"
    );
}

#[tokio::test]
async fn racing_preparations_of_an_empty_database_leave_one_active_and_one_next_key() {
    let dir = tempfile::tempdir().unwrap();
    let (database_url, _database) = fresh_database(dir.path()).await;
    let config = Config {
        database_url,
        database_max_connections: 5,
        ..Config::default()
    };
    let store = tessera::app::open_store(&config).await.unwrap();
    let kek = KeyEncryption::random();
    let now = tessera::domain::Clock::system().now();
    let race = || keys::ensure_ready(&store, &kek, Algorithm::RS256, 300, now);
    let (a, b, c, d) = tokio::join!(race(), race(), race(), race());
    let first = a.expect("losing the race is not an error");
    for result in [b, c, d] {
        let records = result.expect("losing the race is not an error");
        let kids = |r: &[KeyRecord]| r.iter().map(|k| k.kid.clone()).collect::<Vec<_>>();
        assert_eq!(
            kids(&records),
            kids(&first),
            "every racer adopts the winner's"
        );
    }
    let stored = store.list_keys().await.unwrap();
    assert_eq!(count(&stored, "active"), 1);
    assert_eq!(count(&stored, "next"), 1);
}

#[tokio::test]
async fn nodes_started_together_on_an_empty_database_end_with_one_active_key() {
    let dir = tempfile::tempdir().unwrap();
    let (database_url, _database) = fresh_database(dir.path()).await;
    let config = Config {
        issuer: String::new(),
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url,
        database_max_connections: 5,
        keys_dir: dir.path().join("keys"),
        key_encryption_key_file: new_kek(dir.path()),
        ..Config::default()
    };
    let build = || App::build(config.clone());
    let (a, b, c) = tokio::join!(build(), build(), build());
    let nodes: Vec<App> = [a, b, c]
        .into_iter()
        .map(|r| r.expect("every node starts"))
        .collect();
    let stored = nodes[0].state().store.list_keys().await.unwrap();
    assert_eq!(count(&stored, "active"), 1, "{stored:?}");
    assert_eq!(count(&stored, "next"), 1, "{stored:?}");
    let (jwks, _) = nodes[0].state().keys.jwks();
    for node in &nodes[1..] {
        assert_eq!(
            node.state().keys.jwks().0,
            jwks,
            "every node publishes the same keys"
        );
    }
}

#[tokio::test]
async fn the_migration_keeps_the_first_active_key_of_an_algorithm_and_retires_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _database) = fresh_database(dir.path()).await;
    let backend = if url.starts_with("sqlite") {
        "sqlite"
    } else {
        "postgres"
    };
    // The migrations before 0008, from a copy of the folder.
    let before = dir.path().join("before");
    std::fs::create_dir(&before).unwrap();
    let all = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    for entry in std::fs::read_dir(&all).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name.as_str() < "0008" {
            std::fs::copy(&path, before.join(name)).unwrap();
        }
    }
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    sqlx::migrate::Migrator::new(before.as_path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    // Three nodes raced on an empty database before: three active RS256 keys.
    for (kid, alg, activated) in [
        ("second", "RS256", 100),
        ("first", "RS256", 99),
        ("third", "RS256", 101),
        ("edwards", "EdDSA", 102),
    ] {
        sqlx::query(
            "INSERT INTO signing_key_t (kid, alg, state, private_pem, created_at, \
             activated_at) VALUES ($1, $2, 'active', 'pem', $3, $4)",
        )
        .bind(kid)
        .bind(alg)
        .bind(activated)
        .bind(activated)
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;

    let config = Config {
        database_url: url,
        ..Config::default()
    };
    let store = tessera::app::open_store(&config).await.unwrap();
    let stored = store.list_keys().await.unwrap();
    assert_eq!(find(&stored, "first").state, "active");
    assert_eq!(find(&stored, "edwards").state, "active");
    let now = tessera::domain::Clock::system().now();
    for kid in ["second", "third"] {
        let key = find(&stored, kid);
        assert_eq!(key.state, "retired");
        assert!(
            key.remove_after.unwrap() > now + 3600,
            "published for a day"
        );
    }
    assert_eq!(
        find(&stored, "first").private_key,
        "pem",
        "the column is renamed"
    );
}

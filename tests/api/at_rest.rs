//! What a copy of the database, or of the SQLite file, gives away: no live session, and
//! the file itself is its owner's alone.

use reqwest::StatusCode;

use crate::helpers::{spawn_app, spawn_app_with, EMAIL, PASSWORD};

#[tokio::test]
async fn a_copy_of_the_database_holds_no_session_cookie() {
    let app = spawn_app().await;
    let authorize = app.get_authorize(&app.authorize_params()).await;
    let login_page = app.follow(authorize).await;
    let signed_in = app.submit_login(login_page, EMAIL, PASSWORD).await;
    let cookie = signed_in
        .cookies()
        .find(|c| c.name() == app.state.config.session.cookie_name)
        .expect("the sign-in sets the session cookie")
        .value()
        .to_owned();
    assert!(cookie.len() >= 20);
    // What someone who copied the database reads.
    sqlx::any::install_default_drivers();
    let mut copy =
        <sqlx::AnyConnection as sqlx::Connection>::connect(&app.state.config.database_url)
            .await
            .unwrap();
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT session_id, data FROM session_t")
        .fetch_all(&mut copy)
        .await
        .unwrap();
    assert!(!rows.is_empty());
    // The cookie is the base64 of a 128-bit id; a row must hold it in no form.
    let id: tower_sessions::session::Id = cookie.parse().unwrap();
    let number = id.0.to_string();
    for (key, data) in rows {
        assert_ne!(key, cookie);
        assert!(
            !data.contains(&cookie) && !data.contains(&number),
            "a session row holds the cookie's id: {data}"
        );
    }
}

#[tokio::test]
async fn the_sqlite_database_and_its_journal_are_private_to_their_owner() {
    if std::env::var("TESSERA_TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()) {
        return; // SQLite's files
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("private.db");
    let url = format!("sqlite://{}?mode=rwc", db.display());
    let app = spawn_app_with(|c| c.database_url = url).await;
    app.tokens().await;
    assert_eq!(
        app.browser
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for suffix in ["", "-wal", "-shm"] {
            let path = format!("{}{suffix}", db.display());
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{path} is open to others: {mode:o}");
        }
    }
}

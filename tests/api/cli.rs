//! The `tessera` binary's subcommands, run as an operator would, against a fresh
//! database of the backend under test.

use std::io::Write;
use std::process::{Output, Stdio};

use tessera::config::Config;
use tessera::store::{ClientStore, HostStore, UserStore};

use crate::helpers::{spawn_app, spawn_app_with, Workspace};

/// The CLI tests run the binary in a [`Workspace`].
type Cli = Workspace;

impl Workspace {
    /// Runs a command that must succeed; returns its standard output.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.tessera(args).output().unwrap();
        assert!(
            out.status.success(),
            "tessera {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn fails(&self, args: &[&str]) -> Output {
        let out = self.tessera(args).output().unwrap();
        assert!(!out.status.success(), "tessera {args:?} should have failed");
        out
    }

    fn with_stdin(&self, args: &[&str], input: &str) -> String {
        let mut child = self
            .tessera(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "tessera {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    async fn store(&self) -> tessera::store::SqlStore {
        let config = Config {
            database_url: self.database_url.clone(),
            ..Config::default()
        };
        tessera::app::open_store(&config).await.unwrap()
    }
}

fn field<'a>(output: &'a str, name: &str) -> &'a str {
    output
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no {name} in {output}"))
}

#[tokio::test]
async fn every_subcommand_documents_its_flags() {
    let cli = Cli::new().await;
    let help = cli.ok(&["--help"]);
    for command in ["serve", "migrate", "host", "client", "user", "keys"] {
        assert!(help.contains(command), "{command} missing from --help");
    }
    for (args, flags) in [
        (vec!["serve", "--help"], vec!["--dev", "--config"]),
        (
            vec!["host", "add", "--help"],
            vec!["--domain", "--name", "--id"],
        ),
        (
            vec!["client", "add", "--help"],
            vec![
                "--redirect-uri",
                "--public",
                "--grant",
                "--scope",
                "--host",
                "--no-pkce",
                "--skip-consent",
            ],
        ),
        (vec!["client", "rotate-secret", "--help"], vec!["CLIENT_ID"]),
        (
            vec!["user", "add", "--help"],
            vec!["--email", "--host", "--password-stdin", "--user-type"],
        ),
        (
            vec!["user", "set-password", "--help"],
            vec!["--password-stdin"],
        ),
        (vec!["keys", "rotate", "--help"], vec!["retire"]),
    ] {
        let text = cli.ok(&args);
        for flag in flags {
            assert!(text.contains(flag), "{args:?} --help lacks {flag}: {text}");
        }
    }
}

#[tokio::test]
async fn an_operator_sets_up_a_host_a_client_and_a_user() {
    let cli = Cli::new().await;
    assert!(cli.ok(&["migrate"]).contains("up to date"));
    let created = cli.ok(&["host", "add", "--domain", "acme.example", "--name", "Acme"]);
    assert!(created.starts_with("Created host"));
    assert!(cli.ok(&["host", "list"]).contains("acme.example"));

    let out = cli.ok(&[
        "client",
        "add",
        "--name",
        "Portal",
        "--redirect-uri",
        "https://portal.acme.example/cb",
        "--host",
        "acme.example",
        "--grant",
        "authorization_code",
        "--grant",
        "client_credentials",
        "--skip-consent",
    ]);
    let client_id = field(&out, "client_id").to_owned();
    let secret = field(&out, "client_secret").to_owned();
    assert!(secret.len() >= 43, "a high-entropy secret");
    let clients = cli.ok(&["client", "list"]);
    let row = clients
        .lines()
        .find(|l| l.starts_with(&client_id))
        .unwrap_or_else(|| panic!("{clients}"));
    let header = clients.lines().next().unwrap_or_default();
    assert!(
        header.contains(" HOST ") && header.contains(" FIRST_PARTY "),
        "{header}"
    );
    assert!(
        row.contains("acme.example") && row.contains(" yes "),
        "the host and first-party: {row}"
    );

    let store = cli.store().await;
    let client = store.find_client(&client_id).await.unwrap().unwrap();
    assert!(
        client.secret_hash.as_ref().unwrap().matches(&secret),
        "the printed secret is the stored one"
    );
    assert!(
        client.skip_consent,
        "--skip-consent makes a first-party client"
    );
    assert!(
        !format!("{:?}", client.secret_hash).contains(&secret),
        "only a hash is stored"
    );

    let rotated = cli.ok(&["client", "rotate-secret", &client_id]);
    let new_secret = field(&rotated, "client_secret");
    let client = store.find_client(&client_id).await.unwrap().unwrap();
    assert!(client.secret_hash.as_ref().unwrap().matches(new_secret));
    assert!(
        !client.secret_hash.as_ref().unwrap().matches(&secret),
        "the old secret no longer works"
    );

    let out = cli.with_stdin(
        &[
            "user",
            "add",
            "--email",
            "bob@acme.example",
            "--host",
            "acme.example",
            "--password-stdin",
        ],
        "s3cret pass\n",
    );
    let user_id = field(&out, "user_id").to_owned();
    assert!(
        !out.contains("password:"),
        "a password given on stdin is not echoed"
    );
    let users = cli.ok(&["user", "list", "--host", "acme.example"]);
    let row = users
        .lines()
        .find(|l| l.contains("bob@acme.example"))
        .unwrap_or_else(|| panic!("{users}"));
    assert!(row.ends_with("unverified"), "each user's state: {row}");
    let found = store
        .find_user_by_login("BOB@acme.example")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.user.user_id, user_id);
    assert!(found.password_hash.unwrap().starts_with("$argon2id$"));

    let out = cli.ok(&["user", "set-password", "bob@acme.example"]);
    assert!(
        field(&out, "password").len() >= 43,
        "a generated password is printed"
    );
    let host = store.find_host("acme.example").await.unwrap().unwrap();
    assert_eq!(
        store
            .user_hosts(&user_id)
            .await
            .unwrap()
            .into_iter()
            .map(|h| h.host_id)
            .collect::<Vec<_>>(),
        vec![host.host_id]
    );
}

#[tokio::test]
async fn bad_input_is_refused_with_a_clear_message_and_changes_nothing() {
    let cli = Cli::new().await;
    cli.ok(&["host", "add", "--domain", "acme.example", "--name", "Acme"]);
    let out = cli.fails(&["host", "add", "--domain", "acme.example", "--name", "Again"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    let out = cli.fails(&[
        "client",
        "add",
        "--name",
        "X",
        "--redirect-uri",
        "not a url",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a url"));
    let out = cli.fails(&[
        "user",
        "add",
        "--email",
        "e@acme.example",
        "--host",
        "nowhere.example",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no host"));
    let out = cli.fails(&[
        "user",
        "add",
        "--email",
        "e@acme.example",
        "--host",
        "acme.example",
        "--user-type",
        "P",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("user type"));
    let store = cli.store().await;
    assert_eq!(store.list_hosts().await.unwrap().len(), 1);
    assert!(store.list_clients().await.unwrap().is_empty());
    assert!(store.list_users(None).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_misspelt_variable_is_refused_with_the_closest_setting_named() {
    let cli = Cli::new().await;
    let out = cli
        .tessera(&["migrate"])
        .env("TESSERA_TOKENS__ACCES_TOKEN_TTL", "600")
        .output()
        .unwrap();
    assert!(!out.status.success(), "an error, as README.md says");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "error: environment variable TESSERA_TOKENS__ACCES_TOKEN_TTL matches no Tessera \
             setting; did you mean TESSERA_TOKENS__ACCESS_TOKEN_TTL?"
        ),
        "{stderr}"
    );
}

#[tokio::test]
async fn keys_are_listed_generated_and_rotated() {
    let cli = Cli::new().await;
    cli.ok(&["keys", "generate"]);
    let list = cli.ok(&["keys", "list"]);
    assert!(list.contains("active") && list.contains("next"), "{list}");
    let active = list.lines().find(|l| l.contains("active")).unwrap();
    assert!(
        active
            .split_whitespace()
            .any(|cell| cell.len() == 9 && cell.ends_with('Z') && cell.as_bytes()[2] == b':'),
        "a time of day, not epoch seconds: {active}"
    );
    assert!(
        !active
            .split_whitespace()
            .any(|cell| cell.len() >= 10 && cell.bytes().all(|b| b.is_ascii_digit())),
        "no epoch seconds: {active}"
    );
    assert!(
        !cli.dir.path().join("keys").exists(),
        "generated keys live in the database only"
    );
    cli.ok(&["keys", "rotate"]);
    let list = cli.ok(&["keys", "list"]);
    assert!(list.contains("retired"), "{list}");
}

#[tokio::test]
async fn keys_rewrap_moves_every_key_to_the_new_key_encryption_key() {
    let cli = Cli::new().await;
    cli.ok(&["keys", "generate"]);
    let old = crate::helpers::new_kek(cli.dir.path());
    let new = cli.dir.path().join("new.kek");
    cli.ok(&["keys", "new-kek", new.to_str().unwrap()]);
    let new_id = tessera::keys::KeyEncryption::from_files(&new, &[])
        .unwrap()
        .current_id()
        .to_owned();
    let rewrap = |args: &[&str]| {
        cli.tessera(args)
            .env("TESSERA_KEY_ENCRYPTION_KEY_FILE", &new)
            .env(
                "TESSERA_PREVIOUS_KEY_ENCRYPTION_KEY_FILES",
                format!("[{:?}]", old.display().to_string()),
            )
            .output()
            .unwrap()
    };
    let out = rewrap(&["keys", "rewrap"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Resealed 2 key(s)"));
    let list = cli.ok(&["keys", "list"]);
    assert_eq!(list.matches(&new_id).count(), 2, "{list}");
    // An existing key-encryption key is never overwritten.
    cli.fails(&["keys", "new-kek", new.to_str().unwrap()]);
}

#[tokio::test]
async fn a_missing_key_encryption_key_is_a_clear_error_outside_development_mode() {
    let cli = Cli::new().await;
    let out = cli
        .tessera(&["keys", "generate"])
        .env("TESSERA_KEY_ENCRYPTION_KEY_FILE", "")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("TESSERA_KEY_ENCRYPTION_KEY_FILE"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_restart_in_development_mode_keeps_the_demo_data_as_it_is() {
    let dev = spawn_app_with(|c| c.dev = true).await;
    let store = dev.sql_store().await;
    let password_hash = |store: tessera::store::SqlStore| async move {
        store
            .find_user_by_login(tessera::demo::DEMO_EMPLOYEE)
            .await
            .unwrap()
            .unwrap()
            .password_hash
    };
    let before = password_hash(store.clone()).await;
    let users = store.list_users(None).await.unwrap().len();
    let clients = store.list_clients().await.unwrap().len();
    let _restarted = dev.start_node(|c| c.dev = true).await.unwrap();
    assert_eq!(store.list_users(None).await.unwrap().len(), users);
    assert_eq!(store.list_clients().await.unwrap().len(), clients);
    assert_eq!(
        password_hash(store.clone()).await,
        before,
        "the passwords printed at the first start stay valid"
    );
}

#[tokio::test]
async fn development_mode_creates_demo_data_and_production_never_does() {
    let dev = spawn_app_with(|c| c.dev = true).await;
    let demo = dev
        .state
        .store
        .find_client(tessera::demo::DEMO_CLIENT_ID)
        .await
        .unwrap()
        .expect("demo client");
    assert!(demo.secret_hash.is_some());
    assert!(
        demo.allowed_scopes.contains("tessera:api"),
        "the demo client can call the management API"
    );
    assert!(dev
        .state
        .store
        .find_user_by_login(tessera::demo::DEMO_CUSTOMER)
        .await
        .unwrap()
        .is_some());
    assert!(dev
        .state
        .store
        .find_user_by_login(tessera::demo::DEMO_EMPLOYEE)
        .await
        .unwrap()
        .is_some());
    let production = spawn_app().await;
    assert!(production
        .state
        .store
        .find_client(tessera::demo::DEMO_CLIENT_ID)
        .await
        .unwrap()
        .is_none());
    assert!(production
        .state
        .store
        .find_user_by_login(tessera::demo::DEMO_CUSTOMER)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn import_loads_yaml_and_json_idempotently_and_reports_errors_by_line() {
    let cli = Cli::new().await;
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/seed-example.yaml");
    let first = cli.ok(&["import", fixture]);
    assert!(!first.contains(": 0 rows"), "{first}");
    let second = cli.ok(&["import", fixture]);
    assert!(second.contains(": 0 rows added or changed"), "{second}");

    let json = cli.dir.path().join("more.json");
    std::fs::write(
        &json,
        r#"{"hosts": [{"host_id": "j1", "domain": "json.example", "name": "Json", "roles": [{"name": "reader"}]}],
            "users": [{"email": "j@json.example", "user_type": "C", "hosts": [{"host": "j1", "roles": ["reader"]}]}]}"#,
    )
    .unwrap();
    cli.ok(&["import", json.to_str().unwrap()]);
    let store = cli.store().await;
    let user = store
        .find_user_by_login("j@json.example")
        .await
        .unwrap()
        .unwrap()
        .user;
    let profile =
        tessera::store::ProfileStore::load_profile(&store, &user.user_id, "j1", "2026-01-01")
            .await
            .unwrap();
    assert_eq!(profile.roles, vec!["reader"]);

    let broken = cli.dir.path().join("broken.yaml");
    std::fs::write(
        &broken,
        "hosts:\n  - host_id: b\n    domain: [not, a, string]\n    name: B\n",
    )
    .unwrap();
    let out = cli.fails(&["import", broken.to_str().unwrap()]);
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(
        message.contains("broken.yaml")
            && message.contains("line 3")
            && message.contains("hosts[0].domain"),
        "{message}"
    );
    assert!(store.find_host("b").await.unwrap().is_none());
}

#[tokio::test]
async fn set_system_admin_gives_and_takes_the_right() {
    let cli = Cli::new().await;
    cli.ok(&["migrate"]);
    cli.ok(&["host", "add", "--domain", "acme.example", "--name", "Acme"]);
    cli.ok(&[
        "user",
        "add",
        "--email",
        "root@acme.example",
        "--host",
        "acme.example",
    ]);
    let store = cli.store().await;
    let host = store.find_host("acme.example").await.unwrap().unwrap();
    let user = store
        .find_user_by_login("root@acme.example")
        .await
        .unwrap()
        .unwrap()
        .user;
    let standing = || async {
        tessera::store::MemberStore::standing(&store, &user.user_id, &host.host_id, "2025-01-01")
            .await
            .unwrap()
            .unwrap()
            .system_admin
    };
    assert!(!standing().await);
    let out = cli.ok(&["user", "set-system-admin", "root@acme.example"]);
    assert!(out.contains("is a system admin"), "{out}");
    assert!(standing().await);
    cli.ok(&["user", "set-system-admin", &user.user_id, "--off"]);
    assert!(!standing().await);
    let failed = cli.fails(&["user", "set-system-admin", "nobody@acme.example"]);
    assert!(String::from_utf8_lossy(&failed.stderr).contains("no user"));
}

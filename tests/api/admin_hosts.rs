//! `/api/v1/hosts`: a system admin creates and changes hosts (domain, name, user-type
//! model, default role, feature flags, the directory kept in the database with its
//! password by reference); nobody else may; bad input names its field and writes
//! nothing; a directory changed through the API serves the next sign-in without a
//! restart.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::admin_api::{json, two_hosts};
use crate::directory::{env, LDAP_HOST};
use crate::helpers::{spawn_app_with, Api, TestApp};

async fn audit_of(api: &Api<'_>, query: &str) -> Vec<Value> {
    let page = json(
        api.get(&format!("/api/v1/audit?host=*&{query}")).await,
        StatusCode::OK,
    )
    .await;
    page["entries"].as_array().unwrap().clone()
}

/// The two hosts of `admin_api`, and a folder `file:` password references may use.
async fn app(folder: &std::path::Path) -> TestApp {
    let folder = folder.to_path_buf();
    let app = spawn_app_with(move |c| c.directory_password_files = Some(folder)).await;
    app.import(&two_hosts()).await.unwrap();
    app
}

fn ldap_directory(user_base: &str, password_file: &std::path::Path) -> Value {
    let env = env().map(|e| (e.ldap_url, e.ldap_bind_dn, e.ldap_base));
    let (url, bind_dn, base) = env.unwrap_or_else(|| {
        (
            "ldap://127.0.0.1:3389".to_owned(),
            "cn=svc,dc=example,dc=org".to_owned(),
            "dc=example,dc=org".to_owned(),
        )
    });
    json!({
        "kind": "ldap",
        "urls": [url],
        "allow_plain": true,
        "bind_dn": bind_dn,
        "bind_password": format!("file:{}", password_file.display()),
        "user_base": format!("{user_base},{base}"),
        "group_base": format!("ou=groups,{base}"),
        "attributes": {"employee_id": "employeeNumber", "display_name": "cn"},
        "group_map": [{"group": "Tessera Admins", "roles": ["admin"]}],
        "connect_timeout": 2,
    })
}

fn password_file(folder: &std::path::Path) -> std::path::PathBuf {
    let path = folder.join("ldap-bind");
    let password = std::env::var("TESSERA_TEST_LDAP_BIND_PASSWORD")
        .unwrap_or_else(|_| "not-the-password".to_owned());
    std::fs::write(&path, format!("{password}\n")).unwrap();
    path
}

#[tokio::test]
async fn a_system_admin_creates_and_changes_a_host_and_the_trail_records_both() {
    let folder = tempfile::tempdir().unwrap();
    let app = app(folder.path()).await;
    let root = app.api_as("root@acme.example", "acme").await;
    let made = json(
        root.post(
            "/api/v1/hosts",
            &json!({"id": "globex", "domain": "Globex.Example", "name": "Globex",
                    "feature_flags": {"beta": true}}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(made["id"], "globex");
    assert_eq!(made["domain"], "globex.example");
    assert_eq!(made["user_type_model"], "EC");
    assert_eq!(made["feature_flags"], json!({"beta": true}));
    assert!(made["directory"].is_null());

    let changed = json(
        root.patch(
            "/api/v1/hosts/globex",
            &json!({"name": "Globex Corp", "user_type_model": "EPB",
                    "feature_flags": {"beta": false, "new_ui": true}}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(changed["name"], "Globex Corp");
    assert_eq!(changed["user_type_model"], "EPB");
    assert_eq!(changed["domain"], "globex.example");
    let read = json(root.get("/api/v1/hosts/globex").await, StatusCode::OK).await;
    assert_eq!(read, changed);
    let listed = json(root.get("/api/v1/hosts").await, StatusCode::OK).await;
    let ids: Vec<&str> = listed["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"globex") && ids.contains(&"acme") && ids.contains(&"other"));

    let created = audit_of(&root, "action=host.created&target=globex").await;
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(created[0]["after"]["domain"], "globex.example");
    let updated = audit_of(&root, "action=host.updated&target=globex").await;
    assert_eq!(updated.len(), 1, "{updated:?}");
    assert_eq!(updated[0]["before"]["name"], "Globex");
    assert_eq!(updated[0]["after"]["name"], "Globex Corp");
    assert_eq!(updated[0]["via"], "api");
}

#[tokio::test]
async fn feature_flags_set_on_a_host_show_at_me() {
    let folder = tempfile::tempdir().unwrap();
    let app = app(folder.path()).await;
    let root = app.api_as("root@acme.example", "acme").await;
    json(
        root.patch(
            "/api/v1/hosts/acme",
            &json!({"feature_flags": {"beta": true, "dark_mode": false},
                    "default_role": "manager"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let user = app.api_as("user@acme.example", "acme").await;
    let me = json(user.me().await, StatusCode::OK).await;
    assert_eq!(
        me["host"]["feature_flags"],
        json!({"beta": true, "dark_mode": false})
    );
}

#[tokio::test]
async fn only_a_system_admin_manages_hosts() {
    let folder = tempfile::tempdir().unwrap();
    let app = app(folder.path()).await;
    for login in [
        "admin@acme.example",
        "manager@acme.example",
        "user@acme.example",
    ] {
        let api = app.api_as(login, "acme").await;
        for response in [
            api.get("/api/v1/hosts").await,
            api.get("/api/v1/hosts/acme").await,
            api.patch("/api/v1/hosts/acme", &json!({"name": "Mine"}))
                .await,
            api.post(
                "/api/v1/hosts",
                &json!({"domain": "x.example", "name": "X"}),
            )
            .await,
        ] {
            let body = json(response, StatusCode::FORBIDDEN).await;
            assert_eq!(body["right"], "system_admin", "{login}: {body}");
        }
        // Another host is not even there for them.
        assert_eq!(
            api.get("/api/v1/hosts/other").await.status(),
            StatusCode::NOT_FOUND
        );
    }
    let root = app.api_as("root@acme.example", "acme").await;
    let acme = json(root.get("/api/v1/hosts/acme").await, StatusCode::OK).await;
    assert_eq!(acme["name"], "Acme");
    assert_eq!(
        root.get("/api/v1/hosts/nowhere").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn bad_host_input_names_its_field_and_writes_nothing() {
    let folder = tempfile::tempdir().unwrap();
    let app = app(folder.path()).await;
    let root = app.api_as("root@acme.example", "acme").await;
    let count = |v: Value| v["hosts"].as_array().unwrap().len();
    let before = count(json(root.get("/api/v1/hosts").await, StatusCode::OK).await);
    let cases = [
        (
            json!({"domain": "other.example", "name": "Dup"}),
            StatusCode::CONFLICT,
            None,
        ),
        (
            json!({"id": "a/b", "domain": "n.example", "name": "N"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("id"),
        ),
        (
            json!({"domain": "n.example", "name": "x".repeat(201)}),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("name"),
        ),
        (
            json!({"domain": "n.example", "name": "N", "user_type_model": "XYZ"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("user_type_model"),
        ),
        (
            json!({"domain": "n.example", "name": "N", "feature_flags": {"beta": "yes"}}),
            StatusCode::BAD_REQUEST,
            Some("feature_flags.beta"),
        ),
        (
            json!({"domain": "n.example", "name": "N",
                   "directory": ldap_directory("ou=people", std::path::Path::new("/etc/shadow"))}),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("directory.bind_password"),
        ),
    ];
    for (body, status, field) in cases {
        let answer = json(root.post("/api/v1/hosts", &body).await, status).await;
        if let Some(field) = field {
            assert_eq!(answer["field"], field, "{body}: {answer}");
        }
    }
    let mut directory = ldap_directory("ou=people", &password_file(folder.path()));
    directory["bind_password"] = json!("env:TESSERA_DATABASE_URL");
    let refused = json(
        root.patch("/api/v1/hosts/acme", &json!({"directory": directory}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(refused["field"], "directory.bind_password");
    // acme has customers (C): they would not fit EPB.
    json(
        root.patch("/api/v1/hosts/acme", &json!({"user_type_model": "EPB"}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    json(
        root.patch("/api/v1/hosts/acme", &json!({"default_role": "nobody"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let hosts = json(root.get("/api/v1/hosts").await, StatusCode::OK).await;
    assert_eq!(count(hosts), before);
    assert!(audit_of(&root, "action=host.updated").await.is_empty());
    let acme = json(root.get("/api/v1/hosts/acme").await, StatusCode::OK).await;
    assert_eq!(acme["user_type_model"], "EC");
    assert!(acme["directory"].is_null());
}

#[tokio::test]
async fn a_directory_password_is_kept_and_shown_by_reference_only() {
    let folder = tempfile::tempdir().unwrap();
    let app = app(folder.path()).await;
    let file = folder.path().join("secret");
    std::fs::write(&file, "S3cret-Bind-Password\n").unwrap();
    let root = app.api_as("root@acme.example", "acme").await;
    let shown = json(
        root.patch(
            "/api/v1/hosts/other",
            &json!({"directory": ldap_directory("ou=people", &file)}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let reference = format!("file:{}", file.display());
    assert_eq!(shown["directory"]["bind_password"], reference.as_str());
    assert!(shown["directory"].get("bind_password_file").is_none());
    let entries = audit_of(&root, "action=host.updated&target=other").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(
        entries[0]["after"]["directory"]["bind_password_file"],
        file.display().to_string()
    );
    for text in [shown.to_string(), format!("{entries:?}")] {
        assert!(!text.contains("S3cret-Bind-Password"), "{text}");
    }
    // Removing it.
    let removed = json(
        root.patch("/api/v1/hosts/other", &json!({"directory": null}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert!(removed["directory"].is_null());
}

#[tokio::test]
async fn a_directory_changed_through_the_api_serves_the_next_sign_in_without_a_restart() {
    let Some(env) = env() else { return };
    let folder = tempfile::tempdir().unwrap();
    let app = app(folder.path()).await;
    let file = password_file(folder.path());
    let root = app.api_as("root@acme.example", "acme").await;
    // Users searched where there are none: alice is unknown.
    json(
        root.post(
            "/api/v1/hosts",
            &json!({"id": "example", "domain": LDAP_HOST, "name": "Example",
                    "directory": ldap_directory("ou=groups", &file)}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let (client_id, secret) = app.client_for_host(Some("example"), false).await;
    let refused = app.login_attempt(&client_id, "alice", &env.password).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);

    json(
        root.patch(
            "/api/v1/hosts/example",
            &json!({"directory": ldap_directory("ou=people", &file)}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let tokens = app
        .tokens_as(&client_id, &secret, "alice", &env.password)
        .await;
    let claims = app
        .state
        .issuer
        .verify_access_token(tokens["access_token"].as_str().unwrap(), app.state.now())
        .unwrap();
    assert_eq!(claims["uid"], "E1001");
    assert_eq!(claims["host"], "example");
    assert_eq!(claims["role"], "admin");
}

#[tokio::test]
async fn the_host_list_pages_by_cursor() {
    let folder = tempfile::tempdir().unwrap();
    let app = app(folder.path()).await;
    let root = app.api_as("root@acme.example", "acme").await;
    let all = json(root.get("/api/v1/hosts").await, StatusCode::OK).await;
    let before = all["hosts"].as_array().unwrap().len();
    for i in 0..3 {
        json(
            root.post(
                "/api/v1/hosts",
                &json!({"domain": format!("h{i}.example"), "name": format!("H{i}")}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
    }
    let mut domains = Vec::new();
    let mut query = "limit=2".to_owned();
    loop {
        let page = json(
            root.get(&format!("/api/v1/hosts?{query}")).await,
            StatusCode::OK,
        )
        .await;
        let hosts = page["hosts"].as_array().unwrap();
        assert!(hosts.len() <= 2);
        domains.extend(
            hosts
                .iter()
                .map(|h| h["domain"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => query = format!("limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(domains.len(), before + 3, "{domains:?}");
    let mut sorted = domains.clone();
    sorted.sort();
    assert_eq!(sorted, domains);
}

#[tokio::test]
async fn the_cli_adds_lists_and_changes_hosts_with_json_in_the_apis_shape() {
    use crate::admin_clients::tessera_ok;
    let ws = crate::helpers::Workspace::new().await;
    let added: Value = serde_json::from_str(&tessera_ok(
        &ws,
        &[
            "host",
            "add",
            "--id",
            "acme",
            "--domain",
            "acme.example",
            "--name",
            "Acme",
            "--user-type-model",
            "EPB",
            "--json",
        ],
        None,
    ))
    .unwrap();
    assert_eq!(added["id"], "acme");
    assert_eq!(added["user_type_model"], "EPB");
    assert_eq!(added["feature_flags"], json!({}));
    let updated: Value = serde_json::from_str(&tessera_ok(
        &ws,
        &[
            "host",
            "update",
            "acme.example",
            "--name",
            "Acme Inc",
            "--flag",
            "beta=true",
            "--json",
        ],
        None,
    ))
    .unwrap();
    assert_eq!(updated["name"], "Acme Inc");
    assert_eq!(updated["feature_flags"], json!({"beta": true}));
    let listed: Value =
        serde_json::from_str(&tessera_ok(&ws, &["host", "list", "--json"], None)).unwrap();
    let hosts = listed["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 1, "{listed}");
    assert_eq!(hosts[0]["domain"], "acme.example");
    assert_eq!(hosts[0]["feature_flags"]["beta"], true);
    assert!(hosts[0]["directory"].is_null());
}

#[tokio::test]
async fn the_api_leaves_a_directory_of_the_configuration_file_alone() {
    let Some(env) = env() else { return };
    let settings = crate::directory::openldap(&env, vec![env.ldaps_url.clone()]);
    let app = spawn_app_with(move |c| c.directories = vec![settings]).await;
    app.import(&two_hosts()).await.unwrap();
    let root = app.api_as("root@acme.example", "acme").await;
    let host = json(root.get("/api/v1/hosts/example").await, StatusCode::OK).await;
    assert_eq!(host["directory_in_configuration"], true);
    let folder = tempfile::tempdir().unwrap();
    let refused = json(
        root.patch(
            "/api/v1/hosts/example",
            &json!({"directory": ldap_directory("ou=people", &password_file(folder.path()))}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("configuration file"),
        "{refused}"
    );
}

//! Employees signing in with their directory, against real servers: Samba as an Active
//! Directory domain controller (simple binds need TLS there) and OpenLDAP, both started
//! and seeded by `scripts/directory.sh` (see `docs/directory-testing.md` for the data).
//!
//! The servers are named by `TESSERA_TEST_AD_*`/`TESSERA_TEST_LDAP_*` variables. Without
//! them these tests say so and pass, unless `TESSERA_TEST_REQUIRE_DIRECTORIES` is set —
//! as `scripts/test.sh` does, so the suite the README names never skips them.

use std::path::PathBuf;

use reqwest::StatusCode;
use serde_json::Value;
use tessera::authn::directory::{
    AttributeNames, Directory, DirectoryError, DirectoryKind, DirectorySettings, GroupMapping,
    Refusal,
};
use tessera::config::Config;
use tessera::store::{ProfileStore, UserStore};

use crate::helpers::{location, spawn_app_with, TestApp};

pub(crate) struct Env {
    pub(crate) ad_url: String,
    pub(crate) ad_starttls_url: String,
    pub(crate) ad_base: String,
    pub(crate) ad_bind_dn: String,
    pub(crate) ldap_url: String,
    pub(crate) ldaps_url: String,
    pub(crate) ldap_base: String,
    pub(crate) ldap_bind_dn: String,
    pub(crate) ca: PathBuf,
    pub(crate) password: String,
}

pub(crate) fn env() -> Option<Env> {
    let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let found = (|| {
        Some(Env {
            ad_url: get("TESSERA_TEST_AD_URL")?,
            ad_starttls_url: get("TESSERA_TEST_AD_STARTTLS_URL")?,
            ad_base: get("TESSERA_TEST_AD_BASE")?,
            ad_bind_dn: get("TESSERA_TEST_AD_BIND_DN")?,
            ldap_url: get("TESSERA_TEST_LDAP_URL")?,
            ldaps_url: get("TESSERA_TEST_LDAPS_URL")?,
            ldap_base: get("TESSERA_TEST_LDAP_BASE")?,
            ldap_bind_dn: get("TESSERA_TEST_LDAP_BIND_DN")?,
            ca: PathBuf::from(get("TESSERA_TEST_DIRECTORY_CA")?),
            password: get("TESSERA_TEST_USER_PASSWORD")?,
        })
    })();
    if found.is_none() {
        assert!(
            std::env::var_os("TESSERA_TEST_REQUIRE_DIRECTORIES").is_none(),
            "directory servers are required: run scripts/directory.sh start (scripts/test.sh does)"
        );
        eprintln!("no directory servers configured (TESSERA_TEST_AD_URL…): directory test not run");
    }
    found
}

pub(crate) const AD_HOST: &str = "corp.example.com";
pub(crate) const LDAP_HOST: &str = "example.org";

pub(crate) fn ad(env: &Env, urls: Vec<String>) -> DirectorySettings {
    DirectorySettings {
        host: AD_HOST.into(),
        kind: DirectoryKind::ActiveDirectory,
        urls,
        starttls: false,
        ca_file: Some(env.ca.clone()),
        allow_plain: false,
        bind_dn: env.ad_bind_dn.clone(),
        bind_password_env: Some("TESSERA_TEST_AD_BIND_PASSWORD".into()),
        bind_password_file: None,
        user_base: env.ad_base.clone(),
        user_filter: None,
        group_base: None,
        connect_timeout: 2,
        operation_timeout: 10,
        pool_size: 2,
        attributes: AttributeNames::default(),
        group_map: vec![
            // By name: matches through two levels of nesting for alice.
            GroupMapping {
                group: "tessera admins".into(),
                roles: vec!["admin".into()],
                groups: vec![],
            },
            // By DN, spelt differently from the server (case, spaces).
            GroupMapping {
                group: format!("cn=backend, {}", env.ad_base.to_lowercase()),
                roles: vec![],
                groups: vec!["backend".into()],
            },
        ],
        employees_may_use_local_passwords: false,
        customers_may_use_directory: false,
    }
}

pub(crate) fn openldap(env: &Env, urls: Vec<String>) -> DirectorySettings {
    DirectorySettings {
        host: LDAP_HOST.into(),
        kind: DirectoryKind::Ldap,
        bind_dn: env.ldap_bind_dn.clone(),
        bind_password_env: Some("TESSERA_TEST_LDAP_BIND_PASSWORD".into()),
        user_base: format!("ou=people,{}", env.ldap_base),
        group_base: Some(format!("ou=groups,{}", env.ldap_base)),
        attributes: AttributeNames {
            employee_id: "employeeNumber".into(),
            display_name: "cn".into(),
            ..AttributeNames::default()
        },
        group_map: vec![
            GroupMapping {
                group: "Tessera Admins".into(),
                roles: vec!["admin".into()],
                groups: vec![],
            },
            GroupMapping {
                group: "Backend".into(),
                roles: vec![],
                groups: vec!["backend".into()],
            },
        ],
        ..ad(env, urls)
    }
}

async fn app_with(settings: Vec<DirectorySettings>) -> TestApp {
    spawn_app_with(move |c: &mut Config| c.directories = settings).await
}

fn host_id(domain: &str) -> &str {
    domain.split('.').next().unwrap_or_default()
}

async fn tokens(app: &TestApp, domain: &str, login: &str, password: &str) -> Value {
    let (client_id, secret) = app.client_for_host(Some(host_id(domain)), true).await;
    app.tokens_as(&client_id, &secret, login, password).await
}

fn access_claims(app: &TestApp, tokens: &Value) -> Value {
    Value::Object(
        app.state
            .issuer
            .verify_access_token(tokens["access_token"].as_str().unwrap(), app.state.now())
            .unwrap(),
    )
}

/// The status and the alert of a failed sign-in.
async fn refused(app: &TestApp, domain: &str, login: &str, password: &str) -> (StatusCode, String) {
    let (client_id, _) = app.client_for_host(Some(host_id(domain)), false).await;
    let response = app.login_attempt(&client_id, login, password).await;
    let status = response.status();
    let html = response.text().await.unwrap();
    let alert = html
        .split("role=\"alert\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_else(|| panic!("no alert in {html}"))
        .to_owned();
    (status, alert)
}

#[tokio::test]
async fn an_ad_employee_signs_in_and_the_tokens_carry_the_directory_profile() {
    let Some(env) = env() else { return };
    let app = app_with(vec![ad(&env, vec![env.ad_url.clone()])]).await;
    let t = tokens(&app, AD_HOST, "alice", &env.password).await;
    let claims = access_claims(&app, &t);
    assert_eq!(claims["uid"], "E1001");
    assert_eq!(claims["uty"], "E");
    assert_eq!(claims["host"], "corp");
    assert_eq!(
        claims["role"], "admin",
        "nested: alice ∈ Platform Team ∈ Tessera Admins"
    );
    assert_eq!(claims["grp"], "backend");
    let userinfo: Value = app
        .browser
        .get(app.url("/userinfo"))
        .bearer_auth(t["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(userinfo["email"], "alice@corp.example.com");
    assert_eq!(userinfo["given_name"], "Alice");
    // Provisioned with her manager, who was provisioned too.
    let store = app.sql_store().await;
    let user = store
        .find_user_by_login("alice@corp.example.com")
        .await
        .unwrap()
        .unwrap()
        .user;
    assert_eq!(user.user_type.as_deref(), Some("E"));
    assert!(
        store
            .find_user_by_login("bob@corp.example.com")
            .await
            .unwrap()
            .is_some(),
        "the manager is provisioned"
    );
    // The UPN and DOMAIN\name spellings name the same employee.
    for login in ["alice@corp.example.com", "CORP\\alice"] {
        let again = tokens(&app, AD_HOST, login, &env.password).await;
        assert_eq!(access_claims(&app, &again)["uid"], "E1001", "{login}");
    }
}

#[tokio::test]
async fn starttls_and_a_dn_with_an_escaped_comma_work() {
    let Some(env) = env() else { return };
    let mut settings = ad(&env, vec![env.ad_starttls_url.clone()]);
    settings.starttls = true;
    let app = app_with(vec![settings]).await;
    let t = tokens(&app, AD_HOST, "jsmith", &env.password).await;
    let claims = access_claims(&app, &t);
    assert_eq!(claims["uid"], "E1002");
    assert_eq!(
        claims["grp"], "backend",
        "the Backend group lists CN=Smith\\, John"
    );
    assert!(claims.get("role").is_none());
}

#[tokio::test]
async fn utf8_names_come_through() {
    let Some(env) = env() else { return };
    let app = app_with(vec![ad(&env, vec![env.ad_url.clone()])]).await;
    let t = tokens(&app, AD_HOST, "zoe", &env.password).await;
    let userinfo: Value = app
        .browser
        .get(app.url("/userinfo"))
        .bearer_auth(t["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(userinfo["given_name"], "Zoë");
    assert_eq!(userinfo["family_name"], "Ångström");
    assert_eq!(access_claims(&app, &t)["uid"], "E1003");
}

#[tokio::test]
async fn ad_refusals_become_clear_messages() {
    let Some(env) = env() else { return };
    let app = app_with(vec![ad(&env, vec![env.ad_url.clone()])]).await;
    let generic = Refusal::InvalidCredentials.message();
    for (login, password, expected) in [
        ("alice", "wrong password", generic),
        ("nobody-here", env.password.as_str(), generic),
        (
            "user-disabled",
            env.password.as_str(),
            Refusal::AccountDisabled.message(),
        ),
        (
            "user-mustchange",
            env.password.as_str(),
            Refusal::MustChangePassword.message(),
        ),
        (
            "user-expired",
            env.password.as_str(),
            Refusal::AccountExpired.message(),
        ),
        (
            "user-nohours",
            env.password.as_str(),
            Refusal::NotPermittedNow.message(),
        ),
        (
            "user-locked",
            env.password.as_str(),
            Refusal::LockedOut.message(),
        ),
    ] {
        let (status, alert) = refused(&app, AD_HOST, login, password).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{login}");
        assert_eq!(html_unescape(&alert), expected, "{login}");
    }
}

fn html_unescape(text: &str) -> String {
    text.replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

#[tokio::test]
async fn injection_in_the_username_finds_nobody() {
    let Some(env) = env() else { return };
    let app = app_with(vec![ad(&env, vec![env.ad_url.clone()])]).await;
    for login in [
        "*",
        "al*",
        "alice)(objectClass=*",
        "*)(|(sAMAccountName=*",
        "\\",
        "alice\\2a",
    ] {
        let (status, alert) = refused(&app, AD_HOST, login, &env.password).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{login}");
        assert_eq!(alert, Refusal::InvalidCredentials.message(), "{login}");
    }
}

#[tokio::test]
async fn an_empty_password_is_refused_before_any_bind() {
    let Some(env) = env() else { return };
    // Only a dead server is configured: had Tessera tried to bind, the answer would be
    // "unavailable"; an empty password is refused before any connection.
    let settings = ad(&env, vec!["ldaps://127.0.0.1:9".into()]);
    let directory = Directory::new(settings).unwrap();
    let err = directory.authenticate("alice", "").await.unwrap_err();
    assert!(
        matches!(err, DirectoryError::Refused(Refusal::InvalidCredentials)),
        "{err:?}"
    );
    let err = directory.authenticate("alice", "x").await.unwrap_err();
    assert!(matches!(err, DirectoryError::Unavailable), "{err:?}");
}

#[tokio::test]
async fn a_dead_server_fails_over_to_the_next_and_none_answering_is_reported() {
    let Some(env) = env() else { return };
    let dead = "ldaps://127.0.0.1:9".to_owned();
    let app = app_with(vec![ad(&env, vec![dead.clone(), env.ad_url.clone()])]).await;
    let t = tokens(&app, AD_HOST, "alice", &env.password).await;
    assert_eq!(access_claims(&app, &t)["uid"], "E1001");

    let down = app_with(vec![ad(
        &env,
        vec![dead.clone(), "ldaps://127.0.0.1:10".into()],
    )])
    .await;
    let (status, alert) = refused(&down, AD_HOST, "alice", &env.password).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(alert.contains("directory is not answering"), "{alert}");
    // Other hosts keep working: the local user of the test host signs in.
    let other = down.tokens().await;
    assert!(other["access_token"].is_string());
}

#[tokio::test]
async fn a_server_that_accepts_but_never_answers_is_left_within_the_timeout() {
    let Some(env) = env() else { return };
    // Accepts connections and then says nothing, as a hung server would.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ldaps://127.0.0.1:{}", silent.local_addr().unwrap().port());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let mut settings = ad(&env, vec![url, env.ad_url.clone()]);
    settings.connect_timeout = 1;
    settings.operation_timeout = 1;
    let directory = Directory::new(settings).unwrap();
    let started = std::time::Instant::now();
    let user = directory
        .authenticate("alice", &env.password)
        .await
        .unwrap();
    assert_eq!(user.person.employee_id, "E1001");
    // Two connections (service, then the user's bind) each wait out the silent server.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_server_that_requires_tls_refuses_a_plain_bind() {
    let Some(env) = env() else { return };
    let mut settings = ad(&env, vec![env.ad_starttls_url.clone()]);
    settings.allow_plain = true;
    let app = app_with(vec![settings]).await;
    let (status, _) = refused(&app, AD_HOST, "alice", &env.password).await;
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "Samba refuses simple binds without TLS (strongerAuthRequired)"
    );
    // And Tessera refuses to send passwords in clear unless told to.
    let mut plain = ad(&env, vec![env.ad_starttls_url.clone()]);
    plain.allow_plain = false;
    assert!(Directory::new(plain).is_err());
}

#[tokio::test]
async fn directory_roles_are_replaced_while_local_ones_stay() {
    let Some(env) = env() else { return };
    let app = app_with(vec![ad(&env, vec![env.ad_url.clone()])]).await;
    tokens(&app, AD_HOST, "alice", &env.password).await;
    let store = app.sql_store().await;
    let alice = store
        .find_user_by_login("alice@corp.example.com")
        .await
        .unwrap()
        .unwrap()
        .user;
    // An administrator gives her a role in Tessera.
    app.import(&format!(
        "hosts:\n  - {{host_id: corp, domain: {AD_HOST}, name: Host {AD_HOST}, roles: [{{name: auditor}}]}}\nusers:\n  - {{email: alice@corp.example.com, user_type: E, first_name: Alice, last_name: Anderson, verified: true, hosts: [{{host: corp, roles: [auditor]}}]}}\n"
    ))
    .await
    .unwrap();
    let t = tokens(&app, AD_HOST, "alice", &env.password).await;
    assert_eq!(access_claims(&app, &t)["role"], "admin auditor");
    // The mapping changes: the directory role goes, the local one stays.
    let mut changed = ad(&env, vec![env.ad_url.clone()]);
    changed.group_map[0].roles = vec!["operator".into()];
    let directory = Directory::new(changed).unwrap();
    let user = directory
        .authenticate("alice", &env.password)
        .await
        .unwrap();
    assert_eq!(user.roles.iter().collect::<Vec<_>>(), vec!["operator"]);
    let employee = tessera::store::EmployeeFacts {
        employee_id: user.person.employee_id.clone(),
        email: user.person.email.clone(),
        first_name: user.person.given_name.clone(),
        last_name: user.person.surname.clone(),
        title: user.person.title.clone(),
    };
    let roles: Vec<String> = user.roles.iter().cloned().collect();
    tessera::store::DirectoryStore::provision_employee(
        &store,
        &tessera::store::Provision {
            host_id: "corp",
            employee: &employee,
            manager: None,
            roles: &roles,
            groups: &[],
            customers_allowed: false,
        },
        app.state.now(),
    )
    .await
    .unwrap();
    let mut roles = store
        .load_profile(&alice.user_id, "corp", "2026-06-01")
        .await
        .unwrap()
        .roles;
    roles.sort();
    assert_eq!(roles, vec!["auditor", "operator"]);
}

#[tokio::test]
async fn customers_and_employees_keep_to_their_own_method() {
    let Some(env) = env() else { return };
    let app = app_with(vec![ad(&env, vec![env.ad_url.clone()])]).await;
    // A customer of the directory's host with a Tessera password signs in locally, and the
    // directory is never asked.
    app.import(&format!(
        "hosts:\n  - {{host_id: corp, domain: {AD_HOST}, name: Host {AD_HOST}}}\nusers:\n  - {{email: shopper@corp.example.com, user_type: C, password: Shopper-Pass-1!, hosts: [{{host: corp, customer: {{customer_id: C-1}}}}]}}\n  - {{email: bob@corp.example.com, user_type: E, password: Local-Pass-123!, hosts: [{{host: corp, employee: {{employee_id: E1000}}}}]}}\n"
    ))
    .await
    .unwrap();
    let t = tokens(&app, AD_HOST, "shopper@corp.example.com", "Shopper-Pass-1!").await;
    assert_eq!(access_claims(&app, &t)["uid"], "C-1");
    // An employee's Tessera password does not open the door: the directory decides.
    let (status, _) = refused(&app, AD_HOST, "bob@corp.example.com", "Local-Pass-123!").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let t = tokens(&app, AD_HOST, "bob@corp.example.com", &env.password).await;
    assert_eq!(access_claims(&app, &t)["uid"], "E1000");
    // A customer whose email the directory also knows is not taken over by a directory
    // sign-in: customers do not sign in through the directory.
    app.import(
        "users:\n  - {email: john.smith@corp.example.com, user_type: C, password: Customer-Pass-1!, hosts: [{host: corp, customer: {customer_id: C-2}}]}\n",
    )
    .await
    .unwrap();
    let (status, alert) = refused(&app, AD_HOST, "jsmith", &env.password).await;
    assert_eq!(
        (status, alert.as_str()),
        (
            StatusCode::UNAUTHORIZED,
            Refusal::InvalidCredentials.message()
        )
    );
    let customer = app
        .state
        .store
        .find_user_by_login("john.smith@corp.example.com")
        .await
        .unwrap()
        .unwrap()
        .user;
    assert_eq!(customer.user_type.as_deref(), Some("C"), "still a customer");
}

#[tokio::test]
async fn openldap_employees_sign_in_with_nested_groups_expanded_by_tessera() {
    let Some(env) = env() else { return };
    for url in [env.ldap_url.clone(), env.ldaps_url.clone()] {
        let mut settings = openldap(&env, vec![url.clone()]);
        settings.allow_plain = url.starts_with("ldap://");
        let app = app_with(vec![settings]).await;
        let t = tokens(&app, LDAP_HOST, "alice", &env.password).await;
        let claims = access_claims(&app, &t);
        assert_eq!(claims["uid"], "E1001", "{url}");
        assert_eq!(
            claims["role"], "admin",
            "{url}: expanded through Platform Team"
        );
        assert_eq!(claims["grp"], "backend", "{url}");
    }
}

#[tokio::test]
async fn openldap_starttls_and_password_policy_reasons() {
    let Some(env) = env() else { return };
    let mut settings = openldap(&env, vec![env.ldap_url.clone()]);
    settings.starttls = true;
    let app = app_with(vec![settings]).await;
    let t = tokens(&app, LDAP_HOST, "jsmith", &env.password).await;
    assert_eq!(access_claims(&app, &t)["grp"], "backend");
    let (_, alert) = refused(&app, LDAP_HOST, "user-locked", &env.password).await;
    assert_eq!(html_unescape(&alert), Refusal::LockedOut.message());
    let (_, alert) = refused(&app, LDAP_HOST, "user-mustchange", &env.password).await;
    assert_eq!(html_unescape(&alert), Refusal::MustChangePassword.message());
    let (_, alert) = refused(&app, LDAP_HOST, "alice", "wrong").await;
    assert_eq!(alert, Refusal::InvalidCredentials.message());
}

#[tokio::test]
async fn the_pooled_service_connection_is_reused_and_never_left_bound_as_a_user() {
    let Some(env) = env() else { return };
    let mut settings = openldap(&env, vec![env.ldap_url.clone()]);
    settings.allow_plain = true;
    let directory = Directory::new(settings).unwrap();
    directory
        .authenticate("alice", &env.password)
        .await
        .unwrap();
    assert_eq!(directory.pooled(), 1);
    assert_eq!(
        directory.service_identity().await.unwrap(),
        format!("dn:{}", env.ldap_bind_dn)
    );
    directory
        .authenticate("jsmith", &env.password)
        .await
        .unwrap();
    assert_eq!(
        directory.pooled(),
        1,
        "the same connection served the second sign-in"
    );
    assert_eq!(
        directory.service_identity().await.unwrap(),
        format!("dn:{}", env.ldap_bind_dn)
    );
    let _ = location;
}

/// A TCP relay to a server whose connections the test can cut, as a network failure or
/// a server restart would.
struct Relay {
    url: String,
    cut: tokio::sync::watch::Sender<u64>,
}

impl Relay {
    async fn to(target: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (cut, generation) = tokio::sync::watch::channel(0u64);
        let target = target.to_owned();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                let mut generation = generation.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await else {
                        return;
                    };
                    // Only cuts made after this connection opened end it.
                    generation.borrow_and_update();
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = generation.changed() => {}
                    }
                });
            }
        });
        Self {
            url: format!("ldap://127.0.0.1:{port}"),
            cut,
        }
    }

    fn cut_all(&self) {
        self.cut.send_modify(|g| *g += 1);
    }
}

#[tokio::test]
async fn the_service_connection_is_re_established_after_a_failure() {
    let Some(env) = env() else { return };
    let target = env.ldap_url.trim_start_matches("ldap://").to_owned();
    let relay = Relay::to(&target).await;
    let mut settings = openldap(&env, vec![relay.url.clone()]);
    settings.allow_plain = true;
    let directory = Directory::new(settings).unwrap();
    directory
        .authenticate("alice", &env.password)
        .await
        .unwrap();
    assert_eq!(directory.pooled(), 1);
    // Every open connection dies; the next sign-in still succeeds on a new one.
    relay.cut_all();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let user = directory
        .authenticate("alice", &env.password)
        .await
        .unwrap();
    assert_eq!(user.person.employee_id, "E1001");
    assert_eq!(
        directory.service_identity().await.unwrap(),
        format!("dn:{}", env.ldap_bind_dn)
    );
}

#[tokio::test]
async fn directory_sign_ins_are_counted_and_timed_by_outcome() {
    let Some(env) = env() else { return };
    let mut settings = openldap(&env, vec![env.ldap_url.clone()]);
    settings.starttls = true;
    let app = app_with(vec![settings.clone()]).await;
    tokens(&app, LDAP_HOST, "alice", &env.password).await;
    refused(&app, LDAP_HOST, "alice", "wrong").await;
    settings.urls = vec!["ldap://127.0.0.1:1".into()];
    settings.starttls = false;
    settings.allow_plain = true;
    let down = app_with(vec![settings]).await;
    let (status, _) = refused(&down, LDAP_HOST, "alice", &env.password).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);

    let text = app.state.metrics.encode().unwrap();
    let host = host_id(LDAP_HOST);
    for outcome in ["success", "refused"] {
        let count = format!(
            "tessera_directory_request_duration_seconds_count{{host=\"{host}\",outcome=\"{outcome}\"}} 1\n"
        );
        assert!(text.contains(&count), "{count} in {text}");
        let sign_ins =
            format!("tessera_sign_ins_total{{method=\"directory\",outcome=\"{outcome}\"}} 1\n");
        assert!(text.contains(&sign_ins), "{sign_ins} in {text}");
    }
    let text = down.state.metrics.encode().unwrap();
    assert!(text.contains(&format!(
        "tessera_directory_request_duration_seconds_count{{host=\"{host}\",outcome=\"error\"}} 1\n"
    )));
    assert!(
        text.contains("tessera_sign_ins_total{method=\"directory\",outcome=\"unavailable\"} 1\n")
    );
}

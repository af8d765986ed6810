//! The security profile in tokens: the seed's example end to end, effective dates,
//! default roles, user types, several hosts, position inheritance and the import.

use reqwest::StatusCode;
use serde_json::{json, Value};
use tessera::domain::profile::parse_attributes;
use tessera::store::{HostStore, ProfileStore, UserStore};

use crate::helpers::{
    hidden_field, location, new_browser, query_of, spawn_app, TestApp, REDIRECT_URI,
};

const SEED: &str = include_str!("../../fixtures/seed-example.yaml");
const SEED_HOST: &str = "N2CMw0HGQXeLvC1wBfln2A";
const SEED_PASSWORD: &str = "Example-Only-1!";

fn claims_of(app: &TestApp, token: &str) -> Value {
    Value::Object(
        app.state
            .issuer
            .verify_access_token(token, app.state.now())
            .expect("a valid access token"),
    )
}

fn id_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .unwrap(),
    )
    .unwrap()
}

fn profile_part(claims: &Value) -> Value {
    let keys = ["uid", "uty", "host", "role", "grp", "pos", "att"];
    Value::Object(
        keys.iter()
            .filter_map(|k| claims.get(*k).map(|v| ((*k).to_owned(), v.clone())))
            .collect(),
    )
}

#[tokio::test]
async fn the_seed_example_comes_out_exactly_in_every_token() {
    let app = spawn_app().await;
    app.import(SEED).await.unwrap();
    let (client_id, secret) = app.client_for_host(Some(SEED_HOST), true).await;
    let tokens = app
        .tokens_as(&client_id, &secret, "steve.hu@lightapi.net", SEED_PASSWORD)
        .await;
    let expected = json!({
        "uid": "sh35",
        "uty": "E",
        "host": SEED_HOST,
        "role": "admin user",
        "grp": "delete insert select update",
        "pos": "APIPlatformDelivery",
        "att": "country^=^CAN~peranent employee^=^true~security_clearance_level^=^2",
    });
    let access = claims_of(&app, tokens["access_token"].as_str().unwrap());
    assert_eq!(profile_part(&access), expected);
    assert_eq!(access["cid"], client_id);
    assert_eq!(access["scp"], json!(["email", "openid", "profile"]));
    assert_eq!(access["ver"], "1");
    // The client asked for the profile in ID tokens and userinfo too.
    assert_eq!(
        profile_part(&id_claims(tokens["id_token"].as_str().unwrap())),
        expected
    );
    let userinfo: Value = app
        .browser
        .get(app.url("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(profile_part(&userinfo), expected);
    let introspection = app
        .introspect(tokens["access_token"].as_str().unwrap())
        .await;
    assert_eq!(profile_part(&introspection), expected);
    // The att claim parses back into the seed's pairs.
    let pairs = parse_attributes(access["att"].as_str().unwrap()).unwrap();
    assert_eq!(
        pairs[2],
        ("security_clearance_level".to_owned(), "2".to_owned())
    );
}

#[tokio::test]
async fn a_client_that_did_not_ask_gets_the_profile_in_access_tokens_only() {
    let app = spawn_app().await;
    app.import(SEED).await.unwrap();
    let (client_id, secret) = app.client_for_host(Some(SEED_HOST), false).await;
    let tokens = app
        .tokens_as(&client_id, &secret, "steve.hu@lightapi.net", SEED_PASSWORD)
        .await;
    assert_eq!(
        claims_of(&app, tokens["access_token"].as_str().unwrap())["uid"],
        "sh35"
    );
    assert!(id_claims(tokens["id_token"].as_str().unwrap())
        .get("role")
        .is_none());
}

#[tokio::test]
async fn a_second_import_changes_nothing() {
    let app = spawn_app().await;
    let first = app.import(SEED).await.unwrap();
    assert!(first.changed > 20, "{first:?}");
    let store = app.sql_store().await;
    let before = store
        .load_profile("utgdG50vRVOX3mL1Kf83aA", SEED_HOST, "2026-01-01")
        .await
        .unwrap();
    let hash_before = store
        .find_user_by_login("steve.hu@lightapi.net")
        .await
        .unwrap()
        .unwrap()
        .password_hash;
    let second = app.import(SEED).await.unwrap();
    assert_eq!(second.changed, 0);
    assert_eq!(
        store
            .load_profile("utgdG50vRVOX3mL1Kf83aA", SEED_HOST, "2026-01-01")
            .await
            .unwrap(),
        before
    );
    let hash_after = store
        .find_user_by_login("steve.hu@lightapi.net")
        .await
        .unwrap()
        .unwrap()
        .password_hash;
    assert_eq!(
        hash_before, hash_after,
        "an unchanged password keeps its hash"
    );
}

#[tokio::test]
async fn import_errors_name_the_entry_and_change_nothing() {
    let app = spawn_app().await;
    let store = app.sql_store().await;
    let hosts_before = store.list_hosts().await.unwrap().len();
    let bad = SEED.replace("roles: [user]", "roles: [user, astronaut]");
    let err = app.import(&bad).await.unwrap_err();
    assert!(
        err.contains("users[1] (ada.lovelace@lightapi.net).hosts[0] (lightapi.net)"),
        "{err}"
    );
    assert!(err.contains("role \"astronaut\" is not defined"), "{err}");
    // The first user and the host, written before the error, are rolled back too.
    assert_eq!(store.list_hosts().await.unwrap().len(), hosts_before);
    assert!(store
        .find_user_by_login("steve.hu@lightapi.net")
        .await
        .unwrap()
        .is_none());

    let err = app
        .import("hosts:\n  - host_id: x\n    domain: x.example\n    nmae: X\n")
        .await
        .unwrap_err();
    assert!(err.contains("line 4") && err.contains("hosts[0]"), "{err}");
    let err = app
        .import(&SEED.replace("manager_id: sh35", "manager_id: nobody"))
        .await
        .unwrap_err();
    assert!(
        err.contains("manager \"nobody\" is not an employee"),
        "{err}"
    );
    assert!(store
        .find_user_by_login("steve.hu@lightapi.net")
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn a_user_type_outside_the_hosts_model_is_refused() {
    let app = spawn_app().await;
    let doc = "hosts:\n  - {host_id: bank, domain: bank.example, name: Bank, user_types: EPB}\nusers:\n  - {email: c@bank.example, user_type: C, hosts: [{host: bank}]}\n";
    let err = app.import(doc).await.unwrap_err();
    assert!(
        err.contains("user type \"C\" is not one of this host's types (E, P, B)"),
        "{err}"
    );
    let ok = doc.replace("user_type: C", "user_type: P");
    app.import(&ok).await.unwrap();
    // The store refuses it too, whoever calls it.
    let user = tessera::store::NewUser {
        user_id: "u-x".into(),
        email: "x@bank.example".into(),
        username: None,
        password_hash: None,
        first_name: None,
        last_name: None,
        user_type: Some("C".into()),
        verified: false,
    };
    let err = app
        .state
        .store
        .create_user(&user, "bank", app.state.now())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("not one of this host's types"),
        "{err}"
    );
}

const DATED: &str = r"
hosts:
  - host_id: h1
    domain: h1.example
    name: H1
    default_role: user
    roles: [{name: past}, {name: current}, {name: future}, {name: ends-today}, {name: user}]
    groups: [{name: g-current}, {name: g-past}]
    attributes: [{name: level}]
users:
  - email: dated@h1.example
    user_id: dated
    user_type: C
    hosts:
      - host: h1
        customer: {customer_id: cust-1}
        roles:
          - {name: past, start_date: 2000-01-01, end_date: 2001-01-01}
          - {name: current, start_date: 2000-01-01}
          - {name: future, start_date: 2999-01-01}
          - {name: ends-today, start_date: 2000-01-01, end_date: TODAY}
        groups:
          - g-current
          - {name: g-past, end_date: 2001-01-01}
        attributes:
          - {name: level, value: 1, end_date: 2001-01-01}
          - {name: level, value: 3, start_date: 2001-01-02}
  - email: nobody@h1.example
    user_id: nobody
    user_type: C
    hosts: [{host: h1}]
";

#[tokio::test]
async fn only_assignments_in_effect_today_count() {
    let app = spawn_app().await;
    let today = tessera::domain::date::iso_date(app.state.now());
    app.import(&DATED.replace("TODAY", &today)).await.unwrap();
    let profile = app
        .state
        .store
        .load_profile("dated", "h1", &today)
        .await
        .unwrap();
    let mut roles = profile.roles.clone();
    roles.sort();
    assert_eq!(roles, vec!["current", "ends-today"]);
    assert_eq!(profile.groups, vec!["g-current"]);
    assert_eq!(
        profile.attributes,
        vec![("level".to_owned(), "3".to_owned())]
    );
    assert_eq!(profile.uid.as_deref(), Some("cust-1"));
    assert_eq!(profile.uty.as_deref(), Some("C"));
    // The day after, the role that ended today no longer counts.
    let tomorrow = tessera::domain::date::iso_date(app.state.now() + 86_400);
    let later = app
        .state
        .store
        .load_profile("dated", "h1", &tomorrow)
        .await
        .unwrap();
    assert_eq!(later.roles, vec!["current"]);
}

#[tokio::test]
async fn the_default_role_stands_in_and_empty_parts_are_absent() {
    let app = spawn_app().await;
    let today = tessera::domain::date::iso_date(app.state.now());
    app.import(&DATED.replace("TODAY", &today)).await.unwrap();
    let nobody = app
        .state
        .store
        .load_profile("nobody", "h1", &today)
        .await
        .unwrap();
    assert_eq!(nobody.roles, vec!["user"]);
    let mut claims = serde_json::Map::new();
    nobody.write_claims(&mut claims);
    let mut keys: Vec<&str> = claims.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        vec!["host", "role", "uty", "ver"],
        "no uid (no customer record), no grp, pos or att"
    );
    // A user with no assignments in a host without a default role: no role claim at all.
    let alice = app
        .state
        .store
        .load_profile(&app.user_id, &app.host_id, &today)
        .await
        .unwrap();
    assert!(alice.roles.is_empty() && alice.groups.is_empty() && alice.positions.is_empty());
    let tokens = app.tokens().await;
    let access = claims_of(&app, tokens["access_token"].as_str().unwrap());
    assert!(
        access.get("role").is_none() && access.get("grp").is_none() && access.get("att").is_none()
    );
    assert_eq!(access["host"], app.host_id);
}

#[tokio::test]
async fn many_assignments_load_whole() {
    let app = spawn_app().await;
    let mut doc = String::from(
        "hosts:\n  - host_id: big\n    domain: big.example\n    name: Big\n    roles:\n",
    );
    for i in 0..40 {
        doc.push_str(&format!("      - {{name: r{i:02}}}\n"));
    }
    doc.push_str("    groups:\n");
    for i in 0..40 {
        doc.push_str(&format!("      - {{name: g{i:02}}}\n"));
    }
    doc.push_str("    attributes:\n");
    for i in 0..20 {
        doc.push_str(&format!("      - {{name: a{i:02}}}\n"));
    }
    doc.push_str("users:\n  - email: many@big.example\n    user_id: many\n    user_type: C\n    hosts:\n      - host: big\n        roles: [");
    doc.push_str(
        &(0..40)
            .map(|i| format!("r{i:02}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    doc.push_str("]\n        groups: [");
    doc.push_str(
        &(0..40)
            .map(|i| format!("g{i:02}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    doc.push_str("]\n        attributes:\n");
    for i in 0..20 {
        doc.push_str(&format!("          a{i:02}: \"v~{i}^=^x\\\\y\"\n"));
    }
    app.import(&doc).await.unwrap();
    let profile = app
        .state
        .store
        .load_profile("many", "big", "2026-01-01")
        .await
        .unwrap();
    assert_eq!(
        (
            profile.roles.len(),
            profile.groups.len(),
            profile.attributes.len()
        ),
        (40, 40, 20)
    );
    let mut claims = serde_json::Map::new();
    profile.write_claims(&mut claims);
    let att = parse_attributes(claims["att"].as_str().unwrap()).unwrap();
    assert_eq!(att.len(), 20);
    assert_eq!(
        att[7],
        ("a07".to_owned(), "v~7^=^x\\y".to_owned()),
        "delimiters in values survive the round trip"
    );
}

const TEAM: &str = r"
hosts:
  - host_id: t
    domain: team.example
    name: Team
    positions:
      - {name: Lead}
      - {name: OnCall, inherit_to_ancestor: true}
      - {name: Squad, inherit_to_sibling: true}
users:
  - {email: boss@team.example, user_id: u-boss, user_type: E, hosts: [{host: t, employee: {employee_id: boss}, positions: [Lead]}]}
  - {email: other@team.example, user_id: u-other, user_type: E, hosts: [{host: t, employee: {employee_id: other}}]}
  - {email: ann@team.example, user_id: u-ann, user_type: E, hosts: [{host: t, employee: {employee_id: ann, manager_id: boss}, positions: [OnCall, Squad]}]}
  - {email: ben@team.example, user_id: u-ben, user_type: E, hosts: [{host: t, employee: {employee_id: ben, manager_id: boss}}]}
  - {email: cat@team.example, user_id: u-cat, user_type: E, hosts: [{host: t, employee: {employee_id: cat, manager_id: boss}}]}
";

async fn positions(app: &TestApp, user: &str) -> Vec<String> {
    let mut p = app
        .state
        .store
        .load_profile(user, "t", "2026-06-01")
        .await
        .unwrap()
        .positions;
    p.sort();
    p.dedup();
    p
}

#[tokio::test]
async fn positions_flow_to_the_manager_and_to_teammates() {
    let app = spawn_app().await;
    app.import(TEAM).await.unwrap();
    assert_eq!(positions(&app, "u-ann").await, vec!["OnCall", "Squad"]);
    assert_eq!(
        positions(&app, "u-boss").await,
        vec!["Lead", "OnCall"],
        "D: from a report"
    );
    assert_eq!(
        positions(&app, "u-ben").await,
        vec!["Squad"],
        "S: from a teammate"
    );
    assert_eq!(positions(&app, "u-cat").await, vec!["Squad"]);
    assert!(positions(&app, "u-other").await.is_empty());

    // Ann moves to another manager: boss loses OnCall, ben and cat lose Squad, other gains OnCall.
    let store = &app.state.store;
    store.set_manager("t", "ann", Some("other")).await.unwrap();
    assert_eq!(positions(&app, "u-boss").await, vec!["Lead"]);
    assert!(positions(&app, "u-ben").await.is_empty());
    assert_eq!(positions(&app, "u-other").await, vec!["OnCall"]);
    // Ben joins ann's team: he inherits Squad from her.
    store.set_manager("t", "ben", Some("other")).await.unwrap();
    assert_eq!(positions(&app, "u-ben").await, vec!["Squad"]);

    // Ending a position ends what was derived from it, from the day after.
    store
        .end_position("t", "ann", "OnCall", "2026-03-01")
        .await
        .unwrap();
    assert!(positions(&app, "u-other").await.is_empty());
    assert_eq!(
        app.state
            .store
            .load_profile("u-other", "t", "2026-02-01")
            .await
            .unwrap()
            .positions,
        vec!["OnCall"],
        "still in effect before its end"
    );
    // Removing a position removes what was derived from it.
    store.remove_position("t", "ann", "Squad").await.unwrap();
    assert!(positions(&app, "u-ben").await.is_empty());
    // Assigning one adds what derives from it.
    store
        .assign_position("t", "cat", "OnCall", "2026-01-01", None)
        .await
        .unwrap();
    assert_eq!(positions(&app, "u-boss").await, vec!["Lead", "OnCall"]);
    // Nobody manages themselves, and a manager must exist.
    assert!(store.set_manager("t", "ann", Some("ann")).await.is_err());
    assert!(store.set_manager("t", "ann", Some("ghost")).await.is_err());
}

const TWO_HOSTS: &str = r"
hosts:
  - {host_id: ha, domain: a.example, name: Alpha Corp, roles: [{name: alpha-admin}]}
  - {host_id: hb, domain: b.example, name: Beta Bank, user_types: EPB, roles: [{name: beta-teller}]}
users:
  - email: both@x.example
    user_id: u-both
    user_type: E
    password: Both-Hosts-1!
    hosts:
      - {host: ha, employee: {employee_id: a-7}, roles: [alpha-admin]}
      - {host: hb, employee: {employee_id: b-9}, roles: [beta-teller]}
";

#[tokio::test]
async fn a_user_of_several_hosts_chooses_one_and_gets_only_its_profile() {
    let app = spawn_app().await;
    app.import(TWO_HOSTS).await.unwrap();
    let (client_id, secret) = app.client_for_host(None, false).await;
    let browser = new_browser();
    let mut params = app.authorize_params();
    params[0].1 = client_id.clone();
    let start = browser
        .get(app.url("/authorize"))
        .query(&params)
        .send()
        .await
        .unwrap();
    let login_url = app.url(&location(&start));
    let html = browser
        .get(&login_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form = [
        ("csrf", hidden_field(&html, "csrf").unwrap()),
        ("request_id", hidden_field(&html, "request_id").unwrap()),
        ("login", "both@x.example".to_owned()),
        ("password", "Both-Hosts-1!".to_owned()),
    ];
    let chooser = browser
        .post(app.url("/login"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(chooser.status(), StatusCode::OK);
    let html = chooser.text().await.unwrap();
    assert!(
        html.contains("Alpha Corp") && html.contains("Beta Bank"),
        "{html}"
    );
    let csrf = hidden_field(&html, "csrf").unwrap();
    // A host the user does not belong to is refused.
    let forged = browser
        .post(app.url("/login/host"))
        .form(&[("csrf", csrf.as_str()), ("host_id", app.host_id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::BAD_REQUEST);
    // Start again and choose Beta.
    let start = browser
        .get(app.url("/authorize"))
        .query(&params)
        .send()
        .await
        .unwrap();
    let html = browser
        .get(app.url(&location(&start)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form = [
        ("csrf", hidden_field(&html, "csrf").unwrap()),
        ("request_id", hidden_field(&html, "request_id").unwrap()),
        ("login", "both@x.example".to_owned()),
        ("password", "Both-Hosts-1!".to_owned()),
    ];
    let chooser = browser
        .post(app.url("/login"))
        .form(&form)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = hidden_field(&chooser, "csrf").unwrap();
    let chosen = browser
        .post(app.url("/login/host"))
        .form(&[("csrf", csrf.as_str()), ("host_id", "hb")])
        .send()
        .await
        .unwrap();
    let mut response = chosen;
    // Through consent to the client.
    for _ in 0..4 {
        if !response.status().is_redirection() && response.url().path() == "/consent" {
            let html = response.text().await.unwrap();
            let form = [
                ("csrf", hidden_field(&html, "csrf").unwrap()),
                ("request_id", hidden_field(&html, "request_id").unwrap()),
                ("decision", "allow".to_owned()),
            ];
            response = browser
                .post(app.url("/consent"))
                .form(&form)
                .send()
                .await
                .unwrap();
            continue;
        }
        let to = location(&response);
        if to.starts_with(REDIRECT_URI) {
            break;
        }
        response = browser.get(app.url(&to)).send().await.unwrap();
    }
    let code = query_of(&location(&response))["code"].clone();
    let basic = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{client_id}:{secret}")
        )
    );
    let tokens: Value = app
        .post_form_as(
            "/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", crate::helpers::VERIFIER),
            ],
            Some(&basic),
        )
        .await
        .json()
        .await
        .unwrap();
    let access = claims_of(&app, tokens["access_token"].as_str().unwrap());
    assert_eq!(access["host"], "hb");
    assert_eq!(access["uid"], "b-9");
    assert_eq!(
        access["role"], "beta-teller",
        "only the chosen host's assignments"
    );
}

#[tokio::test]
async fn a_client_bound_to_a_host_signs_its_members_in_there_without_asking() {
    let app = spawn_app().await;
    app.import(TWO_HOSTS).await.unwrap();
    let (client_id, secret) = app.client_for_host(Some("ha"), false).await;
    let tokens = app
        .tokens_as(&client_id, &secret, "both@x.example", "Both-Hosts-1!")
        .await;
    let access = claims_of(&app, tokens["access_token"].as_str().unwrap());
    assert_eq!(
        (
            access["host"].as_str(),
            access["uid"].as_str(),
            access["role"].as_str()
        ),
        (Some("ha"), Some("a-7"), Some("alpha-admin"))
    );
    // A user who is not a member of the client's host cannot sign in through it.
    let browser = new_browser();
    let mut params = app.authorize_params();
    params[0].1 = client_id.clone();
    let start = browser
        .get(app.url("/authorize"))
        .query(&params)
        .send()
        .await
        .unwrap();
    let html = browser
        .get(app.url(&location(&start)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form = [
        ("csrf", hidden_field(&html, "csrf").unwrap()),
        ("request_id", hidden_field(&html, "request_id").unwrap()),
        ("login", crate::helpers::EMAIL.to_owned()),
        ("password", crate::helpers::PASSWORD.to_owned()),
    ];
    let refused = browser
        .post(app.url("/login"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn client_credentials_of_a_host_bound_client_carry_the_host() {
    let app = spawn_app().await;
    app.import(TWO_HOSTS).await.unwrap();
    let (client_id, secret) = app.client_for_host(Some("hb"), false).await;
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client_id.as_str()),
        ("client_secret", secret.as_str()),
    ];
    let body: Value = app
        .post_form_as("/token", &form, None)
        .await
        .json()
        .await
        .unwrap();
    let access = claims_of(&app, body["access_token"].as_str().unwrap());
    assert_eq!(access["host"], "hb");
    assert!(access.get("uid").is_none());
    assert!(app.state.store.find_host("hb").await.unwrap().is_some());
}

#[tokio::test]
async fn clients_are_imported_with_hashed_secrets() {
    let app = spawn_app().await;
    let doc = format!(
        "{TWO_HOSTS}clients:\n  - client_id: imported-api\n    name: Imported\n    secret: an-imported-secret-value\n    grants: [client_credentials]\n    scopes: api:read\n    host: a.example\n"
    );
    app.import(&doc).await.unwrap();
    assert_eq!(app.import(&doc).await.unwrap().changed, 0);
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", "imported-api"),
        ("client_secret", "an-imported-secret-value"),
    ];
    let body: Value = app
        .post_form_as("/token", &form, None)
        .await
        .json()
        .await
        .unwrap();
    let access = claims_of(&app, body["access_token"].as_str().unwrap());
    assert_eq!(
        (access["host"].as_str(), access["scope"].as_str()),
        (Some("ha"), Some("api:read"))
    );
    let stored = app
        .state
        .store
        .find_client("imported-api")
        .await
        .unwrap()
        .unwrap();
    assert!(!format!("{:?}", stored.secret_hash).contains("an-imported-secret-value"));
    assert!(!stored.skip_consent);
    let first_party = doc.replace(
        "host: a.example\n",
        "host: a.example\n    skip_consent: true\n",
    );
    assert_eq!(app.import(&first_party).await.unwrap().changed, 1);
    let stored = app.state.store.find_client("imported-api").await.unwrap();
    assert!(stored.is_some_and(|c| c.skip_consent));

    let bad = "clients:\n  - {client_id: spa, name: SPA, type: public, secret: should-not-be-here!, redirect_uris: ['https://spa.example/cb']}\n";
    let err = app.import(bad).await.unwrap_err();
    assert!(
        err.contains("clients[0] (spa): a public client has no secret"),
        "{err}"
    );
}

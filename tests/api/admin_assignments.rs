//! `GET|POST /api/v1/users/{id}/{roles,groups,attributes,positions}` and
//! `DELETE …/{name}`: effective dates, history kept when ending, rights per role,
//! another host's ids, the last admin, bad input, attribute types, inherited
//! positions, tokens after a change, the audit entries.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::admin_api::{app_with_two_hosts, json, user_id};
use crate::admin_users::audit_of;
use crate::helpers::{TestApp, PASSWORD};

fn path(id: &str, kind: &str) -> String {
    format!("/api/v1/users/{id}/{kind}")
}

fn assignments(page: &Value) -> Vec<Value> {
    page["assignments"].as_array().unwrap().clone()
}

/// The `role` claim of a fresh access token of `login` in acme.
async fn role_claim(app: &TestApp, login: &str) -> String {
    let (client_id, secret) = app.client_for_host(Some("acme"), false).await;
    let tokens = app.tokens_as(&client_id, &secret, login, PASSWORD).await;
    let claims = app
        .state
        .issuer
        .verify_access_token(tokens["access_token"].as_str().unwrap(), app.state.now())
        .unwrap();
    claims
        .get("role")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn yesterday(app: &TestApp) -> String {
    tessera::domain::date::iso_date(app.state.now() - 86_400)
}

fn today(app: &TestApp) -> String {
    tessera::domain::date::iso_date(app.state.now())
}

#[tokio::test]
async fn a_role_given_and_ended_shows_in_tokens_then_stays_as_history() {
    let app = app_with_two_hosts().await;
    let admin = app.api_as("admin@acme.example", "acme").await;
    let uma = user_id(&app, "user@acme.example").await;
    let given = json(
        admin
            .post(&path(&uma, "roles"), &json!({"role": "manager"}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let rows = assignments(&given);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["name"], "manager");
    assert_eq!(rows[0]["start_date"], today(&app));
    assert_eq!(rows[0]["end_date"], Value::Null);
    assert_eq!(rows[0]["current"], true);
    assert_eq!(rows[0]["source"], "local");
    assert_eq!(role_claim(&app, "user@acme.example").await, "manager");

    let ended = admin
        .delete(&format!("{}/manager", path(&uma, "roles")))
        .await;
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);
    let list = json(admin.get(&path(&uma, "roles")).await, StatusCode::OK).await;
    let rows = assignments(&list);
    assert_eq!(rows.len(), 1, "the row stays: {rows:?}");
    assert_eq!(rows[0]["end_date"], yesterday(&app));
    assert_eq!(rows[0]["current"], false);
    // The next token no longer carries the role: the default role stands in.
    assert_eq!(role_claim(&app, "user@acme.example").await, "staff");
    // Nothing left to end.
    json(
        admin
            .delete(&format!("{}/manager", path(&uma, "roles")))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;

    let added = audit_of(&app, &format!("action=user.role_added&target={uma}")).await;
    assert_eq!(added.len(), 1);
    assert_eq!(added[0]["after"][0]["name"], "manager");
    let ended = audit_of(&app, &format!("action=user.role_ended&target={uma}")).await;
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0]["before"][0]["end_date"], Value::Null);
    assert_eq!(ended[0]["after"][0]["end_date"], yesterday(&app));
}

#[tokio::test]
async fn managers_read_assignments_and_only_host_admins_change_them() {
    let app = app_with_two_hosts().await;
    let uma = user_id(&app, "user@acme.example").await;
    let manager = app.api_as("manager@acme.example", "acme").await;
    let groups = json(manager.get(&path(&uma, "groups")).await, StatusCode::OK).await;
    assert_eq!(assignments(&groups)[0]["name"], "night-shift");
    for response in [
        manager
            .post(&path(&uma, "roles"), &json!({"role": "admin"}))
            .await,
        manager
            .delete(&format!("{}/night-shift", path(&uma, "groups")))
            .await,
    ] {
        let refused = json(response, StatusCode::FORBIDDEN).await;
        assert_eq!(refused["right"], "host_admin");
    }
    let user = app.api_as("user@acme.example", "acme").await;
    let refused = json(user.get(&path(&uma, "roles")).await, StatusCode::FORBIDDEN).await;
    assert_eq!(refused["right"], "manager");
    let me = json(manager.me().await, StatusCode::OK).await;
    assert_eq!(me["host"]["rights"], json!(["user", "manager"]));
}

#[tokio::test]
async fn another_hosts_user_is_not_found() {
    let app = app_with_two_hosts().await;
    let admin = app.api_as("admin@acme.example", "acme").await;
    let sam = user_id(&app, "stranger@other.example").await;
    for kind in ["roles", "groups", "attributes", "positions"] {
        json(admin.get(&path(&sam, kind)).await, StatusCode::NOT_FOUND).await;
    }
    json(
        admin
            .post(&path(&sam, "roles"), &json!({"role": "staff"}))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    json(
        admin
            .delete(&format!("{}/staff", path(&sam, "roles")))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn the_hosts_last_admin_cannot_lose_the_admin_role() {
    let app = app_with_two_hosts().await;
    let admin = app.api_as("admin@acme.example", "acme").await;
    let ada = user_id(&app, "admin@acme.example").await;
    let refused = json(
        admin
            .delete(&format!("{}/admin", path(&ada, "roles")))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        refused["message"].as_str().unwrap().contains("last admin"),
        "{refused}"
    );
    let roles = json(admin.get(&path(&ada, "roles")).await, StatusCode::OK).await;
    assert!(assignments(&roles)
        .iter()
        .all(|r| r["end_date"] == Value::Null));
    assert!(audit_of(&app, "action=user.role_ended").await.is_empty());
    // With a second admin, the first may be demoted.
    let max = user_id(&app, "manager@acme.example").await;
    json(
        admin
            .post(&path(&max, "roles"), &json!({"role": "admin"}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let done = admin
        .delete(&format!("{}/admin", path(&ada, "roles")))
        .await;
    assert_eq!(done.status(), StatusCode::NO_CONTENT);
    // Ada is no longer an admin: her next request has a manager's rights at most.
    let refused = json(
        admin
            .post(&path(&max, "roles"), &json!({"role": "staff"}))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(refused["right"], "host_admin");
}

#[tokio::test]
async fn bad_dates_unknown_names_and_overlaps_are_refused_and_nothing_written() {
    let app = app_with_two_hosts().await;
    let admin = app.api_as("admin@acme.example", "acme").await;
    let uma = user_id(&app, "user@acme.example").await;
    let roles = path(&uma, "roles");
    for (body, status, field) in [
        (
            json!({"role": "manager", "start_date": "2030-05-02", "end_date": "2030-05-01"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "end_date",
        ),
        (
            json!({"role": "manager", "start_date": "2030-02-30"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "start_date",
        ),
        (
            json!({"role": "pilot"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "role",
        ),
        (
            json!({"role": "manager", "until": "2030-01-01"}),
            StatusCode::BAD_REQUEST,
            "until",
        ),
    ] {
        let refused = json(admin.post(&roles, &body).await, status).await;
        assert_eq!(refused["field"], field, "{body}: {refused}");
    }
    let list = json(admin.get(&roles).await, StatusCode::OK).await;
    assert!(assignments(&list).is_empty());
    // A planned assignment, then one overlapping it.
    json(
        admin
            .post(
                &roles,
                &json!({"role": "manager", "start_date": "2030-01-01", "end_date": "2030-12-31"}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    json(
        admin
            .post(
                &roles,
                &json!({"role": "manager", "start_date": "2030-06-01"}),
            )
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    // Not yet in effect: it gives no right today, and ending it drops it.
    assert_eq!(role_claim(&app, "user@acme.example").await, "staff");
    let dropped = admin.delete(&format!("{roles}/manager")).await;
    assert_eq!(dropped.status(), StatusCode::NO_CONTENT);
    let list = json(admin.get(&roles).await, StatusCode::OK).await;
    assert!(assignments(&list).is_empty());
}

#[tokio::test]
async fn attribute_values_are_checked_against_the_attributes_type() {
    let app = app_with_two_hosts().await;
    app.import(
        "hosts:\n  - host_id: acme\n    domain: acme.example\n    name: Acme\n    default_role: staff\n    attributes:\n      - {name: level, type: integer}\n      - {name: trusted, type: boolean}\n",
    )
    .await
    .unwrap();
    let admin = app.api_as("admin@acme.example", "acme").await;
    let uma = user_id(&app, "user@acme.example").await;
    let attributes = path(&uma, "attributes");
    for body in [
        json!({"attribute": "level", "value": "high"}),
        json!({"attribute": "level", "value": 2.5}),
        json!({"attribute": "trusted", "value": "yes"}),
    ] {
        let refused = json(
            admin.post(&attributes, &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(refused["field"], "value", "{body}: {refused}");
    }
    let added = json(
        admin
            .post(&attributes, &json!({"attribute": "level", "value": 3}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(assignments(&added)[0]["value"], "3");
    json(
        admin
            .post(&attributes, &json!({"attribute": "trusted", "value": true}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let list = json(admin.get(&attributes).await, StatusCode::OK).await;
    let names: Vec<String> = assignments(&list)
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["country", "level", "trusted"], "{list}");
    // Ending the imported country keeps it as history; the profile loses it today.
    let ended = admin.delete(&format!("{attributes}/country")).await;
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);
    let profile = app
        .state
        .store
        .load_profile(&uma, "acme", &today(&app))
        .await
        .unwrap();
    let mut attrs = profile.attributes.clone();
    attrs.sort();
    assert_eq!(
        attrs,
        [
            ("level".to_owned(), "3".to_owned()),
            ("trusted".to_owned(), "true".to_owned())
        ]
    );
    assert_eq!(
        audit_of(&app, &format!("action=user.attribute_added&target={uma}"))
            .await
            .len(),
        2
    );
}

#[tokio::test]
async fn a_group_ended_leaves_the_profile_and_its_history_stays() {
    let app = app_with_two_hosts().await;
    let admin = app.api_as("admin@acme.example", "acme").await;
    let uma = user_id(&app, "user@acme.example").await;
    let groups = path(&uma, "groups");
    let ended = admin.delete(&format!("{groups}/night-shift")).await;
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);
    let list = json(admin.get(&groups).await, StatusCode::OK).await;
    let rows = assignments(&list);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["end_date"], yesterday(&app));
    let profile = app
        .state
        .store
        .load_profile(&uma, "acme", &today(&app))
        .await
        .unwrap();
    assert!(profile.groups.is_empty());
    // Given again from today: a second row beside the first.
    json(
        admin.post(&groups, &json!({"group": "night-shift"})).await,
        StatusCode::CREATED,
    )
    .await;
    let list = json(admin.get(&groups).await, StatusCode::OK).await;
    assert_eq!(assignments(&list).len(), 2);
    assert_eq!(
        audit_of(&app, &format!("action=user.group_ended&target={uma}"))
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn a_position_given_to_an_employee_is_inherited_by_their_manager_until_ended() {
    let app = app_with_two_hosts().await;
    app.import(
        "hosts:\n  - host_id: acme\n    domain: acme.example\n    name: Acme\n    default_role: staff\n    positions:\n      - {name: OnCall, inherit_to_ancestor: true}\n",
    )
    .await
    .unwrap();
    let admin = app.api_as("admin@acme.example", "acme").await;
    let max = user_id(&app, "manager@acme.example").await;
    let ada = user_id(&app, "admin@acme.example").await;
    // Max (e-1) reports to Ada (e-2).
    json(
        admin
            .patch(
                &format!("/api/v1/users/{max}"),
                &json!({"manager_id": "e-2"}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    let given = json(
        admin
            .post(&path(&max, "positions"), &json!({"position": "OnCall"}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(assignments(&given)[0]["position_type"], "P");
    let inherited = json(admin.get(&path(&ada, "positions")).await, StatusCode::OK).await;
    let rows = assignments(&inherited);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["position_type"], "D");
    assert_eq!(rows[0]["inherited_from"], "e-1");
    assert_eq!(rows[0]["current"], true);

    let ended = admin
        .delete(&format!("{}/OnCall", path(&max, "positions")))
        .await;
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);
    let inherited = json(admin.get(&path(&ada, "positions")).await, StatusCode::OK).await;
    assert_eq!(assignments(&inherited)[0]["current"], false);
    let profile = app
        .state
        .store
        .load_profile(&ada, "acme", &today(&app))
        .await
        .unwrap();
    assert!(profile.positions.is_empty());

    // A customer holds no position.
    let uma = user_id(&app, "user@acme.example").await;
    let refused = json(
        admin
            .post(&path(&uma, "positions"), &json!({"position": "OnCall"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(refused["field"], "position");
}

#[tokio::test]
async fn the_openapi_document_lists_the_assignment_routes() {
    let app = app_with_two_hosts().await;
    let doc = json(app.api(None).openapi().await, StatusCode::OK).await;
    for kind in ["roles", "groups", "attributes", "positions"] {
        let list = &doc["paths"][format!("/api/v1/users/{{id}}/{kind}")];
        assert!(
            list["get"].is_object() && list["post"].is_object(),
            "{kind}"
        );
        let one = &doc["paths"][format!("/api/v1/users/{{id}}/{kind}/{{name}}")];
        assert!(one["delete"].is_object(), "{kind}");
    }
}

#[tokio::test]
async fn a_role_given_through_the_api_outlives_the_next_directory_sign_in() {
    use crate::directory::{ad, env, AD_HOST};
    let Some(env) = env() else { return };
    let settings = vec![ad(&env, vec![env.ad_url.clone()])];
    let app = crate::helpers::spawn_app_with(move |c| c.directories = settings).await;
    let (client_id, secret) = app.client_for_host(Some("corp"), false).await;
    let sign_in = |scope: &'static str| {
        let (app, client_id, secret, password) = (&app, &client_id, &secret, &env.password);
        async move {
            app.tokens_with_scope(client_id, secret, "alice", password, scope)
                .await
        }
    };
    let tokens = sign_in("openid tessera:api").await;
    app.import(&format!(
        "hosts:\n  - {{host_id: corp, domain: {AD_HOST}, name: Host {AD_HOST}, roles: [{{name: auditor}}]}}\n"
    ))
    .await
    .unwrap();
    let alice = user_id(&app, "alice@corp.example.com").await;
    // The directory made her the host's admin; she gives herself a local role.
    let api = app.api(Some(tokens["access_token"].as_str().unwrap().to_owned()));
    json(
        api.post(&path(&alice, "roles"), &json!({"role": "auditor"}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let tokens = sign_in("openid").await;
    let claims = app
        .state
        .issuer
        .verify_access_token(tokens["access_token"].as_str().unwrap(), app.state.now())
        .unwrap();
    assert_eq!(claims["role"], "admin auditor");
    let roles = json(api.get(&path(&alice, "roles")).await, StatusCode::OK).await;
    let sources: Vec<(String, String)> = assignments(&roles)
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_owned(),
                r["source"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        sources,
        [
            ("admin".to_owned(), "directory".to_owned()),
            ("auditor".to_owned(), "local".to_owned())
        ]
    );
}

//! The catalog (`/api/v1/roles`, `/groups`, `/positions`, `/attributes`, `/endpoints`
//! and the four permission routes): who may read and change it, names in use, deletes
//! of definitions in use, bad input, the audit entries, paging, and the CLI beside it.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::admin_api::{app_with_two_hosts, json, user_id};
use crate::helpers::{Api, TestApp, Workspace, PASSWORD};

async fn audit_of(admin: &Api<'_>, query: &str) -> Vec<Value> {
    let page = json(
        admin.get(&format!("/api/v1/audit?{query}")).await,
        StatusCode::OK,
    )
    .await;
    page["entries"].as_array().unwrap().clone()
}

fn names(page: &Value, key: &str, field: &str) -> Vec<String> {
    page[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d[field].as_str().unwrap().to_owned())
        .collect()
}

/// An admin of the host `other`, to prove that acme's ids are not found from there.
async fn with_admin_of_other(app: &TestApp) {
    app.import(&format!(
        r#"
hosts:
  - host_id: other
    domain: other.example
    name: Other
    roles:
      - {{ name: admin }}
users:
  - email: boss@other.example
    user_type: C
    password: "{PASSWORD}"
    hosts:
      - host: other
        customer: {{ customer_id: c-10 }}
        roles: [admin]
"#
    ))
    .await
    .unwrap();
}

#[tokio::test]
async fn a_host_admin_creates_renames_and_deletes_a_role_and_the_trail_records_each() {
    let app = app_with_two_hosts().await;
    let admin = app.api_as("admin@acme.example", "acme").await;
    let created = json(
        admin
            .post(
                "/api/v1/roles",
                &json!({"name": " auditor ", "description": "Reads the books"}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(created["name"], "auditor");
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.len() >= 20, "a random id: {id}");
    let got = json(
        admin.get(&format!("/api/v1/roles/{id}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(got["description"], "Reads the books");
    let renamed = json(
        admin
            .patch(
                &format!("/api/v1/roles/{id}"),
                &json!({"name": "controller", "description": ""}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(renamed["name"], "controller");
    assert_eq!(renamed["description"], Value::Null);
    let page = json(admin.get("/api/v1/roles").await, StatusCode::OK).await;
    assert_eq!(
        names(&page, "items", "name"),
        ["admin", "controller", "manager", "staff"]
    );
    let deleted = admin.delete(&format!("/api/v1/roles/{id}")).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = admin.get(&format!("/api/v1/roles/{id}")).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);

    let entries = audit_of(&admin, &format!("action=role.&target={id}")).await;
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["role.deleted", "role.updated", "role.created"]);
    assert_eq!(entries[2]["after"]["name"], "auditor");
    assert_eq!(entries[1]["before"]["name"], "auditor");
    assert_eq!(entries[1]["after"]["name"], "controller");
    assert_eq!(entries[0]["before"]["name"], "controller");
    let admin_id = user_id(&app, "admin@acme.example").await;
    for e in &entries {
        assert_eq!(e["actor_id"], admin_id.as_str());
        assert_eq!(e["host_id"], "acme");
        assert_eq!(e["target_kind"], "role");
        assert_eq!(e["via"], "api");
    }
}

#[tokio::test]
async fn a_manager_reads_the_catalog_but_only_a_host_admin_changes_it() {
    let app = app_with_two_hosts().await;
    let manager = app.api_as("manager@acme.example", "acme").await;
    let user = app.api_as("user@acme.example", "acme").await;
    for resource in ["roles", "groups", "positions", "attributes", "endpoints"] {
        let path = format!("/api/v1/{resource}");
        let read = manager.get(&path).await;
        assert_eq!(read.status(), StatusCode::OK, "{resource}");
        let refused = json(user.get(&path).await, StatusCode::FORBIDDEN).await;
        assert_eq!(refused["right"], "manager", "{resource}");
        let body = if resource == "endpoints" {
            json!({"endpoint": "/v1/pets", "http_method": "GET"})
        } else {
            json!({"name": "new-one"})
        };
        let refused = json(manager.post(&path, &body).await, StatusCode::FORBIDDEN).await;
        assert_eq!(refused["right"], "host_admin", "{resource}");
    }
    let refused = json(
        manager.delete("/api/v1/groups/night-shift").await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(refused["right"], "host_admin");
    let refused = json(
        manager
            .patch("/api/v1/groups/night-shift", &json!({"name": "day-shift"}))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(refused["right"], "host_admin");
    // Nothing was written.
    let groups = json(manager.get("/api/v1/groups").await, StatusCode::OK).await;
    assert_eq!(names(&groups, "items", "name"), ["night-shift"]);
}

#[tokio::test]
async fn a_definition_of_another_host_is_not_found() {
    let app = app_with_two_hosts().await;
    with_admin_of_other(&app).await;
    let boss = app.api_as("boss@other.example", "other").await;
    for path in [
        "/api/v1/groups/night-shift",
        "/api/v1/roles/staff",
        "/api/v1/attributes/country",
        "/api/v1/groups/night-shift/permissions",
    ] {
        let answer = boss.get(path).await;
        assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let answer = boss
        .patch("/api/v1/groups/night-shift", &json!({"name": "mine"}))
        .await;
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);
    let answer = boss.delete("/api/v1/groups/night-shift?force=true").await;
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);
    let uma = user_id(&app, "user@acme.example").await;
    let answer = boss.get(&format!("/api/v1/users/{uma}/permissions")).await;
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);
    // Names are per host: `other` may have its own night-shift.
    let own = boss
        .post("/api/v1/groups", &json!({"name": "night-shift"}))
        .await;
    assert_eq!(own.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_name_or_id_in_use_is_refused_naming_it_and_nothing_is_written() {
    let app = app_with_two_hosts().await;
    let admin = app.api_as("admin@acme.example", "acme").await;
    let taken = json(
        admin.post("/api/v1/roles", &json!({"name": "staff"})).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        taken["message"].as_str().unwrap().contains("\"staff\""),
        "{taken}"
    );
    let taken = json(
        admin
            .post(
                "/api/v1/groups",
                &json!({"id": "night-shift", "name": "nights"}),
            )
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        taken["message"].as_str().unwrap().contains("night-shift"),
        "{taken}"
    );
    let created = json(
        admin
            .post("/api/v1/roles", &json!({"id": "clerk", "name": "clerk"}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(created["id"], "clerk");
    let rename = admin
        .patch("/api/v1/roles/clerk", &json!({"name": "manager"}))
        .await;
    assert_eq!(rename.status(), StatusCode::CONFLICT);
    let entries = audit_of(&admin, "action=role.").await;
    assert_eq!(entries.len(), 1, "only the clerk's creation: {entries:?}");
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_field() {
    let app = app_with_two_hosts().await;
    let admin = app.api_as("admin@acme.example", "acme").await;
    let long = "x".repeat(201);
    let cases = [
        (
            "/api/v1/roles",
            json!({"name": long}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "name",
        ),
        (
            "/api/v1/groups",
            json!({"name": "a", "colour": "red"}),
            StatusCode::BAD_REQUEST,
            "colour",
        ),
        (
            "/api/v1/roles",
            json!({"name": "a", "type": "integer"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "type",
        ),
        (
            "/api/v1/attributes",
            json!({"name": "a", "type": "number"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "type",
        ),
        (
            "/api/v1/positions",
            json!({"name": "a", "inherit_to_sibling": "yes"}),
            StatusCode::BAD_REQUEST,
            "inherit_to_sibling",
        ),
        (
            "/api/v1/endpoints",
            json!({"endpoint": "/v1/pets", "http_method": "TRACE"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "http_method",
        ),
        (
            "/api/v1/roles",
            json!({"name": "   "}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "name",
        ),
    ];
    for (path, body, status, field) in cases {
        let answer = json(admin.post(path, &body).await, status).await;
        assert_eq!(answer["field"], field, "{path} {body}");
    }
    let empty = json(
        admin.patch("/api/v1/roles/staff", &json!({})).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(empty["field"], "body");
    let bad_query = json(
        admin.delete("/api/v1/roles/staff?force=maybe").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(bad_query["field"], "force");
    let roles = json(admin.get("/api/v1/roles").await, StatusCode::OK).await;
    assert_eq!(
        names(&roles, "items", "name"),
        ["admin", "manager", "staff"]
    );
    assert!(audit_of(&admin, "action=role.").await.is_empty());
}

#[tokio::test]
async fn a_group_in_use_is_deleted_only_when_forced_and_its_members_lose_it() {
    let app = app_with_two_hosts().await;
    let admin = app.api_as("admin@acme.example", "acme").await;
    let refused = json(
        admin.delete("/api/v1/groups/night-shift").await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("in use by 1 users"),
        "{refused}"
    );
    assert_eq!(
        admin.get("/api/v1/groups/night-shift").await.status(),
        StatusCode::OK
    );
    let forced = admin.delete("/api/v1/groups/night-shift?force=true").await;
    assert_eq!(forced.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        admin.get("/api/v1/groups/night-shift").await.status(),
        StatusCode::NOT_FOUND
    );
    let user = app.api_as("user@acme.example", "acme").await;
    let me = json(user.me().await, StatusCode::OK).await;
    assert_eq!(me["host"]["groups"], json!([]));
    let entries = audit_of(&admin, "action=group.deleted&target=night-shift").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["detail"], json!({"force": true, "users": 1}));
    assert_eq!(entries[0]["before"]["name"], "night-shift");
}

#[tokio::test]
async fn the_roles_that_give_rights_and_the_default_role_are_kept() {
    let app = app_with_two_hosts().await;
    let admin = app.api_as("admin@acme.example", "acme").await;
    for role in ["admin", "manager", "staff"] {
        let path = format!("/api/v1/roles/{role}");
        let delete = admin.delete(&format!("{path}?force=true")).await;
        assert_eq!(delete.status(), StatusCode::CONFLICT, "{role}");
        let rename = admin.patch(&path, &json!({"name": "renamed"})).await;
        assert_eq!(rename.status(), StatusCode::CONFLICT, "{role}");
        // The description may change.
        let describe = admin.patch(&path, &json!({"description": "kept"})).await;
        assert_eq!(describe.status(), StatusCode::OK, "{role}");
    }
    let me = json(admin.me().await, StatusCode::OK).await;
    assert!(me["host"]["rights"]
        .as_array()
        .unwrap()
        .contains(&json!("host_admin")));
}

#[tokio::test]
async fn an_attribute_keeps_a_type_its_values_fit_and_positions_keep_their_flags() {
    let app = app_with_two_hosts().await;
    let admin = app.api_as("admin@acme.example", "acme").await;
    // user@acme.example has country CAN.
    let refused = json(
        admin
            .patch("/api/v1/attributes/country", &json!({"type": "integer"}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        refused["message"].as_str().unwrap().contains("\"CAN\""),
        "{refused}"
    );
    let kept = json(
        admin.get("/api/v1/attributes/country").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(kept["type"], "string");
    let listed = json(
        admin
            .patch("/api/v1/attributes/country", &json!({"type": "list"}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed["type"], "list");
    let level = json(
        admin
            .post(
                "/api/v1/attributes",
                &json!({"id": "level", "name": "level", "type": "integer"}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(level["type"], "integer");
    assert!(level.get("inherit_to_sibling").is_none(), "{level}");
    let position = json(
        admin
            .post(
                "/api/v1/positions",
                &json!({"id": "lead", "name": "Team lead", "inherit_to_ancestor": true}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(position["inherit_to_ancestor"], true);
    assert_eq!(position["inherit_to_sibling"], false);
    let changed = json(
        admin
            .patch(
                "/api/v1/positions/lead",
                &json!({"inherit_to_sibling": true}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(changed["inherit_to_ancestor"], true);
    assert_eq!(changed["inherit_to_sibling"], true);
}

#[tokio::test]
async fn pages_of_groups_and_endpoints_neither_repeat_nor_skip() {
    let app = app_with_two_hosts().await;
    let admin = app.api_as("admin@acme.example", "acme").await;
    for name in ["a", "b", "c", "d"] {
        let created = admin
            .post("/api/v1/groups", &json!({"name": format!("g-{name}")}))
            .await;
        assert_eq!(created.status(), StatusCode::CREATED);
    }
    for (path, method) in [
        ("/v1/pets", "POST"),
        ("/v1/pets", "GET"),
        ("/v1/cats", "DELETE"),
    ] {
        let created = admin
            .post(
                "/api/v1/endpoints",
                &json!({"endpoint": path, "http_method": method}),
            )
            .await;
        assert_eq!(created.status(), StatusCode::CREATED);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = cursor.map_or("limit=2".to_owned(), |c| format!("limit=2&cursor={c}"));
        let page = json(
            admin.get(&format!("/api/v1/groups?{query}")).await,
            StatusCode::OK,
        )
        .await;
        seen.extend(names(&page, "items", "name"));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ["g-a", "g-b", "g-c", "g-d", "night-shift"]);

    let first = json(admin.get("/api/v1/endpoints?limit=2").await, StatusCode::OK).await;
    let mut endpoints: Vec<String> = first["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["http_method"].as_str().unwrap(),
                e["endpoint"].as_str().unwrap()
            )
        })
        .collect();
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = json(
        admin
            .get(&format!("/api/v1/endpoints?limit=2&cursor={cursor}"))
            .await,
        StatusCode::OK,
    )
    .await;
    assert!(second.get("next_cursor").is_none(), "{second}");
    endpoints.extend(second["endpoints"].as_array().unwrap().iter().map(|e| {
        format!(
            "{} {}",
            e["http_method"].as_str().unwrap(),
            e["endpoint"].as_str().unwrap()
        )
    }));
    assert_eq!(
        endpoints,
        ["DELETE /v1/cats", "GET /v1/pets", "POST /v1/pets"]
    );
    let limit = json(
        admin.get("/api/v1/roles?limit=0").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(limit["field"], "limit");
}

#[tokio::test]
async fn an_endpoint_is_unique_by_path_and_method_and_in_use_until_forced() {
    let app = app_with_two_hosts().await;
    let admin = app.api_as("admin@acme.example", "acme").await;
    let pets = json(
        admin
            .post(
                "/api/v1/endpoints",
                &json!({"id": "pets", "endpoint": "/v1/pets", "http_method": "get"}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(pets["http_method"], "GET");
    let again = admin
        .post(
            "/api/v1/endpoints",
            &json!({"endpoint": "/v1/pets", "http_method": "GET"}),
        )
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let granted = admin
        .post(
            "/api/v1/roles/staff/permissions",
            &json!({"endpoint_id": "pets"}),
        )
        .await;
    assert_eq!(granted.status(), StatusCode::CREATED);
    let refused = json(
        admin.delete("/api/v1/endpoints/pets").await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("in use by 1 permissions"),
        "{refused}"
    );
    let moved = json(
        admin
            .patch(
                "/api/v1/endpoints/pets",
                &json!({"endpoint": "/v2/pets", "description": "Pets"}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(moved["endpoint"], "/v2/pets");
    let forced = admin.delete("/api/v1/endpoints/pets?force=true").await;
    assert_eq!(forced.status(), StatusCode::NO_CONTENT);
    let permissions = json(
        admin.get("/api/v1/roles/staff/permissions").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(permissions["permissions"], json!([]));
    let entries = audit_of(&admin, "action=endpoint.&target=pets").await;
    assert_eq!(entries.len(), 3, "{entries:?}");
    assert_eq!(
        entries[0]["detail"],
        json!({"force": true, "permissions": 1})
    );
}

#[tokio::test]
async fn permissions_are_granted_listed_and_revoked_for_each_holder() {
    let app = app_with_two_hosts().await;
    let admin = app.api_as("admin@acme.example", "acme").await;
    let created = admin
        .post(
            "/api/v1/endpoints",
            &json!({"id": "pets", "endpoint": "/v1/pets", "http_method": "GET"}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let uma = user_id(&app, "user@acme.example").await;
    let stranger = user_id(&app, "stranger@other.example").await;
    let holders = [
        (
            "/api/v1/roles/staff".to_owned(),
            json!({"endpoint_id": "pets"}),
        ),
        (
            "/api/v1/groups/night-shift".to_owned(),
            json!({"endpoint_id": "pets"}),
        ),
        (
            format!("/api/v1/users/{uma}"),
            json!({"endpoint_id": "pets", "start_date": "2026-01-01", "end_date": "2026-12-31"}),
        ),
        (
            "/api/v1/attributes/country".to_owned(),
            json!({"endpoint_id": "pets", "value": "CAN"}),
        ),
    ];
    for (holder, body) in &holders {
        let path = format!("{holder}/permissions");
        let granted = json(admin.post(&path, body).await, StatusCode::CREATED).await;
        assert_eq!(granted["endpoint"], "/v1/pets", "{holder}");
        assert_eq!(granted["http_method"], "GET", "{holder}");
        let twice = admin.post(&path, body).await;
        assert_eq!(twice.status(), StatusCode::CONFLICT, "{holder}");
        let listed = json(admin.get(&path).await, StatusCode::OK).await;
        assert_eq!(listed["permissions"].as_array().unwrap().len(), 1);
    }
    let user_permissions = json(
        admin.get(&format!("/api/v1/users/{uma}/permissions")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(user_permissions["permissions"][0]["end_date"], "2026-12-31");
    let attribute_permissions = json(
        admin.get("/api/v1/attributes/country/permissions").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(attribute_permissions["permissions"][0]["value"], "CAN");

    // A user of another host, an unknown endpoint, a value of the wrong type.
    let answer = admin
        .post(
            &format!("/api/v1/users/{stranger}/permissions"),
            &json!({"endpoint_id": "pets"}),
        )
        .await;
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);
    let answer = admin
        .post(
            "/api/v1/roles/admin/permissions",
            &json!({"endpoint_id": "nowhere"}),
        )
        .await;
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);
    let level = admin
        .post(
            "/api/v1/attributes",
            &json!({"id": "level", "name": "level", "type": "integer"}),
        )
        .await;
    assert_eq!(level.status(), StatusCode::CREATED);
    let answer = admin
        .post(
            "/api/v1/attributes/level/permissions",
            &json!({"endpoint_id": "pets", "value": "high"}),
        )
        .await;
    assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let answer = json(
        admin
            .post(
                &format!("/api/v1/users/{uma}/permissions"),
                &json!({"endpoint_id": "pets", "start_date": "2026-13-01"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(answer["field"], "start_date");

    for (holder, _) in &holders {
        let path = format!("{holder}/permissions/pets");
        assert_eq!(
            admin.delete(&path).await.status(),
            StatusCode::NO_CONTENT,
            "{holder}"
        );
        assert_eq!(
            admin.delete(&path).await.status(),
            StatusCode::NOT_FOUND,
            "{holder}"
        );
    }
    let entries = audit_of(&admin, "action=permission.").await;
    assert_eq!(entries.len(), 8, "{entries:?}");
    assert_eq!(entries[0]["action"], "permission.revoked");
    assert_eq!(entries[0]["target_kind"], "attribute");
    assert_eq!(entries[0]["detail"]["endpoint_id"], "pets");
    let manager = app.api_as("manager@acme.example", "acme").await;
    let refused = json(
        manager
            .post(
                "/api/v1/roles/staff/permissions",
                &json!({"endpoint_id": "pets"}),
            )
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(refused["right"], "host_admin");
}

/// Runs `tessera args…`; returns whether it succeeded, its output and its errors.
fn tessera(ws: &Workspace, args: &[&str]) -> (bool, String, String) {
    let out = ws.tessera(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn tessera_json(ws: &Workspace, args: &[&str]) -> Value {
    let (ok, out, err) = tessera(ws, args);
    assert!(ok, "tessera {args:?} failed: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

#[tokio::test]
async fn the_cli_manages_definitions_endpoints_and_permissions_printing_json() {
    let ws = Workspace::new().await;
    let (ok, _, err) = tessera(
        &ws,
        &[
            "host",
            "add",
            "--domain",
            "acme.example",
            "--name",
            "Acme",
            "--id",
            "acme",
        ],
    );
    assert!(ok, "{err}");
    let role = tessera_json(
        &ws,
        &[
            "role",
            "add",
            "--host",
            "acme.example",
            "clerk",
            "--id",
            "clerk",
            "--json",
        ],
    );
    assert_eq!(
        role,
        json!({"id": "clerk", "name": "clerk", "description": null})
    );
    let attribute = tessera_json(
        &ws,
        &[
            "attribute",
            "add",
            "--host",
            "acme",
            "level",
            "--type",
            "integer",
            "--json",
        ],
    );
    assert_eq!(attribute["type"], "integer");
    let position = tessera_json(
        &ws,
        &[
            "position",
            "add",
            "--host",
            "acme",
            "lead",
            "--inherit-to-sibling",
            "--json",
        ],
    );
    assert_eq!(position["inherit_to_sibling"], true);
    assert_eq!(position["inherit_to_ancestor"], false);
    let (ok, _, err) = tessera(&ws, &["role", "add", "--host", "acme", "clerk"]);
    assert!(!ok);
    assert!(err.contains("\"clerk\" already exists"), "{err}");
    let (ok, _, err) = tessera(
        &ws,
        &["group", "add", "--host", "acme", "g", "--type", "date"],
    );
    assert!(!ok);
    assert!(err.contains("--type"), "{err}");

    let updated = tessera_json(
        &ws,
        &[
            "role", "update", "--host", "acme", "clerk", "--name", "teller", "--json",
        ],
    );
    assert_eq!(updated["name"], "teller");
    let roles = tessera_json(&ws, &["role", "list", "--host", "acme", "--json"]);
    assert_eq!(roles["items"][0]["name"], "teller");
    assert_eq!(roles["items"].as_array().unwrap().len(), 1);

    let endpoint = tessera_json(
        &ws,
        &[
            "endpoint", "add", "--host", "acme", "/v1/pets", "--method", "post", "--id", "pets",
            "--json",
        ],
    );
    assert_eq!(endpoint["http_method"], "POST");
    let endpoints = tessera_json(&ws, &["endpoint", "list", "--host", "acme", "--json"]);
    assert_eq!(endpoints["endpoints"][0]["endpoint"], "/v1/pets");
    let granted = tessera_json(
        &ws,
        &[
            "permission",
            "grant",
            "--host",
            "acme",
            "role",
            "clerk",
            "--endpoint",
            "pets",
            "--json",
        ],
    );
    assert_eq!(
        granted,
        json!({"endpoint_id": "pets", "endpoint": "/v1/pets", "http_method": "POST"})
    );
    let listed = tessera_json(
        &ws,
        &[
            "permission",
            "list",
            "--host",
            "acme",
            "role",
            "clerk",
            "--json",
        ],
    );
    assert_eq!(listed["permissions"], json!([granted]));
    let (ok, _, err) = tessera(
        &ws,
        &[
            "permission",
            "grant",
            "--host",
            "acme",
            "attribute",
            "level",
            "--endpoint",
            "pets",
        ],
    );
    assert!(!ok);
    assert!(err.contains("--value"), "{err}");
    let (ok, _, err) = tessera(&ws, &["endpoint", "delete", "--host", "acme", "pets"]);
    assert!(!ok);
    assert!(err.contains("in use by 1 permissions"), "{err}");
    let (ok, _, err) = tessera(
        &ws,
        &[
            "permission",
            "revoke",
            "--host",
            "acme",
            "role",
            "clerk",
            "--endpoint",
            "pets",
        ],
    );
    assert!(ok, "{err}");
    let (ok, _, err) = tessera(&ws, &["endpoint", "delete", "--host", "acme", "pets"]);
    assert!(ok, "{err}");
    let (ok, _, err) = tessera(&ws, &["role", "delete", "--host", "acme", "clerk"]);
    assert!(ok, "{err}");
    let roles = tessera_json(&ws, &["role", "list", "--host", "acme", "--json"]);
    assert_eq!(roles["items"], json!([]));

    // Each change is in the trail, as the operator.
    let trail = tessera_json(&ws, &["audit", "list", "--host", "acme", "--json"]);
    let actions: Vec<&str> = trail["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "role.created",
        "role.updated",
        "role.deleted",
        "attribute.created",
        "position.created",
        "endpoint.created",
        "endpoint.deleted",
        "permission.granted",
        "permission.revoked",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    assert!(trail["entries"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["via"] == "cli"));
}

#[tokio::test]
async fn turning_on_a_positions_inheritance_gives_it_to_the_holders_manager() {
    let app = app_with_two_hosts().await;
    app.import(&format!(
        r#"
hosts:
  - host_id: acme
    domain: acme.example
    name: Acme
    default_role: staff
    positions:
      - {{ id: lead, name: lead }}
users:
  - email: boss@acme.example
    user_type: E
    password: "{PASSWORD}"
    hosts:
      - host: acme
        employee: {{ employee_id: e-10 }}
  - email: worker@acme.example
    user_type: E
    password: "{PASSWORD}"
    hosts:
      - host: acme
        employee: {{ employee_id: e-11, manager_id: e-10 }}
        positions: [lead]
"#
    ))
    .await
    .unwrap();
    let admin = app.api_as("admin@acme.example", "acme").await;
    let boss = app.api_as("boss@acme.example", "acme").await;
    let me = json(boss.me().await, StatusCode::OK).await;
    assert_eq!(me["host"]["positions"], json!([]));
    let changed = admin
        .patch(
            "/api/v1/positions/lead",
            &json!({"inherit_to_ancestor": true}),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    let me = json(boss.me().await, StatusCode::OK).await;
    assert_eq!(me["host"]["positions"], json!(["lead"]));
    // A position held is in use; forced, it goes from the holder and the manager.
    let refused = admin.delete("/api/v1/positions/lead").await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let forced = admin.delete("/api/v1/positions/lead?force=true").await;
    assert_eq!(forced.status(), StatusCode::NO_CONTENT);
    let me = json(boss.me().await, StatusCode::OK).await;
    assert_eq!(me["host"]["positions"], json!([]));
}

#[tokio::test]
async fn an_import_with_an_unknown_attribute_type_is_refused_naming_it() {
    let app = app_with_two_hosts().await;
    let error = app
        .import(
            r#"
hosts:
  - host_id: acme
    domain: acme.example
    name: Acme
    attributes:
      - { name: level, type: number }
"#,
        )
        .await
        .unwrap_err();
    assert!(
        error.contains("level") && error.contains("number"),
        "{error}"
    );
    let admin = app.api_as("admin@acme.example", "acme").await;
    let gone = admin.get("/api/v1/attributes/level").await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_holders_permissions_come_a_page_at_a_time() {
    let app = app_with_two_hosts().await;
    let admin = app.api_as("admin@acme.example", "acme").await;
    for (id, path, method) in [
        ("e1", "/v1/pets", "POST"),
        ("e2", "/v1/pets", "GET"),
        ("e3", "/v1/cats", "GET"),
    ] {
        let created = admin
            .post(
                "/api/v1/endpoints",
                &json!({"id": id, "endpoint": path, "http_method": method}),
            )
            .await;
        assert_eq!(created.status(), StatusCode::CREATED);
        let granted = admin
            .post(
                "/api/v1/roles/staff/permissions",
                &json!({"endpoint_id": id}),
            )
            .await;
        assert_eq!(granted.status(), StatusCode::CREATED);
    }
    let first = json(
        admin.get("/api/v1/roles/staff/permissions?limit=2").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(names(&first, "permissions", "endpoint_id"), ["e3", "e2"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = json(
        admin
            .get(&format!(
                "/api/v1/roles/staff/permissions?limit=2&cursor={cursor}"
            ))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(names(&second, "permissions", "endpoint_id"), ["e1"]);
    assert!(second.get("next_cursor").is_none(), "{second}");
}

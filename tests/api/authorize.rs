use reqwest::StatusCode;
use tessera::domain::{ClientType, Secret};

use crate::helpers::{
    client, hidden_field, location, query_of, spawn_app, TestApp, EMAIL, PASSWORD, REDIRECT_URI,
};

fn with(app: &TestApp, changes: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut params: Vec<(&'static str, String)> = app
        .authorize_params()
        .into_iter()
        .filter(|(k, _)| !changes.iter().any(|(c, _)| c == k))
        .collect();
    params.extend(
        changes
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (*k, (*v).to_owned())),
    );
    params
}

/// The error an authorization request was redirected back with.
async fn redirected_error(
    app: &TestApp,
    params: &[(&str, String)],
) -> std::collections::HashMap<String, String> {
    let response = app.get_authorize(params).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let to = location(&response);
    assert!(to.starts_with(REDIRECT_URI), "{to}");
    let q = query_of(&to);
    assert_eq!(
        q.get("state").map(String::as_str),
        Some("st-123"),
        "state must come back unchanged"
    );
    assert_eq!(q.get("iss"), Some(&app.issuer), "RFC 9207 iss");
    q
}

#[tokio::test]
async fn an_unknown_client_gets_an_error_page_and_no_redirect() {
    let app = spawn_app().await;
    let response = app
        .get_authorize(&with(&app, &[("client_id", "nobody")]))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("The client is not known."));
}

#[tokio::test]
async fn an_unregistered_redirect_uri_gets_an_error_page_and_no_redirect() {
    let app = spawn_app().await;
    for uri in [
        "https://evil.example/callback",
        "https://rp.example/callback/",
        "https://rp.example/callback?x=1",
        "",
    ] {
        let response = app
            .get_authorize(&with(&app, &[("redirect_uri", uri)]))
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{uri}");
        assert!(response.headers().get("location").is_none(), "{uri}");
    }
}

#[tokio::test]
async fn protocol_errors_go_back_to_the_client_with_state_and_iss() {
    let app = spawn_app().await;
    let cases: &[(&[(&'static str, &str)], &str)] = &[
        (&[("response_type", "token")], "unsupported_response_type"),
        (
            &[("response_type", "id_token")],
            "unsupported_response_type",
        ),
        (&[("response_type", "")], "invalid_request"),
        (
            &[("code_challenge", ""), ("code_challenge_method", "")],
            "invalid_request",
        ),
        (&[("code_challenge_method", "plain")], "invalid_request"),
        (&[("scope", "openid admin")], "invalid_scope"),
        (
            &[("request", "eyJhbGciOiJub25lIn0.e30.")],
            "request_not_supported",
        ),
        (
            &[("request_uri", "https://rp.example/req")],
            "request_uri_not_supported",
        ),
        (&[("prompt", "none login")], "invalid_request"),
        (&[("prompt", "none")], "login_required"),
        (&[("id_token_hint", "not-a-token")], "invalid_request"),
    ];
    for (changes, expected) in cases {
        let q = redirected_error(&app, &with(&app, changes)).await;
        assert_eq!(
            q.get("error").map(String::as_str),
            Some(*expected),
            "{changes:?}: {q:?}"
        );
        assert!(!q.contains_key("code"));
    }
}

#[tokio::test]
async fn a_public_client_must_use_pkce() {
    let app = spawn_app().await;
    let params = with(
        &app,
        &[
            ("client_id", &app.public_client_id),
            ("code_challenge", ""),
            ("code_challenge_method", ""),
        ],
    );
    let q = redirected_error(&app, &params).await;
    assert_eq!(q["error"], "invalid_request");
    assert!(q["error_description"].contains("PKCE"));
}

#[tokio::test]
async fn repeated_parameters_are_refused() {
    let app = spawn_app().await;
    let mut params = app.authorize_params();
    params.push(("scope", "openid".into()));
    let response = app.get_authorize(&params).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn unknown_parameters_are_ignored() {
    let app = spawn_app().await;
    let mut params = app.authorize_params();
    params.push(("flavour", "vanilla".into()));
    let response = app.follow(app.get_authorize(&params).await).await;
    assert!(response.text().await.unwrap().contains("Sign in"));
}

#[tokio::test]
async fn sign_in_and_consent_return_a_code_with_state_and_iss() {
    let app = spawn_app().await;
    let response = app
        .sign_in_through(app.get_authorize(&app.authorize_params()).await)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let q = query_of(&location(&response));
    assert!(q["code"].len() >= 43);
    assert_eq!(q["state"], "st-123");
    assert_eq!(q["iss"], app.issuer);
}

#[tokio::test]
async fn pages_carry_security_headers() {
    let app = spawn_app().await;
    let redirect = app.get_authorize(&app.authorize_params()).await;
    // The session (pending request and CSRF token) starts at the authorization request.
    let cookie = redirect.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_lowercase();
    let page = app.follow(redirect).await;
    let h = page.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["x-frame-options"], "DENY");
    assert!(
        cookie.contains("httponly") && cookie.contains("samesite=lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("secure"),
        "an http issuer gets no Secure cookie: {cookie}"
    );
}

#[tokio::test]
async fn the_login_hint_prefills_the_form() {
    let app = spawn_app().await;
    let page = app
        .follow(
            app.get_authorize(&with(&app, &[("login_hint", "hinted@example.com")]))
                .await,
        )
        .await;
    let html = page.text().await.unwrap();
    assert!(html.contains("value=\"hinted@example.com\""), "{html}");
}

#[tokio::test]
async fn a_wrong_password_or_unknown_user_gets_one_message() {
    let app = spawn_app().await;
    let mut messages = Vec::new();
    for (login, password) in [
        (EMAIL, "wrong"),
        ("nobody@example.com", PASSWORD),
        ("", ""),
        ("ALICE", "wrong"),
    ] {
        let page = app
            .follow(app.get_authorize(&app.authorize_params()).await)
            .await;
        let response = app.submit_login(page, login, password).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let html = response.text().await.unwrap();
        assert!(html.contains("Sign in"));
        let start = html.find("role=\"alert\">").unwrap();
        messages.push(html[start..start + 60].to_owned());
    }
    messages.dedup();
    assert_eq!(messages.len(), 1, "{messages:?}");
}

#[tokio::test]
async fn the_username_signs_in_as_well_as_the_email() {
    let app = spawn_app().await;
    let page = app
        .follow(app.get_authorize(&app.authorize_params()).await)
        .await;
    let response = app.submit_login(page, "Alice", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_form_without_its_csrf_token_is_refused() {
    let app = spawn_app().await;
    let page = app
        .follow(app.get_authorize(&app.authorize_params()).await)
        .await;
    let html = page.text().await.unwrap();
    let request_id = hidden_field(&html, "request_id").unwrap();
    for csrf in [None, Some("forged")] {
        let mut form = vec![
            ("request_id", request_id.clone()),
            ("login", EMAIL.into()),
            ("password", PASSWORD.into()),
        ];
        if let Some(c) = csrf {
            form.push(("csrf", c.into()));
        }
        let response = app
            .browser
            .post(app.url("/login"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(response
            .headers()
            .get("set-cookie")
            .is_none_or(|c| !c.to_str().unwrap().is_empty()));
    }
    // Still not signed in: prompt=none fails.
    let q = redirected_error(&app, &with(&app, &[("prompt", "none")])).await;
    assert_eq!(q["error"], "login_required");
}

#[tokio::test]
async fn consent_is_remembered_and_prompt_none_then_issues_a_code_silently() {
    let app = spawn_app().await;
    app.code().await;
    let response = app.get_authorize(&with(&app, &[("prompt", "none")])).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let q = query_of(&location(&response));
    assert!(q.contains_key("code"), "{q:?}");
    // A wider scope than consented needs consent again, which prompt=none cannot show.
    let q = redirected_error(
        &app,
        &with(&app, &[("prompt", "none"), ("scope", "openid api:read")]),
    )
    .await;
    assert_eq!(q["error"], "consent_required");
}

#[tokio::test]
async fn prompt_login_and_max_age_zero_ask_for_the_password_again() {
    let app = spawn_app().await;
    app.code().await;
    // At once: a sign-in a moment ago, in the same second, is not one for this request.
    for change in [("prompt", "login"), ("max_age", "0")] {
        let response = app
            .follow(app.get_authorize(&with(&app, &[change])).await)
            .await;
        let html = response.text().await.unwrap();
        assert!(
            html.contains("name=\"password\""),
            "{change:?} did not ask for a sign-in"
        );
    }
}

#[tokio::test]
async fn a_sign_in_for_a_prompt_login_request_answers_it_and_no_other() {
    let app = spawn_app().await;
    app.code().await;
    for change in [("prompt", "login"), ("max_age", "0")] {
        // The sign-in made for this request gets its code at once.
        let response = app
            .sign_in_through(app.get_authorize(&with(&app, &[change])).await)
            .await;
        let to = location(&response);
        assert!(query_of(&to).contains_key("code"), "{change:?}: {to}");
        // The next such request, in the same second, asks again.
        let response = app
            .follow(app.get_authorize(&with(&app, &[change])).await)
            .await;
        assert_eq!(response.url().path(), "/login", "{change:?}");
    }
}

#[tokio::test]
async fn prompt_consent_shows_the_consent_page_again() {
    let app = spawn_app().await;
    app.code().await;
    let response = app
        .follow(
            app.get_authorize(&with(&app, &[("prompt", "consent")]))
                .await,
        )
        .await;
    assert!(response.text().await.unwrap().contains("Allow access"));
}

#[tokio::test]
async fn a_first_party_client_skips_consent_but_not_for_offline_access_or_prompt_consent() {
    let app = spawn_app().await;
    let secret = Secret::generate();
    let mut first_party = client("first-party", ClientType::Confidential, Some(&secret));
    first_party.skip_consent = true;
    app.state
        .store
        .create_client(&first_party, app.state.now())
        .await
        .unwrap();
    let params = with(&app, &[("client_id", "first-party")]);
    let login_page = app.follow(app.get_authorize(&params).await).await;
    // From the login form straight back to the client with a code.
    let response = app.submit_login(login_page, EMAIL, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let to = location(&response);
    assert!(to.starts_with(REDIRECT_URI), "{to}");
    assert!(query_of(&to).contains_key("code"), "{to}");
    // Nothing was recorded as the user's own consent.
    let granted = app
        .state
        .store
        .granted_scopes(&app.user_id, "first-party")
        .await
        .unwrap();
    assert!(granted.is_empty(), "{granted:?}");
    // A refresh token that outlives the session needs the user's consent (Core §11),
    // and prompt=consent asks for it whatever the client.
    for change in [("scope", "openid offline_access"), ("prompt", "consent")] {
        let page = app
            .follow(
                app.get_authorize(&with(&app, &[("client_id", "first-party"), change]))
                    .await,
            )
            .await;
        let html = page.text().await.unwrap();
        assert!(html.contains("Allow access"), "{change:?}: {html}");
    }
    let q = redirected_error(
        &app,
        &with(
            &app,
            &[
                ("client_id", "first-party"),
                ("scope", "openid offline_access"),
                ("prompt", "none"),
            ],
        ),
    )
    .await;
    assert_eq!(q["error"], "consent_required");
    // An ordinary client still shows its consent page to the same signed-in user.
    let page = app
        .follow(app.get_authorize(&app.authorize_params()).await)
        .await;
    assert!(page.text().await.unwrap().contains("Allow access"));
}

#[tokio::test]
async fn denying_consent_returns_access_denied() {
    let app = spawn_app().await;
    let login_page = app
        .follow(app.get_authorize(&app.authorize_params()).await)
        .await;
    let consent_page = app
        .follow(app.submit_login(login_page, EMAIL, PASSWORD).await)
        .await;
    let response = app.submit_consent(consent_page, "deny").await;
    let q = query_of(&location(&response));
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], "st-123");
    assert_eq!(q["iss"], app.issuer);
}

#[tokio::test]
async fn form_post_mode_answers_with_an_auto_submitting_form() {
    let app = spawn_app().await;
    let response = app
        .sign_in_through(
            app.get_authorize(&with(&app, &[("response_mode", "form_post")]))
                .await,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("form-action https://rp.example"), "{csp}");
    let html = response.text().await.unwrap();
    assert!(
        html.contains(&format!("action=\"{REDIRECT_URI}\"")),
        "{html}"
    );
    assert!(hidden_field(&html, "code").is_some());
    assert_eq!(hidden_field(&html, "state").as_deref(), Some("st-123"));
    assert!(html.contains("name=\"iss\""));
}

#[tokio::test]
async fn post_to_the_authorization_endpoint_works_like_get() {
    let app = spawn_app().await;
    let response = app
        .browser
        .post(app.url("/authorize"))
        .form(&app.authorize_params())
        .send()
        .await
        .unwrap();
    let response = app.sign_in_through(response).await;
    assert!(query_of(&location(&response)).contains_key("code"));
}

/// Rows in the session table, as a copy of the database would show them.
async fn session_rows(app: &TestApp) -> i64 {
    sqlx::any::install_default_drivers();
    let mut db = <sqlx::AnyConnection as sqlx::Connection>::connect(&app.state.config.database_url)
        .await
        .unwrap();
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM session_t")
        .fetch_one(&mut db)
        .await
        .unwrap();
    n
}

#[tokio::test]
async fn oversized_parameters_are_refused_and_store_nothing() {
    let app = spawn_app().await;
    let before = session_rows(&app).await;
    // Cookieless requests, as a stranger would send them: each used to be kept whole.
    let huge = "x".repeat(1_900_000);
    for _ in 0..5 {
        let mut params = app.authorize_params();
        params.push(("login_hint", huge.clone()));
        let response = reqwest::Client::new()
            .post(app.url("/authorize"))
            .form(&params)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
    assert_eq!(session_rows(&app).await, before);
    // Within the whole request's bound, a parameter over its own limit: an error for
    // the client when the redirect is proven, an error page when it is `state`.
    let response = app
        .get_authorize(&with(&app, &[("login_hint", &"x".repeat(300))]))
        .await;
    let to = location(&response);
    assert_eq!(query_of(&to)["error"], "invalid_request");
    assert!(query_of(&to)["error_description"].contains("login_hint"));
    let response = app
        .get_authorize(&with(&app, &[("state", &"s".repeat(2000))]))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
    assert_eq!(session_rows(&app).await, before);
}

#[tokio::test]
async fn prompt_none_answers_login_required_for_a_hint_naming_someone_else_or_an_old_sign_in() {
    let app = spawn_app().await;
    app.import(&format!(
        "hosts:\n  - {{ host_id: elsewhere, domain: elsewhere.example, name: Elsewhere }}\n\
         users:\n  - email: bob@elsewhere.example\n    user_type: C\n    password: \"{PASSWORD}\"\n    \
         hosts: [{{ host: elsewhere, customer: {{ customer_id: c-2 }} }}]\n"
    ))
    .await
    .unwrap();
    let own = app.tokens().await["id_token"].as_str().unwrap().to_owned();
    let bobs = app
        .tokens_as(
            &app.client_id,
            &app.client_secret,
            "bob@elsewhere.example",
            PASSWORD,
        )
        .await["id_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // Alice is signed in and has consented: her own hint gets a code at once.
    let response = app
        .get_authorize(&with(&app, &[("prompt", "none"), ("id_token_hint", &own)]))
        .await;
    assert!(query_of(&location(&response)).contains_key("code"));
    // Bob's hint names someone else than the one signed in.
    let q = redirected_error(
        &app,
        &with(&app, &[("prompt", "none"), ("id_token_hint", &bobs)]),
    )
    .await;
    assert_eq!(q["error"], "login_required");
    // A sign-in older than max_age is not enough either.
    let q = redirected_error(&app, &with(&app, &[("prompt", "none"), ("max_age", "60")])).await;
    assert!(q.contains_key("code"), "a sign-in a moment ago: {q:?}");
    app.clock.advance(61);
    let q = redirected_error(&app, &with(&app, &[("prompt", "none"), ("max_age", "60")])).await;
    assert_eq!(q["error"], "login_required");
}

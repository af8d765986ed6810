use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{spawn_app, EMAIL};

#[tokio::test]
async fn userinfo_returns_the_claims_of_the_granted_scopes() {
    let app = spawn_app().await;
    let tokens = app.tokens().await;
    let access = tokens["access_token"].as_str().unwrap();
    for method in ["GET", "POST"] {
        let request = match method {
            "GET" => app.browser.get(app.url("/userinfo")),
            _ => app.browser.post(app.url("/userinfo")),
        };
        let response = request.bearer_auth(access).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{method}");
        let claims: Value = response.json().await.unwrap();
        assert_eq!(claims["sub"], app.user_id);
        assert_eq!(claims["email"], EMAIL);
        assert_eq!(claims["email_verified"], true);
        assert_eq!(claims["name"], "Alice Liddell");
        assert_eq!(claims["preferred_username"], "alice");
    }
    // RFC 6750 §2.2: the form body also carries a token.
    let response = app
        .browser
        .post(app.url("/userinfo"))
        .form(&[("access_token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_bad_or_missing_token_is_a_401_with_a_bearer_challenge() {
    let app = spawn_app().await;
    let response = app.browser.get(app.url("/userinfo")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.starts_with("Bearer") && !challenge.contains("error="),
        "{challenge}"
    );

    let response = app
        .browser
        .get(app.url("/userinfo"))
        .bearer_auth("garbage")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
}

#[tokio::test]
async fn a_revoked_token_is_refused() {
    let app = spawn_app().await;
    let tokens = app.tokens().await;
    let access = tokens["access_token"].as_str().unwrap();
    app.post_form_as("/revoke", &[("token", access)], Some(&app.basic()))
        .await;
    let response = app
        .browser
        .get(app.url("/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_token_without_openid_is_insufficient() {
    let app = spawn_app().await;
    let body: Value = app
        .post_token(&[("grant_type", "client_credentials")])
        .await
        .json()
        .await
        .unwrap();
    let response = app
        .browser
        .get(app.url("/userinfo"))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("insufficient_scope"));
}

#[tokio::test]
async fn the_address_and_phone_scopes_release_the_users_contact_facts() {
    let app = spawn_app().await;
    app.import(&format!(
        "users:\n  - email: {EMAIL}\n    user_type: C\n    verified: true\n    \
         phone_number: \"+1 555 0100\"\n    phone_verified: true\n    gender: F\n    \
         birthday: \"1990-05-04\"\n    address: 1 Rabbit Hole\n    city: Oxford\n    \
         post_code: OX1 1AA\n    country: GB\n"
    ))
    .await
    .unwrap();
    let mut params = app.authorize_params();
    params.retain(|(k, _)| *k != "scope");
    params.push(("scope", "openid profile address phone".into()));
    let response = app.sign_in_through(app.get_authorize(&params).await).await;
    let code = crate::helpers::query_of(&crate::helpers::location(&response))["code"].clone();
    let tokens = app.exchange(&code).await;
    let claims = userinfo_of(&app, &tokens).await;
    assert_eq!(claims["phone_number"], "+1 555 0100");
    assert_eq!(claims["phone_number_verified"], true);
    assert_eq!(claims["gender"], "female");
    assert_eq!(claims["birthdate"], "1990-05-04");
    assert_eq!(claims["address"]["street_address"], "1 Rabbit Hole");
    assert_eq!(claims["address"]["locality"], "Oxford");
    assert_eq!(claims["address"]["postal_code"], "OX1 1AA");
    assert_eq!(claims["address"]["country"], "GB");
    assert_eq!(
        claims["address"]["formatted"],
        "1 Rabbit Hole\nOX1 1AA Oxford\nGB"
    );
    // Without the scopes, none of it.
    let plain = app.tokens().await;
    let claims = userinfo_of(&app, &plain).await;
    assert!(claims.get("phone_number").is_none() && claims.get("address").is_none());
}

/// The userinfo answer for the access token of a token response.
async fn userinfo_of(app: &crate::helpers::TestApp, tokens: &Value) -> Value {
    app.browser
        .get(app.url("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

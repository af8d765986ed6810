//! The pages a person sees first: the start page, the consent page and the error page.

use reqwest::StatusCode;

use crate::helpers::{spawn_app, EMAIL, PASSWORD};

#[tokio::test]
async fn the_start_page_names_the_product_the_discovery_url_and_a_sign_in_link() {
    let app = spawn_app().await;
    let response = app.browser.get(app.url("/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // The same headers as every other page.
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let html = response.text().await.unwrap();
    assert!(html.contains("<h1>Tessera</h1>"), "{html}");
    let discovery = format!("{}/.well-known/openid-configuration", app.issuer);
    assert!(html.contains(&discovery), "{html}");
    assert!(html.contains(r#"href="/login""#), "{html}");
}

/// Signs in through the standard request with the given scopes and returns the
/// consent page's HTML.
async fn consent_page(app: &crate::helpers::TestApp, scope: &str) -> String {
    let mut params = app.authorize_params();
    params[3].1 = scope.to_owned();
    let login = app.follow(app.get_authorize(&params).await).await;
    let consent = app
        .follow(app.submit_login(login, EMAIL, PASSWORD).await)
        .await;
    assert_eq!(consent.url().path(), "/consent");
    consent.text().await.unwrap()
}

#[tokio::test]
async fn the_consent_page_names_the_account_and_offers_to_sign_in_as_someone_else() {
    let app = spawn_app().await;
    let html = consent_page(&app, "openid email").await;
    assert!(
        html.contains(&format!("Signed in as <strong>{EMAIL}</strong>")),
        "{html}"
    );
    let start = html.find("/login?request_id=").expect("a not-you link");
    let link: String = html[start..].chars().take_while(|c| *c != '"').collect();
    let login = app.browser.get(app.url(&link)).send().await.unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    assert!(login.text().await.unwrap().contains("name=\"password\""));
}

#[tokio::test]
async fn the_consent_page_lists_sign_in_first_with_human_names() {
    let app = spawn_app().await;
    let html = consent_page(&app, "api:read email openid profile").await;
    let at = |text: &str| html.find(text).unwrap_or_else(|| panic!("{text}: {html}"));
    assert!(at("Sign-in") < at("Profile"));
    assert!(at("Profile") < at("Email address"));
    // An API's own scope has no name of its own: it shows its code, last.
    assert!(at("Email address") < at("<code>api:read</code>"));
}

#[tokio::test]
async fn the_error_page_speaks_plainly() {
    let app = spawn_app().await;
    let response = app
        .browser
        .get(app.url("/authorize?client_id=nobody"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert!(html.contains("<h1>Something went wrong</h1>"), "{html}");
    assert!(!html.contains("We cannot go on"), "{html}");
}

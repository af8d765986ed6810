//! The whole sign-in driven by a real relying-party library (`openidconnect`):
//! discovery, authorization URL, login form, consent, code exchange, ID token verified
//! against the JWKS, userinfo, refresh, revocation and logout.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreRevocableToken, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    LogoutRequest, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PostLogoutRedirectUrl,
    ProviderMetadataWithLogout, RedirectUrl, RevocationUrl, Scope, TokenResponse,
};
use reqwest::StatusCode;

use crate::helpers::{
    hidden_field, location, query_of, spawn_app, EMAIL, LOGOUT_URI, REDIRECT_URI,
};

#[tokio::test]
async fn a_relying_party_library_signs_in_refreshes_revokes_and_logs_out() {
    let app = spawn_app().await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // Discovery.
    let metadata = ProviderMetadataWithLogout::discover_async(
        IssuerUrl::new(app.issuer.clone()).unwrap(),
        &http,
    )
    .await
    .expect("discovery");
    let end_session = metadata
        .additional_metadata()
        .end_session_endpoint
        .clone()
        .expect("end_session_endpoint");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(app.client_id.clone()),
        Some(ClientSecret::new(app.client_secret.clone())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.to_owned()).unwrap())
    .set_revocation_url(RevocationUrl::new(app.url("/revoke")).unwrap());

    // The authorization URL, followed by a browser that signs in and consents.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    let start = app.browser.get(auth_url).send().await.unwrap();
    let done = app.sign_in_through(start).await;
    let callback = query_of(&location(&done));
    assert_eq!(&callback["state"], csrf.secret());
    assert_eq!(callback["iss"], app.issuer);

    // The code exchange, and the ID token checked against the JWKS and the nonce.
    let tokens = client
        .exchange_code(AuthorizationCode::new(callback["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    let id_token = tokens.id_token().expect("an ID token");
    let verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&verifier, &nonce)
        .expect("a valid ID token");
    assert_eq!(claims.subject().as_str(), app.user_id);
    assert!(claims.auth_time().is_some());
    let expected_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected_hash));

    // Userinfo.
    let userinfo: CoreUserInfoClaims = client
        .user_info(
            tokens.access_token().clone(),
            Some(claims.subject().clone()),
        )
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(userinfo.email().map(|e| e.as_str()), Some(EMAIL));

    // Refresh: a new pair, and a new ID token for the same subject.
    let refresh_token = tokens.refresh_token().expect("a refresh token").clone();
    let refreshed = client
        .exchange_refresh_token(&refresh_token)
        .unwrap()
        .request_async(&http)
        .await
        .expect("refresh");
    let new_refresh = refreshed
        .refresh_token()
        .expect("a rotated refresh token")
        .clone();
    assert_ne!(new_refresh.secret(), refresh_token.secret());
    let refreshed_claims = refreshed
        .id_token()
        .expect("a refreshed ID token")
        .claims(&client.id_token_verifier(), |_: Option<&Nonce>| Ok(()))
        .expect("a valid refreshed ID token");
    assert_eq!(refreshed_claims.subject(), claims.subject());

    // Revocation of the refresh token ends its grant. The library refuses to send a
    // revocation to a plain-http URL (it wants TLS, rightly); the test server speaks
    // http, so the library is asked for the request it would send and checked only up
    // to that refusal, and the same request goes out by hand.
    let refusal = client.revoke_token(CoreRevocableToken::RefreshToken(new_refresh.clone()));
    assert!(matches!(
        refusal,
        Err(openidconnect::ConfigurationError::InsecureUrl(_))
    ));
    let revoked = app
        .post_form_as(
            "/revoke",
            &[
                ("token", new_refresh.secret()),
                ("token_type_hint", "refresh_token"),
            ],
            Some(&app.basic()),
        )
        .await;
    assert_eq!(revoked.status(), StatusCode::OK);
    assert!(client
        .exchange_refresh_token(&new_refresh)
        .unwrap()
        .request_async(&http)
        .await
        .is_err());
    assert_eq!(
        app.introspect(refreshed.access_token().secret()).await["active"],
        false
    );

    // RP-initiated logout, with the ID token as hint.
    let logout_url = LogoutRequest::from(end_session)
        .set_id_token_hint(id_token)
        .set_post_logout_redirect_uri(PostLogoutRedirectUrl::new(LOGOUT_URI.to_owned()).unwrap())
        .set_state(CsrfToken::new("logout-state".into()))
        .http_get_url();
    let page = app.browser.get(logout_url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let confirmed = app
        .browser
        .post(app.url("/logout/confirm"))
        .form(&[
            ("csrf", hidden_field(&html, "csrf").unwrap().as_str()),
            ("decision", "yes"),
        ])
        .send()
        .await
        .unwrap();
    let back = location(&confirmed);
    assert!(back.starts_with(LOGOUT_URI));
    assert_eq!(query_of(&back)["state"], "logout-state");
}

//! Development mode's demo data: on an empty database, a host, a confidential client
//! and a customer user, with their credentials printed once. Never in production.

use crate::config::Config;
use crate::domain::secret::random_id;
use crate::domain::{Client, ClientType, RedirectUri, Scopes, Secret};
use crate::store::{NewHost, NewUser, Store};

pub const DEMO_CLIENT_ID: &str = "demo-app";
pub const DEMO_EMAIL: &str = "demo@tessera.local";

/// Creates the demo data when the database has no host yet.
///
/// # Errors
/// When the store or hashing fails.
pub async fn ensure(store: &dyn Store, config: &Config, now: i64) -> anyhow::Result<()> {
    if !store.list_hosts().await?.is_empty() {
        println!(
            "Development mode: the database already has data. The demo credentials were printed \
             when it was created; delete {} to start over.",
            config.database_url
        );
        print_discovery(config);
        return Ok(());
    }
    let host_id = random_id();
    store
        .create_host(
            &NewHost {
                host_id: host_id.clone(),
                domain: "demo.tessera.local".into(),
                name: "Demo".into(),
            },
            now,
        )
        .await?;
    let secret = Secret::generate();
    let redirect = "http://127.0.0.1:8081/callback";
    let client = Client {
        client_id: DEMO_CLIENT_ID.into(),
        name: "Demo application".into(),
        client_type: ClientType::Confidential,
        secret_hash: Some(secret.hash()),
        redirect_uris: vec![
            RedirectUri::parse(redirect)?,
            RedirectUri::parse("http://localhost:8081/callback")?,
        ],
        post_logout_redirect_uris: vec![RedirectUri::parse("http://127.0.0.1:8081/")?],
        grant_types: vec![
            "authorization_code".into(),
            "refresh_token".into(),
            "client_credentials".into(),
        ],
        allowed_scopes: Scopes::parse(
            "openid profile email address phone offline_access tessera:api",
        )?,
        require_pkce: true,
        host_id: Some(host_id.clone()),
        profile_in_id_token: true,
        // The demo shows the consent page, as a third-party client would.
        skip_consent: false,
    };
    store.create_client(&client, now).await?;
    let password = Secret::generate();
    let hash = crate::authn::hash_password(password.expose())?;
    store
        .create_user(
            &NewUser {
                user_id: random_id(),
                email: DEMO_EMAIL.into(),
                username: Some("demo".into()),
                password_hash: Some(hash),
                first_name: Some("Demo".into()),
                last_name: Some("User".into()),
                user_type: Some("C".into()),
                verified: true,
            },
            &host_id,
            now,
        )
        .await?;
    println!("Development mode: created demo data (shown once).");
    println!("  Demo client:   client_id     = {DEMO_CLIENT_ID}");
    println!("                 client_secret = {}", secret.expose());
    println!("                 redirect_uri  = {redirect}");
    println!("  Demo user:     {DEMO_EMAIL} (username demo)");
    println!("                 password      = {}", password.expose());
    print_discovery(config);
    Ok(())
}

fn print_discovery(config: &Config) {
    println!(
        "  Discovery:     {}/.well-known/openid-configuration",
        config.issuer_base()
    );
}

//! Development mode's demo data: on an empty database, a demo host with an employee and
//! a customer (each with a business id, roles, groups and an attribute; the employee a
//! position), a confidential client and a public one for `tessera demo login`. The
//! secrets are generated and printed once. Never in production.
//!
//! The data is an import document (`import`), so it goes in by the same rules and in
//! one transaction, and what a newcomer sees is what `tessera import` would make.

use crate::config::Config;
use crate::domain::import::parse;
use crate::domain::Secret;
use crate::store::{HostStore, SqlStore};

pub const DEMO_CLIENT_ID: &str = "demo-app";
/// The public client `tessera demo login` plays (PKCE, no secret; RFC 8252).
pub const DEMO_CLI_CLIENT_ID: &str = "demo-cli";
/// `tessera demo login` listens here; it is the demo clients' redirect URI.
pub const DEMO_CALLBACK_PORT: u16 = 8081;
pub const DEMO_HOST: &str = "demo.tessera.local";
pub const DEMO_EMPLOYEE: &str = "employee@tessera.local";
pub const DEMO_CUSTOMER: &str = "customer@tessera.local";

/// The demo document; the secrets are filled in by `ensure`.
const DOCUMENT: &str = r"
hosts:
  - host_id: demo
    domain: demo.tessera.local
    name: Demo
    user_types: EC
    default_role: user
    roles:
      - { name: admin, description: Administers the demo host }
      - { name: user, description: Every signed-in user }
      - { name: customer, description: Buys from the demo host }
    groups:
      - { name: platform }
      - { name: gold }
    positions:
      - { name: PlatformLead, description: Leads the platform team }
    attributes:
      - { name: country, type: string }
      - { name: clearance, type: integer }
users:
  - email: employee@tessera.local
    username: employee
    first_name: Erin
    last_name: Employee
    user_type: E
    verified: true
    hosts:
      - host: demo
        employee: { employee_id: E1001, title: Platform lead }
        roles: [admin, user]
        groups: [platform]
        positions: [PlatformLead]
        attributes: { country: CAN, clearance: 2 }
  - email: customer@tessera.local
    username: customer
    first_name: Cass
    last_name: Customer
    user_type: C
    verified: true
    hosts:
      - host: demo
        customer: { customer_id: C2001 }
        roles: [customer]
        groups: [gold]
        attributes: { country: USA }
clients:
  - client_id: demo-app
    name: Demo application
    grants: [authorization_code, refresh_token, client_credentials]
    redirect_uris: [http://127.0.0.1:8081/callback, http://localhost:8081/callback]
    post_logout_redirect_uris: [http://127.0.0.1:8081/]
    scopes: openid profile email address phone offline_access tessera:api
    host: demo
    profile_in_id_token: true
  - client_id: demo-cli
    name: Tessera demo login
    type: public
    redirect_uris: [http://127.0.0.1:8081/callback]
    scopes: openid profile email address phone offline_access tessera:api
    host: demo
    profile_in_id_token: true
";

/// Creates the demo data when the database has no host yet (so an existing database,
/// the demo's or an operator's, is never added to).
///
/// # Errors
/// When the store or hashing fails.
pub async fn ensure(store: &SqlStore, config: &Config, now: i64) -> anyhow::Result<()> {
    if !store.list_hosts().await?.is_empty() {
        println!(
            "Development mode: the database already has data. The demo credentials were printed \
             when it was created; {} to start over.",
            start_over(config)
        );
        print_discovery(config);
        return Ok(());
    }
    let client_secret = Secret::generate();
    let employee_password = Secret::generate();
    let customer_password = Secret::generate();
    let doc = document(&client_secret, [&employee_password, &customer_password])?;
    let context = crate::domain::audit::AuditContext::import(Some("development mode".to_owned()));
    crate::import::import_document(store, doc, &context, now).await?;
    println!("Development mode: created demo data (shown once).");
    println!("  Demo host:     {DEMO_HOST} (host id demo)");
    println!("  Demo client:   client_id     = {DEMO_CLIENT_ID}");
    println!(
        "                 client_secret = {}",
        client_secret.expose()
    );
    println!("                 redirect_uri  = http://127.0.0.1:{DEMO_CALLBACK_PORT}/callback");
    println!("  Employee:      {DEMO_EMPLOYEE} (username employee, employee_id E1001)");
    println!(
        "                 password      = {}",
        employee_password.expose()
    );
    println!("  Customer:      {DEMO_CUSTOMER} (username customer, customer_id C2001)");
    println!(
        "                 password      = {}",
        customer_password.expose()
    );
    println!("  Try a sign-in: tessera demo login (or cargo run -- demo login)");
    print_discovery(config);
    Ok(())
}

/// The demo document with its secrets: the demo application's, and the employee's
/// and the customer's passwords.
fn document(
    client_secret: &Secret,
    passwords: [&Secret; 2],
) -> anyhow::Result<crate::domain::import::Document> {
    let mut doc = parse(DOCUMENT, false).map_err(anyhow::Error::msg)?;
    for (user, password) in doc.users.iter_mut().zip(passwords) {
        user.password = Some(password.expose().to_owned());
    }
    if let Some(app) = doc.clients.first_mut() {
        app.secret = Some(client_secret.expose().to_owned());
    }
    Ok(doc)
}

/// How to start over: delete the SQLite file (and its key-encryption key beside it),
/// named as a file rather than as the database URL.
fn start_over(config: &Config) -> String {
    match config.sqlite_file() {
        Some(file) => format!("delete {file} and {file}.kek"),
        None => "drop the database".to_owned(),
    }
}

fn print_discovery(config: &Config) {
    println!(
        "  Discovery:     {}/.well-known/openid-configuration",
        config.issuer_base()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_document_is_valid_and_gives_each_user_a_business_id() {
        let (secret, password) = (Secret::generate(), Secret::generate());
        let doc = document(&secret, [&password, &password]).unwrap();
        crate::domain::import::validate(&doc).unwrap();
        assert_eq!(doc.users.len(), 2);
        assert!(doc
            .users
            .iter()
            .all(|u| u.hosts[0].employee.is_some() || u.hosts[0].customer.is_some()));
    }

    #[test]
    fn the_restart_hint_names_the_file_not_the_url() {
        let config = Config {
            database_url: "sqlite://tessera.db?mode=rwc".into(),
            ..Config::default()
        };
        assert_eq!(start_over(&config), "delete tessera.db and tessera.db.kek");
    }
}

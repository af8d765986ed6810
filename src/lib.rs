//! Tessera: an OpenID Provider that puts the user's security profile into every token.
//! `ARCHITECTURE.md` has the map; each module's own docs name the spec it implements.

pub mod app; // App::build (pools, migrations, keys, router), port(), run()
pub mod authn; // who the user is: local passwords (argon2id)
pub mod cli; // one file per subcommand group
pub mod config; // defaults → tessera.toml → TESSERA_* environment
pub mod demo; // development mode's demo host, client and user
pub mod domain;
pub mod http;
pub mod import; // tessera import: a YAML or JSON document in one transaction // newtypes and parsing, no I/O
pub mod keys; // signing keys: states, signing, JWKS
pub mod metrics; // Prometheus metrics of a node (prometheus-client)
pub mod oauth; // OAuth 2.0 rules and grants, no axum, no SQL
pub mod oidc; // OpenID Connect rules: discovery, ID tokens, userinfo, logout
pub mod server; // the accept loop: connection limits, timeouts, graceful shutdown
pub mod store; // every SQL statement, behind narrow traits // axum handlers, pages, error mapping

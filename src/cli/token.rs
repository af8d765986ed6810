//! `tessera token add|list|revoke`: API tokens (issue 14) from the command line, through
//! the store calls the API's `/api/v1/tokens` makes, audited as the operator. A secret
//! is printed once, when it is made.

use clap::Subcommand;
use serde_json::json;

use super::{audit_context, date_time, now, print_json, print_table};
use crate::config::Config;
use crate::domain::api_token::{self, check_scopes, TokenKind};
use crate::domain::input::{self, MAX_NAME};
use crate::domain::secret::random_id;
use crate::domain::TokenHash;
use crate::store::{ApiToken, ApiTokenQuery, ApiTokenStore, HostStore, SqlStore, UserStore};

const DAY: i64 = 24 * 3600;

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a token and print its secret (once).
    Add {
        /// The host (id or domain).
        #[arg(long)]
        host: String,
        /// The owner of a personal token (email or username).
        #[arg(long, conflicts_with = "system", required_unless_present = "system")]
        user: Option<String>,
        /// A system token: a service identity of the host, with --role roles.
        #[arg(long)]
        system: bool,
        /// A name to recognise it by.
        #[arg(long)]
        name: String,
        /// Its scopes, space separated.
        #[arg(long)]
        scope: String,
        /// Days until it expires (at most tokens.api_token_max_ttl).
        #[arg(long)]
        days: i64,
        /// A role of a system token; repeat for several.
        #[arg(long = "role", value_name = "ROLE")]
        roles: Vec<String>,
        /// Print JSON (the API's shape, with the secret) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List a host's tokens, newest first (never their secrets).
    List {
        /// The host (id or domain).
        #[arg(long)]
        host: String,
        /// Only this user's personal tokens (email or username).
        #[arg(long)]
        user: Option<String>,
        /// Also revoked and expired tokens.
        #[arg(long)]
        all: bool,
        /// How many tokens, at most.
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        limit: u32,
        /// Print JSON (the API's shape) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token: its next exchange fails.
    Revoke {
        /// The host (id or domain).
        #[arg(long)]
        host: String,
        /// The token's id.
        #[arg(allow_hyphen_values = true)]
        id: String,
        /// Print JSON (the API's shape) instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// A token in the API's shape (`GET /api/v1/tokens/{id}`).
fn to_json(t: &ApiToken, now: i64) -> serde_json::Value {
    json!({
        "id": t.token_id,
        "kind": t.kind.as_str(),
        "name": t.name,
        "scope": t.scope,
        "roles": t.roles,
        "user_id": t.user_id,
        "created_by": t.created_by,
        "created_at": t.created_at,
        "expires_at": t.expires_at,
        "last_used_at": t.last_used_at,
        "revoked_at": t.revoked_at,
        "active": t.is_live(now),
    })
}

async fn host_id(store: &SqlStore, host: &str) -> anyhow::Result<String> {
    Ok(store
        .find_host(host)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no host {host:?}"))?
        .host_id)
}

async fn user_id(store: &SqlStore, login: &str) -> anyhow::Result<String> {
    Ok(store
        .find_user_by_login(login)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no user {login:?}"))?
        .user
        .user_id)
}

pub async fn run(config: &Config, cmd: TokenCommand) -> anyhow::Result<()> {
    let store = crate::app::open_store(config).await?;
    let now = now();
    match cmd {
        TokenCommand::Add {
            host,
            user,
            system,
            name,
            scope,
            days,
            roles,
            json,
        } => {
            let kind = if system {
                TokenKind::System
            } else {
                TokenKind::Personal
            };
            let host_id = host_id(&store, &host).await?;
            let user_id = match &user {
                Some(login) => Some(user_id(&store, login).await?),
                None => None,
            };
            let name = input::text("name", &name, MAX_NAME)?;
            let scopes = check_scopes(kind, &scope)?;
            let max = config.tokens.api_token_max_ttl;
            anyhow::ensure!(
                days >= 1 && days.saturating_mul(DAY) <= max,
                "--days must be 1 to {}",
                (max / DAY).max(1)
            );
            anyhow::ensure!(
                system || roles.is_empty(),
                "only system tokens have roles: a personal token acts with its owner's"
            );
            let secret = api_token::generate(kind);
            let made = store
                .create_api_token(
                    &crate::store::NewApiToken {
                        token_id: random_id(),
                        host_id,
                        kind,
                        user_id,
                        name,
                        scope: scopes.to_string(),
                        roles,
                        token_hash: TokenHash::of(&secret).as_str().to_owned(),
                        created_by: None,
                        expires_at: now + days * DAY,
                    },
                    &audit_context(),
                    now,
                )
                .await?;
            if json {
                return print_json(&json!({ "token": to_json(&made, now), "secret": secret }));
            }
            out!("id:      {}", made.token_id)?;
            out!("expires: {}", date_time(made.expires_at))?;
            out!("secret:  {secret}")?;
            out!("(the secret is shown only now; keep it safe)")?;
        }
        TokenCommand::List {
            host,
            user,
            all,
            limit,
            json,
        } => {
            let host_id = host_id(&store, &host).await?;
            let user_id = match &user {
                Some(login) => Some(user_id(&store, login).await?),
                None => None,
            };
            let page = store
                .list_api_tokens(&ApiTokenQuery {
                    host_id,
                    user_id,
                    kind: None,
                    live_at: (!all).then_some(now),
                    after: None,
                    limit,
                })
                .await?;
            if json {
                let tokens: Vec<_> = page.tokens.iter().map(|t| to_json(t, now)).collect();
                return print_json(&json!({ "tokens": tokens }));
            }
            let rows: Vec<Vec<String>> = page
                .tokens
                .iter()
                .map(|t| {
                    vec![
                        t.token_id.clone(),
                        t.kind.as_str().to_owned(),
                        t.name.clone(),
                        t.scope.clone(),
                        t.user_id.clone().unwrap_or_else(|| t.roles.join(",")),
                        date_time(t.expires_at),
                        t.last_used_at.map(date_time).unwrap_or_default(),
                        if t.is_live(now) { "active" } else { "inactive" }.to_owned(),
                    ]
                })
                .collect();
            print_table(
                &[
                    "ID",
                    "KIND",
                    "NAME",
                    "SCOPE",
                    "USER/ROLES",
                    "EXPIRES",
                    "LAST USED",
                    "STATE",
                ],
                &rows,
            )?;
        }
        TokenCommand::Revoke { host, id, json } => {
            let host_id = host_id(&store, &host).await?;
            let token = store
                .revoke_api_token(&host_id, &id, &audit_context(), now)
                .await?;
            if json {
                return print_json(&to_json(&token, now));
            }
            out!("Token {} is revoked.", token.token_id)?;
        }
    }
    Ok(())
}

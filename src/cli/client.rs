//! `tessera client add|list|update|delete|rotate-secret`, over the same store functions
//! as the management API (`/api/v1/clients`), audited as the operator's. A client
//! secret is shown once, when it is made; only its hash is kept. Running nodes see a
//! change within their client cache's TTL (ten seconds).

use clap::Subcommand;
use serde_json::json;

use super::{audit_context, now, print_json, print_table, read_stdin_line};
use crate::config::Config;
use crate::domain::import::ClientDoc;
use crate::domain::secret::random_id;
use crate::domain::{AuthMethod, Client, GrantType, RedirectUri, Secret};
use crate::http::{client_id, parse_scopes, parse_uris, ClientView, NewClientView, SecretView};
use crate::store::{ClientStore, HostStore};

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client and print its secret (once).
    Add {
        /// A display name, shown on the consent page.
        #[arg(long)]
        name: String,
        /// A redirect URI, matched exactly; repeat for several.
        #[arg(long = "redirect-uri", value_name = "URI")]
        redirect_uris: Vec<String>,
        /// A post-logout redirect URI; repeat for several.
        #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
        post_logout_redirect_uris: Vec<String>,
        /// A public client (SPA, mobile, CLI): no secret, PKCE required.
        #[arg(long)]
        public: bool,
        /// Allowed scopes, space separated.
        #[arg(
            long,
            default_value = "openid profile email address phone offline_access"
        )]
        scope: String,
        /// Allowed grant types; repeat for several.
        #[arg(long = "grant", value_name = "GRANT", default_values_t = ["authorization_code".to_owned(), "refresh_token".to_owned()])]
        grants: Vec<String>,
        /// How the client authenticates at the token endpoint: client_secret_basic,
        /// client_secret_post, or none (public clients). Left out, a confidential client
        /// may use either secret method.
        #[arg(long, value_name = "METHOD")]
        auth_method: Option<String>,
        /// Read the secret from the first line of standard input instead of making one
        /// (16 characters or more).
        #[arg(long, conflicts_with = "public")]
        secret_stdin: bool,
        /// The host (id or domain) the client belongs to; its users sign in to it.
        #[arg(long)]
        host: Option<String>,
        /// Let a confidential client skip PKCE (not recommended).
        #[arg(long)]
        no_pkce: bool,
        /// Put the security profile into ID tokens and userinfo too.
        #[arg(long)]
        profile_in_id_token: bool,
        /// A first-party client: its users are not asked to consent (except to
        /// offline_access, and when the client sends prompt=consent).
        #[arg(long)]
        skip_consent: bool,
        /// The client id (default: a random one).
        #[arg(long)]
        id: Option<String>,
        /// Print the client (and its secret) as the management API's JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the clients.
    List {
        /// Print the API's JSON (`{"clients": [...]}`).
        #[arg(long)]
        json: bool,
    },
    /// Change a client's settings; options left out keep theirs.
    Update {
        /// The client id.
        #[arg(allow_hyphen_values = true)]
        client_id: String,
        /// A new display name.
        #[arg(long)]
        name: Option<String>,
        /// Replace the redirect URIs; repeat for several.
        #[arg(long = "redirect-uri", value_name = "URI")]
        redirect_uris: Vec<String>,
        /// Replace the post-logout redirect URIs; repeat for several.
        #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
        post_logout_redirect_uris: Vec<String>,
        /// Replace the allowed scopes, space separated.
        #[arg(long)]
        scope: Option<String>,
        /// Replace the grant types; repeat for several.
        #[arg(long = "grant", value_name = "GRANT")]
        grants: Vec<String>,
        /// client_secret_basic, client_secret_post or none.
        #[arg(long, value_name = "METHOD")]
        auth_method: Option<String>,
        /// Whether the code flow must use PKCE (always for public clients).
        #[arg(long, value_name = "BOOL")]
        require_pkce: Option<bool>,
        /// Whether the consent page is skipped (first-party client).
        #[arg(long, value_name = "BOOL")]
        skip_consent: Option<bool>,
        /// Whether the security profile goes into ID tokens and userinfo too.
        #[arg(long, value_name = "BOOL")]
        profile_in_id_token: Option<bool>,
        /// Print the client as the management API's JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete a client: its consents go and its tokens are revoked.
    Delete {
        /// The client id.
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
    /// Replace a confidential client's secret and print the new one (once).
    RotateSecret {
        /// The client id (one that starts with `-`, made before ids stopped doing so,
        /// is taken as the id, not as an option).
        #[arg(allow_hyphen_values = true)]
        client_id: String,
        /// Print `{"client_id", "client_secret"}`.
        #[arg(long)]
        json: bool,
    },
}

/// The changes of `client update`.
struct Changes {
    name: Option<String>,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    scope: Option<String>,
    grants: Vec<String>,
    auth_method: Option<String>,
    require_pkce: Option<bool>,
    skip_consent: Option<bool>,
    profile_in_id_token: Option<bool>,
}

/// The client as the changes leave it, checked by the API's rules.
fn changed(mut c: Client, ch: Changes) -> anyhow::Result<Client> {
    if let Some(name) = ch.name {
        c.name = crate::domain::input::text("name", &name, crate::domain::input::MAX_NAME)?;
    }
    if !ch.redirect_uris.is_empty() {
        c.redirect_uris = parse_uris("redirect_uris", &ch.redirect_uris)?;
    }
    if !ch.post_logout_redirect_uris.is_empty() {
        c.post_logout_redirect_uris =
            parse_uris("post_logout_redirect_uris", &ch.post_logout_redirect_uris)?;
    }
    if let Some(scope) = ch.scope {
        c.allowed_scopes = parse_scopes(&scope)?;
    }
    if !ch.grants.is_empty() {
        c.grant_types = ch
            .grants
            .iter()
            .map(|g| GrantType::parse(g))
            .collect::<Result<_, _>>()
            .map_err(anyhow::Error::msg)?;
    }
    if let Some(method) = ch.auth_method {
        c.auth_method = Some(AuthMethod::parse(&method).map_err(anyhow::Error::msg)?);
    }
    if let Some(pkce) = ch.require_pkce {
        c.require_pkce = pkce || c.is_public();
    }
    if let Some(skip) = ch.skip_consent {
        c.skip_consent = skip;
    }
    if let Some(profile) = ch.profile_in_id_token {
        c.profile_in_id_token = profile;
    }
    c.check()?;
    Ok(c)
}

pub async fn run(config: &Config, cmd: ClientCommand) -> anyhow::Result<()> {
    let store = crate::app::open_store(config).await?;
    match cmd {
        ClientCommand::Add {
            name,
            redirect_uris,
            post_logout_redirect_uris,
            public,
            scope,
            grants,
            auth_method,
            secret_stdin,
            host,
            no_pkce,
            profile_in_id_token,
            skip_consent,
            id,
            json,
        } => {
            let host_id = match host {
                Some(h) => Some(
                    store
                        .find_host(&h)
                        .await?
                        .ok_or_else(|| anyhow::anyhow!("no host {h:?}"))?
                        .host_id,
                ),
                None => None,
            };
            let secret = match (public, secret_stdin) {
                (true, _) => None,
                (false, true) => Some(Secret::new(read_stdin_line()?)),
                (false, false) => Some(Secret::generate()),
            };
            let client_id = match id {
                Some(id) => client_id(&id)?,
                None => random_id(),
            };
            // The same rules as an imported client: one place checks them.
            let client = ClientDoc {
                client_id,
                name,
                client_type: if public { "public" } else { "confidential" }.to_owned(),
                secret: secret.as_ref().map(|s| s.expose().to_owned()),
                redirect_uris,
                post_logout_redirect_uris,
                grants,
                scopes: scope,
                host: None,
                require_pkce: public || !no_pkce,
                profile_in_id_token,
                skip_consent,
                token_endpoint_auth_method: auth_method,
            }
            .to_client(host_id)
            .map_err(|e| anyhow::anyhow!(e))?;
            store
                .register_client(&client, &audit_context(), now())
                .await?;
            // A secret the operator gave is theirs already: it is not echoed.
            let shown = secret.filter(|_| !secret_stdin);
            if json {
                return print_json(&NewClientView::new(&client, shown.as_ref()));
            }
            out!("client_id:     {}", client.client_id)?;
            if let Some(secret) = shown {
                out!("client_secret: {}", secret.expose())?;
                out!("(the secret is shown only now; keep it safe)")?;
            }
        }
        ClientCommand::List { json } => {
            let clients = store.list_clients().await?;
            if json {
                let views: Vec<ClientView> = clients.iter().map(ClientView::from).collect();
                return print_json(&json!({ "clients": views }));
            }
            // Hosts by id, to show the domain an operator knows them by.
            let hosts: std::collections::HashMap<String, String> = store
                .list_hosts()
                .await?
                .into_iter()
                .map(|h| (h.host_id, h.domain))
                .collect();
            let rows: Vec<Vec<String>> = clients
                .into_iter()
                .map(|c| {
                    vec![
                        c.client_id,
                        c.name,
                        c.client_type.as_str().to_owned(),
                        c.host_id
                            .as_ref()
                            .map(|id| hosts.get(id).unwrap_or(id).clone())
                            .unwrap_or_default(),
                        if c.skip_consent { "yes" } else { "" }.to_owned(),
                        c.grant_types
                            .iter()
                            .map(|g| g.as_str())
                            .collect::<Vec<_>>()
                            .join(","),
                        c.redirect_uris
                            .iter()
                            .map(RedirectUri::as_str)
                            .collect::<Vec<_>>()
                            .join(" "),
                    ]
                })
                .collect();
            print_table(
                &[
                    "CLIENT_ID",
                    "NAME",
                    "TYPE",
                    "HOST",
                    "FIRST_PARTY",
                    "GRANTS",
                    "REDIRECT_URIS",
                ],
                &rows,
            )?;
        }
        ClientCommand::Update {
            client_id,
            name,
            redirect_uris,
            post_logout_redirect_uris,
            scope,
            grants,
            auth_method,
            require_pkce,
            skip_consent,
            profile_in_id_token,
            json,
        } => {
            let before = store
                .find_client(&client_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no client {client_id:?}"))?;
            let after = changed(
                before.clone(),
                Changes {
                    name,
                    redirect_uris,
                    post_logout_redirect_uris,
                    scope,
                    grants,
                    auth_method,
                    require_pkce,
                    skip_consent,
                    profile_in_id_token,
                },
            )?;
            store
                .update_client(None, &before, &after, &audit_context(), now())
                .await?;
            if json {
                return print_json(&ClientView::from(&after));
            }
            out!("Updated client {client_id}")?;
        }
        ClientCommand::Delete { client_id } => {
            store
                .delete_client(None, &client_id, &audit_context(), now())
                .await?;
            out!("Deleted client {client_id}")?;
        }
        ClientCommand::RotateSecret { client_id, json } => {
            let secret = Secret::generate();
            store
                .rotate_client_secret(None, &client_id, &secret.hash(), &audit_context(), now())
                .await?;
            if json {
                return print_json(&SecretView {
                    client_id,
                    client_secret: secret.expose().to_owned(),
                });
            }
            out!("client_secret: {}", secret.expose())?;
            out!("(the old secret no longer works; the new one is shown only now)")?;
        }
    }
    Ok(())
}

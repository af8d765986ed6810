//! `tessera client add|list|rotate-secret`. A client secret is shown once, when it is
//! made; only its hash is kept.

use clap::Subcommand;

use super::{now, print_table};
use crate::config::Config;
use crate::domain::import::ClientDoc;
use crate::domain::secret::random_id;
use crate::domain::{RedirectUri, Secret};
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
    },
    /// List the clients.
    List,
    /// Replace a confidential client's secret and print the new one (once).
    RotateSecret {
        /// The client id (one that starts with `-`, made before ids stopped doing so,
        /// is taken as the id, not as an option).
        #[arg(allow_hyphen_values = true)]
        client_id: String,
    },
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
            host,
            no_pkce,
            profile_in_id_token,
            skip_consent,
            id,
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
            let secret = (!public).then(Secret::generate);
            // The same rules as an imported client: one place checks them.
            let client = ClientDoc {
                client_id: id.unwrap_or_else(random_id),
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
            }
            .to_client(host_id)
            .map_err(|e| anyhow::anyhow!(e))?;
            store.create_client(&client, now()).await?;
            out!("client_id:     {}", client.client_id)?;
            if let Some(secret) = secret {
                out!("client_secret: {}", secret.expose())?;
                out!("(the secret is shown only now; keep it safe)")?;
            }
        }
        ClientCommand::List => {
            // Hosts by id, to show the domain an operator knows them by.
            let hosts: std::collections::HashMap<String, String> = store
                .list_hosts()
                .await?
                .into_iter()
                .map(|h| (h.host_id, h.domain))
                .collect();
            let rows: Vec<Vec<String>> = store
                .list_clients()
                .await?
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
                        c.grant_types.join(","),
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
        ClientCommand::RotateSecret { client_id } => {
            let secret = Secret::generate();
            store.set_client_secret(&client_id, &secret.hash()).await?;
            out!("client_secret: {}", secret.expose())?;
            out!("(the old secret no longer works; the new one is shown only now)")?;
        }
    }
    Ok(())
}

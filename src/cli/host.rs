//! `tessera host add|list`.

use clap::Subcommand;

use super::{now, print_table};
use crate::config::Config;
use crate::domain::secret::random_id;
use crate::store::{HostStore, NewHost};

#[derive(Debug, Subcommand)]
pub enum HostCommand {
    /// Add a host.
    Add {
        /// The host's domain, unique (e.g. example.com).
        #[arg(long)]
        domain: String,
        /// A display name.
        #[arg(long)]
        name: String,
        /// The host id (default: a random one).
        #[arg(long)]
        id: Option<String>,
    },
    /// List the hosts.
    List,
}

pub async fn run(config: &Config, cmd: HostCommand) -> anyhow::Result<()> {
    let store = crate::app::open_store(config).await?;
    match cmd {
        HostCommand::Add { domain, name, id } => {
            let host_id = id.unwrap_or_else(random_id);
            store
                .create_host(
                    &NewHost {
                        host_id: host_id.clone(),
                        domain,
                        name,
                    },
                    now(),
                )
                .await?;
            out!("Created host {host_id}")?;
        }
        HostCommand::List => {
            let rows: Vec<Vec<String>> = store
                .list_hosts()
                .await?
                .into_iter()
                .map(|h| vec![h.host_id, h.domain, h.name, h.user_type_model])
                .collect();
            print_table(&["HOST_ID", "DOMAIN", "NAME", "USER_TYPES"], &rows)?;
        }
    }
    Ok(())
}

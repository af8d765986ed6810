//! `tessera host add|list|throttle`.

use clap::Subcommand;

use super::{now, print_table};
use crate::config::Config;
use crate::domain::secret::random_id;
use crate::store::{HostStore, NewHost, PolicyOverride, ThrottleStore};

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
    /// Set the host's own sign-in throttle for accounts (`[throttle.account]` in the
    /// configuration holds the defaults; flags left out keep their current value).
    Throttle {
        /// The host (id or domain).
        host: String,
        /// Attempts answered at once: after this many failures the next one waits.
        #[arg(long)]
        free_attempts: Option<i64>,
        /// Seconds to wait after the next failure, doubling per failure.
        #[arg(long)]
        base_delay: Option<i64>,
        /// The longest progressive wait, in seconds.
        #[arg(long)]
        max_delay: Option<i64>,
        /// Failures that lock the login for --lockout-duration (0: never).
        #[arg(long)]
        lockout_after: Option<i64>,
        /// How long that lockout lasts, in seconds from the last failure.
        #[arg(long)]
        lockout_duration: Option<i64>,
        /// Seconds after the last failure when failures are forgotten.
        #[arg(long)]
        reset_after: Option<i64>,
        /// Forget the host's own values: the configured ones apply again.
        #[arg(long, conflicts_with_all = ["free_attempts", "base_delay", "max_delay", "lockout_after", "lockout_duration", "reset_after"])]
        clear: bool,
    },
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
        HostCommand::Throttle {
            host,
            free_attempts,
            base_delay,
            max_delay,
            lockout_after,
            lockout_duration,
            reset_after,
            clear,
        } => {
            let host = store
                .find_host(&host)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no host {host:?}"))?;
            if clear {
                store.clear_host_policy(&host.host_id).await?;
                println!("Host {} uses the configured sign-in throttle", host.domain);
                return Ok(());
            }
            let own = PolicyOverride {
                free_attempts,
                base_delay,
                max_delay,
                lockout_after,
                lockout_duration,
                reset_after,
            };
            let merged =
                store
                    .host_policy(&host.host_id)
                    .await?
                    .map_or(own, |old| PolicyOverride {
                        free_attempts: own.free_attempts.or(old.free_attempts),
                        base_delay: own.base_delay.or(old.base_delay),
                        max_delay: own.max_delay.or(old.max_delay),
                        lockout_after: own.lockout_after.or(old.lockout_after),
                        lockout_duration: own.lockout_duration.or(old.lockout_duration),
                        reset_after: own.reset_after.or(old.reset_after),
                    });
            let policy = merged.apply(config.throttle.account);
            if let Some(problem) = policy.problem() {
                anyhow::bail!("{problem}");
            }
            store.set_host_policy(&host.host_id, &own).await?;
            println!("Host {}: {policy}", host.domain);
        }
    }
    Ok(())
}

//! `tessera host add|list|update|throttle`. Adding and changing a host go through the
//! same store functions as the management API (`/api/v1/hosts`), audited as the
//! operator's; `--json` prints the API's shape.

use clap::Subcommand;
use serde_json::json;

use super::{audit_context, now, print_json, print_table};
use crate::config::Config;
use crate::domain::input;
use crate::domain::secret::random_id;
use crate::http::{domain, flags, host_id, model, HostView};
use crate::store::{FeatureFlags, HostSettings, HostStore, PolicyOverride, ThrottleStore};

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
        /// The user-type model: EC (employee, customer) or EPB (employee, personal,
        /// business).
        #[arg(long, default_value = "EC")]
        user_type_model: String,
        /// Print the host as the management API's JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the hosts.
    List {
        /// Print the API's JSON (`{"hosts": [...]}`).
        #[arg(long)]
        json: bool,
    },
    /// Change a host; options left out keep their value.
    Update {
        /// The host (id or domain).
        host: String,
        /// A new domain.
        #[arg(long)]
        domain: Option<String>,
        /// A new display name.
        #[arg(long)]
        name: Option<String>,
        /// EC or EPB; refused while members have a type the model lacks.
        #[arg(long)]
        user_type_model: Option<String>,
        /// The role that counts when a member has none in effect (a role of the host).
        #[arg(long, conflicts_with = "no_default_role")]
        default_role: Option<String>,
        /// Remove the default role.
        #[arg(long)]
        no_default_role: bool,
        /// Set a feature flag, as NAME=true or NAME=false; repeat for several.
        #[arg(long = "flag", value_name = "NAME=BOOL")]
        flags: Vec<String>,
        /// Remove a feature flag; repeat for several.
        #[arg(long = "unset-flag", value_name = "NAME")]
        unset_flags: Vec<String>,
        /// Print the host as the management API's JSON.
        #[arg(long)]
        json: bool,
    },
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
        HostCommand::Add {
            domain: d,
            name,
            id,
            user_type_model,
            json,
        } => {
            let settings = HostSettings {
                host_id: match id {
                    Some(id) => host_id(&id)?,
                    None => random_id(),
                },
                domain: domain(&d)?,
                name: input::text("name", &name, input::MAX_NAME)?,
                user_type_model: model(&user_type_model)?,
                default_role: None,
                feature_flags: FeatureFlags::new(),
                directory: None,
            };
            store
                .register_host(&settings, &audit_context(), now())
                .await?;
            if json {
                return print_json(&HostView::new(settings, is_configured(config, &d)));
            }
            out!("Created host {}", settings.host_id)?;
        }
        HostCommand::List { json } => {
            if json {
                let mut hosts = Vec::new();
                for h in store.list_hosts().await? {
                    if let Some(s) = store.host_settings(&h.host_id).await? {
                        let configured =
                            is_configured(config, &h.host_id) || is_configured(config, &h.domain);
                        hosts.push(HostView::new(s, configured));
                    }
                }
                return print_json(&json!({ "hosts": hosts }));
            }
            let rows: Vec<Vec<String>> = store
                .list_hosts()
                .await?
                .into_iter()
                .map(|h| vec![h.host_id, h.domain, h.name, h.user_type_model])
                .collect();
            print_table(&["HOST_ID", "DOMAIN", "NAME", "USER_TYPES"], &rows)?;
        }
        HostCommand::Update {
            host,
            domain: new_domain,
            name,
            user_type_model,
            default_role,
            no_default_role,
            flags: set_flags,
            unset_flags,
            json,
        } => {
            let found = store
                .find_host(&host)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no host {host:?}"))?;
            let mut h = store
                .host_settings(&found.host_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no host {host:?}"))?;
            if let Some(d) = new_domain {
                h.domain = domain(&d)?;
            }
            if let Some(n) = name {
                h.name = input::text("name", &n, input::MAX_NAME)?;
            }
            if let Some(m) = user_type_model {
                h.user_type_model = model(&m)?;
            }
            if let Some(role) = default_role {
                h.default_role = Some(input::text("default_role", &role, input::MAX_NAME)?);
            }
            if no_default_role {
                h.default_role = None;
            }
            for flag in set_flags {
                let (name, on) = flag
                    .split_once('=')
                    .and_then(|(n, v)| v.parse::<bool>().ok().map(|on| (n.to_owned(), on)))
                    .ok_or_else(|| {
                        anyhow::anyhow!("--flag {flag:?}: write NAME=true or NAME=false")
                    })?;
                h.feature_flags.insert(name, on);
            }
            for name in unset_flags {
                h.feature_flags.remove(&name);
            }
            h.feature_flags = flags(h.feature_flags)?;
            let after = store.update_host(&h, &audit_context(), now()).await?;
            if json {
                let configured =
                    is_configured(config, &after.host_id) || is_configured(config, &after.domain);
                return print_json(&HostView::new(after, configured));
            }
            out!("Updated host {}", after.host_id)?;
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

/// Whether the configuration file names a directory for the host (by id or domain).
fn is_configured(config: &Config, id_or_domain: &str) -> bool {
    config
        .directories
        .iter()
        .any(|d| d.host.eq_ignore_ascii_case(id_or_domain))
}

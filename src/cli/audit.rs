//! `tessera audit list`: the audit trail, read as the API's `GET /api/v1/audit` reads
//! it. No command changes or deletes an entry; the retention setting
//! (`audit.retention_days`) purges old ones.

use clap::Subcommand;
use serde_json::json;

use super::{date_time, print_json, print_table};
use crate::config::Config;
use crate::store::{AuditEntry, AuditQuery, AuditStore, HostStore};

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List entries, newest first.
    List {
        /// Only this host's entries (id or domain); default: every host's and Tessera's own.
        #[arg(long)]
        host: Option<String>,
        /// Only this action, or actions starting with a prefix ending in `.` (`user.`).
        #[arg(long)]
        action: Option<String>,
        /// Only entries of this acting user (id).
        #[arg(long)]
        actor: Option<String>,
        /// Only entries about this target (id).
        #[arg(long)]
        target: Option<String>,
        /// How many entries, at most.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        limit: u32,
        /// Print JSON (the API's shape) instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn to_json(e: &AuditEntry) -> serde_json::Value {
    let (target_kind, target_id) = e.target.clone().map(|t| (t.kind, t.id)).unzip();
    json!({
        "id": e.id,
        "at": e.at,
        "host_id": e.host_id,
        "actor_id": e.actor_id,
        "actor_name": e.actor_name,
        "via": e.via.as_str(),
        "action": e.action,
        "target_kind": target_kind,
        "target_id": target_id,
        "before": e.before,
        "after": e.after,
        "detail": e.detail,
        "request_id": e.request_id,
        "client_address": e.client_address,
    })
}

pub async fn run(config: &Config, cmd: AuditCommand) -> anyhow::Result<()> {
    let store = crate::app::open_store(config).await?;
    let AuditCommand::List {
        host,
        action,
        actor,
        target,
        limit,
        json,
    } = cmd;
    let host_id = match host {
        None => None,
        Some(h) => Some(
            store
                .find_host(&h)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no host {h:?}"))?
                .host_id,
        ),
    };
    let page = store
        .list_audit(&AuditQuery {
            host_id,
            actor_id: actor,
            target_id: target,
            action,
            limit,
            ..AuditQuery::default()
        })
        .await?;
    if json {
        let entries: Vec<_> = page.entries.iter().map(to_json).collect();
        return print_json(&json!({ "entries": entries }));
    }
    let rows: Vec<Vec<String>> = page
        .entries
        .iter()
        .map(|e| {
            vec![
                date_time(e.at),
                e.action.clone(),
                e.via.as_str().to_owned(),
                e.actor_name
                    .clone()
                    .or_else(|| e.actor_id.clone())
                    .unwrap_or_default(),
                e.target
                    .as_ref()
                    .map(|t| format!("{} {}", t.kind, t.id))
                    .unwrap_or_default(),
                e.host_id.clone().unwrap_or_default(),
            ]
        })
        .collect();
    print_table(&["AT", "ACTION", "VIA", "ACTOR", "TARGET", "HOST"], &rows)?;
    Ok(())
}

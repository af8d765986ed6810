//! `tessera permission list|grant|revoke`: who holds a permission on an API endpoint
//! (seed 003's four permission tables), through the same store functions as
//! `/api/v1/{roles,groups,users,attributes}/{id}/permissions`, audited as the operator.
//! `--json` prints the API's shape.

use anyhow::Context as _;
use clap::{Subcommand, ValueEnum};
use serde_json::{json, Value};

use super::catalog::host_id;
use super::{audit_context, now, print_json, print_table};
use crate::config::Config;
use crate::domain::catalog::Holder;
use crate::domain::date::iso_date;
use crate::domain::input::{date_range, text, MAX_TEXT};
use crate::store::{CatalogQuery, Grant, Permission, PermissionStore};

/// Who holds the permission.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum HolderArg {
    Role,
    Group,
    User,
    Attribute,
}

impl From<HolderArg> for Holder {
    fn from(h: HolderArg) -> Self {
        match h {
            HolderArg::Role => Holder::Role,
            HolderArg::Group => Holder::Group,
            HolderArg::User => Holder::User,
            HolderArg::Attribute => Holder::Attribute,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum PermissionCommand {
    /// List a holder's permissions, by endpoint.
    List {
        /// The host (id or domain).
        #[arg(long)]
        host: String,
        /// The kind of holder.
        holder: HolderArg,
        /// The holder's id (a user's id for a user).
        id: String,
        /// Print JSON (the API's shape).
        #[arg(long)]
        json: bool,
    },
    /// Grant a permission on an endpoint.
    Grant {
        /// The host (id or domain).
        #[arg(long)]
        host: String,
        /// The kind of holder.
        holder: HolderArg,
        /// The holder's id.
        id: String,
        /// The endpoint's id.
        #[arg(long)]
        endpoint: String,
        /// Users: the first day (default today).
        #[arg(long)]
        start_date: Option<String>,
        /// Users: the last day.
        #[arg(long)]
        end_date: Option<String>,
        /// Attributes: the value the user's attribute must have.
        #[arg(long)]
        value: Option<String>,
        /// Print JSON (the API's shape).
        #[arg(long)]
        json: bool,
    },
    /// Take a permission away.
    Revoke {
        /// The host (id or domain).
        #[arg(long)]
        host: String,
        /// The kind of holder.
        holder: HolderArg,
        /// The holder's id.
        id: String,
        /// The endpoint's id.
        #[arg(long)]
        endpoint: String,
    },
}

fn permission_json(p: &Permission) -> Value {
    serde_json::to_value(p).unwrap_or(Value::Null)
}

/// The grant the options describe, checked as the API checks a body.
fn grant(
    holder: Holder,
    endpoint: &str,
    start_date: Option<&str>,
    end_date: Option<&str>,
    value: Option<&str>,
) -> anyhow::Result<Grant> {
    let (start_date, end_date) = if holder == Holder::User {
        let today = iso_date(now());
        let (start, end) = date_range(start_date.unwrap_or(&today), end_date)?;
        (Some(start), end)
    } else {
        anyhow::ensure!(
            start_date.is_none() && end_date.is_none(),
            "--start-date and --end-date are for a user's permission only"
        );
        (None, None)
    };
    let value = match (holder, value) {
        (Holder::Attribute, Some(v)) => Some(text("value", v, MAX_TEXT)?),
        (Holder::Attribute, None) => anyhow::bail!("an attribute's permission needs --value"),
        (_, Some(_)) => anyhow::bail!("--value is for an attribute's permission only"),
        (_, None) => None,
    };
    Ok(Grant {
        endpoint_id: text("endpoint", endpoint, MAX_TEXT)?,
        start_date,
        end_date,
        value,
    })
}

pub async fn run(config: &Config, cmd: PermissionCommand) -> anyhow::Result<()> {
    let store = crate::app::open_store(config).await?;
    match cmd {
        PermissionCommand::List {
            host,
            holder,
            id,
            json,
        } => {
            let host = host_id(&store, &host).await?;
            let mut all = Vec::new();
            let mut query = CatalogQuery {
                after: None,
                limit: 200,
            };
            loop {
                let page = store
                    .list_permissions(&host, holder.into(), &id, &query)
                    .await?;
                all.extend(page.permissions);
                match page.next {
                    Some(next) => query.after = Some(next),
                    None => break,
                }
            }
            if json {
                let permissions: Vec<Value> = all.iter().map(permission_json).collect();
                return print_json(&json!({ "permissions": permissions }));
            }
            let rows: Vec<Vec<String>> = all
                .iter()
                .map(|p| {
                    vec![
                        p.endpoint_id.clone(),
                        p.http_method.clone(),
                        p.endpoint.clone(),
                        p.start_date.clone().unwrap_or_default(),
                        p.end_date.clone().unwrap_or_default(),
                        p.value.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            print_table(
                &["ENDPOINT ID", "METHOD", "ENDPOINT", "START", "END", "VALUE"],
                &rows,
            )?;
        }
        PermissionCommand::Grant {
            host,
            holder,
            id,
            endpoint,
            start_date,
            end_date,
            value,
            json,
        } => {
            let host = host_id(&store, &host).await?;
            let holder = Holder::from(holder);
            let grant = grant(
                holder,
                &endpoint,
                start_date.as_deref(),
                end_date.as_deref(),
                value.as_deref(),
            )?;
            let granted = store
                .grant_permission(&host, holder, &id, &grant, &audit_context(), now())
                .await
                .context("cannot grant the permission")?;
            if json {
                return print_json(&permission_json(&granted));
            }
            out!(
                "Granted {} {} to {} {id}",
                granted.http_method,
                granted.endpoint,
                holder.as_str()
            )?;
        }
        PermissionCommand::Revoke {
            host,
            holder,
            id,
            endpoint,
        } => {
            let host = host_id(&store, &host).await?;
            let holder = Holder::from(holder);
            store
                .revoke_permission(&host, holder, &id, &endpoint, &audit_context(), now())
                .await
                .context("cannot revoke the permission")?;
            out!("Revoked endpoint {endpoint} from {} {id}", holder.as_str())?;
        }
    }
    Ok(())
}

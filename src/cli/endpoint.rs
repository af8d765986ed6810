//! `tessera endpoint add|list|update|delete`: a host's API endpoints (seed 003's
//! `api_endpoint_t`), written through the same store functions as
//! `/api/v1/endpoints`, audited as the operator. `--json` prints the API's shape.

use anyhow::Context as _;
use clap::Subcommand;
use serde_json::{json, Value};

use super::catalog::{description, host_id};
use super::{audit_context, now, print_json, print_table};
use crate::config::Config;
use crate::domain::catalog::{chosen_id, endpoint_path, http_method, HTTP_METHODS};
use crate::store::{CatalogQuery, Endpoint, EndpointChange, EndpointStore, NewEndpoint};

/// The commands of API endpoints.
#[derive(Debug, Subcommand)]
pub enum EndpointCommand {
    /// Add an endpoint.
    Add {
        /// The host (id or domain).
        #[arg(long)]
        host: String,
        /// The service and path template (`/v1/accounts/{id}`).
        endpoint: String,
        /// The HTTP method.
        #[arg(long, default_value = "GET")]
        method: String,
        /// The id (default: a random one).
        #[arg(long)]
        id: Option<String>,
        /// A description.
        #[arg(long)]
        description: Option<String>,
        /// Print JSON (the API's shape).
        #[arg(long)]
        json: bool,
    },
    /// List the endpoints, by path and method.
    List {
        /// The host (id or domain).
        #[arg(long)]
        host: String,
        /// Print JSON (the API's shape).
        #[arg(long)]
        json: bool,
    },
    /// Change an endpoint.
    Update {
        /// The host (id or domain).
        #[arg(long)]
        host: String,
        /// The id.
        id: String,
        /// A new path template.
        #[arg(long)]
        endpoint: Option<String>,
        /// A new method.
        #[arg(long)]
        method: Option<String>,
        /// A new description (empty: none).
        #[arg(long)]
        description: Option<String>,
        /// Print JSON (the API's shape).
        #[arg(long)]
        json: bool,
    },
    /// Delete an endpoint; one that permissions name needs --force.
    Delete {
        /// The host (id or domain).
        #[arg(long)]
        host: String,
        /// The id.
        id: String,
        /// Delete even when permissions name it, with them.
        #[arg(long)]
        force: bool,
    },
}

fn endpoint_json(e: &Endpoint) -> Value {
    json!({
        "id": e.id,
        "endpoint": e.endpoint,
        "http_method": e.http_method,
        "description": e.description,
    })
}

fn method(value: &str) -> anyhow::Result<String> {
    http_method(value)
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("--method must be one of {}", HTTP_METHODS.join(", ")))
}

pub async fn run(config: &Config, cmd: EndpointCommand) -> anyhow::Result<()> {
    let store = crate::app::open_store(config).await?;
    match cmd {
        EndpointCommand::Add {
            host,
            endpoint,
            method: m,
            id,
            description: about,
            json,
        } => {
            let host = host_id(&store, &host).await?;
            let new = NewEndpoint {
                id: chosen_id(id.as_deref())?,
                endpoint: endpoint_path(&endpoint)?,
                http_method: method(&m)?,
                description: description(about.as_deref())?,
            };
            let created = store
                .create_endpoint(&host, &new, &audit_context(), now())
                .await
                .context("cannot add the endpoint")?;
            if json {
                return print_json(&endpoint_json(&created));
            }
            out!(
                "Created endpoint {} {} ({})",
                created.http_method,
                created.endpoint,
                created.id
            )?;
        }
        EndpointCommand::List { host, json } => {
            let host = host_id(&store, &host).await?;
            let mut all = Vec::new();
            let mut query = CatalogQuery {
                after: None,
                limit: 200,
            };
            loop {
                let page = store.list_endpoints(&host, &query).await?;
                all.extend(page.endpoints);
                match page.next {
                    Some(next) => query.after = Some(next),
                    None => break,
                }
            }
            if json {
                let endpoints: Vec<Value> = all.iter().map(endpoint_json).collect();
                return print_json(&json!({ "endpoints": endpoints }));
            }
            let rows: Vec<Vec<String>> = all
                .iter()
                .map(|e| {
                    vec![
                        e.id.clone(),
                        e.http_method.clone(),
                        e.endpoint.clone(),
                        e.description.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            print_table(&["ID", "METHOD", "ENDPOINT", "DESCRIPTION"], &rows)?;
        }
        EndpointCommand::Update {
            host,
            id,
            endpoint,
            method: m,
            description: about,
            json,
        } => {
            let host = host_id(&store, &host).await?;
            let change = EndpointChange {
                endpoint: endpoint.map(|e| endpoint_path(&e)).transpose()?,
                http_method: m.as_deref().map(method).transpose()?,
                description: about.as_deref().map(|d| description(Some(d))).transpose()?,
            };
            anyhow::ensure!(
                change != EndpointChange::default(),
                "give at least one change"
            );
            let changed = store
                .update_endpoint(&host, &id, &change, &audit_context(), now())
                .await
                .context("cannot update the endpoint")?;
            if json {
                return print_json(&endpoint_json(&changed));
            }
            out!("Updated endpoint {}", changed.id)?;
        }
        EndpointCommand::Delete { host, id, force } => {
            let host = host_id(&store, &host).await?;
            store
                .delete_endpoint(&host, &id, force, &audit_context(), now())
                .await
                .context("cannot delete the endpoint")?;
            out!("Deleted endpoint {id}")?;
        }
    }
    Ok(())
}

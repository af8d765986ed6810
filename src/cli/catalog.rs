//! `tessera role|group|position|attribute add|list|update|delete`: a host's catalog
//! (issue 13; seed 003), written through the same store functions as `/api/v1/roles`
//! and the rest, audited as the operator. `--json` prints the API's shape.

use anyhow::Context as _;
use clap::Subcommand;
use serde_json::{json, Value};

use super::{audit_context, now, print_json, print_table};
use crate::config::Config;
use crate::domain::catalog::{chosen_id, AttributeType, Kind};
use crate::domain::input::{optional_text, text, MAX_NAME, MAX_TEXT};
use crate::store::{
    CatalogQuery, Definition, DefinitionChange, DefinitionStore, HostStore, NewDefinition, SqlStore,
};

/// The commands of a role, group, position or attribute.
#[derive(Debug, Subcommand)]
pub enum DefinitionCommand {
    /// Add one.
    Add {
        /// The host (id or domain).
        #[arg(long)]
        host: String,
        /// The name, unique in the host.
        name: String,
        /// The id (default: a random one).
        #[arg(long)]
        id: Option<String>,
        /// A description.
        #[arg(long)]
        description: Option<String>,
        /// Positions: a manager inherits it from a direct report.
        #[arg(long)]
        inherit_to_ancestor: bool,
        /// Positions: teammates under the same manager inherit it.
        #[arg(long)]
        inherit_to_sibling: bool,
        /// Attributes: string, integer, boolean, date, float or list (default string).
        #[arg(long = "type")]
        attribute_type: Option<String>,
        /// Print JSON (the API's shape).
        #[arg(long)]
        json: bool,
    },
    /// List them, by name.
    List {
        /// The host (id or domain).
        #[arg(long)]
        host: String,
        /// Print JSON (the API's shape).
        #[arg(long)]
        json: bool,
    },
    /// Rename or change one.
    Update {
        /// The host (id or domain).
        #[arg(long)]
        host: String,
        /// The id.
        id: String,
        /// A new name.
        #[arg(long)]
        name: Option<String>,
        /// A new description (empty: none).
        #[arg(long)]
        description: Option<String>,
        /// Positions: whether a manager inherits it.
        #[arg(long)]
        inherit_to_ancestor: Option<bool>,
        /// Positions: whether teammates inherit it.
        #[arg(long)]
        inherit_to_sibling: Option<bool>,
        /// Attributes: a new type, which every stored value must fit.
        #[arg(long = "type")]
        attribute_type: Option<String>,
        /// Print JSON (the API's shape).
        #[arg(long)]
        json: bool,
    },
    /// Delete one; one assigned to users needs --force, which removes the assignments.
    Delete {
        /// The host (id or domain).
        #[arg(long)]
        host: String,
        /// The id.
        id: String,
        /// Delete even when in use.
        #[arg(long)]
        force: bool,
    },
}

/// A definition as the API shows it.
fn definition_json(d: &Definition) -> Value {
    let mut value = json!({ "id": d.id, "name": d.name, "description": d.description });
    if let (Some(map), Some(a), Some(s)) = (
        value.as_object_mut(),
        d.inherit_to_ancestor,
        d.inherit_to_sibling,
    ) {
        map.insert("inherit_to_ancestor".into(), a.into());
        map.insert("inherit_to_sibling".into(), s.into());
    }
    if let (Some(map), Some(t)) = (value.as_object_mut(), d.attribute_type) {
        map.insert("type".into(), t.as_str().into());
    }
    value
}

pub(super) async fn host_id(store: &SqlStore, host: &str) -> anyhow::Result<String> {
    Ok(store
        .find_host(host)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no host {host:?}"))?
        .host_id)
}

fn attribute_type(kind: Kind, value: Option<&str>) -> anyhow::Result<Option<AttributeType>> {
    let Some(value) = value else { return Ok(None) };
    anyhow::ensure!(kind == Kind::Attribute, "--type is for attributes only");
    AttributeType::parse(value).map(Some).ok_or_else(|| {
        anyhow::anyhow!("--type must be string, integer, boolean, date, float or list")
    })
}

pub(super) fn description(value: Option<&str>) -> anyhow::Result<Option<String>> {
    Ok(optional_text("description", value, MAX_TEXT)?)
}

/// Every definition of a kind, page after page.
async fn all_definitions(
    store: &SqlStore,
    host: &str,
    kind: Kind,
) -> anyhow::Result<Vec<Definition>> {
    let mut all = Vec::new();
    let mut query = CatalogQuery {
        after: None,
        limit: 200,
    };
    loop {
        let page = store.list_definitions(host, kind, &query).await?;
        all.extend(page.items);
        match page.next {
            Some(next) => query.after = Some(next),
            None => return Ok(all),
        }
    }
}

pub async fn run_definition(
    config: &Config,
    kind: Kind,
    cmd: DefinitionCommand,
) -> anyhow::Result<()> {
    let store = crate::app::open_store(config).await?;
    match cmd {
        DefinitionCommand::Add {
            host,
            name,
            id,
            description: about,
            inherit_to_ancestor,
            inherit_to_sibling,
            attribute_type: t,
            json,
        } => {
            let host = host_id(&store, &host).await?;
            anyhow::ensure!(
                kind == Kind::Position || !(inherit_to_ancestor || inherit_to_sibling),
                "--inherit-to-ancestor and --inherit-to-sibling are for positions only"
            );
            let new = NewDefinition {
                kind,
                id: chosen_id(id.as_deref())?,
                name: text("name", &name, MAX_NAME)?,
                description: description(about.as_deref())?,
                inherit_to_ancestor,
                inherit_to_sibling,
                attribute_type: attribute_type(kind, t.as_deref())?
                    .unwrap_or(AttributeType::String),
            };
            let created = store
                .create_definition(&host, &new, &audit_context(), now())
                .await
                .with_context(|| format!("cannot add the {kind}"))?;
            if json {
                return print_json(&definition_json(&created));
            }
            out!("Created {kind} {} ({})", created.name, created.id)?;
        }
        DefinitionCommand::List { host, json } => {
            let host = host_id(&store, &host).await?;
            let all = all_definitions(&store, &host, kind).await?;
            if json {
                let items: Vec<Value> = all.iter().map(definition_json).collect();
                return print_json(&json!({ "items": items }));
            }
            let rows: Vec<Vec<String>> = all
                .iter()
                .map(|d| {
                    vec![
                        d.id.clone(),
                        d.name.clone(),
                        d.description.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            print_table(&["ID", "NAME", "DESCRIPTION"], &rows)?;
        }
        DefinitionCommand::Update {
            host,
            id,
            name,
            description: about,
            inherit_to_ancestor,
            inherit_to_sibling,
            attribute_type: t,
            json,
        } => {
            let host = host_id(&store, &host).await?;
            anyhow::ensure!(
                kind == Kind::Position
                    || (inherit_to_ancestor.is_none() && inherit_to_sibling.is_none()),
                "--inherit-to-ancestor and --inherit-to-sibling are for positions only"
            );
            let change = DefinitionChange {
                name: name.map(|n| text("name", &n, MAX_NAME)).transpose()?,
                description: about.as_deref().map(|d| description(Some(d))).transpose()?,
                inherit_to_ancestor,
                inherit_to_sibling,
                attribute_type: attribute_type(kind, t.as_deref())?,
            };
            anyhow::ensure!(
                change != DefinitionChange::default(),
                "give at least one change"
            );
            let changed = store
                .update_definition(&host, kind, &id, &change, &audit_context(), now())
                .await
                .with_context(|| format!("cannot update the {kind}"))?;
            if json {
                return print_json(&definition_json(&changed));
            }
            out!("Updated {kind} {} ({})", changed.name, changed.id)?;
        }
        DefinitionCommand::Delete { host, id, force } => {
            let host = host_id(&store, &host).await?;
            store
                .delete_definition(&host, kind, &id, force, &audit_context(), now())
                .await
                .with_context(|| format!("cannot delete the {kind}"))?;
            out!("Deleted {kind} {id}")?;
        }
    }
    Ok(())
}

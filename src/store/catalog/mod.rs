//! The catalog of a host (issue 13; seed 003's `role_t`, `group_t`, `position_t`,
//! `attribute_t`, `api_endpoint_t` and the four permission tables): the only writer of
//! those tables. Each change is one transaction with its audit entry; the
//! `&mut AnyConnection` helpers (`upsert_definition`, `definition_id_by_name`) let an
//! import write definitions inside its own transaction. Store functions never check
//! rights: the API and the CLI decide who may call them.
//!
//! - `definitions`: roles, groups, positions, attributes, and their rules;
//!   `definition_rows` their statements (the table and columns chosen by [`Kind`]).
//! - `endpoints`: API endpoints.
//! - `permissions`: who holds a permission on an endpoint.

mod definition_rows;
mod definitions;
mod endpoints;
mod permissions;

use serde::Serialize;

use crate::domain::catalog::{AttributeType, Kind};

pub(crate) use definition_rows::{definition_id_by_name, upsert_definition};
pub use definitions::DefinitionStore;
pub use endpoints::EndpointStore;
pub use permissions::PermissionStore;

/// A role, group, position or attribute. Fields of other kinds are none, and left out
/// of the audit trail's before and after.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Definition {
    #[serde(skip)]
    pub kind: Kind,
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// Positions: a manager inherits it from a direct report who holds it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inherit_to_ancestor: Option<bool>,
    /// Positions: teammates under the same manager inherit it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inherit_to_sibling: Option<bool>,
    /// Attributes: what their values are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribute_type: Option<AttributeType>,
}

/// A definition to create. `id` none: a random one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewDefinition {
    pub kind: Kind,
    pub id: Option<String>,
    pub name: String,
    pub description: Option<String>,
    pub inherit_to_ancestor: bool,
    pub inherit_to_sibling: bool,
    pub attribute_type: AttributeType,
}

impl NewDefinition {
    /// A definition of `kind` with only a name.
    #[must_use]
    pub fn named(kind: Kind, name: &str) -> Self {
        Self {
            kind,
            id: None,
            name: name.to_owned(),
            description: None,
            inherit_to_ancestor: false,
            inherit_to_sibling: false,
            attribute_type: AttributeType::String,
        }
    }
}

/// A change of a definition; a field left none is kept. `description: Some(None)`
/// clears it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DefinitionChange {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub inherit_to_ancestor: Option<bool>,
    pub inherit_to_sibling: Option<bool>,
    pub attribute_type: Option<AttributeType>,
}

/// A page of a list: after a key, at most `limit`.
#[derive(Clone, Debug, Default)]
pub struct CatalogQuery {
    /// The key of the previous page's last row (a definition's name, or an endpoint's
    /// path and method joined by a newline, for endpoints and permissions).
    pub after: Option<String>,
    pub limit: u32,
}

/// One page of definitions, ordered by name.
#[derive(Clone, Debug)]
pub struct DefinitionPage {
    pub items: Vec<Definition>,
    /// The key to pass as `after` for the next page, when there is one.
    pub next: Option<String>,
}

/// An API endpoint a policy protects (`api_endpoint_t`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    pub id: String,
    /// The service and path template (`/v1/accounts/{id}`).
    pub endpoint: String,
    pub http_method: String,
    pub description: Option<String>,
}

/// An endpoint to create; `http_method` is one of `domain::catalog::HTTP_METHODS`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEndpoint {
    pub id: Option<String>,
    pub endpoint: String,
    pub http_method: String,
    pub description: Option<String>,
}

/// A change of an endpoint; a field left none is kept.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointChange {
    pub endpoint: Option<String>,
    pub http_method: Option<String>,
    pub description: Option<Option<String>>,
}

/// One page of endpoints, ordered by path, then method.
#[derive(Clone, Debug)]
pub struct EndpointPage {
    pub endpoints: Vec<Endpoint>,
    pub next: Option<String>,
}

/// A permission on an endpoint, with the endpoint it names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Permission {
    pub endpoint_id: String,
    pub endpoint: String,
    pub http_method: String,
    /// Users: the first day the permission counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_date: Option<String>,
    /// Users: the last day it counts (none: no end).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_date: Option<String>,
    /// Attributes: the value a user's attribute must have.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// One page of permissions, ordered by endpoint path, then method.
#[derive(Clone, Debug)]
pub struct PermissionPage {
    pub permissions: Vec<Permission>,
    pub next: Option<String>,
}

/// A permission to grant. `start_date` and `end_date` are for users (checked by the
/// caller with `domain::input::date_range`), `value` for attributes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Grant {
    pub endpoint_id: String,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub value: Option<String>,
}

/// Keeps one row more than `limit` off a page, returning whether it was there.
fn trim_page<T>(rows: &mut Vec<T>, limit: u32) -> bool {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if rows.len() > limit {
        rows.truncate(limit);
        true
    } else {
        false
    }
}

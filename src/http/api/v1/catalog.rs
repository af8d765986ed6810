//! The host's catalog (issue 13; seed 003): `/api/v1/roles`, `/groups`, `/positions`
//! and `/attributes`, each with list (keyset paging by name), create, get, update and
//! delete. Reading needs the manager right, changing the host admin's
//! (`Action::ReadCatalog`, `Action::ManageCatalog`). A definition of another host is a
//! 404. The four kinds share these handlers; `catalog_routes` declares each kind's
//! routes so that every path is in the OpenAPI document.

use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::query::{bad, decode_cursor, encode_cursor, page_limit, parse_query, read_cursor};
use crate::domain::catalog::{chosen_id, AttributeType, Kind};
use crate::domain::input::{optional_text, text, FieldError, MAX_NAME, MAX_TEXT};
use crate::domain::{authorize, Action, Principal, Refusal};
use crate::http::error::V1Error;
use crate::http::extract::Caller;
use crate::http::state::AppState;
use crate::store::{CatalogQuery, Definition, DefinitionChange, NewDefinition};

/// The query of a catalog list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct ListRequest {
    /// Rows per page, 1 to 200 (default 50).
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Parses a list's query; an unknown parameter is refused rather than ignored.
pub(super) fn parse_list_query(raw: Option<&str>) -> Result<CatalogQuery, V1Error> {
    let request: ListRequest = parse_query(raw)?;
    let limit = page_limit(request.limit)?;
    let after = read_cursor(request.cursor, decode_cursor)?;
    Ok(CatalogQuery { after, limit })
}

/// The query of a delete.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct DeleteRequest {
    /// Delete even when in use, with the assignments (or permissions) that use it.
    force: Option<bool>,
}

pub(super) fn parse_force(raw: Option<&str>) -> Result<bool, V1Error> {
    let request: DeleteRequest = parse_query(raw)?;
    Ok(request.force.unwrap_or(false))
}

/// A role, group, position or attribute.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct DefinitionResponse {
    id: String,
    name: String,
    description: Option<String>,
    /// Positions: a manager inherits the position from a direct report who holds it.
    #[serde(skip_serializing_if = "Option::is_none")]
    inherit_to_ancestor: Option<bool>,
    /// Positions: teammates under the same manager inherit it.
    #[serde(skip_serializing_if = "Option::is_none")]
    inherit_to_sibling: Option<bool>,
    /// Attributes: `string`, `integer`, `boolean`, `date`, `float` or `list`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    attribute_type: Option<String>,
}

impl From<Definition> for DefinitionResponse {
    fn from(d: Definition) -> Self {
        Self {
            id: d.id,
            name: d.name,
            description: d.description,
            inherit_to_ancestor: d.inherit_to_ancestor,
            inherit_to_sibling: d.inherit_to_sibling,
            attribute_type: d.attribute_type.map(|t| t.as_str().to_owned()),
        }
    }
}

/// A page of definitions, ordered by name.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct DefinitionListResponse {
    items: Vec<DefinitionResponse>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// The body of a create. Fields of other kinds are refused (422 naming them).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct DefinitionRequest {
    /// The id (default: a random one). No spaces or slashes.
    id: Option<String>,
    /// Unique in the host, at most 200 characters.
    name: String,
    description: Option<String>,
    /// Positions only (default false).
    inherit_to_ancestor: Option<bool>,
    /// Positions only (default false).
    inherit_to_sibling: Option<bool>,
    /// Attributes only (default `string`).
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    attribute_type: Option<String>,
}

/// The body of an update: each field given is changed, the others kept; an empty
/// `description` clears it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct DefinitionPatch {
    name: Option<String>,
    description: Option<String>,
    /// Positions only.
    inherit_to_ancestor: Option<bool>,
    /// Positions only.
    inherit_to_sibling: Option<bool>,
    /// Attributes only; refused (409) when a stored value is not of the new type.
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    attribute_type: Option<String>,
}

/// Refuses a field the kind does not have.
fn only_for(kind: Kind, wanted: Kind, field: &str, given: bool) -> Result<(), FieldError> {
    if given && kind != wanted {
        return Err(FieldError::new(
            field,
            format!("is a field of a {wanted}, not of a {kind}"),
        ));
    }
    Ok(())
}

fn attribute_type(value: Option<&str>) -> Result<Option<AttributeType>, FieldError> {
    value
        .map(|t| {
            AttributeType::parse(t).ok_or_else(|| {
                let names: Vec<&str> = AttributeType::ALL.iter().map(|t| t.as_str()).collect();
                FieldError::new("type", format!("must be one of {}", names.join(", ")))
            })
        })
        .transpose()
}

fn check_kind_fields(
    kind: Kind,
    ancestor: Option<bool>,
    sibling: Option<bool>,
    attribute: Option<&str>,
) -> Result<(), FieldError> {
    only_for(
        kind,
        Kind::Position,
        "inherit_to_ancestor",
        ancestor.is_some(),
    )?;
    only_for(
        kind,
        Kind::Position,
        "inherit_to_sibling",
        sibling.is_some(),
    )?;
    only_for(kind, Kind::Attribute, "type", attribute.is_some())
}

/// Checks a create's body.
///
/// # Errors
/// The first field that breaks a rule.
pub(super) fn new_definition(
    kind: Kind,
    body: &DefinitionRequest,
) -> Result<NewDefinition, FieldError> {
    check_kind_fields(
        kind,
        body.inherit_to_ancestor,
        body.inherit_to_sibling,
        body.attribute_type.as_deref(),
    )?;
    Ok(NewDefinition {
        kind,
        id: chosen_id(body.id.as_deref())?,
        name: text("name", &body.name, MAX_NAME)?,
        description: optional_text("description", body.description.as_deref(), MAX_TEXT)?,
        inherit_to_ancestor: body.inherit_to_ancestor.unwrap_or(false),
        inherit_to_sibling: body.inherit_to_sibling.unwrap_or(false),
        attribute_type: attribute_type(body.attribute_type.as_deref())?
            .unwrap_or(AttributeType::String),
    })
}

fn definition_change(kind: Kind, body: &DefinitionPatch) -> Result<DefinitionChange, V1Error> {
    check_kind_fields(
        kind,
        body.inherit_to_ancestor,
        body.inherit_to_sibling,
        body.attribute_type.as_deref(),
    )?;
    let change = DefinitionChange {
        name: body
            .name
            .as_deref()
            .map(|n| text("name", n, MAX_NAME))
            .transpose()?,
        description: body
            .description
            .as_deref()
            .map(|d| optional_text("description", Some(d), MAX_TEXT))
            .transpose()?,
        inherit_to_ancestor: body.inherit_to_ancestor,
        inherit_to_sibling: body.inherit_to_sibling,
        attribute_type: attribute_type(body.attribute_type.as_deref())?,
    };
    if change == DefinitionChange::default() {
        return Err(bad("body", "give at least one field to change"));
    }
    Ok(change)
}

pub(super) async fn list(
    state: AppState,
    principal: Principal,
    raw: Option<String>,
    kind: Kind,
) -> Result<Json<DefinitionListResponse>, V1Error> {
    let host = principal.host_id.as_str();
    authorize(&principal, Action::ReadCatalog, host)?;
    let query = parse_list_query(raw.as_deref())?;
    let page = state.store.list_definitions(host, kind, &query).await?;
    Ok(Json(DefinitionListResponse {
        items: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next.as_deref().map(encode_cursor),
    }))
}

pub(super) async fn get(
    state: AppState,
    principal: Principal,
    id: String,
    kind: Kind,
) -> Result<Json<DefinitionResponse>, V1Error> {
    let host = principal.host_id.as_str();
    authorize(&principal, Action::ReadCatalog, host)?;
    let found = state
        .store
        .find_definition(host, kind, &id)
        .await?
        .ok_or(Refusal::NotFound)?;
    Ok(Json(found.into()))
}

pub(super) async fn create(
    state: AppState,
    Caller { principal, audit }: Caller,
    body: DefinitionRequest,
    kind: Kind,
) -> Result<(StatusCode, Json<DefinitionResponse>), V1Error> {
    let host = principal.host_id.as_str();
    authorize(&principal, Action::ManageCatalog, host)?;
    let new = new_definition(kind, &body)?;
    let created = state
        .store
        .create_definition(host, &new, &audit, state.now())
        .await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

pub(super) async fn update(
    state: AppState,
    Caller { principal, audit }: Caller,
    id: String,
    body: DefinitionPatch,
    kind: Kind,
) -> Result<Json<DefinitionResponse>, V1Error> {
    let host = principal.host_id.as_str();
    authorize(&principal, Action::ManageCatalog, host)?;
    let change = definition_change(kind, &body)?;
    let changed = state
        .store
        .update_definition(host, kind, &id, &change, &audit, state.now())
        .await?;
    Ok(Json(changed.into()))
}

pub(super) async fn delete(
    state: AppState,
    Caller { principal, audit }: Caller,
    id: String,
    raw: Option<String>,
    kind: Kind,
) -> Result<StatusCode, V1Error> {
    let host = principal.host_id.as_str();
    authorize(&principal, Action::ManageCatalog, host)?;
    let force = parse_force(raw.as_deref())?;
    state
        .store
        .delete_definition(host, kind, &id, force, &audit, state.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(json: serde_json::Value) -> DefinitionRequest {
        serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_field_of_another_kind_is_named() {
        let body = request(serde_json::json!({"name": "x", "type": "integer"}));
        let e = new_definition(Kind::Role, &body).err();
        assert_eq!(e.map(|e| e.field).as_deref(), Some("type"));
        let body = request(serde_json::json!({"name": "x", "inherit_to_sibling": true}));
        let e = new_definition(Kind::Attribute, &body).err();
        assert_eq!(e.map(|e| e.field).as_deref(), Some("inherit_to_sibling"));
    }

    #[test]
    fn an_unknown_type_and_a_bad_id_are_named() {
        let body = request(serde_json::json!({"name": "x", "type": "number"}));
        let e = new_definition(Kind::Attribute, &body).err();
        assert_eq!(e.map(|e| e.field).as_deref(), Some("type"));
        let body = request(serde_json::json!({"name": "x", "id": "a/b"}));
        let e = new_definition(Kind::Group, &body).err();
        assert_eq!(e.map(|e| e.field).as_deref(), Some("id"));
    }

    #[test]
    fn a_definition_defaults_to_a_string_attribute_without_inheritance() {
        let body = request(serde_json::json!({"name": " country "}));
        let d = new_definition(Kind::Attribute, &body).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.name, "country");
        assert_eq!(d.attribute_type, AttributeType::String);
        assert!(!d.inherit_to_ancestor && !d.inherit_to_sibling);
    }
}

//! The import document: hosts with their roles, groups, positions and attributes, and
//! users with their memberships and assignments, in YAML or JSON. Parsing and the
//! checks that need no database live here; `store::import` writes it.

use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;

use super::date::parse_iso_date;
use super::UserTypeModel;

/// The start of an assignment that gives none: in effect from the beginning. A fixed
/// value (not the import's date) keeps a second import of the same file a no-op.
pub const SINCE_EVER: &str = "1970-01-01";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    #[serde(default)]
    pub hosts: Vec<HostDoc>,
    #[serde(default)]
    pub users: Vec<UserDoc>,
    #[serde(default)]
    pub clients: Vec<ClientDoc>,
}

/// An OAuth client. A confidential client's secret is given in clear and stored as its
/// SHA-256 only.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientDoc {
    pub client_id: String,
    pub name: String,
    /// `confidential` (default) or `public`.
    #[serde(rename = "type", default = "default_client_type")]
    pub client_type: String,
    pub secret: Option<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default = "default_grants")]
    pub grants: Vec<String>,
    #[serde(default = "default_client_scopes")]
    pub scopes: String,
    /// The host (id or domain) the client belongs to.
    pub host: Option<String>,
    #[serde(default = "yes")]
    pub require_pkce: bool,
    #[serde(default)]
    pub profile_in_id_token: bool,
    /// A first-party client: no consent page (see `Client::skip_consent`).
    #[serde(default)]
    pub skip_consent: bool,
}

fn default_client_type() -> String {
    "confidential".to_owned()
}

fn default_grants() -> Vec<String> {
    vec!["authorization_code".to_owned(), "refresh_token".to_owned()]
}

fn default_client_scopes() -> String {
    "openid profile email address phone offline_access".to_owned()
}

fn yes() -> bool {
    true
}

/// The grant types a client may be given. `password` (RFC 6749 §4.3) is the mark of a
/// legacy first-party client, and only a first-party client (`skip_consent`) may
/// carry it (issue 14; RFC 9700 §2.4).
pub const GRANT_TYPES: &[&str] = &[
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "password",
    "urn:ietf:params:oauth:grant-type:token-exchange",
];

impl ClientDoc {
    /// The client as the domain knows it (the secret hashed).
    ///
    /// # Errors
    /// A message naming what is wrong.
    pub fn to_client(&self, host_id: Option<String>) -> Result<super::Client, String> {
        use super::{Client, ClientType, RedirectUri, Scopes, Secret};
        let client_type = ClientType::parse(&self.client_type)?;
        let secret_hash = match (client_type, &self.secret) {
            (ClientType::Confidential, Some(s)) if s.len() >= 16 => {
                Some(Secret::new(s.clone()).hash())
            }
            (ClientType::Confidential, _) => {
                return Err(
                    "a confidential client needs a secret of 16 characters or more".to_owned(),
                )
            }
            (ClientType::Public, Some(_)) => return Err("a public client has no secret".to_owned()),
            (ClientType::Public, None) => None,
        };
        if let Some(g) = self
            .grants
            .iter()
            .find(|g| !GRANT_TYPES.contains(&g.as_str()))
        {
            return Err(format!("unknown grant type {g:?}"));
        }
        if client_type == ClientType::Public
            && self.grants.iter().any(|g| g == "client_credentials")
        {
            return Err("a public client cannot use client_credentials".to_owned());
        }
        if !self.skip_consent && self.grants.iter().any(|g| g == "password") {
            return Err(
                "only a first-party client (skip_consent) may use the legacy password grant"
                    .to_owned(),
            );
        }
        let uris = |list: &[String]| {
            list.iter()
                .map(|u| RedirectUri::parse(u).map_err(|e| format!("{u}: {e}")))
                .collect::<Result<Vec<_>, _>>()
        };
        let redirect_uris = uris(&self.redirect_uris)?;
        if redirect_uris.is_empty() && self.grants.iter().any(|g| g == "authorization_code") {
            return Err("the authorization code grant needs at least one redirect URI".to_owned());
        }
        Ok(Client {
            client_id: self.client_id.clone(),
            name: self.name.clone(),
            client_type,
            secret_hash,
            redirect_uris,
            post_logout_redirect_uris: uris(&self.post_logout_redirect_uris)?,
            grant_types: self.grants.clone(),
            allowed_scopes: Scopes::parse(&self.scopes).map_err(|e| e.to_string())?,
            require_pkce: self.require_pkce || client_type == ClientType::Public,
            host_id,
            profile_in_id_token: self.profile_in_id_token,
            skip_consent: self.skip_consent,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostDoc {
    pub host_id: String,
    pub domain: String,
    pub name: String,
    /// `EC` (default) or `EPB`.
    #[serde(default = "default_model")]
    pub user_types: String,
    pub default_role: Option<String>,
    #[serde(default)]
    pub roles: Vec<NamedDoc>,
    #[serde(default)]
    pub groups: Vec<NamedDoc>,
    #[serde(default)]
    pub positions: Vec<PositionDoc>,
    #[serde(default)]
    pub attributes: Vec<AttributeDefDoc>,
}

fn default_model() -> String {
    "EC".to_owned()
}

/// A role or group: its id defaults to its name.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedDoc {
    pub id: Option<String>,
    pub name: String,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PositionDoc {
    pub id: Option<String>,
    pub name: String,
    pub description: Option<String>,
    #[serde(default)]
    pub inherit_to_ancestor: bool,
    #[serde(default)]
    pub inherit_to_sibling: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeDefDoc {
    pub id: Option<String>,
    pub name: String,
    #[serde(rename = "type", default = "default_attribute_type")]
    pub attribute_type: String,
    pub description: Option<String>,
}

fn default_attribute_type() -> String {
    "string".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserDoc {
    pub email: String,
    /// The user's id (default: kept if the email exists, random otherwise).
    pub user_id: Option<String>,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub language: Option<String>,
    pub user_type: String,
    #[serde(default)]
    pub verified: bool,
    #[serde(default)]
    pub locked: bool,
    /// Makes the user a system admin (`true`) or no longer one (`false`); left out,
    /// the stored flag stays (see `docs/admin-api.md`).
    pub system_admin: Option<bool>,
    /// A password in clear, hashed with argon2id on import (kept if unchanged).
    pub password: Option<String>,
    /// Or an argon2 PHC string.
    pub password_hash: Option<String>,
    /// Contact and profile facts (seed 003's columns), released by the `phone`,
    /// `address` and `profile` scopes.
    pub phone_number: Option<String>,
    #[serde(default)]
    pub phone_verified: bool,
    /// `F`, `M` or a word.
    pub gender: Option<String>,
    /// `YYYY-MM-DD`.
    pub birthday: Option<String>,
    /// The street address (lines separated by newlines).
    pub address: Option<String>,
    pub city: Option<String>,
    pub province: Option<String>,
    pub post_code: Option<String>,
    /// An ISO 3166-1 country code or name.
    pub country: Option<String>,
    #[serde(default)]
    pub hosts: Vec<MembershipDoc>,
}

impl UserDoc {
    /// The contact facts as the domain holds them.
    #[must_use]
    pub fn contact(&self) -> crate::domain::Contact {
        crate::domain::Contact {
            phone_number: self.phone_number.clone(),
            phone_verified: self.phone_verified,
            gender: self.gender.clone(),
            birthday: self.birthday.clone(),
            address: self.address.clone(),
            city: self.city.clone(),
            province: self.province.clone(),
            post_code: self.post_code.clone(),
            country: self.country.clone(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MembershipDoc {
    /// The host's id or domain.
    pub host: String,
    pub employee: Option<EmployeeDoc>,
    pub customer: Option<CustomerDoc>,
    #[serde(default)]
    pub roles: Vec<AssignmentDoc>,
    #[serde(default)]
    pub groups: Vec<AssignmentDoc>,
    #[serde(default)]
    pub positions: Vec<AssignmentDoc>,
    #[serde(default)]
    pub attributes: AttributesDoc,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmployeeDoc {
    pub employee_id: String,
    pub title: Option<String>,
    /// The manager's employee id in the same host.
    pub manager_id: Option<String>,
    pub hire_date: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerDoc {
    pub customer_id: String,
    /// The referring customer's id in the same host.
    pub referral_id: Option<String>,
}

/// `admin`, or `{ name: admin, start_date: 2025-01-01, end_date: 2025-12-31 }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum AssignmentDoc {
    Name(String),
    Dated(DatedDoc),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatedDoc {
    pub name: String,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
}

/// `{ country: CAN }`, or a list of `{ name, value, start_date, end_date }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum AttributesDoc {
    Map(BTreeMap<String, Scalar>),
    List(Vec<AttributeValueDoc>),
}

impl Default for AttributesDoc {
    fn default() -> Self {
        Self::List(Vec::new())
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeValueDoc {
    pub name: String,
    pub value: Scalar,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
}

/// An attribute value written as a string, number or boolean; stored as text.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    Text(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
}

impl Scalar {
    #[must_use]
    pub fn as_text(&self) -> String {
        match self {
            Self::Text(s) => s.clone(),
            Self::Integer(i) => i.to_string(),
            Self::Float(f) => f.to_string(),
            Self::Bool(b) => b.to_string(),
        }
    }
}

/// An assignment with its dates checked: (name, start, end).
pub type Dated = (String, String, Option<String>);

/// An attribute value with its dates checked: (name, value, start, end).
pub type DatedValue = (String, String, String, Option<String>);

impl AssignmentDoc {
    /// # Errors
    /// When a date is malformed or the end comes before the start.
    pub fn dated(&self) -> Result<Dated, String> {
        match self {
            Self::Name(name) => Ok((name.clone(), SINCE_EVER.to_owned(), None)),
            Self::Dated(d) => dates(&d.name, d.start_date.as_deref(), d.end_date.as_deref()),
        }
    }
}

impl AttributesDoc {
    /// (name, value, start, end) of each attribute.
    ///
    /// # Errors
    /// When a date is malformed or the end comes before the start.
    pub fn values(&self) -> Result<Vec<DatedValue>, String> {
        match self {
            Self::Map(map) => Ok(map
                .iter()
                .map(|(k, v)| (k.clone(), v.as_text(), SINCE_EVER.to_owned(), None))
                .collect()),
            Self::List(list) => list
                .iter()
                .map(|a| {
                    let (name, start, end) =
                        dates(&a.name, a.start_date.as_deref(), a.end_date.as_deref())?;
                    Ok((name, a.value.as_text(), start, end))
                })
                .collect(),
        }
    }
}

fn dates(name: &str, start: Option<&str>, end: Option<&str>) -> Result<Dated, String> {
    let start = start.map_or_else(|| Ok(SINCE_EVER.to_owned()), parse_iso_date)?;
    let end = end.map(parse_iso_date).transpose()?;
    if end.as_ref().is_some_and(|e| *e < start) {
        return Err(format!("{name}: end_date comes before start_date"));
    }
    Ok((name.to_owned(), start, end))
}

/// Parses a document: JSON when `json` is true, YAML otherwise. Errors name the line and
/// column and the path of the entry at fault (`users[2].hosts[0].roles`).
///
/// # Errors
/// A message for the operator.
pub fn parse(text: &str, json: bool) -> Result<Document, String> {
    if json {
        let mut de = serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let inner = e.inner();
            format!(
                "line {}, column {}: {}: {}",
                inner.line(),
                inner.column(),
                e.path(),
                inner
            )
        })
    } else {
        let de = serde_yaml_ng::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let inner = e.inner();
            let place = inner
                .location()
                .map(|l| format!("line {}, column {}: ", l.line(), l.column()))
                .unwrap_or_default();
            format!("{place}{}: {inner}", e.path())
        })
    }
}

/// The checks that need no database: known models, unique names, known references
/// within the document, valid dates, user types within their hosts' models.
///
/// # Errors
/// A message naming the entry at fault.
pub fn validate(doc: &Document) -> Result<(), String> {
    let mut host_keys = HashSet::new();
    for (i, h) in doc.hosts.iter().enumerate() {
        let at = format!("hosts[{i}] ({})", h.domain);
        UserTypeModel::parse(&h.user_types).map_err(|e| format!("{at}: {e}"))?;
        if !host_keys.insert(h.host_id.clone()) || !host_keys.insert(h.domain.clone()) {
            return Err(format!("{at}: the host id or domain appears twice"));
        }
        for (kind, names) in [
            (
                "role",
                h.roles.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            ),
            ("group", h.groups.iter().map(|g| g.name.as_str()).collect()),
            (
                "position",
                h.positions.iter().map(|p| p.name.as_str()).collect(),
            ),
            (
                "attribute",
                h.attributes.iter().map(|a| a.name.as_str()).collect(),
            ),
        ] {
            let mut seen = HashSet::new();
            if let Some(dup) = names.iter().find(|n| !seen.insert(**n)) {
                return Err(format!("{at}: {kind} {dup:?} is defined twice"));
            }
        }
    }
    let mut client_ids = HashSet::new();
    for (i, c) in doc.clients.iter().enumerate() {
        let at = format!("clients[{i}] ({})", c.client_id);
        if !client_ids.insert(c.client_id.as_str()) {
            return Err(format!("{at}: the client id appears twice"));
        }
        c.to_client(None).map_err(|e| format!("{at}: {e}"))?;
    }
    let mut emails = HashSet::new();
    for (i, u) in doc.users.iter().enumerate() {
        let at = format!("users[{i}] ({})", u.email);
        if !u.email.contains('@') {
            return Err(format!("{at}: not an email address"));
        }
        if !emails.insert(u.email.to_lowercase()) {
            return Err(format!("{at}: the email appears twice"));
        }
        if u.password.is_some() && u.password_hash.is_some() {
            return Err(format!("{at}: give password or password_hash, not both"));
        }
        u.contact().check().map_err(|e| format!("{at}: {e}"))?;
        for (j, m) in u.hosts.iter().enumerate() {
            let at = format!("{at}.hosts[{j}] ({})", m.host);
            if let Some(h) = doc
                .hosts
                .iter()
                .find(|h| h.host_id == m.host || h.domain == m.host)
            {
                let model =
                    UserTypeModel::parse(&h.user_types).map_err(|e| format!("{at}: {e}"))?;
                model
                    .check(&u.user_type)
                    .map_err(|e| format!("{at}: {e}"))?;
            }
            let employee = u.user_type == "E";
            if m.employee.is_some() && !employee {
                return Err(format!(
                    "{at}: only users of type E have an employee record"
                ));
            }
            if m.customer.is_some() && employee {
                return Err(format!(
                    "{at}: users of type E have an employee record, not a customer one"
                ));
            }
            if !m.positions.is_empty() && m.employee.is_none() {
                return Err(format!("{at}: positions need an employee record"));
            }
            if let Some(e) = &m.employee {
                if let Some(d) = &e.hire_date {
                    parse_iso_date(d).map_err(|err| format!("{at}: hire_date: {err}"))?;
                }
            }
            for list in [&m.roles, &m.groups, &m.positions] {
                for a in list {
                    a.dated().map_err(|e| format!("{at}: {e}"))?;
                }
            }
            m.attributes.values().map_err(|e| format!("{at}: {e}"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_errors_name_the_line_and_the_entry() {
        let text = "hosts: []\nusers:\n  - email: a@x.example\n    user_type: C\n    hosts:\n      - host: h\n        rols: [admin]\n";
        let err = parse(text, false).unwrap_err();
        assert!(err.contains("line 7"), "{err}");
        assert!(err.contains("users[0].hosts[0]"), "{err}");
        assert!(err.contains("rols"), "{err}");
    }

    #[test]
    fn json_errors_name_the_line_and_the_entry() {
        let text = "{\n  \"users\": [\n    {\"email\": \"a@x.example\", \"user_type\": 5}\n  ]\n}";
        let err = parse(text, true).unwrap_err();
        assert!(
            err.contains("line 3") && err.contains("users[0].user_type"),
            "{err}"
        );
    }

    #[test]
    fn validation_names_the_entry() {
        let text = "hosts:\n  - {host_id: h1, domain: bank.example, name: Bank, user_types: EPB}\nusers:\n  - {email: a@x.example, user_type: C, hosts: [{host: bank.example}]}\n";
        let doc = parse(text, false).unwrap();
        let err = validate(&doc).unwrap_err();
        assert!(
            err.starts_with("users[0] (a@x.example).hosts[0] (bank.example): user type \"C\""),
            "{err}"
        );
    }

    #[test]
    fn dates_must_be_real_and_ordered() {
        let bad = AssignmentDoc::Dated(DatedDoc {
            name: "r".into(),
            start_date: Some("2025-02-30".into()),
            end_date: None,
        });
        assert!(bad.dated().is_err());
        let reversed = AssignmentDoc::Dated(DatedDoc {
            name: "r".into(),
            start_date: Some("2025-02-01".into()),
            end_date: Some("2025-01-01".into()),
        });
        assert!(reversed.dated().unwrap_err().contains("before"));
        assert_eq!(
            AssignmentDoc::Name("r".into()).dated().unwrap().1,
            SINCE_EVER
        );
    }

    #[test]
    fn attribute_values_may_be_numbers_or_booleans() {
        let doc = parse(
            "users:\n  - email: a@x.example\n    user_type: E\n    hosts:\n      - host: h\n        attributes: {level: 2, active: true, country: CAN}\n",
            false,
        )
        .unwrap();
        let values = doc.users[0].hosts[0].attributes.values().unwrap();
        let pairs: Vec<(String, String)> = values.into_iter().map(|(n, v, _, _)| (n, v)).collect();
        assert_eq!(
            pairs,
            vec![
                ("active".into(), "true".into()),
                ("country".into(), "CAN".into()),
                ("level".into(), "2".into())
            ]
        );
    }
}

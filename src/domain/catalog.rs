//! The catalog of a host (seed 003, "Authorization Strategies"): the roles, groups,
//! positions and attributes users are given, the API endpoints a policy protects, and
//! who holds a permission on an endpoint. This module holds the pure rules: the kinds
//! of definition, the attribute types and which values each accepts, the HTTP methods
//! an endpoint may name.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::date::parse_iso_date;
use super::input::{text, FieldError, MAX_NAME};

/// A kind of definition users are assigned to (seed 003's `role_t`, `group_t`,
/// `position_t`, `attribute_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Role,
    Group,
    Position,
    Attribute,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Role, Kind::Group, Kind::Position, Kind::Attribute];

    /// The kind's name, as the audit trail's target kind and in messages.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Role => "role",
            Self::Group => "group",
            Self::Position => "position",
            Self::Attribute => "attribute",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an attribute's values are (`attribute_t.attribute_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttributeType {
    String,
    Integer,
    Boolean,
    Date,
    Float,
    /// A comma-separated list of strings: any text is one.
    List,
}

impl AttributeType {
    pub const ALL: [AttributeType; 6] = [
        Self::String,
        Self::Integer,
        Self::Boolean,
        Self::Date,
        Self::Float,
        Self::List,
    ];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Integer => "integer",
            Self::Boolean => "boolean",
            Self::Date => "date",
            Self::Float => "float",
            Self::List => "list",
        }
    }

    /// The type named by [`AttributeType::as_str`].
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Whether `value`, as stored (text), is a value of this type. Booleans are
    /// `true`/`false` as an import writes them; dates ISO (`YYYY-MM-DD`).
    #[must_use]
    pub fn accepts(self, value: &str) -> bool {
        match self {
            Self::String | Self::List => true,
            Self::Integer => value.parse::<i64>().is_ok(),
            Self::Boolean => matches!(value, "true" | "false"),
            Self::Date => parse_iso_date(value).is_ok(),
            Self::Float => value.parse::<f64>().is_ok_and(f64::is_finite),
        }
    }
}

impl fmt::Display for AttributeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The methods an API endpoint may name (`api_endpoint_t.http_method`).
pub const HTTP_METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// The method as stored (upper case), when it is one of [`HTTP_METHODS`]; the caller
/// may write it in any case.
#[must_use]
pub fn http_method(value: &str) -> Option<&'static str> {
    HTTP_METHODS
        .into_iter()
        .find(|m| m.eq_ignore_ascii_case(value.trim()))
}

/// An id a caller chooses: a name without spaces or slashes, since it goes in paths.
///
/// # Errors
/// When the id breaks those rules.
pub fn chosen_id(value: Option<&str>) -> Result<Option<String>, FieldError> {
    let Some(value) = value else { return Ok(None) };
    let id = text("id", value, MAX_NAME)?;
    if id.chars().any(|c| c.is_whitespace() || c == '/') {
        return Err(FieldError::new("id", "must not contain spaces or slashes"));
    }
    Ok(Some(id))
}

/// The longest endpoint path template accepted.
pub const MAX_PATH: usize = 1000;

/// An endpoint's path template (`endpoint`): a text without spaces, at most
/// [`MAX_PATH`] characters.
///
/// # Errors
/// When the value breaks those rules.
pub fn endpoint_path(value: &str) -> Result<String, FieldError> {
    let path = text("endpoint", value, MAX_PATH)?;
    if path.chars().any(char::is_whitespace) {
        return Err(FieldError::new("endpoint", "must not contain spaces"));
    }
    Ok(path)
}

/// Who holds a permission on an endpoint (seed 003's four permission tables).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Holder {
    Role,
    Group,
    /// A member of the host, for a period (`start_date`, `end_date`).
    User,
    /// Whoever has the attribute with the permission's value.
    Attribute,
}

impl Holder {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Role => "role",
            Self::Group => "group",
            Self::User => "user",
            Self::Attribute => "attribute",
        }
    }

    /// The definition a holder is, for the three that are one.
    #[must_use]
    pub fn kind(self) -> Option<Kind> {
        match self {
            Self::Role => Some(Kind::Role),
            Self::Group => Some(Kind::Group),
            Self::User => None,
            Self::Attribute => Some(Kind::Attribute),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_type_accepts_its_values_and_refuses_others() {
        use AttributeType as T;
        let cases = [
            (T::Integer, "42", true),
            (T::Integer, "-7", true),
            (T::Integer, "4.2", false),
            (T::Integer, "CAN", false),
            (T::Float, "4.2", true),
            (T::Float, "1", true),
            (T::Float, "NaN", false),
            (T::Float, "inf", false),
            (T::Boolean, "true", true),
            (T::Boolean, "false", true),
            (T::Boolean, "yes", false),
            (T::Date, "2026-02-28", true),
            (T::Date, "2026-02-30", false),
            (T::String, "anything", true),
            (T::List, "a,b", true),
        ];
        for (t, value, ok) in cases {
            assert_eq!(t.accepts(value), ok, "{t} {value}");
        }
    }

    #[test]
    fn a_type_reads_back_from_its_name() {
        for t in AttributeType::ALL {
            assert_eq!(AttributeType::parse(t.as_str()), Some(t));
        }
        assert_eq!(AttributeType::parse("number"), None);
    }

    #[test]
    fn a_chosen_id_has_no_spaces_or_slashes() {
        assert_eq!(chosen_id(None), Ok(None));
        assert_eq!(chosen_id(Some(" clerk ")), Ok(Some("clerk".to_owned())));
        for bad in ["a b", "a/b", "", &"x".repeat(MAX_NAME + 1)] {
            assert_eq!(
                chosen_id(Some(bad)).map_err(|e| e.field),
                Err("id".to_owned())
            );
        }
    }

    #[test]
    fn an_endpoint_path_has_no_spaces() {
        assert_eq!(
            endpoint_path("/v1/pets/{id}"),
            Ok("/v1/pets/{id}".to_owned())
        );
        assert!(endpoint_path("/v1/ pets").is_err());
        assert!(endpoint_path(&"/".repeat(MAX_PATH + 1)).is_err());
    }

    #[test]
    fn a_method_is_known_in_any_case_and_stored_upper_case() {
        assert_eq!(http_method("get"), Some("GET"));
        assert_eq!(http_method("Options"), Some("OPTIONS"));
        assert_eq!(http_method("TRACE"), None);
        assert_eq!(http_method(""), None);
    }
}

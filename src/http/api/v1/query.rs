//! Query strings of the management API: parsed into a request type that denies unknown
//! parameters (a misspelt filter must not silently widen a list), naming the parameter
//! at fault (`serde_path_to_error`).

use serde::de::DeserializeOwned;

use crate::http::error::V1Error;

/// A parameter or field that cannot be read: a 400 naming it.
pub(super) fn bad(field: &str, message: impl Into<String>) -> V1Error {
    V1Error::BadParameter {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// Parses a raw query string into `T`.
pub(super) fn parse_query<T: DeserializeOwned>(raw: Option<&str>) -> Result<T, V1Error> {
    let pairs = url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes());
    serde_path_to_error::deserialize(serde_urlencoded::Deserializer::new(pairs)).map_err(|e| {
        let field = e.path().to_string();
        let message = e.into_inner().to_string();
        // A failure of the query as a whole has no parameter to name.
        let field = if field == "." { "query" } else { &field };
        bad(field, message)
    })
}

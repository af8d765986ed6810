//! Query strings of the management API: parsed into a request type that denies unknown
//! parameters (a misspelt filter must not silently widen a list), naming the parameter
//! at fault (`serde_path_to_error`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
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

/// A page's size when the caller names none, and the most a caller may ask for.
pub(super) const DEFAULT_LIMIT: u32 = 50;
pub(super) const MAX_LIMIT: u32 = 200;

/// The page size asked for, 1 to [`MAX_LIMIT`], [`DEFAULT_LIMIT`] when none is.
pub(super) fn page_limit(asked: Option<u32>) -> Result<u32, V1Error> {
    let limit = asked.unwrap_or(DEFAULT_LIMIT);
    if (1..=MAX_LIMIT).contains(&limit) {
        Ok(limit)
    } else {
        Err(bad("limit", format!("limit must be 1 to {MAX_LIMIT}")))
    }
}

/// Reads the `cursor` parameter with the list's own decoding; a cursor that does not
/// decode is a 400 naming it.
pub(super) fn read_cursor<T>(
    cursor: Option<String>,
    decode: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, V1Error> {
    cursor
        .map(|c| decode(&c).ok_or_else(|| bad("cursor", "invalid cursor")))
        .transpose()
}

/// Cursors are opaque to callers: the key of a page's last row, base64url-encoded, so
/// that they neither build nor edit one (the encoding may change).
pub(super) fn encode_cursor(after: &str) -> String {
    URL_SAFE_NO_PAD.encode(after)
}

pub(super) fn decode_cursor(cursor: &str) -> Option<String> {
    String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()
}

/// A cursor of a list ordered by time, then id (newest first).
pub(super) fn encode_timed_cursor((at, id): &(i64, String)) -> String {
    encode_cursor(&format!("{at}:{id}"))
}

pub(super) fn decode_timed_cursor(cursor: &str) -> Option<(i64, String)> {
    let text = decode_cursor(cursor)?;
    let (at, id) = text.split_once(':')?;
    Some((at.parse().ok()?, id.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_a_bad_one_is_named() {
        assert_eq!(
            decode_cursor(&encode_cursor("ann@example.com")).as_deref(),
            Some("ann@example.com")
        );
        let at = (1_800_000_000, "abc".to_owned());
        assert_eq!(decode_timed_cursor(&encode_timed_cursor(&at)), Some(at));
        assert_eq!(decode_timed_cursor("%%"), None);
        assert!(matches!(
            read_cursor(Some("%%".into()), decode_cursor),
            Err(V1Error::BadParameter { field, .. }) if field == "cursor"
        ));
        assert!(
            matches!(page_limit(Some(0)), Err(V1Error::BadParameter { field, .. }) if field == "limit")
        );
        assert_eq!(page_limit(None).ok(), Some(DEFAULT_LIMIT));
        assert_eq!(page_limit(Some(200)).ok(), Some(200));
    }
}

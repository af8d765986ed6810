//! Checks of values a caller sends (the management API's bodies, the CLI's arguments),
//! each failing with a [`FieldError`] that names the field, so that the answer can say
//! which input to fix (issue 13: "a message naming the field, and nothing written").

use super::date::parse_iso_date;

/// A value that breaks a rule, with the field it came in.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    #[must_use]
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

/// The longest name (of a role, group, host, client…) accepted.
pub const MAX_NAME: usize = 200;
/// The longest free text (a description) accepted.
pub const MAX_TEXT: usize = 2000;
/// The shortest password accepted (the API's and the CLI's).
pub const MIN_PASSWORD: usize = 8;
/// The longest email address (RFC 5321 §4.5.3.1.3 limits a path to 256 octets, so an
/// address to 254).
pub const MAX_EMAIL: usize = 254;

/// A text that is not blank, has no control characters and is at most `max`
/// characters long; returned trimmed.
///
/// # Errors
/// When the text breaks one of these rules.
pub fn text(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if trimmed.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

/// An optional text: none or blank is none, anything else as [`text`].
///
/// # Errors
/// As [`text`].
pub fn optional_text(
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, FieldError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => text(field, v, max).map(Some),
    }
}

/// An email address as an identity provider needs it: one `@` with a non-empty local
/// part and a domain of dot-separated labels, no spaces or control characters, at most
/// 254 characters. Deliberately no fuller RFC 5322 parse: quoted local parts and
/// comments are refused rather than half-supported. Returned trimmed.
///
/// # Errors
/// When the value is not such an address.
pub fn email(field: &str, value: &str) -> Result<String, FieldError> {
    let v = text(field, value, MAX_EMAIL)?;
    let invalid = || FieldError::new(field, "must be an email address (name@domain)");
    let (local, domain) = v.rsplit_once('@').ok_or_else(invalid)?;
    let labels_ok = domain.split('.').all(|l| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    });
    if local.is_empty()
        || local.contains('@')
        || local.chars().any(|c| c.is_whitespace() || c == '"')
        || !labels_ok
    {
        return Err(invalid());
    }
    Ok(v)
}

/// An ISO date (`YYYY-MM-DD`).
///
/// # Errors
/// When the value is not a calendar date in that form.
pub fn date(field: &str, value: &str) -> Result<String, FieldError> {
    parse_iso_date(value).map_err(|e| FieldError::new(field, e))
}

/// Effective dates of an assignment: a start, and an end on or after it.
///
/// # Errors
/// When a date is malformed or the end comes before the start (named `end_date`).
pub fn date_range(start: &str, end: Option<&str>) -> Result<(String, Option<String>), FieldError> {
    let start = date("start_date", start)?;
    let end = end.map(|e| date("end_date", e)).transpose()?;
    if let Some(end) = &end {
        // ISO dates compare as text.
        if *end < start {
            return Err(FieldError::new(
                "end_date",
                "must be on or after start_date",
            ));
        }
    }
    Ok((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_is_trimmed_and_bounded() {
        assert_eq!(text("name", "  ops  ", 10).as_deref(), Ok("ops"));
        assert_eq!(
            text("name", "   ", 10).map_err(|e| e.field),
            Err("name".into())
        );
        assert!(text("name", &"x".repeat(11), 10).is_err());
        assert!(text("name", "a\u{0}b", 10).is_err());
        assert_eq!(optional_text("d", Some(" "), 10), Ok(None));
        assert_eq!(optional_text("d", None, 10), Ok(None));
    }

    #[test]
    fn emails_need_a_local_part_and_a_domain() {
        for good in [
            "a@example.com",
            "first.last+tag@sub.example.org",
            "ü@exämple.de",
        ] {
            assert!(email("email", good).is_ok(), "{good}");
        }
        for bad in [
            "a",
            "@example.com",
            "a@",
            "a@@example.com",
            "a b@example.com",
            "a@exa mple.com",
            "a@-example.com",
            "a@example..com",
            "\"a\"@example.com",
        ] {
            assert_eq!(
                email("email", bad).map_err(|e| e.field),
                Err("email".into()),
                "{bad}"
            );
        }
    }

    #[test]
    fn an_end_before_the_start_is_refused_and_named() {
        assert_eq!(
            date_range("2026-01-02", Some("2026-01-02")),
            Ok(("2026-01-02".into(), Some("2026-01-02".into())))
        );
        assert_eq!(
            date_range("2026-01-02", Some("2026-01-01")).map_err(|e| e.field),
            Err("end_date".into())
        );
        assert_eq!(
            date_range("2026-02-30", None).map_err(|e| e.field),
            Err("start_date".into())
        );
    }
}

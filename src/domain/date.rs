//! Calendar dates for assignments' effective periods, as ISO-8601 text (`YYYY-MM-DD`),
//! which sorts and compares correctly as text in both databases.

use time::macros::format_description;
use time::{Date, OffsetDateTime};

/// The UTC date of a unix time, as `YYYY-MM-DD`.
#[must_use]
pub fn iso_date(unix: i64) -> String {
    let date = OffsetDateTime::from_unix_timestamp(unix)
        .map_or(OffsetDateTime::UNIX_EPOCH.date(), OffsetDateTime::date);
    format(date)
}

fn format(date: Date) -> String {
    date.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

/// Checks and normalises a `YYYY-MM-DD` date.
///
/// # Errors
/// When the text is not a real calendar date in that form.
pub fn parse_iso_date(text: &str) -> Result<String, String> {
    Date::parse(text, format_description!("[year]-[month]-[day]"))
        .map(format)
        .map_err(|_| format!("{text:?} is not a date of the form YYYY-MM-DD"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_format_and_parse() {
        assert_eq!(iso_date(0), "1970-01-01");
        assert_eq!(iso_date(1_734_063_995), "2024-12-13");
        assert_eq!(parse_iso_date("2024-02-29").unwrap(), "2024-02-29");
        assert!(parse_iso_date("2023-02-29").is_err());
        assert!(parse_iso_date("24-1-1").is_err());
    }
}

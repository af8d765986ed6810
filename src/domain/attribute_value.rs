//! The values an attribute may take (seed 003: `attribute_t.attribute_type` is one of
//! `string`, `integer`, `float`, `boolean`, `date`, `list`). A value is stored as
//! text; this checks it against the attribute's type and returns it in one canonical
//! spelling, so that an API reading the `att` claim parses every value of a type the
//! same way.

use super::date::parse_iso_date;
use super::input::MAX_TEXT;

/// Checks `value` against `attribute_type`; returns the value as it is to be stored.
///
/// # Errors
/// A message saying what the type needs.
pub fn check_value(attribute_type: &str, value: &str) -> Result<String, String> {
    let v = value.trim();
    if v.chars().count() > MAX_TEXT {
        return Err(format!("must be at most {MAX_TEXT} characters"));
    }
    if v.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    match attribute_type {
        "integer" => v
            .parse::<i64>()
            .map(|n| n.to_string())
            .map_err(|_| "must be an integer".into()),
        "float" => match v.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(v.to_owned()),
            _ => Err("must be a number".into()),
        },
        "boolean" => match v.to_ascii_lowercase().as_str() {
            "true" => Ok("true".into()),
            "false" => Ok("false".into()),
            _ => Err("must be true or false".into()),
        },
        "date" => parse_iso_date(v),
        // Items separated by commas; none empty.
        "list" => {
            let items: Vec<&str> = v.split(',').map(str::trim).collect();
            if items.iter().any(|i| i.is_empty()) {
                Err("must be a comma-separated list of non-empty items".into())
            } else {
                Ok(items.join(","))
            }
        }
        "string" => Ok(v.to_owned()),
        other => Err(format!("the attribute has an unknown type {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::check_value;

    #[test]
    fn each_type_takes_its_values_in_one_spelling() {
        assert_eq!(check_value("integer", " 42 "), Ok("42".into()));
        assert_eq!(check_value("integer", "+7"), Ok("7".into()));
        assert!(check_value("integer", "4.2").is_err());
        assert_eq!(check_value("float", "4.25"), Ok("4.25".into()));
        assert!(check_value("float", "NaN").is_err());
        assert!(check_value("float", "x").is_err());
        assert_eq!(check_value("boolean", "TRUE"), Ok("true".into()));
        assert!(check_value("boolean", "yes").is_err());
        assert_eq!(check_value("date", "2024-02-29"), Ok("2024-02-29".into()));
        assert!(check_value("date", "2023-02-29").is_err());
        assert_eq!(check_value("list", "a, b ,c"), Ok("a,b,c".into()));
        assert!(check_value("list", "a,,b").is_err());
        assert_eq!(check_value("string", "CAN"), Ok("CAN".into()));
        assert!(check_value("string", "a\u{7}").is_err());
        assert!(check_value("colour", "red").is_err());
    }
}

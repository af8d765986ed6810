//! Which `TESSERA_*` variables name a setting, and the closest setting to one that
//! does not. The settings are read off `Config::default()` itself, so a new setting is
//! known without a list to keep; `KNOWN` in `config.rs` adds the names read elsewhere.

use serde_json::Value;

/// Every setting's variable name without `TESSERA_` (`TOKENS__ACCESS_TOKEN_TTL`),
/// and whether it stands for a whole section that has no default (a `None`): then
/// anything under it is taken as known.
fn settings(defaults: &Value) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    walk(defaults, String::new(), &mut out);
    out
}

fn walk(value: &Value, path: String, out: &mut Vec<(String, bool)>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, inner) in map {
                let name = key.to_ascii_uppercase();
                let next = if path.is_empty() {
                    name
                } else {
                    format!("{path}__{name}")
                };
                walk(inner, next, out);
            }
        }
        Value::Null => out.push((path, true)),
        _ => out.push((path, false)),
    }
}

/// The error for `name` (a `TESSERA_*` variable), or `None` when it names a
/// setting. `defaults` is `Config::default()` as JSON; `known` lists the other names
/// (entries ending in `_` are prefixes, such as the test suite's `TEST_`; a section's
/// `X__` is checked key by key against the settings instead).
#[must_use]
pub fn unknown_variable(name: &str, defaults: &Value, known: &[&str]) -> Option<String> {
    let rest = name.strip_prefix("TESSERA_")?;
    let settings = settings(defaults);
    let is_setting = settings
        .iter()
        .any(|(s, open)| rest == s || (*open && rest.starts_with(&format!("{s}__"))));
    let is_known = known.iter().any(|k| {
        if k.ends_with("__") {
            false
        } else if k.ends_with('_') {
            rest.starts_with(k)
        } else {
            rest == *k
        }
    });
    if is_setting || is_known {
        return None;
    }
    // Levenshtein distance by `strsim` (already in the build through clap, which uses
    // it to suggest a mistyped flag).
    let closest = settings
        .iter()
        .map(|(s, _)| s.as_str())
        .chain(known.iter().copied().filter(|k| !k.ends_with('_')))
        .min_by_key(|candidate| strsim::levenshtein(rest, candidate));
    let hint = closest.map_or_else(String::new, |c| format!("; did you mean TESSERA_{c}?"));
    Some(format!(
        "environment variable {name} matches no Tessera setting{hint}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Value {
        serde_json::json!({
            "issuer": "",
            "tokens": { "access_token_ttl": 300, "id_token_ttl": 300 },
            "throttle": { "account": { "free_failures": 5 } },
            "optional": null
        })
    }

    #[test]
    fn a_setting_or_a_name_read_elsewhere_is_no_warning() {
        let d = defaults();
        for name in [
            "TESSERA_ISSUER",
            "TESSERA_TOKENS__ACCESS_TOKEN_TTL",
            "TESSERA_THROTTLE__ACCOUNT__FREE_FAILURES",
            "TESSERA_OPTIONAL__ANYTHING",
            "TESSERA_LOG",
            "TESSERA_TEST_DATABASE_URL",
        ] {
            assert_eq!(
                unknown_variable(name, &d, &["LOG", "TEST_", "TOKENS__"]),
                None,
                "{name}"
            );
        }
    }

    #[test]
    fn a_misspelt_key_inside_a_section_is_named_with_the_closest_setting() {
        let message = unknown_variable(
            "TESSERA_TOKENS__ACCES_TOKEN_TTL",
            &defaults(),
            &["TOKENS__"],
        );
        let message = message.expect("an error");
        assert!(
            message.contains("TESSERA_TOKENS__ACCES_TOKEN_TTL"),
            "{message}"
        );
        assert!(
            message.contains("did you mean TESSERA_TOKENS__ACCESS_TOKEN_TTL?"),
            "{message}"
        );
    }

    #[test]
    fn a_single_underscore_for_a_section_is_caught() {
        let message = unknown_variable("TESSERA_TOKENS_ID_TOKEN_TTL", &defaults(), &[]);
        assert!(message
            .expect("an error")
            .ends_with("did you mean TESSERA_TOKENS__ID_TOKEN_TTL?"));
    }
}

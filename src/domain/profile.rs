//! The security profile that every token carries (see DESIGN.md, "The security
//! profile in tokens"). This is the single place that turns a profile into claims.

use serde_json::{Map, Value};

/// Version of the profile claim format, carried as `ver`.
pub const PROFILE_VERSION: &str = "1";

/// A user's security profile for one host.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SecurityProfile {
    /// The business id: employee id for employees, customer id for customers.
    pub uid: Option<String>,
    /// The user type (`E`, `C`, `P`, `B`).
    pub uty: Option<String>,
    /// The host signed in to.
    pub host: Option<String>,
    /// Role names.
    pub roles: Vec<String>,
    /// Group names.
    pub groups: Vec<String>,
    /// Position names, inherited ones included.
    pub positions: Vec<String>,
    /// Attributes as (key, value).
    pub attributes: Vec<(String, String)>,
}

impl SecurityProfile {
    /// Writes the profile claims into `claims`. Empty parts are left out rather than
    /// sent as empty strings; lists are space separated and sorted.
    pub fn write_claims(&self, claims: &mut Map<String, Value>) {
        let mut put = |name: &str, value: Option<String>| {
            if let Some(v) = value.filter(|v| !v.is_empty()) {
                claims.insert(name.to_owned(), Value::String(v));
            }
        };
        put("uid", self.uid.clone());
        put("uty", self.uty.clone());
        put("host", self.host.clone());
        put("role", Some(joined(&self.roles)));
        put("grp", Some(joined(&self.groups)));
        put("pos", Some(joined(&self.positions)));
        let mut attributes = self.attributes.clone();
        attributes.sort();
        put("att", Some(encode_attributes(&attributes)));
        claims.insert("ver".to_owned(), Value::String(PROFILE_VERSION.to_owned()));
    }
}

fn joined(names: &[String]) -> String {
    let mut sorted: Vec<&str> = names.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted.dedup();
    sorted.join(" ")
}

/// Encodes attributes as `key^=^value` joined by `~`, with `\` escaping `~`, `^` and `\`.
#[must_use]
pub fn encode_attributes(attributes: &[(String, String)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in attributes.iter().enumerate() {
        if i > 0 {
            out.push('~');
        }
        escape_into(&mut out, k);
        out.push_str("^=^");
        escape_into(&mut out, v);
    }
    out
}

/// Why an `att` string does not parse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AttributeError {
    #[error("attribute {0} has no `^=^` between its key and value")]
    MissingSeparator(usize),
    #[error("the text ends inside an escape (a lone `\\` at the end)")]
    DanglingEscape,
}

/// Parses the `att` claim back into (key, value) pairs: the inverse of
/// [`encode_attributes`]. An unescaped `~` ends a pair, an unescaped `^=^` separates key
/// from value, and `\` takes the next character literally.
///
/// # Errors
/// When a pair has no separator or the text ends in a lone `\`.
pub fn parse_attributes(text: &str) -> Result<Vec<(String, String)>, AttributeError> {
    let mut pairs = Vec::new();
    if text.is_empty() {
        return Ok(pairs);
    }
    let mut key: Option<String> = None;
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => current.push(chars.next().ok_or(AttributeError::DanglingEscape)?),
            '^' if key.is_none() && chars.peek() == Some(&'=') => {
                let mut lookahead = chars.clone();
                lookahead.next();
                if lookahead.next() == Some('^') {
                    chars.next();
                    chars.next();
                    key = Some(std::mem::take(&mut current));
                } else {
                    current.push(c);
                }
            }
            '~' => {
                let k = key
                    .take()
                    .ok_or(AttributeError::MissingSeparator(pairs.len()))?;
                pairs.push((k, std::mem::take(&mut current)));
            }
            other => current.push(other),
        }
    }
    let k = key.ok_or(AttributeError::MissingSeparator(pairs.len()))?;
    pairs.push((k, current));
    Ok(pairs)
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        if matches!(c, '~' | '^' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_parts_are_absent_and_lists_sorted() {
        let profile = SecurityProfile {
            uid: Some("sh35".into()),
            uty: Some("E".into()),
            host: Some("h1".into()),
            roles: vec!["user".into(), "admin".into()],
            ..SecurityProfile::default()
        };
        let mut claims = Map::new();
        profile.write_claims(&mut claims);
        assert_eq!(claims["role"], "admin user");
        assert!(!claims.contains_key("grp"));
        assert!(!claims.contains_key("att"));
        assert_eq!(claims["ver"], PROFILE_VERSION);
    }

    #[test]
    fn the_seed_example_parses() {
        let att = "country^=^CAN~peranent employee^=^true~security_clearance_level^=^2";
        let pairs = parse_attributes(att).unwrap();
        assert_eq!(
            pairs[1],
            ("peranent employee".to_owned(), "true".to_owned())
        );
        assert_eq!(encode_attributes(&pairs), att);
    }

    #[test]
    fn edge_cases_parse_or_fail_clearly() {
        assert_eq!(parse_attributes("").unwrap(), vec![]);
        assert_eq!(
            parse_attributes("k^=^").unwrap(),
            vec![("k".to_owned(), String::new())]
        );
        assert_eq!(
            parse_attributes("^=^v").unwrap(),
            vec![(String::new(), "v".to_owned())]
        );
        assert_eq!(
            parse_attributes("a^=^b^=^c").unwrap(),
            vec![("a".to_owned(), "b^=^c".to_owned())]
        );
        assert_eq!(
            parse_attributes("novalue"),
            Err(AttributeError::MissingSeparator(0))
        );
        assert_eq!(
            parse_attributes("a^=^b~c"),
            Err(AttributeError::MissingSeparator(1))
        );
        assert_eq!(
            parse_attributes("a^=^b\\"),
            Err(AttributeError::DanglingEscape)
        );
        // A caret that is not part of `^=^` stays in the key.
        assert_eq!(
            parse_attributes("x^y^=^z").unwrap(),
            vec![("x^y".to_owned(), "z".to_owned())]
        );
    }

    proptest::proptest! {
        #[test]
        fn any_attributes_round_trip(pairs in proptest::collection::vec(("\\PC*", "\\PC*"), 0..6)) {
            // An empty list encodes to "", which parses to no pairs; one empty pair
            // encodes to "^=^" and parses back to one empty pair.
            let encoded = encode_attributes(&pairs);
            proptest::prop_assert_eq!(parse_attributes(&encoded).unwrap(), pairs);
        }

        /// Any text (a token's `att` claim is what an API parses) is parsed or refused
        /// without a panic, and what parses encodes back to the same pairs.
        #[test]
        fn any_att_text_parses_or_is_refused(text in "(\\PC|[~^=\\\\]){0,120}") {
            if let Ok(pairs) = parse_attributes(&text) {
                proptest::prop_assert_eq!(parse_attributes(&encode_attributes(&pairs)).unwrap(), pairs);
            }
        }

        #[test]
        fn delimiter_heavy_values_round_trip(
            pairs in proptest::collection::vec(("[~^=\\\\ a]{0,8}", "[~^=\\\\ é]{0,8}"), 1..5)
        ) {
            let encoded = encode_attributes(&pairs);
            proptest::prop_assert_eq!(parse_attributes(&encoded).unwrap(), pairs);
        }
    }

    #[test]
    fn attributes_escape_their_delimiters() {
        let att = vec![
            ("country".to_owned(), "CAN".to_owned()),
            ("odd~key".to_owned(), "a^b\\c".to_owned()),
        ];
        assert_eq!(
            encode_attributes(&att),
            "country^=^CAN~odd\\~key^=^a\\^b\\\\c"
        );
    }
}

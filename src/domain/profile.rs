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
        put("att", Some(encode_attributes(&self.attributes)));
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

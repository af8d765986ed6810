//! Scopes (RFC 6749 §3.3): a set of space-delimited, case-sensitive tokens.

use std::collections::BTreeSet;

/// The scope a token needs for Tessera's own management API (`/api/v1`). A client
/// must be allowed it, and it is only ever granted to a user (never by
/// `client_credentials`): the API acts with the rights of the user who signed in.
pub const API_SCOPE: &str = "tessera:api";

/// The scope a token needs to ask the policy decision endpoint
/// (`/api/v1/access/evaluation`) for decisions in its host: a gateway's
/// `client_credentials` token (its client bound to the host) or a user's.
pub const AUTHZ_SCOPE: &str = "tessera:authz";

/// A set of scope tokens, kept sorted so that equal sets have equal text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scopes(BTreeSet<String>);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the scope contains a character outside RFC 6749 §3.3's scope-token grammar")]
pub struct ScopeError;

impl Scopes {
    /// Parses a space-delimited scope string. Tokens are `%x21 / %x23-5B / %x5D-7E`.
    ///
    /// # Errors
    /// When a token has a character outside that grammar.
    pub fn parse(text: &str) -> Result<Self, ScopeError> {
        let mut set = BTreeSet::new();
        for token in text.split(' ').filter(|t| !t.is_empty()) {
            let valid = token
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
            if !valid {
                return Err(ScopeError);
            }
            set.insert(token.to_owned());
        }
        Ok(Self(set))
    }

    #[must_use]
    pub fn contains(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    #[must_use]
    pub fn is_subset(&self, other: &Scopes) -> bool {
        self.0.is_subset(&other.0)
    }

    #[must_use]
    pub fn union(&self, other: &Scopes) -> Scopes {
        Scopes(self.0.union(&other.0).cloned().collect())
    }

    #[must_use]
    pub fn without(&self, scope: &str) -> Scopes {
        Scopes(self.0.iter().filter(|s| *s != scope).cloned().collect())
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// The tokens of `self` that are not in `other`.
    pub fn missing_from<'a>(&'a self, other: &'a Scopes) -> impl Iterator<Item = &'a str> {
        self.0.difference(&other.0).map(String::as_str)
    }
}

impl std::fmt::Display for Scopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut first = true;
        for s in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(s)?;
            first = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing_sorts_and_deduplicates() {
        let s = Scopes::parse("profile openid  email openid").unwrap();
        assert_eq!(s.to_string(), "email openid profile");
    }

    #[test]
    fn invalid_characters_are_refused() {
        assert_eq!(Scopes::parse("open\"id"), Err(ScopeError));
        assert_eq!(Scopes::parse("a\\b"), Err(ScopeError));
    }

    #[test]
    fn subset_and_union() {
        let a = Scopes::parse("openid").unwrap();
        let b = Scopes::parse("openid email").unwrap();
        assert!(a.is_subset(&b));
        assert!(!b.is_subset(&a));
        assert_eq!(a.union(&b), b);
        assert_eq!(b.missing_from(&a).collect::<Vec<_>>(), vec!["email"]);
    }
}

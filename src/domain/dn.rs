//! Distinguished names (RFC 4514), compared as parsed names, never as strings: AD
//! writes `CN=Smith\, John,OU=…`, OpenLDAP's memberOf `cn=Smith\2C John,ou=…`, and a
//! configuration may spell either. Parsing is `ldapdn`'s; this type normalises.

use ldapdn::escape::unescape_ldap_value_string_cow;
use ldapdn::parse::dn_from_str;

/// A DN normalised for comparison: attribute types and values lower-cased (DN values of
/// the naming attributes directories use — cn, ou, dc, uid — match case-insensitively),
/// values unescaped and trimmed, the parts of a multi-valued RDN sorted.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Dn(Vec<Vec<(String, String)>>);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} is not a distinguished name")]
pub struct DnError(pub String);

impl Dn {
    /// # Errors
    /// When the text is not an RFC 4514 DN.
    pub fn parse(text: &str) -> Result<Self, DnError> {
        let bad = || DnError(text.to_owned());
        let mut rdns = Vec::new();
        for rdn in dn_from_str(text.trim()) {
            let mut parts = Vec::new();
            for atav in rdn.map_err(|_| bad())? {
                let (attr, value) = atav.map_err(|_| bad())?;
                let value = unescape_ldap_value_string_cow(value).map_err(|_| bad())?;
                parts.push((attr.trim().to_lowercase(), value.trim().to_lowercase()));
            }
            parts.sort();
            rdns.push(parts);
        }
        if rdns.is_empty() {
            return Err(bad());
        }
        Ok(Self(rdns))
    }

    /// The value of the first RDN (e.g. a group's CN), lower-cased.
    #[must_use]
    pub fn leaf_value(&self) -> Option<&str> {
        self.0
            .first()
            .and_then(|rdn| rdn.first())
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_commas_in_either_spelling_compare_equal() {
        let ad = Dn::parse("CN=Smith\\, John,OU=Tessera,DC=corp,DC=example,DC=com").unwrap();
        let hex = Dn::parse("cn=smith\\2C john, ou=tessera,dc=CORP,dc=example,dc=com").unwrap();
        assert_eq!(ad, hex);
        assert_eq!(ad.leaf_value(), Some("smith, john"));
        assert_ne!(
            ad,
            Dn::parse("CN=Smith,OU=Tessera,DC=corp,DC=example,DC=com").unwrap()
        );
    }

    #[test]
    fn utf8_values_and_multi_valued_rdns_normalise() {
        let a = Dn::parse("CN=Zoë Ångström,OU=Tessera,DC=corp").unwrap();
        let b = Dn::parse("cn=zoë ångström,ou=tessera,dc=corp").unwrap();
        assert_eq!(a, b);
        let m1 = Dn::parse("gn=Jo+sn=Wu,dc=x").unwrap();
        let m2 = Dn::parse("sn=Wu+gn=Jo,dc=x").unwrap();
        assert_eq!(m1, m2);
    }

    #[test]
    fn malformed_names_are_refused() {
        assert!(Dn::parse("").is_err());
        assert!(Dn::parse("not a dn").is_err());
    }
}

//! Redirect URIs, compared exactly as registered (OAuth 2.0 Security BCP, RFC 9700
//! §4.1.3; OpenID Connect Core 1.0 §3.1.2.1: "MUST exactly match").

use url::Url;

/// A registered or requested redirect URI. Equality is simple string comparison of
/// the original text, never of a normalised form.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct RedirectUri(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RedirectUriError {
    #[error("the redirect URI is not an absolute URL")]
    NotAbsolute,
    #[error("a redirect URI must not contain a fragment (RFC 6749 §3.1.2)")]
    Fragment,
}

impl RedirectUri {
    /// Parses a URI for registration: absolute, no fragment (RFC 6749 §3.1.2).
    ///
    /// # Errors
    /// When the text is not an absolute URL or carries a fragment.
    pub fn parse(text: &str) -> Result<Self, RedirectUriError> {
        let url = Url::parse(text).map_err(|_| RedirectUriError::NotAbsolute)?;
        if url.cannot_be_a_base() && url.scheme() != "urn" {
            return Err(RedirectUriError::NotAbsolute);
        }
        if url.fragment().is_some() {
            return Err(RedirectUriError::Fragment);
        }
        Ok(Self(text.to_owned()))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether a requested URI is one of the registered ones, compared exactly.
    #[must_use]
    pub fn is_registered(requested: &str, registered: &[RedirectUri]) -> bool {
        registered.iter().any(|r| r.0 == requested)
    }

    /// This URI with query parameters appended, keeping any query it already has
    /// (RFC 6749 §3.1.2: "MUST retain" the existing query component).
    #[must_use]
    pub fn with_query(&self, params: &[(&str, &str)]) -> String {
        match Url::parse(&self.0) {
            Ok(mut url) => {
                {
                    let mut pairs = url.query_pairs_mut();
                    for (k, v) in params {
                        pairs.append_pair(k, v);
                    }
                }
                url.to_string()
            }
            Err(_) => self.0.clone(),
        }
    }

    /// The origin (`scheme://host:port`) of this URI, for a Content-Security-Policy.
    #[must_use]
    pub fn origin(&self) -> Option<String> {
        let url = Url::parse(&self.0).ok()?;
        match url.origin() {
            url::Origin::Tuple(..) => Some(url.origin().ascii_serialization()),
            url::Origin::Opaque(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_is_exact() {
        let registered = vec![RedirectUri::parse("https://app.example/cb").unwrap()];
        assert!(RedirectUri::is_registered(
            "https://app.example/cb",
            &registered
        ));
        assert!(!RedirectUri::is_registered(
            "https://app.example/cb/",
            &registered
        ));
        assert!(!RedirectUri::is_registered(
            "https://APP.example/cb",
            &registered
        ));
        assert!(!RedirectUri::is_registered(
            "https://app.example/cb?x=1",
            &registered
        ));
    }

    #[test]
    fn fragments_and_relative_uris_are_refused() {
        assert_eq!(
            RedirectUri::parse("/cb"),
            Err(RedirectUriError::NotAbsolute)
        );
        assert_eq!(
            RedirectUri::parse("https://a.example/cb#x"),
            Err(RedirectUriError::Fragment)
        );
    }

    #[test]
    fn query_parameters_are_appended_to_an_existing_query() {
        let uri = RedirectUri::parse("https://a.example/cb?tenant=1").unwrap();
        assert_eq!(
            uri.with_query(&[("code", "a b"), ("state", "s")]),
            "https://a.example/cb?tenant=1&code=a+b&state=s"
        );
    }
}

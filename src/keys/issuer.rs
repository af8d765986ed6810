//! The signing facade of one issuer (RFC 7519, OpenID Connect Core §2): the key ring,
//! the `iss` and default audience, and the lifetimes. Both protocol layers sign and
//! verify through it — `oauth::tokens` mints and checks access tokens (RFC 9068),
//! `oidc::id_token` mints ID tokens and checks hints — so it lives here, below both,
//! and `oidc` needs nothing from `oauth`.

use super::KeyRing;

/// Signs tokens for one issuer.
#[derive(Clone, Debug)]
pub struct TokenIssuer {
    pub keys: KeyRing,
    pub issuer: String,
    pub audience: String,
    pub access_ttl: i64,
    pub id_ttl: i64,
}

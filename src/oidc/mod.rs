//! OpenID Connect rules: Discovery 1.0 metadata, ID tokens (Core §2, §3.1.3.6),
//! userinfo claims (Core §5.3–5.4) and RP-Initiated Logout 1.0. No axum, no SQL.

pub mod discovery;
pub mod id_token;
pub mod logout;
pub mod userinfo;

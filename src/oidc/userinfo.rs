//! Userinfo claims by scope (OpenID Connect Core §5.3.2, §5.4).

use serde_json::{Map, Value};

use crate::domain::{Scopes, SecurityProfile, User};

/// The claims the userinfo endpoint returns for `scopes`. `sub` is always present.
#[must_use]
pub fn claims(
    user: &User,
    scopes: &Scopes,
    profile: Option<&SecurityProfile>,
) -> Map<String, Value> {
    let mut c = Map::new();
    c.insert("sub".into(), user.user_id.clone().into());
    if scopes.contains("profile") {
        if let Some(name) = user.display_name() {
            c.insert("name".into(), name.into());
        }
        if let Some(v) = &user.first_name {
            c.insert("given_name".into(), v.clone().into());
        }
        if let Some(v) = &user.last_name {
            c.insert("family_name".into(), v.clone().into());
        }
        if let Some(v) = &user.username {
            c.insert("preferred_username".into(), v.clone().into());
        }
        c.insert("locale".into(), user.language.clone().into());
    }
    if scopes.contains("email") {
        c.insert("email".into(), user.email.clone().into());
        c.insert("email_verified".into(), user.verified.into());
    }
    if let Some(profile) = profile {
        profile.write_claims(&mut c);
    }
    c
}

/// Descriptions of the scopes, for the consent page.
#[must_use]
pub fn describe_scope(scope: &str) -> &'static str {
    match scope {
        "openid" => "Sign you in and know who you are",
        "profile" => "Read your name, username and language",
        "email" => "Read your email address",
        "offline_access" => "Stay signed in when you are away (refresh tokens)",
        _ => "Access granted by this permission",
    }
}

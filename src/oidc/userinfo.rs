//! Userinfo claims by scope (OpenID Connect Core §5.3.2, §5.4).

use serde_json::{Map, Value};

use crate::domain::{Contact, Scopes, SecurityProfile, User};

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
        if let Some(v) = user.contact.gender_claim() {
            c.insert("gender".into(), v.into());
        }
        if let Some(v) = non_empty(&user.contact.birthday) {
            c.insert("birthdate".into(), v.into());
        }
    }
    if scopes.contains("email") {
        c.insert("email".into(), user.email.clone().into());
        c.insert("email_verified".into(), user.verified.into());
    }
    if scopes.contains("phone") {
        if let Some(v) = non_empty(&user.contact.phone_number) {
            c.insert("phone_number".into(), v.into());
            c.insert(
                "phone_number_verified".into(),
                user.contact.phone_verified.into(),
            );
        }
    }
    if scopes.contains("address") && user.contact.has_address() {
        c.insert("address".into(), address(&user.contact).into());
    }
    if let Some(profile) = profile {
        profile.write_claims(&mut c);
    }
    c
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|v| !v.is_empty())
}

/// The `address` claim (Core §5.1.1): a JSON object of the known parts.
fn address(contact: &Contact) -> Map<String, Value> {
    let mut a = Map::new();
    a.insert("formatted".into(), contact.formatted_address().into());
    for (name, value) in [
        ("street_address", &contact.address),
        ("locality", &contact.city),
        ("region", &contact.province),
        ("postal_code", &contact.post_code),
        ("country", &contact.country),
    ] {
        if let Some(v) = non_empty(value) {
            a.insert(name.into(), v.into());
        }
    }
    a
}

/// Descriptions of the scopes, for the consent page.
#[must_use]
pub fn describe_scope(scope: &str) -> &'static str {
    match scope {
        "openid" => "Sign you in and know who you are",
        "profile" => "Read your name, username, language, gender and birthday",
        "email" => "Read your email address",
        "address" => "Read your postal address",
        "phone" => "Read your phone number",
        "offline_access" => "Stay signed in when you are away (refresh tokens)",
        crate::domain::scope::API_SCOPE => {
            "Manage Tessera for you, with the rights you hold (as a manager or administrator)"
        }
        _ => "Access granted by this permission",
    }
}

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

/// The standard scopes in the order the consent page lists them: signing in first,
/// then what it reveals from least to most personal, and a refresh token last. Other
/// scopes (an API's own) follow in their own order.
const CONSENT_ORDER: [&str; 6] = [
    "openid",
    "profile",
    "email",
    "address",
    "phone",
    "offline_access",
];

/// The scopes as the consent page lists them: (human name, description, scope), known
/// scopes first in `CONSENT_ORDER`, then the others sorted by name.
#[must_use]
pub fn consent_list<'a>(
    scopes: impl IntoIterator<Item = &'a str>,
) -> Vec<(&'static str, &'static str, String)> {
    let mut list: Vec<&str> = scopes.into_iter().collect();
    list.sort_by_key(|s| {
        let rank = CONSENT_ORDER
            .iter()
            .position(|k| k == s)
            .unwrap_or(CONSENT_ORDER.len());
        (rank, *s)
    });
    list.dedup();
    list.into_iter()
        .map(|s| (scope_name(s), describe_scope(s), s.to_owned()))
        .collect()
}

/// A scope's name for people.
#[must_use]
pub fn scope_name(scope: &str) -> &'static str {
    match scope {
        "openid" => "Sign-in",
        "profile" => "Profile",
        "email" => "Email address",
        "address" => "Postal address",
        "phone" => "Phone number",
        "offline_access" => "Staying signed in",
        _ => "Other access",
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_consent_list_puts_sign_in_first_and_api_scopes_last() {
        let list = consent_list(["offline_access", "api:write", "email", "openid", "api:read"]);
        let order: Vec<&str> = list.iter().map(|(_, _, s)| s.as_str()).collect();
        assert_eq!(
            order,
            ["openid", "email", "offline_access", "api:read", "api:write"]
        );
        assert_eq!(list[0].0, "Sign-in");
    }
}

//! Provider metadata: OpenID Connect Discovery 1.0 §3 and RFC 8414 §2, one document
//! served at both well-known locations (RFC 8414 §3 allows the OpenID one's content).

use serde_json::{json, Value};

use crate::keys::Algorithm;

/// The scopes Tessera understands.
pub const SCOPES_SUPPORTED: &[&str] = &[
    "openid",
    "profile",
    "email",
    "address",
    "phone",
    "offline_access",
    crate::domain::scope::API_SCOPE,
    crate::domain::scope::AUTHZ_SCOPE,
];

/// The metadata document for `issuer` (no trailing slash) signing with `alg`.
#[must_use]
pub fn metadata(issuer: &str, alg: Algorithm) -> Value {
    let url = |path: &str| format!("{issuer}{path}");
    let auth_methods = ["client_secret_basic", "client_secret_post", "none"];
    let confidential_methods = ["client_secret_basic", "client_secret_post"];
    json!({
        "issuer": issuer,
        "authorization_endpoint": url("/authorize"),
        "token_endpoint": url("/token"),
        "userinfo_endpoint": url("/userinfo"),
        "jwks_uri": url("/jwks"),
        "end_session_endpoint": url("/logout"),
        "revocation_endpoint": url("/revoke"),
        "introspection_endpoint": url("/introspect"),
        "scopes_supported": SCOPES_SUPPORTED,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        // The password grant is left out on purpose: it is for legacy first-party
        // clients only and must not be advertised (RFC 9700 §2.4).
        "grant_types_supported": [
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "urn:ietf:params:oauth:grant-type:token-exchange"
        ],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [alg.as_str()],
        "token_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": confidential_methods,
        "introspection_endpoint_auth_methods_supported": confidential_methods,
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "claims_supported": [
            "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "sid", "amr",
            "azp", "name", "given_name", "family_name", "preferred_username", "locale",
            "gender", "birthdate", "email", "email_verified", "address", "phone_number",
            "phone_number_verified", "uid", "uty", "host", "role", "grp", "pos", "att"
        ],
        // The pages are in English only (a second language comes with the account and
        // admin pages). Claims are released as stored, never translated, so no
        // `claims_locales_supported` is claimed (Discovery §3: it lists the languages
        // "supported for values in Claims being returned").
        "ui_locales_supported": ["en"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "require_request_uri_registration": false,
        "authorization_response_iss_parameter_supported": true,
        "frontchannel_logout_supported": false,
        "backchannel_logout_supported": false,
    })
}

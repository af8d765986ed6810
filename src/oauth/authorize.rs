//! The authorization request (RFC 6749 §4.1.1; OpenID Connect Core §3.1.2.1) and the
//! order in which it is checked.
//!
//! The client and the redirect URI are checked first: until both are proven, an error
//! must not be sent to the redirect URI (RFC 6749 §4.1.2.1, "MUST NOT automatically
//! redirect"), so it is shown to the user instead. Every later error goes back to the
//! client at its redirect URI.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{pkce, ErrorCode, OAuthError};
use crate::domain::{Client, GrantType, RedirectUri, Scopes};

/// Why the request cannot even be answered at the redirect URI.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UntrustedRequest {
    #[error("The request has no client_id.")]
    MissingClient,
    #[error("The client is not known.")]
    UnknownClient,
    #[error("The request has no redirect_uri.")]
    MissingRedirectUri,
    #[error("The redirect_uri is not registered for this client.")]
    UnregisteredRedirectUri,
    #[error("The request repeats the parameter {0}.")]
    Repeated(String),
    #[error("The parameter {0} is too long.")]
    TooLong(&'static str),
}

/// How the response travels back (OAuth 2.0 Multiple Response Types §2.1; Form Post
/// Response Mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResponseMode {
    Query,
    FormPost,
}

/// The `prompt` values (OpenID Connect Core §3.1.2.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
    pub select_account: bool,
}

/// The client and redirect URI, proven: errors may now be redirected here.
#[derive(Clone, Debug)]
pub struct ResponseTarget {
    pub redirect_uri: RedirectUri,
    pub response_mode: ResponseMode,
    pub state: Option<String>,
}

/// A validated authorization request, kept in the session while the user signs in and
/// consents.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    pub client_id: String,
    pub redirect_uri: RedirectUri,
    pub response_mode: ResponseMode,
    pub state: Option<String>,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    pub id_token_hint: Option<String>,
}

impl AuthorizationRequest {
    /// The scopes, as validated.
    #[must_use]
    pub fn scopes(&self) -> Scopes {
        Scopes::parse(&self.scope).unwrap_or_default()
    }

    #[must_use]
    pub fn target(&self) -> ResponseTarget {
        ResponseTarget {
            redirect_uri: self.redirect_uri.clone(),
            response_mode: self.response_mode,
            state: self.state.clone(),
        }
    }
}

/// The parameters the authorization endpoint reads; any other is ignored (Core §3.1.2.1:
/// "MUST ignore unrecognized request parameters").
const KNOWN: &[&str] = &[
    "client_id",
    "redirect_uri",
    "response_type",
    "response_mode",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "max_age",
    "login_hint",
    "id_token_hint",
    "request",
    "request_uri",
    "display",
    "ui_locales",
    "claims_locales",
    "acr_values",
    "claims",
    "registration",
];

/// The longest whole authorization request taken, in bytes: a pending request is kept
/// in the session, so its size is what a stranger without a cookie can make the
/// database store.
pub const MAX_REQUEST_BYTES: usize = 16 * 1024;

/// The longest value of each parameter, in bytes. The specs set none; these are far
/// above what clients send (an `id_token_hint` is a whole JWT).
const MAX_LENGTHS: &[(&str, usize)] = &[
    ("client_id", 255),
    ("redirect_uri", 2048),
    ("response_type", 64),
    ("response_mode", 64),
    ("scope", 1024),
    ("state", 1024),
    ("nonce", 512),
    ("code_challenge", 128),
    ("code_challenge_method", 16),
    ("prompt", 64),
    ("max_age", 12),
    ("login_hint", 256),
    ("id_token_hint", 8192),
    ("display", 16),
    ("ui_locales", 256),
    ("claims_locales", 256),
    ("acr_values", 512),
    ("claims", 4096),
];

/// The parameters answered with an error page when too long: they are needed to
/// answer at the redirect URI at all (`state` goes back in the redirect).
const UNTRUSTED_WHEN_LONG: &[&str] = &["client_id", "redirect_uri", "response_mode", "state"];

fn max_length(param: &str) -> Option<(&'static str, usize)> {
    MAX_LENGTHS.iter().copied().find(|(name, _)| *name == param)
}

/// Turns raw pairs into a map, refusing a repeated known parameter and an over-long
/// one of those needed to answer at the redirect URI.
///
/// # Errors
/// `Repeated` or `TooLong` naming the parameter.
pub fn collect_params(
    pairs: Vec<(String, String)>,
) -> Result<HashMap<String, String>, UntrustedRequest> {
    let mut map = HashMap::new();
    for (k, v) in pairs {
        if v.is_empty() || !KNOWN.contains(&k.as_str()) {
            continue;
        }
        if let Some((name, max)) = max_length(&k) {
            if v.len() > max && UNTRUSTED_WHEN_LONG.contains(&name) {
                return Err(UntrustedRequest::TooLong(name));
            }
        }
        if map.insert(k.clone(), v).is_some() {
            return Err(UntrustedRequest::Repeated(k));
        }
    }
    Ok(map)
}

/// Refuses a parameter longer than its limit.
fn check_lengths(params: &HashMap<String, String>) -> Result<(), OAuthError> {
    for (name, value) in params {
        if let Some((name, max)) = max_length(name) {
            if value.len() > max {
                return Err(OAuthError::invalid_request(format!(
                    "{name} is longer than {max} bytes"
                )));
            }
        }
    }
    Ok(())
}

/// Checks the redirect URI against the client, which the caller has looked up by
/// `client_id`.
///
/// # Errors
/// When the redirect URI is missing or not registered exactly.
pub fn check_redirect(
    params: &HashMap<String, String>,
    client: &Client,
) -> Result<ResponseTarget, UntrustedRequest> {
    let requested = params
        .get("redirect_uri")
        .ok_or(UntrustedRequest::MissingRedirectUri)?;
    if !RedirectUri::is_registered(requested, &client.redirect_uris) {
        return Err(UntrustedRequest::UnregisteredRedirectUri);
    }
    let redirect_uri =
        RedirectUri::parse(requested).map_err(|_| UntrustedRequest::UnregisteredRedirectUri)?;
    let response_mode = match params.get("response_mode").map(String::as_str) {
        Some("form_post") => ResponseMode::FormPost,
        _ => ResponseMode::Query,
    };
    Ok(ResponseTarget {
        redirect_uri,
        response_mode,
        state: params.get("state").cloned(),
    })
}

/// Validates the rest of the request for a client whose redirect URI is proven.
///
/// # Errors
/// The protocol error to send to the redirect URI.
pub fn validate(
    params: &HashMap<String, String>,
    client: &Client,
    target: &ResponseTarget,
) -> Result<AuthorizationRequest, OAuthError> {
    let get = |k: &str| params.get(k).map(String::as_str);
    check_lengths(params)?;
    // Core §6: this provider does not take request objects.
    if get("request").is_some() {
        return Err(OAuthError::new(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    if get("request_uri").is_some() {
        return Err(OAuthError::new(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        ));
    }
    match get("response_type") {
        None => return Err(OAuthError::invalid_request("response_type is required")),
        Some("code") => {}
        Some(_) => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ))
        }
    }
    match get("response_mode") {
        None | Some("query" | "form_post") => {}
        Some(other) => {
            return Err(OAuthError::invalid_request(format!(
                "response_mode {other} is not supported"
            )))
        }
    }
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "the client may not use the authorization code grant",
        ));
    }
    let scopes = requested_scopes(get("scope"), client)?;
    let code_challenge = check_pkce(get("code_challenge"), get("code_challenge_method"), client)?;
    let prompt = parse_prompt(get("prompt"))?;
    let max_age = match get("max_age") {
        None => None,
        Some(v) => Some(v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            OAuthError::invalid_request("max_age must be a non-negative integer")
        })?),
    };
    Ok(AuthorizationRequest {
        client_id: client.client_id.clone(),
        redirect_uri: target.redirect_uri.clone(),
        response_mode: target.response_mode,
        state: target.state.clone(),
        scope: scopes.to_string(),
        nonce: get("nonce").map(str::to_owned),
        code_challenge,
        prompt,
        max_age,
        login_hint: get("login_hint").map(str::to_owned),
        id_token_hint: get("id_token_hint").map(str::to_owned),
    })
}

/// The requested scopes, which must all be allowed to the client (RFC 6749 §3.3).
fn requested_scopes(scope: Option<&str>, client: &Client) -> Result<Scopes, OAuthError> {
    let scopes = Scopes::parse(scope.unwrap_or_default())
        .map_err(|e| OAuthError::invalid_scope(e.to_string()))?;
    if scopes.is_empty() {
        return Err(OAuthError::invalid_scope("scope is required"));
    }
    if let Some(unknown) = scopes.missing_from(&client.allowed_scopes).next() {
        return Err(OAuthError::invalid_scope(format!(
            "scope {unknown} is not allowed for this client"
        )));
    }
    Ok(scopes)
}

fn check_pkce(
    challenge: Option<&str>,
    method: Option<&str>,
    client: &Client,
) -> Result<Option<String>, OAuthError> {
    match (challenge, method) {
        (None, Some(_)) => Err(OAuthError::invalid_request(
            "code_challenge_method without code_challenge",
        )),
        (None, None) if client.pkce_required() => Err(OAuthError::invalid_request(
            "PKCE is required: send code_challenge with method S256",
        )),
        (None, None) => Ok(None),
        // RFC 7636 §4.3: a missing method means `plain`, which is refused like an explicit one.
        (Some(_), None | Some("plain")) => Err(OAuthError::invalid_request(
            "code_challenge_method must be S256; plain is not supported",
        )),
        (Some(_), Some(m)) if m != "S256" => Err(OAuthError::invalid_request(format!(
            "code_challenge_method {m} is not supported"
        ))),
        (Some(c), Some(_)) if !pkce::is_well_formed(c) => {
            Err(OAuthError::invalid_request("code_challenge is malformed"))
        }
        (Some(c), Some(_)) => Ok(Some(c.to_owned())),
    }
}

fn parse_prompt(prompt: Option<&str>) -> Result<Prompt, OAuthError> {
    let mut p = Prompt::default();
    for value in prompt
        .unwrap_or_default()
        .split(' ')
        .filter(|v| !v.is_empty())
    {
        match value {
            "none" => p.none = true,
            "login" => p.login = true,
            "consent" => p.consent = true,
            "select_account" => p.select_account = true,
            other => {
                return Err(OAuthError::invalid_request(format!(
                    "prompt {other} is not supported"
                )))
            }
        }
    }
    // Core §3.1.2.1: none with any other value is an error.
    if p.none && (p.login || p.consent || p.select_account) {
        return Err(OAuthError::invalid_request(
            "prompt=none cannot be combined with other values",
        ));
    }
    Ok(p)
}

/// The parameters of a response: the code or error, `state`, and `iss` (RFC 9207 §2).
#[must_use]
pub fn response_params<'a>(
    target: &'a ResponseTarget,
    issuer: &'a str,
    result: &'a Result<String, OAuthError>,
) -> Vec<(&'a str, &'a str)> {
    let mut params = Vec::with_capacity(4);
    match result {
        Ok(code) => params.push(("code", code.as_str())),
        Err(e) => {
            params.push(("error", e.code.as_str()));
            params.push(("error_description", e.description.as_str()));
        }
    }
    if let Some(state) = &target.state {
        params.push(("state", state.as_str()));
    }
    params.push(("iss", issuer));
    params
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ClientType;

    fn client() -> Client {
        Client {
            client_id: "c1".into(),
            name: "App".into(),
            client_type: ClientType::Confidential,
            secret_hash: None,
            redirect_uris: vec![RedirectUri::parse("https://app.example/cb").unwrap()],
            post_logout_redirect_uris: vec![],
            grant_types: vec![GrantType::AuthorizationCode],
            auth_method: None,
            allowed_scopes: Scopes::parse("openid email").unwrap(),
            require_pkce: true,
            host_id: None,
            profile_in_id_token: false,
            skip_consent: false,
        }
    }

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        collect_params(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
        .unwrap()
    }

    fn valid() -> Vec<(&'static str, &'static str)> {
        vec![
            ("client_id", "c1"),
            ("redirect_uri", "https://app.example/cb"),
            ("response_type", "code"),
            ("scope", "openid"),
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            ("code_challenge_method", "S256"),
            ("state", "xyz"),
        ]
    }

    fn run(pairs: &[(&str, &str)]) -> Result<AuthorizationRequest, OAuthError> {
        let p = params(pairs);
        let target = check_redirect(&p, &client()).unwrap();
        validate(&p, &client(), &target)
    }

    fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut v: Vec<_> = valid()
            .into_iter()
            .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
            .collect();
        v.extend(extra.iter().copied().filter(|(_, v)| !v.is_empty()));
        v
    }

    #[test]
    fn a_valid_request_passes_and_keeps_state() {
        let r = run(&valid()).unwrap();
        assert_eq!(r.state.as_deref(), Some("xyz"));
        assert_eq!(r.scope, "openid");
    }

    #[test]
    fn redirect_uris_must_be_registered_exactly() {
        let p = params(&[("redirect_uri", "https://app.example/cb/")]);
        assert_eq!(
            check_redirect(&p, &client()).unwrap_err(),
            UntrustedRequest::UnregisteredRedirectUri
        );
        let p = params(&[]);
        assert_eq!(
            check_redirect(&p, &client()).unwrap_err(),
            UntrustedRequest::MissingRedirectUri
        );
    }

    #[test]
    fn repeated_parameters_are_refused() {
        let pairs = vec![
            ("state".to_owned(), "a".to_owned()),
            ("state".to_owned(), "b".to_owned()),
        ];
        assert_eq!(
            collect_params(pairs).unwrap_err(),
            UntrustedRequest::Repeated("state".into())
        );
    }

    #[test]
    fn each_rule_has_its_error() {
        let code = |pairs: &[(&'static str, &'static str)]| run(&with(pairs)).unwrap_err().code;
        assert_eq!(
            code(&[("response_type", "token")]),
            ErrorCode::UnsupportedResponseType
        );
        assert_eq!(code(&[("response_type", "")]), ErrorCode::InvalidRequest);
        assert_eq!(code(&[("scope", "openid admin")]), ErrorCode::InvalidScope);
        assert_eq!(
            code(&[("code_challenge_method", "plain")]),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            code(&[("code_challenge", ""), ("code_challenge_method", "")]),
            ErrorCode::InvalidRequest
        );
        assert_eq!(code(&[("prompt", "none login")]), ErrorCode::InvalidRequest);
        assert_eq!(code(&[("max_age", "-1")]), ErrorCode::InvalidRequest);
        assert_eq!(
            code(&[("request", "eyJ...")]),
            ErrorCode::RequestNotSupported
        );
        assert_eq!(
            code(&[("request_uri", "https://x")]),
            ErrorCode::RequestUriNotSupported
        );
    }

    #[test]
    fn responses_carry_state_and_iss() {
        let target = check_redirect(&params(&valid()), &client()).unwrap();
        let result = Ok("abc".to_owned());
        let p = response_params(&target, "https://id.example", &result);
        assert_eq!(
            p,
            vec![
                ("code", "abc"),
                ("state", "xyz"),
                ("iss", "https://id.example")
            ]
        );
    }

    /// A value for a parameter: often a valid one, sometimes noise or an edge case.
    fn value_for(name: &'static str) -> proptest::strategy::BoxedStrategy<String> {
        use proptest::prelude::*;
        let valid: &'static str = match name {
            "client_id" => "c1",
            "redirect_uri" => "https://app.example/cb",
            "response_type" => "code",
            "scope" => "openid email",
            "code_challenge" => "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method" => "S256",
            "prompt" => "login consent",
            "max_age" => "60",
            _ => "v",
        };
        prop_oneof![
            4 => Just(valid.to_owned()),
            2 => "\\PC{0,40}",
            1 => "[ -~]{0,3000}",
            1 => Just(String::new()),
            1 => Just(format!("{valid} {valid}")),
        ]
        .boxed()
    }

    use proptest::strategy::Strategy as _;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Whatever the parameters, the parser answers without a panic, and what it
        /// accepts keeps every rule: a proven redirect, the client's scopes only, PKCE
        /// S256 with a well-formed challenge, bounded values.
        #[test]
        fn any_request_is_answered_and_what_is_accepted_keeps_the_rules(
            keep in proptest::collection::vec(proptest::bool::weighted(0.85), 7),
            extra in proptest::collection::vec(
                proptest::sample::select(KNOWN.to_vec()).prop_flat_map(|k| (proptest::strategy::Just(k), value_for(k))),
                0..6,
            )
        ) {
            use proptest::prelude::*;
            // A valid request, some of it dropped, with noise added: many are accepted,
            // many refused, for every reason.
            let pairs: Vec<(String, String)> = valid()
                .into_iter()
                .zip(keep)
                .filter(|(_, keep)| *keep)
                .map(|((k, v), _)| (k.to_owned(), v.to_owned()))
                .chain(extra.into_iter().map(|(k, v)| (k.to_owned(), v)))
                .collect();
            let client = client();
            let Ok(params) = collect_params(pairs) else { return Ok(()) };
            let Ok(target) = check_redirect(&params, &client) else { return Ok(()) };
            prop_assert_eq!(target.redirect_uri.as_str(), "https://app.example/cb");
            let Ok(request) = validate(&params, &client, &target) else { return Ok(()) };
            prop_assert!(request.scopes().iter().all(|s| client.allowed_scopes.contains(s)));
            prop_assert!(!request.scopes().is_empty());
            let challenge = request.code_challenge.as_deref().unwrap_or_default();
            prop_assert!(pkce::is_well_formed(challenge));
            prop_assert!(!(request.prompt.none && (request.prompt.login || request.prompt.consent)));
            for value in [&request.state, &request.nonce, &request.login_hint, &request.id_token_hint]
                .into_iter()
                .flatten()
            {
                prop_assert!(value.len() <= 8192);
            }
        }
    }
}

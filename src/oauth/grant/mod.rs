//! The token endpoint's grants (RFC 6749 §4.1.3, §4.3, §4.4, §6; RFC 8693), one file
//! each, and the parsing of a token request into one of them.

mod authorization_code;
mod client_credentials;
mod password;
mod refresh_token;
pub mod token_exchange;

pub use password::SignInContext;
pub use token_exchange::ExchangeRequest;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::revocation::RevocationList;
use super::tokens::AccessGrant;
use super::{ErrorCode, GrantError, OAuthError};
use crate::config::Config;
use crate::domain::date::iso_date;
use crate::domain::sealed;
use crate::domain::{random_token, Client, GrantType, Scopes, TokenHash};
use crate::keys::TokenIssuer;
use crate::oidc::id_token::{self, IdTokenClaims};
use crate::store::{Consume, Issuance, NewFamily, RefreshRecord, Store, StoreError};

/// A token request, by `grant_type`.
#[derive(Debug, Deserialize)]
#[serde(tag = "grant_type", rename_all = "snake_case")]
pub enum TokenRequest {
    AuthorizationCode {
        code: String,
        redirect_uri: Option<String>,
        code_verifier: Option<String>,
    },
    RefreshToken {
        refresh_token: String,
        scope: Option<String>,
    },
    ClientCredentials {
        scope: Option<String>,
    },
    /// RFC 6749 §4.3, for legacy first-party clients only (`password.rs`).
    Password {
        username: String,
        password: String,
        scope: Option<String>,
    },
    /// RFC 8693 §2.1.
    #[serde(rename = "urn:ietf:params:oauth:grant-type:token-exchange")]
    TokenExchange(ExchangeRequest),
}

impl TokenRequest {
    /// Parses the form of a token request.
    ///
    /// # Errors
    /// `unsupported_grant_type` for a grant this server does not know, `invalid_request`
    /// for a missing grant type or parameter.
    pub fn from_form(form: &HashMap<String, String>) -> Result<Self, OAuthError> {
        match form.get("grant_type").map(String::as_str) {
            None => return Err(OAuthError::invalid_request("grant_type is required")),
            Some(
                "authorization_code"
                | "refresh_token"
                | "client_credentials"
                | "password"
                | token_exchange::GRANT_TYPE,
            ) => {}
            Some(other) => {
                return Err(OAuthError::new(
                    ErrorCode::UnsupportedGrantType,
                    format!("grant_type {other} is not supported"),
                ))
            }
        }
        let object: serde_json::Map<String, serde_json::Value> = form
            .iter()
            .map(|(k, v)| (k.clone(), v.clone().into()))
            .collect();
        serde_json::from_value(object.into()).map_err(|e| {
            // serde's message names the missing field, e.g. "missing field `code`".
            OAuthError::invalid_request(e.to_string().replace('`', ""))
        })
    }

    /// The grant type's name, for logs and metrics.
    #[must_use]
    pub fn grant_type(&self) -> &'static str {
        self.kind().as_str()
    }

    /// The grant type as the client's registration names it.
    #[must_use]
    pub fn kind(&self) -> GrantType {
        match self {
            Self::AuthorizationCode { .. } => GrantType::AuthorizationCode,
            Self::RefreshToken { .. } => GrantType::RefreshToken,
            Self::ClientCredentials { .. } => GrantType::ClientCredentials,
            Self::Password { .. } => GrantType::Password,
            Self::TokenExchange(_) => GrantType::TokenExchange,
        }
    }
}

/// A successful token response (RFC 6749 §5.1; OpenID Connect Core §3.1.3.3).
#[derive(Debug, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// Left out when empty: RFC 6749 §5.1 makes `scope` optional, and an empty string
    /// is not a scope list a client can parse (a `client_credentials` client allowed
    /// only user scopes gets none).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scope: String,
    /// RFC 8693 §2.2.1: the type of the token issued by an exchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_token_type: Option<String>,
}

/// What every grant needs.
pub struct GrantContext<'a> {
    pub store: &'a dyn Store,
    pub revocations: &'a RevocationList,
    pub issuer: &'a TokenIssuer,
    pub config: &'a Config,
    pub now: i64,
    /// The password grant's authenticator and the request's origin; none where no
    /// password can be presented.
    pub sign_in: Option<SignInContext<'a>>,
}

/// Records in the audit trail that a grant was revoked because its code or refresh
/// token came back (RFC 9700 §4.14.2: a replay suggests a stolen token). A failure to
/// record is logged, never the reason to answer otherwise: the family is revoked
/// already.
async fn record_replay(
    ctx: &GrantContext<'_>,
    client_id: &str,
    family_id: &str,
    host_id: Option<&str>,
    reason: &str,
) {
    use crate::domain::audit::{actions, AuditContext, AuditEvent};
    let mut event = AuditEvent::new(actions::TOKEN_FAMILY_REVOKED)
        .target("token_family", family_id)
        .detail(serde_json::json!({ "reason": reason }));
    if let Some(host) = host_id {
        event = event.host(host);
    }
    let context = AuditContext::client(client_id, None);
    if let Err(e) = ctx.store.record_audit(&context, &event, ctx.now).await {
        tracing::warn!(error = %e, "recording a revoked grant in the audit trail failed");
    }
}

/// Runs the grant for an authenticated client.
///
/// # Errors
/// The grant's protocol error, or an internal failure.
pub async fn run(
    ctx: &GrantContext<'_>,
    client: &Client,
    request: TokenRequest,
) -> Result<TokenResponse, GrantError> {
    let grant_type = request.kind();
    if !client.allows_grant(grant_type) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            format!("the client may not use the {grant_type} grant"),
        )
        .into());
    }
    match request {
        TokenRequest::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => {
            authorization_code::exchange(
                ctx,
                client,
                &code,
                redirect_uri.as_deref(),
                code_verifier.as_deref(),
            )
            .await
        }
        TokenRequest::RefreshToken {
            refresh_token,
            scope,
        } => refresh_token::refresh(ctx, client, &refresh_token, scope.as_deref()).await,
        TokenRequest::ClientCredentials { scope } => {
            client_credentials::issue(ctx, client, scope.as_deref())
        }
        TokenRequest::Password {
            username,
            password,
            scope,
        } => password::sign_in(ctx, client, &username, &password, scope.as_deref()).await,
        TokenRequest::TokenExchange(request) => {
            token_exchange::exchange(ctx, client, &request).await
        }
    }
}

/// A user's grant, from a code or a refresh token.
struct UserGrant<'a> {
    family_id: &'a str,
    user_id: &'a str,
    host_id: Option<&'a str>,
    scopes: &'a Scopes,
    auth_time: i64,
    sid: &'a str,
    /// Space separated, as stored.
    amr: &'a str,
    nonce: Option<&'a str>,
}

/// What issuing tokens for a user consumes.
enum Consuming<'a> {
    /// A code (its hash): the family starts here.
    Code(&'a TokenHash),
    /// A refresh token (as presented): the family goes on. With `keep_for_retry` the
    /// answer is kept, sealed with the presented token, for a retry within the grace
    /// window.
    Refresh {
        token: &'a str,
        token_hash: &'a TokenHash,
        keep_for_retry: bool,
    },
}

/// An answer kept for a retry of the rotation that gave it.
#[derive(Serialize, Deserialize)]
struct KeptAnswer {
    issued_at: i64,
    response: TokenResponse,
}

impl KeptAnswer {
    fn seal(token: &str, response: &TokenResponse, now: i64) -> Option<String> {
        let kept = serde_json::to_vec(&KeptAnswer {
            issued_at: now,
            response: TokenResponse {
                access_token: response.access_token.clone(),
                token_type: response.token_type.clone(),
                expires_in: response.expires_in,
                refresh_token: response.refresh_token.clone(),
                id_token: response.id_token.clone(),
                scope: response.scope.clone(),
                issued_token_type: None,
            },
        })
        .ok()?;
        sealed::seal(token, &kept)
    }

    /// The answer as it stands at `now`: `expires_in` counts from now.
    fn open(token: &str, sealed_answer: &str, now: i64) -> Option<TokenResponse> {
        let kept: KeptAnswer = serde_json::from_slice(&sealed::open(token, sealed_answer)?).ok()?;
        let mut response = kept.response;
        response.expires_in = (kept.issued_at + response.expires_in - now).max(0);
        Some(response)
    }
}

/// Issues an access token, an ID token when `openid` was granted, and a refresh token
/// when the client may refresh, and records them in the transaction that consumes the
/// code or refresh token. `None` when another request consumed it first: nothing was
/// recorded and the tokens minted here are dropped unseen.
async fn issue_for_user(
    ctx: &GrantContext<'_>,
    client: &Client,
    grant: &UserGrant<'_>,
    consuming: Consuming<'_>,
) -> Result<Option<TokenResponse>, GrantError> {
    let new_family = matches!(consuming, Consuming::Code(_));
    let amr: Vec<String> = grant
        .amr
        .split(' ')
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect();
    let profile = match grant.host_id {
        Some(host) => Some(
            ctx.store
                .load_profile(grant.user_id, host, &iso_date(ctx.now))
                .await
                .map_err(|e| match e {
                    // Removed from the host, or the membership deactivated, since the
                    // code or token was issued (RFC 6749 §5.2: the grant is no longer
                    // valid).
                    StoreError::NotFound(_) => GrantError::from(OAuthError::invalid_grant(
                        "the user no longer belongs to the host",
                    )),
                    e => GrantError::from(e),
                })?,
        ),
        None => None,
    };
    let access = ctx.issuer.access_token(
        &AccessGrant {
            sub: grant.user_id,
            client_id: &client.client_id,
            scopes: grant.scopes,
            auth_time: Some(grant.auth_time),
            amr: Some(&amr),
            profile: profile.as_ref(),
        },
        ctx.now,
    )?;
    let id_token = if grant.scopes.contains("openid") {
        Some(id_token::mint(
            ctx.issuer,
            &IdTokenClaims {
                sub: grant.user_id,
                client_id: &client.client_id,
                nonce: grant.nonce,
                auth_time: grant.auth_time,
                sid: grant.sid,
                amr: &amr,
                access_token: Some(&access.token),
                profile: profile.as_ref().filter(|_| client.profile_in_id_token),
            },
            ctx.now,
        )?)
    } else {
        None
    };
    let refresh_expires = ctx.now + ctx.config.tokens.refresh_token_ttl;
    let refresh = client.allows_grant(GrantType::RefreshToken).then(|| {
        let record = RefreshRecord {
            family_id: grant.family_id.to_owned(),
            client_id: client.client_id.clone(),
            user_id: grant.user_id.to_owned(),
            host_id: grant.host_id.map(str::to_owned),
            scope: grant.scopes.to_string(),
            auth_time: grant.auth_time,
            sid: grant.sid.to_owned(),
            amr: grant.amr.to_owned(),
            expires_at: refresh_expires,
        };
        let token = random_token();
        (TokenHash::of(&token), token, record)
    });
    let response = TokenResponse {
        access_token: access.token,
        token_type: "Bearer".to_owned(),
        expires_in: ctx.issuer.access_ttl,
        refresh_token: refresh.as_ref().map(|(_, token, _)| token.clone()),
        id_token,
        scope: grant.scopes.to_string(),
        issued_token_type: None,
    };
    let kept = match &consuming {
        Consuming::Refresh {
            token,
            keep_for_retry: true,
            ..
        } => KeptAnswer::seal(token, &response, ctx.now),
        _ => None,
    };
    let consume = match &consuming {
        Consuming::Code(hash) => Consume::Code {
            code_hash: hash.as_str(),
        },
        Consuming::Refresh { token_hash, .. } => Consume::Refresh {
            token_hash: token_hash.as_str(),
            client_id: &client.client_id,
            successor_sealed: kept.as_deref(),
        },
    };
    let recorded = ctx
        .store
        .record_issuance(
            &consume,
            &Issuance {
                new_family: new_family.then_some(NewFamily {
                    client_id: &client.client_id,
                    user_id: grant.user_id,
                    expires_at: refresh_expires.max(access.expires_at),
                    sid: grant.sid,
                    offline: grant.scopes.contains("offline_access"),
                }),
                family_id: grant.family_id,
                refresh: refresh
                    .as_ref()
                    .map(|(hash, _, record)| (hash.as_str(), record)),
                access_jti: &access.jti,
                access_expires_at: access.expires_at,
            },
            ctx.now,
        )
        .await?;
    Ok(recorded.then_some(response))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn grant_types_parse_into_their_variant() {
        let r = TokenRequest::from_form(&form(&[
            ("grant_type", "authorization_code"),
            ("code", "c"),
        ]))
        .unwrap();
        assert!(matches!(r, TokenRequest::AuthorizationCode { ref code, .. } if code == "c"));
        let r = TokenRequest::from_form(&form(&[("grant_type", "client_credentials")])).unwrap();
        assert!(matches!(r, TokenRequest::ClientCredentials { scope: None }));
        let r = TokenRequest::from_form(&form(&[
            ("grant_type", token_exchange::GRANT_TYPE),
            ("subject_token", "t"),
            ("subject_token_type", token_exchange::API_TOKEN_TYPE),
            ("requested_lifetime", "60"),
        ]))
        .unwrap();
        assert!(matches!(r, TokenRequest::TokenExchange(ref x)
            if x.subject_token == "t" && x.requested_lifetime.as_deref() == Some("60")));
        assert_eq!(r.grant_type(), token_exchange::GRANT_TYPE);
        let r = TokenRequest::from_form(&form(&[
            ("grant_type", "password"),
            ("username", "u"),
            ("password", "p"),
        ]))
        .unwrap();
        assert!(matches!(r, TokenRequest::Password { ref username, .. } if username == "u"));
        let e = TokenRequest::from_form(&form(&[("grant_type", token_exchange::GRANT_TYPE)]))
            .unwrap_err();
        assert!(e.description.contains("subject_token"), "{}", e.description);
    }

    #[test]
    fn unknown_and_missing_grants_have_their_errors() {
        let e = TokenRequest::from_form(&form(&[("grant_type", "implicit")])).unwrap_err();
        assert_eq!(e.code, ErrorCode::UnsupportedGrantType);
        let e = TokenRequest::from_form(&form(&[])).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        let e = TokenRequest::from_form(&form(&[("grant_type", "refresh_token")])).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        assert!(e.description.contains("refresh_token"), "{}", e.description);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Any form is parsed or refused with the RFC's error, never a panic; a parsed
        /// request is the grant its `grant_type` names.
        #[test]
        fn any_token_form_is_parsed_or_refused(
            pairs in proptest::collection::hash_map(
                proptest::prop_oneof![
                    proptest::strategy::Just("grant_type".to_owned()),
                    proptest::strategy::Just("code".to_owned()),
                    proptest::strategy::Just("refresh_token".to_owned()),
                    proptest::strategy::Just("scope".to_owned()),
                    proptest::strategy::Just("redirect_uri".to_owned()),
                    proptest::strategy::Just("code_verifier".to_owned()),
                    "[a-z_]{1,12}",
                ],
                proptest::prop_oneof![
                    proptest::strategy::Just("authorization_code".to_owned()),
                    proptest::strategy::Just("refresh_token".to_owned()),
                    proptest::strategy::Just("client_credentials".to_owned()),
                    "\\PC{0,60}",
                ],
                0..8,
            )
        ) {
            match TokenRequest::from_form(&pairs) {
                Ok(request) => {
                    proptest::prop_assert_eq!(
                        Some(request.grant_type()),
                        pairs.get("grant_type").map(String::as_str)
                    );
                }
                Err(e) => proptest::prop_assert!(matches!(
                    e.code,
                    ErrorCode::InvalidRequest | ErrorCode::UnsupportedGrantType
                )),
            }
        }
    }
}

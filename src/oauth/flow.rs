//! The authorization state machine (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2.1–
//! §3.1.2.4): given what is known about a pending authorization request, the SSO
//! session and the client, what the request still needs — a sign-in, a host, the
//! user's consent, or nothing (a code) — or, for `prompt=none`, the error that answers
//! it. Pure: the caller reads the facts, acts on the step, and re-enters after each
//! page; every rule is here and unit-tested on a fixed clock.
//!
//! The decision has two phases because the second one may need a read the first one
//! can make unnecessary: [`sign_in_step`] needs no data beyond the session, while
//! [`consent_step`] may need the scopes the user already granted the client, which the
//! caller reads only when [`reads_granted_scopes`] says so. [`next_step`] is both in
//! order.

use super::authorize::Prompt;
use super::{ErrorCode, OAuthError};
use crate::domain::Scopes;

/// What the pending request asks for.
#[derive(Clone, Copy, Debug)]
pub struct RequestFacts<'a> {
    /// The pending request's id (the one a sign-in or a consent was made for).
    pub id: &'a str,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub scopes: &'a Scopes,
    /// The subject of the request's `id_token_hint`, once its signature is verified.
    pub hint_subject: Option<&'a str>,
}

/// Who is signed in, if anyone.
#[derive(Clone, Copy, Debug)]
pub struct SessionFacts<'a> {
    pub user_id: &'a str,
    pub host_id: &'a str,
    pub auth_time: i64,
    /// The pending request the sign-in was made for.
    pub for_request: Option<&'a str>,
}

/// What the client's registration says about sign-in and consent.
#[derive(Clone, Copy, Debug)]
pub struct ClientFacts<'a> {
    /// A client bound to a host admits sign-ins to that host only.
    pub host_id: Option<&'a str>,
    /// A first-party client skips the consent page, except for `offline_access`.
    pub skip_consent: bool,
}

impl ClientFacts<'_> {
    /// Whether the user must consent to `scope` for this client. A first-party client
    /// needs it for `offline_access` only: OpenID Connect Core §11 says the OP "MUST
    /// always obtain consent" to a refresh token that outlives the session.
    #[must_use]
    pub fn needs_consent_to(&self, scope: &str) -> bool {
        !self.skip_consent || scope == "offline_access"
    }
}

/// Everything the decision reads.
#[derive(Clone, Copy, Debug)]
pub struct Facts<'a> {
    pub request: RequestFacts<'a>,
    pub session: Option<SessionFacts<'a>>,
    pub client: ClientFacts<'a>,
    /// The user answered the consent page for this very request (after it arrived).
    pub consented_for_request: bool,
    pub now: i64,
}

/// What the request needs next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// A sign-in (again, or to the client's host).
    Login,
    /// The consent page.
    Consent,
    /// Nothing: issue the code.
    Issue,
}

/// The first phase's answer.
#[derive(Clone, Copy, Debug)]
pub enum SignIn<'a> {
    /// The user must sign in (again, or to the client's host): [`Step::Login`].
    Needed,
    /// The session answers the request; consent comes next.
    Done(SessionFacts<'a>),
}

/// Whether the request needs a sign-in first, or the session answers it.
///
/// # Errors
/// `login_required` when a sign-in is needed and `prompt=none` forbids asking.
pub fn sign_in_step<'a>(facts: &Facts<'a>) -> Result<SignIn<'a>, OAuthError> {
    match facts.session {
        Some(session) if !needs_sign_in(facts, &session) => Ok(SignIn::Done(session)),
        _ if facts.request.prompt.none => Err(OAuthError::new(
            ErrorCode::LoginRequired,
            "the user is not signed in",
        )),
        _ => Ok(SignIn::Needed),
    }
}

/// Whether the signed-in session does not answer the request.
fn needs_sign_in(facts: &Facts<'_>, session: &SessionFacts<'_>) -> bool {
    let request = &facts.request;
    // A sign-in made for this very request answers its prompt=login and max_age. Times
    // are whole seconds, so comparing them could not tell a sign-in a moment ago from
    // one made for this request.
    let signed_in_for_this = session.for_request == Some(request.id);
    if (request.prompt.login || request.prompt.select_account) && !signed_in_for_this {
        return true;
    }
    // max_age (Core §3.1.2.1): the sign-in must be recent enough; 0 asks for a fresh
    // one every time (as prompt=login).
    if request
        .max_age
        .is_some_and(|max| !signed_in_for_this && (max == 0 || facts.now - session.auth_time > max))
    {
        return true;
    }
    // The hint names another user than the one signed in.
    if request
        .hint_subject
        .is_some_and(|sub| sub != session.user_id)
    {
        return true;
    }
    // A client bound to a host needs a sign-in to that host.
    facts
        .client
        .host_id
        .is_some_and(|host| host != session.host_id)
}

/// Whether [`consent_step`] will look at the scopes already granted: only when some
/// requested scope needs consent from this client. When it is false the caller need
/// not read them.
#[must_use]
pub fn reads_granted_scopes(facts: &Facts<'_>) -> bool {
    facts
        .request
        .scopes
        .iter()
        .any(|s| facts.client.needs_consent_to(s))
}

/// Once signed in: whether the request needs the consent page, or a code.
/// `granted` is what the user has granted the client so far (any value when
/// [`reads_granted_scopes`] is false).
///
/// # Errors
/// `consent_required` when consent is needed and `prompt=none` forbids asking.
pub fn consent_step(facts: &Facts<'_>, granted: &Scopes) -> Result<Step, OAuthError> {
    let consented = facts
        .request
        .scopes
        .iter()
        .filter(|s| facts.client.needs_consent_to(s))
        .all(|s| granted.contains(s));
    // prompt=consent is answered only by a consent given after this request arrived.
    if consented && (!facts.request.prompt.consent || facts.consented_for_request) {
        return Ok(Step::Issue);
    }
    if facts.request.prompt.none {
        return Err(OAuthError::new(
            ErrorCode::ConsentRequired,
            "the user has not consented",
        ));
    }
    Ok(Step::Consent)
}

/// Both phases in order.
///
/// # Errors
/// `login_required` or `consent_required` for `prompt=none`.
pub fn next_step(facts: &Facts<'_>, granted: &Scopes) -> Result<Step, OAuthError> {
    match sign_in_step(facts)? {
        SignIn::Needed => Ok(Step::Login),
        SignIn::Done(_) => consent_step(facts, granted),
    }
}

/// Which host a verified user signs in to.
#[derive(Debug, PartialEq, Eq)]
pub enum HostChoice<H> {
    /// The client is bound to a host the user does not belong to (or the user has no
    /// host at all): the sign-in is refused as a wrong password would be.
    NotMember,
    /// One host: signed in to it at once.
    One(H),
    /// Several: the user chooses on the next page.
    Choose(Vec<H>),
}

/// The host step after a verified password: a client bound to a host admits its
/// members only; otherwise every host of the user is a choice.
pub fn choose_host<H>(
    user_hosts: Vec<H>,
    client_host: Option<&str>,
    id: impl Fn(&H) -> &str,
) -> HostChoice<H> {
    let mut hosts: Vec<H> = user_hosts
        .into_iter()
        .filter(|h| client_host.is_none_or(|wanted| wanted == id(h)))
        .collect();
    match hosts.len() {
        0 => HostChoice::NotMember,
        1 => hosts.pop().map_or(HostChoice::NotMember, HostChoice::One),
        _ => HostChoice::Choose(hosts),
    }
}

#[cfg(test)]
#[path = "flow_tests.rs"]
mod tests;

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

/// Every branch of the state machine, on a fixed clock.
#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;
    const REQUEST: &str = "req-1";

    fn scopes(text: &str) -> Scopes {
        Scopes::parse(text).unwrap_or_default()
    }

    /// A request for `openid profile` without prompt, max_age or hint, from a third-party
    /// client bound to no host, by a user signed in to `h1` a minute ago for another
    /// request, who consented to nothing yet.
    struct Case {
        prompt: Prompt,
        max_age: Option<i64>,
        scopes: Scopes,
        hint_subject: Option<&'static str>,
        session: Option<(&'static str, &'static str, i64, Option<&'static str>)>,
        client_host: Option<&'static str>,
        skip_consent: bool,
        consented_for_request: bool,
        granted: Scopes,
    }

    impl Default for Case {
        fn default() -> Self {
            Self {
                prompt: Prompt::default(),
                max_age: None,
                scopes: scopes("openid profile"),
                hint_subject: None,
                session: Some(("u1", "h1", NOW - 60, Some("earlier"))),
                client_host: None,
                skip_consent: false,
                consented_for_request: false,
                granted: Scopes::default(),
            }
        }
    }

    impl Case {
        fn consented(self) -> Self {
            Self {
                granted: scopes("openid profile"),
                ..self
            }
        }

        fn step(&self) -> Result<Step, ErrorCode> {
            let facts = Facts {
                request: RequestFacts {
                    id: REQUEST,
                    prompt: self.prompt,
                    max_age: self.max_age,
                    scopes: &self.scopes,
                    hint_subject: self.hint_subject,
                },
                session: self
                    .session
                    .map(|(user_id, host_id, auth_time, for_request)| SessionFacts {
                        user_id,
                        host_id,
                        auth_time,
                        for_request,
                    }),
                client: ClientFacts {
                    host_id: self.client_host,
                    skip_consent: self.skip_consent,
                },
                consented_for_request: self.consented_for_request,
                now: NOW,
            };
            next_step(&facts, &self.granted).map_err(|e| e.code)
        }
    }

    fn prompt(f: impl FnOnce(&mut Prompt)) -> Prompt {
        let mut p = Prompt::default();
        f(&mut p);
        p
    }

    #[test]
    fn no_session_needs_a_sign_in() {
        let case = Case {
            session: None,
            ..Case::default()
        };
        assert_eq!(case.step(), Ok(Step::Login));
    }

    #[test]
    fn no_session_with_prompt_none_is_login_required() {
        let case = Case {
            session: None,
            prompt: prompt(|p| p.none = true),
            ..Case::default()
        };
        assert_eq!(case.step(), Err(ErrorCode::LoginRequired));
    }

    #[test]
    fn a_signed_in_user_who_consented_gets_a_code() {
        assert_eq!(Case::default().consented().step(), Ok(Step::Issue));
    }

    #[test]
    fn a_signed_in_user_who_has_not_consented_sees_the_consent_page() {
        assert_eq!(Case::default().step(), Ok(Step::Consent));
    }

    #[test]
    fn consent_to_part_of_the_scopes_is_not_enough() {
        let case = Case {
            granted: scopes("openid"),
            ..Case::default()
        };
        assert_eq!(case.step(), Ok(Step::Consent));
    }

    #[test]
    fn missing_consent_with_prompt_none_is_consent_required() {
        let case = Case {
            prompt: prompt(|p| p.none = true),
            ..Case::default()
        };
        assert_eq!(case.step(), Err(ErrorCode::ConsentRequired));
    }

    #[test]
    fn prompt_none_with_session_and_consent_gets_a_code() {
        let case = Case {
            prompt: prompt(|p| p.none = true),
            ..Case::default()
        }
        .consented();
        assert_eq!(case.step(), Ok(Step::Issue));
    }

    #[test]
    fn prompt_login_needs_a_sign_in_made_for_this_request() {
        let earlier = Case {
            prompt: prompt(|p| p.login = true),
            ..Case::default()
        }
        .consented();
        assert_eq!(earlier.step(), Ok(Step::Login));
        // Even a sign-in this very second, if it was made for another request.
        let just_now = Case {
            session: Some(("u1", "h1", NOW, Some("other"))),
            ..earlier
        };
        assert_eq!(just_now.step(), Ok(Step::Login));
        let for_this = Case {
            session: Some(("u1", "h1", NOW - 1, Some(REQUEST))),
            ..just_now
        };
        assert_eq!(for_this.step(), Ok(Step::Issue));
    }

    #[test]
    fn prompt_select_account_needs_a_sign_in_made_for_this_request() {
        let case = Case {
            prompt: prompt(|p| p.select_account = true),
            ..Case::default()
        }
        .consented();
        assert_eq!(case.step(), Ok(Step::Login));
        let for_this = Case {
            session: Some(("u1", "h1", NOW - 600, Some(REQUEST))),
            ..case
        };
        assert_eq!(for_this.step(), Ok(Step::Issue));
    }

    #[test]
    fn prompt_login_with_prompt_none_is_login_required() {
        // validate() refuses the combination; the machine still never shows a page.
        let case = Case {
            prompt: prompt(|p| {
                p.login = true;
                p.none = true;
            }),
            ..Case::default()
        };
        assert_eq!(case.step(), Err(ErrorCode::LoginRequired));
    }

    #[test]
    fn max_age_accepts_a_sign_in_recent_enough_and_refuses_an_older_one() {
        let recent = Case {
            max_age: Some(60),
            ..Case::default()
        }
        .consented();
        assert_eq!(
            recent.step(),
            Ok(Step::Issue),
            "exactly max_age seconds ago"
        );
        let old = Case {
            max_age: Some(59),
            ..recent
        };
        assert_eq!(old.step(), Ok(Step::Login));
        let for_this = Case {
            session: Some(("u1", "h1", NOW - 600, Some(REQUEST))),
            ..old
        };
        assert_eq!(
            for_this.step(),
            Ok(Step::Issue),
            "a sign-in made for this request answers max_age"
        );
    }

    #[test]
    fn max_age_zero_needs_a_sign_in_for_this_request_even_one_this_second() {
        let case = Case {
            max_age: Some(0),
            session: Some(("u1", "h1", NOW, Some("other"))),
            ..Case::default()
        }
        .consented();
        assert_eq!(case.step(), Ok(Step::Login));
        let for_this = Case {
            session: Some(("u1", "h1", NOW, Some(REQUEST))),
            ..case
        };
        assert_eq!(for_this.step(), Ok(Step::Issue));
    }

    #[test]
    fn an_old_sign_in_with_prompt_none_and_max_age_is_login_required() {
        let case = Case {
            max_age: Some(10),
            prompt: prompt(|p| p.none = true),
            ..Case::default()
        }
        .consented();
        assert_eq!(case.step(), Err(ErrorCode::LoginRequired));
    }

    #[test]
    fn a_hint_for_another_user_needs_a_sign_in() {
        let other = Case {
            hint_subject: Some("u2"),
            ..Case::default()
        }
        .consented();
        assert_eq!(other.step(), Ok(Step::Login));
        let same = Case {
            hint_subject: Some("u1"),
            ..other
        };
        assert_eq!(same.step(), Ok(Step::Issue));
    }

    #[test]
    fn a_hint_for_another_user_with_prompt_none_is_login_required() {
        let case = Case {
            hint_subject: Some("u2"),
            prompt: prompt(|p| p.none = true),
            ..Case::default()
        }
        .consented();
        assert_eq!(case.step(), Err(ErrorCode::LoginRequired));
    }

    #[test]
    fn a_client_bound_to_another_host_needs_a_sign_in_to_its_host() {
        let other = Case {
            client_host: Some("h2"),
            ..Case::default()
        }
        .consented();
        assert_eq!(other.step(), Ok(Step::Login));
        let same = Case {
            client_host: Some("h1"),
            ..other
        };
        assert_eq!(same.step(), Ok(Step::Issue));
    }

    #[test]
    fn a_first_party_client_skips_consent() {
        let case = Case {
            skip_consent: true,
            ..Case::default()
        };
        assert_eq!(case.step(), Ok(Step::Issue));
    }

    #[test]
    fn a_first_party_client_still_needs_consent_to_offline_access() {
        let case = Case {
            skip_consent: true,
            scopes: scopes("openid offline_access"),
            ..Case::default()
        };
        assert_eq!(case.step(), Ok(Step::Consent));
        let granted = Case {
            granted: scopes("offline_access"),
            ..case
        };
        assert_eq!(granted.step(), Ok(Step::Issue));
    }

    #[test]
    fn a_first_party_client_with_prompt_consent_shows_the_page_once() {
        let case = Case {
            skip_consent: true,
            prompt: prompt(|p| p.consent = true),
            ..Case::default()
        };
        assert_eq!(case.step(), Ok(Step::Consent));
        let answered = Case {
            consented_for_request: true,
            ..case
        };
        assert_eq!(answered.step(), Ok(Step::Issue));
    }

    #[test]
    fn prompt_consent_is_answered_only_by_a_consent_for_this_request() {
        let case = Case {
            prompt: prompt(|p| p.consent = true),
            ..Case::default()
        }
        .consented();
        assert_eq!(case.step(), Ok(Step::Consent));
        let answered = Case {
            consented_for_request: true,
            ..case
        };
        assert_eq!(answered.step(), Ok(Step::Issue));
    }

    #[test]
    fn a_consent_for_this_request_does_not_stand_for_scopes_not_granted() {
        let case = Case {
            prompt: prompt(|p| p.consent = true),
            consented_for_request: true,
            granted: scopes("openid"),
            ..Case::default()
        };
        assert_eq!(case.step(), Ok(Step::Consent));
    }

    #[test]
    fn granted_scopes_are_read_only_when_some_scope_needs_consent() {
        let facts = |skip_consent, requested: &'static str| {
            let scopes = Box::leak(Box::new(scopes(requested)));
            Facts {
                request: RequestFacts {
                    id: REQUEST,
                    prompt: Prompt::default(),
                    max_age: None,
                    scopes,
                    hint_subject: None,
                },
                session: None,
                client: ClientFacts {
                    host_id: None,
                    skip_consent,
                },
                consented_for_request: false,
                now: NOW,
            }
        };
        assert!(reads_granted_scopes(&facts(false, "openid")));
        assert!(!reads_granted_scopes(&facts(true, "openid profile")));
        assert!(reads_granted_scopes(&facts(true, "openid offline_access")));
    }

    #[test]
    fn the_host_is_the_clients_the_only_one_or_a_choice() {
        fn id<'a>(h: &'a &str) -> &'a str {
            h
        }
        assert_eq!(choose_host(vec!["h1"], None, id), HostChoice::One("h1"));
        assert_eq!(
            choose_host(vec!["h1", "h2"], None, id),
            HostChoice::Choose(vec!["h1", "h2"])
        );
        assert_eq!(
            choose_host(vec!["h1", "h2"], Some("h2"), id),
            HostChoice::One("h2")
        );
        assert_eq!(
            choose_host(vec!["h1"], Some("h2"), id),
            HostChoice::NotMember
        );
        assert_eq!(
            choose_host(Vec::<&str>::new(), None, id),
            HostChoice::NotMember
        );
    }
}

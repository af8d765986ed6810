//! Every branch of the authorization state machine, on a fixed clock.

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

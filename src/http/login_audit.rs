//! The audit trail's sign-in entries (issue 13): every sign-in that succeeds, and every
//! one refused (wrong credentials, a directory's refusal, the directory down, not a
//! member of the client's host), with the method, the client and the client address.
//! Throttled attempts are not recorded one by one: they cost no password check, and a
//! flood of them must not turn into a flood of writes; the throttle counts them.

use std::net::IpAddr;

use serde_json::json;

use super::error::PageError;
use super::state::AppState;
use crate::authn::Failure;
use crate::domain::audit::{actions, AuditContext, AuditEvent, Via};

/// Who attempts a sign-in, and through which client.
pub(super) struct Attempted<'a> {
    pub address: IpAddr,
    pub client_id: Option<&'a str>,
    pub client_host: Option<&'a str>,
}

fn context(address: IpAddr, user_id: Option<&str>, login: Option<&str>) -> AuditContext {
    AuditContext {
        actor_id: user_id.map(str::to_owned),
        actor_name: login.map(str::to_owned),
        via: Some(Via::SignIn),
        request_id: super::request_id::current(),
        client_address: Some(address.to_string()),
    }
}

/// The reason of a refusal, as the trail names it.
fn reason(failure: Failure) -> Option<String> {
    match failure {
        Failure::Refused(r) => Some(format!("{r:?}")),
        Failure::DirectoryUnavailable => Some("DirectoryUnavailable".to_owned()),
        Failure::Throttled { .. } => None,
    }
}

/// Records a refused sign-in of `login` (which may name no user).
pub(super) async fn failed(
    state: &AppState,
    attempt: &Attempted<'_>,
    login: &str,
    user_id: Option<&str>,
    failure: Failure,
) -> Result<(), PageError> {
    let Some(reason) = reason(failure) else {
        return Ok(());
    };
    let mut event = AuditEvent::new(actions::SIGN_IN_FAILED).detail(json!({
        "login": login,
        "reason": reason,
        "client_id": attempt.client_id,
    }));
    if let Some(host) = attempt.client_host {
        event = event.host(host);
    }
    if let Some(user) = user_id {
        event = event.target("user", user);
    }
    let audit = context(attempt.address, user_id, Some(login));
    state
        .store
        .record_audit(&audit, &event, state.now())
        .await?;
    Ok(())
}

/// Records a completed sign-in of `user_id` to `host_id`.
pub(super) async fn succeeded(
    state: &AppState,
    address: IpAddr,
    client_id: Option<&str>,
    user_id: &str,
    host_id: &str,
    amr: &[String],
) -> Result<(), PageError> {
    let event = AuditEvent::new(actions::SIGN_IN_SUCCEEDED)
        .host(host_id)
        .target("user", user_id)
        .detail(json!({ "amr": amr, "client_id": client_id }));
    let audit = context(address, Some(user_id), None);
    state
        .store
        .record_audit(&audit, &event, state.now())
        .await?;
    Ok(())
}

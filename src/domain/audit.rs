//! The audit trail's vocabulary (issue 13; seed 004: every change is auditable): who
//! acted ([`AuditContext`]: the actor, by which channel, the request id and client
//! address) and what happened ([`AuditEvent`]: host, action, target, the state before
//! and after, details). The store writes an event in the transaction of the change it
//! records, so an entry exists exactly when the change does. Entries are never changed
//! or deleted except by the retention purge.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The channel an actor used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// The management API, with the caller's bearer token.
    Api,
    /// The `tessera` command line, run by an operator on a node.
    Cli,
    /// An import document (`tessera import`, or development mode's demo data).
    Import,
    /// A sign-in page or grant: the user acting for themselves, or someone trying to.
    SignIn,
    /// Tessera itself: key rotation, directory provisioning, the retention purge.
    System,
    /// An OAuth client at the token, revocation or introspection endpoint.
    Client,
}

impl Via {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Cli => "cli",
            Self::Import => "import",
            Self::SignIn => "sign_in",
            Self::System => "system",
            Self::Client => "client",
        }
    }

    /// The channel named by [`Via::as_str`].
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Every channel.
    pub const ALL: [Via; 6] = [
        Self::Api,
        Self::Cli,
        Self::Import,
        Self::SignIn,
        Self::System,
        Self::Client,
    ];
}

/// Who acts, through what, in which request. Built once per request (or command) and
/// handed to every store write that must be audited.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditContext {
    /// The acting user's id, when a user acts (the API's caller, the user signing in).
    pub actor_id: Option<String>,
    /// A readable name for the actor: the caller's email, the operator's OS account for
    /// the CLI, the client for a grant.
    pub actor_name: Option<String>,
    pub via: Option<Via>,
    /// The request's `x-request-id`, linking the entry to the log lines of its request.
    pub request_id: Option<String>,
    pub client_address: Option<String>,
}

impl AuditContext {
    /// A caller of the management API.
    #[must_use]
    pub fn api(user_id: &str, request_id: Option<String>, client_address: Option<String>) -> Self {
        Self {
            actor_id: Some(user_id.to_owned()),
            actor_name: None,
            via: Some(Via::Api),
            request_id,
            client_address,
        }
    }

    /// An operator at the command line, named by their OS account when it is known.
    #[must_use]
    pub fn cli(operator: Option<String>) -> Self {
        Self {
            actor_name: operator,
            via: Some(Via::Cli),
            ..Self::default()
        }
    }

    /// An import document.
    #[must_use]
    pub fn import(operator: Option<String>) -> Self {
        Self {
            actor_name: operator,
            via: Some(Via::Import),
            ..Self::default()
        }
    }

    /// An OAuth client, authenticated at one of the machine endpoints.
    #[must_use]
    pub fn client(client_id: &str, request_id: Option<String>) -> Self {
        Self {
            actor_name: Some(client_id.to_owned()),
            via: Some(Via::Client),
            request_id,
            ..Self::default()
        }
    }

    /// Tessera itself.
    #[must_use]
    pub fn system() -> Self {
        Self {
            via: Some(Via::System),
            ..Self::default()
        }
    }

    /// The channel, `system` when none was said.
    #[must_use]
    pub fn via(&self) -> Via {
        self.via.unwrap_or(Via::System)
    }
}

/// What an entry is about: a kind (`user`, `role`, `client`, `host`, `key`, …) and an
/// id of that kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub kind: String,
    pub id: String,
}

impl Target {
    #[must_use]
    pub fn new(kind: &str, id: &str) -> Self {
        Self {
            kind: kind.to_owned(),
            id: id.to_owned(),
        }
    }
}

/// One thing that happened. `action` is a dotted name from [`actions`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuditEvent {
    /// The host the event belongs to; none for events of Tessera as a whole (keys).
    pub host_id: Option<String>,
    pub action: &'static str,
    pub target: Option<Target>,
    /// The target's state before the change (none for a creation).
    pub before: Option<Value>,
    /// The target's state after the change (none for a deletion).
    pub after: Option<Value>,
    /// Facts that are neither: a sign-in's method, client and failure reason.
    pub detail: Option<Value>,
}

impl AuditEvent {
    #[must_use]
    pub fn new(action: &'static str) -> Self {
        Self {
            action,
            ..Self::default()
        }
    }

    #[must_use]
    pub fn host(mut self, host_id: &str) -> Self {
        self.host_id = Some(host_id.to_owned());
        self
    }

    #[must_use]
    pub fn target(mut self, kind: &str, id: &str) -> Self {
        self.target = Some(Target::new(kind, id));
        self
    }

    /// The state before, serialised; a value that cannot be serialised is left out
    /// rather than failing the change it records.
    #[must_use]
    pub fn before<T: Serialize>(mut self, value: &T) -> Self {
        self.before = serde_json::to_value(value).ok();
        self
    }

    #[must_use]
    pub fn after<T: Serialize>(mut self, value: &T) -> Self {
        self.after = serde_json::to_value(value).ok();
        self
    }

    #[must_use]
    pub fn detail(mut self, value: Value) -> Self {
        self.detail = Some(value);
        self
    }
}

/// The actions the trail records, as stored and filtered on. Past tense: an entry says
/// what happened.
pub mod actions {
    pub const SIGN_IN_SUCCEEDED: &str = "sign_in.succeeded";
    pub const SIGN_IN_FAILED: &str = "sign_in.failed";
    pub const USER_CREATED: &str = "user.created";
    pub const USER_UPDATED: &str = "user.updated";
    pub const USER_STATUS_CHANGED: &str = "user.status_changed";
    pub const USER_DELETED: &str = "user.deleted";
    pub const USER_SYSTEM_ADMIN_CHANGED: &str = "user.system_admin_changed";
    pub const USER_UNLOCKED: &str = "user.throttle_cleared";
    pub const USER_ROLE_ADDED: &str = "user.role_added";
    pub const USER_ROLE_ENDED: &str = "user.role_ended";
    pub const USER_GROUP_ADDED: &str = "user.group_added";
    pub const USER_GROUP_ENDED: &str = "user.group_ended";
    pub const USER_ATTRIBUTE_ADDED: &str = "user.attribute_added";
    pub const USER_ATTRIBUTE_ENDED: &str = "user.attribute_ended";
    pub const USER_POSITION_ADDED: &str = "user.position_added";
    pub const USER_POSITION_ENDED: &str = "user.position_ended";
    pub const HOST_CREATED: &str = "host.created";
    pub const HOST_UPDATED: &str = "host.updated";
    pub const CLIENT_CREATED: &str = "client.created";
    pub const CLIENT_UPDATED: &str = "client.updated";
    pub const CLIENT_DELETED: &str = "client.deleted";
    pub const CLIENT_SECRET_ROTATED: &str = "client.secret_rotated";
    pub const ROLE_CREATED: &str = "role.created";
    pub const ROLE_UPDATED: &str = "role.updated";
    pub const ROLE_DELETED: &str = "role.deleted";
    pub const GROUP_CREATED: &str = "group.created";
    pub const GROUP_UPDATED: &str = "group.updated";
    pub const GROUP_DELETED: &str = "group.deleted";
    pub const POSITION_CREATED: &str = "position.created";
    pub const POSITION_UPDATED: &str = "position.updated";
    pub const POSITION_DELETED: &str = "position.deleted";
    pub const ATTRIBUTE_CREATED: &str = "attribute.created";
    pub const ATTRIBUTE_UPDATED: &str = "attribute.updated";
    pub const ATTRIBUTE_DELETED: &str = "attribute.deleted";
    pub const ENDPOINT_CREATED: &str = "endpoint.created";
    pub const ENDPOINT_UPDATED: &str = "endpoint.updated";
    pub const ENDPOINT_DELETED: &str = "endpoint.deleted";
    pub const PERMISSION_GRANTED: &str = "permission.granted";
    pub const PERMISSION_REVOKED: &str = "permission.revoked";
    pub const IMPORT_APPLIED: &str = "import.applied";
    pub const KEY_CREATED: &str = "key.created";
    pub const KEY_IMPORTED: &str = "key.imported";
    pub const KEY_STATE_CHANGED: &str = "key.state_changed";
    pub const KEY_REMOVED: &str = "key.removed";
    /// An API token made (personal or system); the entry never holds its secret.
    pub const TOKEN_CREATED: &str = "token.created";
    pub const TOKEN_REVOKED: &str = "token.revoked";
    pub const TOKEN_FAMILY_REVOKED: &str = "token.family_revoked";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_channel_reads_back_from_its_name() {
        for via in Via::ALL {
            assert_eq!(Via::parse(via.as_str()), Some(via));
        }
        assert_eq!(Via::parse("web"), None);
    }

    #[test]
    fn an_event_keeps_the_states_it_is_given() {
        let e = AuditEvent::new(actions::USER_STATUS_CHANGED)
            .host("h1")
            .target("user", "u1")
            .before(&serde_json::json!({"locked": false}))
            .after(&serde_json::json!({"locked": true}));
        assert_eq!(e.host_id.as_deref(), Some("h1"));
        assert_eq!(e.target, Some(Target::new("user", "u1")));
        assert_eq!(e.before, Some(serde_json::json!({"locked": false})));
        assert_eq!(e.after, Some(serde_json::json!({"locked": true})));
    }
}

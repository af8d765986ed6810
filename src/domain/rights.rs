//! Who may do what in the management API: a [`Principal`] (the caller, the host the
//! request acts in, their right there) and the one function, [`authorize`], that
//! decides every [`Action`]. Handlers and store functions never check rights
//! themselves (issue 13: "authorization in one place").
//!
//! Rights form a ladder (seed 001: Admin > Manager > User, each including the rights
//! below it), topped by the system admin, who administers every host.

/// A right, from least to most: each includes every right below it, so rights compare
/// by their place on the ladder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Right {
    /// Any signed-in user of the host: their own profile.
    User,
    /// Reads the host's users and changes their status (seed 001's Manager).
    Manager,
    /// Changes roles, deletes users, manages clients (seed 001's Admin).
    HostAdmin,
    /// Everything above in every host, and the hosts themselves.
    SystemAdmin,
}

impl Right {
    /// Every right, from least to most.
    pub const ALL: [Right; 4] = [
        Right::User,
        Right::Manager,
        Right::HostAdmin,
        Right::SystemAdmin,
    ];

    /// The right's name on the wire.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Manager => "manager",
            Self::HostAdmin => "host_admin",
            Self::SystemAdmin => "system_admin",
        }
    }

    /// This right and every right it includes, from least to most.
    pub fn included(self) -> impl Iterator<Item = Right> {
        Self::ALL.into_iter().filter(move |r| *r <= self)
    }

    /// The right a member of a host holds from their roles in effect there and the
    /// system-admin flag: the role `admin` makes a host admin, `manager` a manager
    /// (role names as seed 001 spells them); the highest wins.
    pub fn from_roles<'a>(system_admin: bool, roles: impl IntoIterator<Item = &'a str>) -> Right {
        if system_admin {
            return Self::SystemAdmin;
        }
        roles
            .into_iter()
            .map(|role| match role {
                HOST_ADMIN_ROLE => Self::HostAdmin,
                MANAGER_ROLE => Self::Manager,
                _ => Self::User,
            })
            .max()
            .unwrap_or(Self::User)
    }
}

impl std::fmt::Display for Right {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The role whose holders administer their host.
pub const HOST_ADMIN_ROLE: &str = "admin";
/// The role whose holders manage their host's users.
pub const MANAGER_ROLE: &str = "manager";

/// Something a caller asks to do. Each needs one right (seed 001's list).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Read one's own profile (`/me`).
    ReadSelf,
    /// List and read the host's users.
    ReadUsers,
    /// Lock, unlock, activate, deactivate a user.
    ChangeUserStatus,
    /// Read the host's roles, groups, positions, attributes and API endpoints.
    ReadCatalog,
    /// Create a user, change a user's profile.
    ManageUsers,
    /// Give or take a role, a group, a position or an attribute.
    ChangeUserRoles,
    DeleteUser,
    /// Create, change and delete roles, groups, positions, attributes, API endpoints
    /// and their permissions.
    ManageCatalog,
    ManageClients,
    /// Read the host's audit trail.
    ReadAudit,
    ManageHosts,
    /// Make, list and revoke one's own personal API tokens.
    ManageOwnTokens,
    /// Make system API tokens, and list and revoke every API token of the host.
    ManageHostTokens,
}

impl Action {
    /// The least right that allows the action.
    #[must_use]
    pub fn required(self) -> Right {
        match self {
            Self::ReadSelf | Self::ManageOwnTokens => Right::User,
            Self::ReadUsers | Self::ChangeUserStatus | Self::ReadCatalog => Right::Manager,
            Self::ManageUsers
            | Self::ChangeUserRoles
            | Self::DeleteUser
            | Self::ManageCatalog
            | Self::ManageClients
            | Self::ReadAudit
            | Self::ManageHostTokens => Right::HostAdmin,
            Self::ManageHosts => Right::SystemAdmin,
        }
    }
}

/// The caller of a request: who they are, the host the request acts in (the token's
/// `host`), and their right there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub user_id: String,
    pub host_id: String,
    pub right: Right,
}

impl Principal {
    /// Every right the principal holds, from least to most.
    pub fn rights(&self) -> impl Iterator<Item = Right> {
        self.right.included()
    }
}

/// Why an action is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The target lies in a host the caller cannot see. Answered as if it did not
    /// exist, so that guessing ids tells nothing (issue 13).
    #[error("not found")]
    NotFound,
    /// The caller sees the target but lacks the right the action needs.
    #[error("this needs the {missing} right")]
    Forbidden { missing: Right },
}

/// Decides whether `principal` may do `action` on something in `target_host`. A target
/// in another host is [`Refusal::NotFound`] unless the caller is a system admin, whose
/// rights reach every host; then the action's right decides.
///
/// # Errors
/// The refusal, when the action is not allowed.
pub fn authorize(principal: &Principal, action: Action, target_host: &str) -> Result<(), Refusal> {
    if target_host != principal.host_id && principal.right < Right::SystemAdmin {
        return Err(Refusal::NotFound);
    }
    let missing = action.required();
    if principal.right < missing {
        return Err(Refusal::Forbidden { missing });
    }
    Ok(())
}

/// Decides an account-wide change (locking the account, its verification, its
/// profile, deleting it) of a user who belongs to `user_hosts`. Such a change reaches
/// every host of the user, so beyond [`authorize`] in the caller's host, a user who
/// also belongs to another host may only be changed so by a system admin: one host's
/// administrators cannot lock a person out of another tenant.
///
/// # Errors
/// The refusal, when the action is not allowed.
pub fn authorize_account_change(
    principal: &Principal,
    action: Action,
    target_host: &str,
    user_hosts: &[String],
) -> Result<(), Refusal> {
    authorize(principal, action, target_host)?;
    if principal.right < Right::SystemAdmin && user_hosts.iter().any(|h| *h != target_host) {
        return Err(Refusal::Forbidden {
            missing: Right::SystemAdmin,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVERY_ACTION: [Action; 13] = [
        Action::ReadSelf,
        Action::ReadUsers,
        Action::ChangeUserStatus,
        Action::ReadCatalog,
        Action::ManageUsers,
        Action::ChangeUserRoles,
        Action::DeleteUser,
        Action::ManageCatalog,
        Action::ManageClients,
        Action::ReadAudit,
        Action::ManageHosts,
        Action::ManageOwnTokens,
        Action::ManageHostTokens,
    ];

    fn principal(right: Right) -> Principal {
        Principal {
            user_id: "u1".into(),
            host_id: "h1".into(),
            right,
        }
    }

    fn allowed(right: Right) -> Vec<Action> {
        EVERY_ACTION
            .into_iter()
            .filter(|a| authorize(&principal(right), *a, "h1").is_ok())
            .collect()
    }

    #[test]
    fn each_right_allows_exactly_the_actions_of_seed_001() {
        use Action::*;
        assert_eq!(allowed(Right::User), [ReadSelf, ManageOwnTokens]);
        assert_eq!(
            allowed(Right::Manager),
            [
                ReadSelf,
                ReadUsers,
                ChangeUserStatus,
                ReadCatalog,
                ManageOwnTokens
            ]
        );
        assert_eq!(
            allowed(Right::HostAdmin),
            [
                ReadSelf,
                ReadUsers,
                ChangeUserStatus,
                ReadCatalog,
                ManageUsers,
                ChangeUserRoles,
                DeleteUser,
                ManageCatalog,
                ManageClients,
                ReadAudit,
                ManageOwnTokens,
                ManageHostTokens
            ]
        );
        assert_eq!(allowed(Right::SystemAdmin), EVERY_ACTION);
    }

    #[test]
    fn a_refusal_names_the_missing_right() {
        assert_eq!(
            authorize(&principal(Right::User), Action::ReadUsers, "h1"),
            Err(Refusal::Forbidden {
                missing: Right::Manager
            })
        );
        assert_eq!(
            authorize(&principal(Right::Manager), Action::DeleteUser, "h1"),
            Err(Refusal::Forbidden {
                missing: Right::HostAdmin
            })
        );
        assert_eq!(
            authorize(&principal(Right::HostAdmin), Action::ManageHosts, "h1"),
            Err(Refusal::Forbidden {
                missing: Right::SystemAdmin
            })
        );
    }

    #[test]
    fn a_target_in_another_host_is_not_found_even_for_a_host_admin() {
        for right in [Right::User, Right::Manager, Right::HostAdmin] {
            for action in EVERY_ACTION {
                assert_eq!(
                    authorize(&principal(right), action, "h2"),
                    Err(Refusal::NotFound),
                    "{right} {action:?}"
                );
            }
        }
    }

    #[test]
    fn a_system_admin_acts_in_every_host() {
        for action in EVERY_ACTION {
            assert_eq!(
                authorize(&principal(Right::SystemAdmin), action, "h2"),
                Ok(())
            );
        }
    }

    #[test]
    fn an_account_shared_with_another_host_is_changed_by_a_system_admin_only() {
        let alone = ["h1".to_owned()];
        let shared = ["h1".to_owned(), "h2".to_owned()];
        let manager = principal(Right::Manager);
        let action = Action::ChangeUserStatus;
        assert_eq!(
            authorize_account_change(&manager, action, "h1", &alone),
            Ok(())
        );
        assert_eq!(
            authorize_account_change(&principal(Right::HostAdmin), action, "h1", &shared),
            Err(Refusal::Forbidden {
                missing: Right::SystemAdmin
            })
        );
        assert_eq!(
            authorize_account_change(&principal(Right::SystemAdmin), action, "h1", &shared),
            Ok(())
        );
        // The host's own rule still comes first.
        assert_eq!(
            authorize_account_change(&principal(Right::User), action, "h1", &alone),
            Err(Refusal::Forbidden {
                missing: Right::Manager
            })
        );
    }

    #[test]
    fn roles_map_to_the_highest_right_they_give() {
        assert_eq!(Right::from_roles(false, []), Right::User);
        assert_eq!(Right::from_roles(false, ["staff", "auditor"]), Right::User);
        assert_eq!(Right::from_roles(false, ["manager"]), Right::Manager);
        assert_eq!(
            Right::from_roles(false, ["manager", "admin", "staff"]),
            Right::HostAdmin
        );
        assert_eq!(Right::from_roles(true, []), Right::SystemAdmin);
        // Role names are exact: seed 001's lower-case names, nothing looser.
        assert_eq!(Right::from_roles(false, ["Admin"]), Right::User);
    }

    #[test]
    fn a_right_includes_those_below_it() {
        assert_eq!(
            Right::HostAdmin.included().collect::<Vec<_>>(),
            [Right::User, Right::Manager, Right::HostAdmin]
        );
        assert_eq!(Right::User.included().collect::<Vec<_>>(), [Right::User]);
    }
}

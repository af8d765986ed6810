//! A host's directory settings, from the configuration file (`[[directories]]`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Which kind of server: it decides the default filter and attributes, how nested
/// groups resolve, and how a refused bind is explained.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DirectoryKind {
    /// Active Directory (or Samba as a DC): `sAMAccountName`/UPN, the in-chain matching
    /// rule for nested groups, bind sub-codes in the diagnostic text.
    ActiveDirectory,
    /// A generic LDAP server such as OpenLDAP: `uid`/`mail`, nested groups expanded by
    /// Tessera, the password-policy control for refused binds.
    Ldap,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectorySettings {
    /// The host (id or domain) whose employees sign in with this directory.
    pub host: String,
    #[serde(default = "default_kind")]
    pub kind: DirectoryKind,
    /// Servers, tried in order: `ldaps://…`, or `ldap://…` with `starttls = true`.
    pub urls: Vec<String>,
    #[serde(default)]
    pub starttls: bool,
    /// PEM file of the CA that signed the servers' certificates.
    pub ca_file: Option<PathBuf>,
    /// Allow `ldap://` without StartTLS: passwords cross the network in clear. Only for
    /// tests and closed networks; Tessera warns at start.
    #[serde(default)]
    pub allow_plain: bool,
    /// The service account that searches for users.
    pub bind_dn: String,
    /// The environment variable that holds the service account's password…
    pub bind_password_env: Option<String>,
    /// …or the file that does (its first line).
    pub bind_password_file: Option<PathBuf>,
    /// Where users are searched (subtree).
    pub user_base: String,
    /// The search filter; `{login}` is replaced by the escaped login (RFC 4515).
    /// Default for AD: `sAMAccountName`, `userPrincipalName` or `mail`; for LDAP: `uid`
    /// or `mail`.
    pub user_filter: Option<String>,
    /// Where groups are searched (default: `user_base`).
    pub group_base: Option<String>,
    /// Seconds to connect to one server before trying the next.
    #[serde(default = "five")]
    pub connect_timeout: u64,
    /// Seconds one operation (bind, search) may take.
    #[serde(default = "five")]
    pub operation_timeout: u64,
    /// Service connections kept open.
    #[serde(default = "four")]
    pub pool_size: usize,
    #[serde(default)]
    pub attributes: AttributeNames,
    /// Directory groups (by DN or name) mapped to Tessera roles and groups.
    #[serde(default)]
    pub group_map: Vec<GroupMapping>,
    /// Employees may also sign in with a password stored in Tessera.
    #[serde(default)]
    pub employees_may_use_local_passwords: bool,
    /// Customers may sign in through the directory too.
    #[serde(default)]
    pub customers_may_use_directory: bool,
}

fn default_kind() -> DirectoryKind {
    DirectoryKind::ActiveDirectory
}

fn five() -> u64 {
    5
}

fn four() -> usize {
    4
}

/// The attributes read from a user's entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AttributeNames {
    pub employee_id: String,
    pub mail: String,
    pub given_name: String,
    pub surname: String,
    pub display_name: String,
    pub title: String,
    pub manager: String,
}

impl Default for AttributeNames {
    fn default() -> Self {
        Self {
            employee_id: "employeeID".into(),
            mail: "mail".into(),
            given_name: "givenName".into(),
            surname: "sn".into(),
            display_name: "displayName".into(),
            title: "title".into(),
            manager: "manager".into(),
        }
    }
}

/// `{ group = "CN=Tessera Admins,OU=…", roles = ["admin"], groups = ["ops"] }`; `group` is
/// a DN (compared as a parsed DN) or a name (compared with the group's CN), both
/// case-insensitively.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupMapping {
    pub group: String,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub groups: Vec<String>,
}

impl DirectorySettings {
    #[must_use]
    pub fn user_filter(&self) -> &str {
        match (&self.user_filter, self.kind) {
            (Some(f), _) => f,
            (None, DirectoryKind::ActiveDirectory) => {
                "(&(objectClass=user)(|(sAMAccountName={login})(userPrincipalName={login})(mail={login})))"
            }
            (None, DirectoryKind::Ldap) => "(&(objectClass=inetOrgPerson)(|(uid={login})(mail={login})))",
        }
    }

    #[must_use]
    pub fn group_base(&self) -> &str {
        self.group_base.as_deref().unwrap_or(&self.user_base)
    }
}

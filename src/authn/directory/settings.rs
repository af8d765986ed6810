//! A host's directory settings: from the configuration file (`[[directories]]`), or
//! kept in the database and set through the management API ([`DirectorySettings::from_api`],
//! the service password by reference only).

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

/// The prefix of the environment variables a directory kept in the database may read
/// its service password from. A system admin sets these directories through the API;
/// were any variable allowed, one could point a directory at a server of theirs and
/// have Tessera send it the database URL or another secret of the process as the bind
/// password. The same reasoning confines `file:` references to one folder.
pub const PASSWORD_ENV_PREFIX: &str = "TESSERA_DIRECTORY_PASSWORD_";

/// Where a directory kept in the database may read its service password from.
#[derive(Clone, Debug, Default)]
pub struct PasswordRules {
    /// The folder `file:` references must lie in; none refuses them.
    pub folder: Option<PathBuf>,
}

/// A settings value the management API cannot take, with the field at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct SettingsError {
    pub field: String,
    pub message: String,
}

fn settings_error(field: &str, message: impl Into<String>) -> SettingsError {
    SettingsError {
        field: field.to_owned(),
        message: message.into(),
    }
}

impl DirectorySettings {
    /// The settings an API caller gives for `host_id`'s directory: a `[[directories]]`
    /// entry's fields without `host`, and the service password by reference as
    /// `bind_password`: `env:TESSERA_DIRECTORY_PASSWORD_…` or `file:/path` (inside
    /// `rules.folder`), never the password itself.
    ///
    /// # Errors
    /// The field at fault (`directory.urls`, `directory.bind_password`, …).
    pub fn from_api(
        host_id: &str,
        value: serde_json::Value,
        rules: &PasswordRules,
    ) -> Result<Self, SettingsError> {
        let serde_json::Value::Object(mut map) = value else {
            return Err(settings_error("directory", "must be an object"));
        };
        for taken in ["host", "bind_password_env", "bind_password_file"] {
            if map.contains_key(taken) {
                return Err(settings_error(
                    &format!("directory.{taken}"),
                    "not taken here: the host is the one changed, the password is bind_password",
                ));
            }
        }
        let reference = match map.remove("bind_password") {
            Some(serde_json::Value::String(r)) => r,
            _ => {
                return Err(settings_error(
                    "directory.bind_password",
                    "give the service password by reference: env:NAME or file:/path",
                ))
            }
        };
        let (key, value) = password_reference(&reference, rules)?;
        map.insert(key.to_owned(), serde_json::Value::String(value));
        map.insert(
            "host".to_owned(),
            serde_json::Value::String(host_id.to_owned()),
        );
        let settings: Self = serde_path_to_error::deserialize(serde_json::Value::Object(map))
            .map_err(|e| {
                let path = e.path().to_string();
                let field = if path == "." {
                    "directory".to_owned()
                } else {
                    format!("directory.{path}")
                };
                settings_error(&field, e.into_inner().to_string())
            })?;
        Ok(settings)
    }

    /// The settings as the API shows them: without `host`, the password's reference as
    /// `bind_password`.
    #[must_use]
    pub fn to_api(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let serde_json::Value::Object(map) = &mut value {
            map.remove("host");
            let env = map.remove("bind_password_env");
            let file = map.remove("bind_password_file");
            let reference = match (env, file) {
                (Some(serde_json::Value::String(var)), _) => Some(format!("env:{var}")),
                (_, Some(serde_json::Value::String(path))) => Some(format!("file:{path}")),
                _ => None,
            };
            if let Some(r) = reference {
                map.insert("bind_password".to_owned(), serde_json::Value::String(r));
            }
        }
        value
    }
}

/// Reads a `bind_password` reference into the settings key that holds it.
fn password_reference(
    reference: &str,
    rules: &PasswordRules,
) -> Result<(&'static str, String), SettingsError> {
    let field = "directory.bind_password";
    if let Some(var) = reference.strip_prefix("env:") {
        let rest = var.strip_prefix(PASSWORD_ENV_PREFIX).unwrap_or_default();
        if rest.is_empty() || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(settings_error(
                field,
                format!("an environment variable must be named {PASSWORD_ENV_PREFIX}…"),
            ));
        }
        return Ok(("bind_password_env", var.to_owned()));
    }
    if let Some(path) = reference.strip_prefix("file:") {
        let path = std::path::Path::new(path);
        let Some(folder) = &rules.folder else {
            return Err(settings_error(
                field,
                "file references need directory_password_files in the configuration",
            ));
        };
        let inside = path.is_absolute()
            && path.starts_with(folder)
            && !path
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir));
        if !inside {
            return Err(settings_error(
                field,
                format!("the file must lie in {}", folder.display()),
            ));
        }
        return Ok(("bind_password_file", path.display().to_string()));
    }
    Err(settings_error(
        field,
        "give the service password by reference: env:NAME or file:/path",
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rules() -> PasswordRules {
        PasswordRules {
            folder: Some(PathBuf::from("/run/secrets")),
        }
    }

    fn base(password: &str) -> serde_json::Value {
        json!({
            "kind": "ldap",
            "urls": ["ldaps://ldap.example"],
            "bind_dn": "cn=svc,dc=example",
            "bind_password": password,
            "user_base": "ou=people,dc=example",
        })
    }

    fn field(value: serde_json::Value) -> String {
        DirectorySettings::from_api("h1", value, &rules())
            .map(|_| String::new())
            .unwrap_or_else(|e| e.field)
    }

    #[test]
    fn api_settings_round_trip_with_the_password_by_reference() {
        let s = DirectorySettings::from_api(
            "h1",
            base("env:TESSERA_DIRECTORY_PASSWORD_ACME"),
            &rules(),
        )
        .unwrap();
        assert_eq!(s.host, "h1");
        assert_eq!(
            s.bind_password_env.as_deref(),
            Some("TESSERA_DIRECTORY_PASSWORD_ACME")
        );
        let shown = s.to_api();
        assert_eq!(
            shown["bind_password"],
            "env:TESSERA_DIRECTORY_PASSWORD_ACME"
        );
        assert!(shown.get("host").is_none());
        assert!(shown.get("bind_password_env").is_none());
        let again = DirectorySettings::from_api("h1", shown, &rules()).unwrap();
        assert_eq!(again, s);
        let f =
            DirectorySettings::from_api("h1", base("file:/run/secrets/ldap"), &rules()).unwrap();
        assert_eq!(f.to_api()["bind_password"], "file:/run/secrets/ldap");
    }

    #[test]
    fn a_password_reference_outside_the_rules_is_refused() {
        for bad in [
            "hunter2",
            "env:TESSERA_DATABASE_URL",
            "env:HOME",
            "env:TESSERA_DIRECTORY_PASSWORD_",
            "file:/etc/shadow",
            "file:/run/secrets/../../etc/shadow",
            "file:run/secrets/x",
        ] {
            assert_eq!(field(base(bad)), "directory.bind_password", "{bad}");
        }
        let no_folder = DirectorySettings::from_api(
            "h1",
            base("file:/run/secrets/ldap"),
            &PasswordRules::default(),
        );
        assert!(no_folder.is_err());
    }

    #[test]
    fn a_bad_field_is_named_under_directory() {
        let mut v = base("env:TESSERA_DIRECTORY_PASSWORD_A");
        v["kind"] = json!("novell");
        assert_eq!(field(v), "directory.kind");
        let mut v = base("env:TESSERA_DIRECTORY_PASSWORD_A");
        v["colour"] = json!(1);
        assert_eq!(field(v), "directory.colour");
        let mut v = base("env:TESSERA_DIRECTORY_PASSWORD_A");
        v["host"] = json!("other");
        assert_eq!(field(v), "directory.host");
        assert_eq!(field(json!([1])), "directory");
    }
}

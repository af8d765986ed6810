//! Signing employees in against their host's directory (Active Directory or another
//! LDAP server) with ldap3.
//!
//! The flow (RFC 4513 §5.1.1 simple bind, as AD and OpenLDAP expect it): the pooled
//! service connection searches for exactly one entry matching the login (escaped per
//! RFC 4515; search continuation references skipped, referrals never chased); a fresh
//! connection binds as that entry's DN with the password and is closed, so a pooled
//! connection is never left bound as a user; the service connection then reads the
//! manager and the groups (nested ones included). Servers are tried in order until one
//! answers within the connect timeout; a failed service connection is dropped and a new
//! one made on the next use.

mod connection;
mod decoy;
mod groups;
mod reason;
mod settings;

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use ldap3::controls::RawControl;
use ldap3::{ldap_escape, Ldap, Scope, SearchEntry};

pub use reason::Refusal;
pub use settings::{
    AttributeNames, DirectoryKind, DirectorySettings, GroupMapping, PasswordRules, SettingsError,
    PASSWORD_ENV_PREFIX,
};

use crate::domain::Secret;

/// AD's `LDAP_MATCHING_RULE_IN_CHAIN`: matches every group that contains the user,
/// directly or through other groups.
const IN_CHAIN: &str = "1.2.840.113556.1.4.1941";

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// The directory refused the sign-in; the reason is safe to show.
    #[error("sign-in refused: {0:?}")]
    Refused(Refusal),
    /// No server answered.
    #[error("no directory server answered")]
    Unavailable,
    /// The entry lacks what Tessera needs (an employee id).
    #[error("the directory entry {0} has no {1}")]
    Incomplete(String, String),
    /// The settings cannot work (a missing password, an unreadable CA file, …).
    #[error("directory settings for host {host}: {message}")]
    Settings { host: String, message: String },
    /// Anything else the server answered; logged, shown as unavailable.
    #[error("directory error: {0}")]
    Protocol(String),
}

impl DirectoryError {
    fn settings(host: &str, message: impl Into<String>) -> Self {
        Self::Settings {
            host: host.to_owned(),
            message: message.into(),
        }
    }
}

/// A person as the directory describes them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirectoryPerson {
    pub dn: String,
    pub employee_id: String,
    pub email: Option<String>,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub display_name: Option<String>,
    pub title: Option<String>,
}

/// A signed-in employee: who, their manager, and what the group mapping gives them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirectoryUser {
    pub person: DirectoryPerson,
    pub manager: Option<DirectoryPerson>,
    /// The DNs of every group the user is in, nested ones included.
    pub group_dns: Vec<String>,
    /// Tessera roles and groups mapped from those groups.
    pub roles: BTreeSet<String>,
    pub groups: BTreeSet<String>,
}

/// One host's directory: settings, TLS, and the pool of service connections.
pub struct Directory {
    settings: DirectorySettings,
    password: Secret,
    tls: Option<native_tls::TlsConnector>,
    pool: Mutex<Vec<Ldap>>,
    /// Recent refused user binds, which an unknown login's refusal takes as long as.
    bind_times: decoy::BindTimes,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory")
            .field("host", &self.settings.host)
            .field("urls", &self.settings.urls)
            .finish_non_exhaustive()
    }
}

impl Directory {
    /// Reads the service password and the CA certificate and checks the URLs.
    ///
    /// # Errors
    /// `Settings` saying what is missing or wrong.
    pub fn new(settings: DirectorySettings) -> Result<Self, DirectoryError> {
        let host = settings.host.clone();
        if settings.urls.is_empty() {
            return Err(DirectoryError::settings(&host, "no urls"));
        }
        for url in &settings.urls {
            let plain = url.starts_with("ldap://") && !settings.starttls;
            if !url.starts_with("ldap://") && !url.starts_with("ldaps://") {
                return Err(DirectoryError::settings(
                    &host,
                    format!("{url} is not an ldap:// or ldaps:// URL"),
                ));
            }
            if plain && !settings.allow_plain {
                return Err(DirectoryError::settings(
                    &host,
                    format!("{url} would send passwords in clear: use ldaps://, starttls = true, or allow_plain = true"),
                ));
            }
            if plain {
                tracing::warn!(host = %host, %url, "directory connection without TLS: passwords cross the network in clear");
            }
        }
        let password = match (&settings.bind_password_env, &settings.bind_password_file) {
            (Some(var), _) => std::env::var(var).map_err(|_| {
                DirectoryError::settings(&host, format!("environment variable {var} is not set"))
            })?,
            (None, Some(path)) => std::fs::read_to_string(path)
                .map_err(|e| {
                    DirectoryError::settings(&host, format!("cannot read {}: {e}", path.display()))
                })?
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned(),
            (None, None) => {
                return Err(DirectoryError::settings(
                    &host,
                    "set bind_password_env or bind_password_file",
                ))
            }
        };
        let tls = match &settings.ca_file {
            Some(path) => {
                let pem = std::fs::read(path).map_err(|e| {
                    DirectoryError::settings(&host, format!("cannot read {}: {e}", path.display()))
                })?;
                let ca = native_tls::Certificate::from_pem(&pem).map_err(|e| {
                    DirectoryError::settings(&host, format!("{}: {e}", path.display()))
                })?;
                let connector = native_tls::TlsConnector::builder()
                    .add_root_certificate(ca)
                    .build()
                    .map_err(|e| DirectoryError::settings(&host, e.to_string()))?;
                Some(connector)
            }
            None => None,
        };
        Ok(Self {
            settings,
            password: Secret::new(password),
            tls,
            pool: Mutex::new(Vec::new()),
            bind_times: decoy::BindTimes::default(),
        })
    }

    #[must_use]
    pub fn settings(&self) -> &DirectorySettings {
        &self.settings
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.settings.operation_timeout)
    }

    /// Signs `login` in with `password`. An empty password is refused before any bind:
    /// some servers treat a simple bind without a password as an anonymous success.
    ///
    /// # Errors
    /// `Refused` with the reason, `Unavailable` when no server answers.
    pub async fn authenticate(
        &self,
        login: &str,
        password: &str,
    ) -> Result<DirectoryUser, DirectoryError> {
        if password.is_empty() || login.trim().is_empty() {
            return Err(DirectoryError::Refused(Refusal::InvalidCredentials));
        }
        // `CORP\alice` names alice in the domain CORP.
        let login = login.trim().rsplit('\\').next().unwrap_or_default();
        // A pooled connection may have died since (a server restart, an idle timeout): on
        // any failure but a refusal, the search is tried once more on a new connection.
        let (mut service, mut found, pooled) = match self.pooled_connection() {
            Some(mut pooled) => {
                let found = self.find_user(&mut pooled, login).await;
                (pooled, found, true)
            }
            None => {
                let mut fresh = self.fresh_service().await?;
                let found = self.find_user(&mut fresh, login).await;
                (fresh, found, false)
            }
        };
        if pooled
            && matches!(
                found,
                Err(DirectoryError::Unavailable | DirectoryError::Protocol(_))
            )
        {
            service = self.fresh_service().await?;
            found = self.find_user(&mut service, login).await;
        }
        let entry = match found {
            Ok(entry) => entry,
            Err(e) => {
                // A connection that failed is dropped, not pooled.
                let DirectoryError::Refused(refusal) = e else {
                    return Err(e);
                };
                self.give_back(service);
                return Err(self.refuse_unknown(refusal).await);
            }
        };
        if let Err(e) = self.timed_bind(&entry.dn, password).await {
            self.give_back(service);
            return Err(e);
        }
        let user = self.describe(&mut service, &entry).await;
        if user.is_ok() {
            self.give_back(service);
        }
        user
    }

    async fn find_user(
        &self,
        service: &mut Ldap,
        login: &str,
    ) -> Result<SearchEntry, DirectoryError> {
        let filter = self
            .settings
            .user_filter()
            .replace("{login}", &ldap_escape(login));
        let a = &self.settings.attributes;
        let attrs = [
            &a.employee_id,
            &a.mail,
            &a.given_name,
            &a.surname,
            &a.display_name,
            &a.title,
            &a.manager,
        ];
        let result = service
            .with_timeout(self.timeout())
            .search(
                &self.settings.user_base,
                Scope::Subtree,
                &filter,
                attrs.to_vec(),
            )
            .await
            .map_err(|e| self.protocol("user search", &e))?;
        if result.1.rc != 0 && result.1.rc != 10 {
            return Err(DirectoryError::Protocol(format!(
                "user search answered {}: {}",
                result.1.rc, result.1.text
            )));
        }
        // Entries only: continuation references (AD's Configuration, DNS zones) are skipped.
        let mut entries: Vec<SearchEntry> = result
            .0
            .into_iter()
            .filter(|e| !e.is_ref())
            .map(SearchEntry::construct)
            .collect();
        match entries.len() {
            1 => Ok(entries.remove(0)),
            0 => Err(DirectoryError::Refused(Refusal::InvalidCredentials)),
            n => {
                tracing::warn!(host = %self.settings.host, matches = n, "a login matched several directory entries; refusing");
                Err(DirectoryError::Refused(Refusal::InvalidCredentials))
            }
        }
    }

    /// Binds as the user on a connection of its own, then closes it.
    async fn bind_as(&self, dn: &str, password: &str) -> Result<(), DirectoryError> {
        let mut ldap = self.connect().await?;
        if self.settings.kind == DirectoryKind::Ldap {
            ldap.with_controls(RawControl {
                ctype: reason::PPOLICY_OID.to_owned(),
                crit: false,
                val: None,
            });
        }
        let result = ldap
            .with_timeout(self.timeout())
            .simple_bind(dn, password)
            .await;
        let _ = ldap.unbind().await;
        let result = result.map_err(|e| self.protocol("user bind", &e))?;
        // The password-policy control can refuse even a successful bind: after an
        // administrator's reset the session may only change the password.
        let ppolicy = result
            .ctrls
            .iter()
            .find(|c| c.1.ctype == reason::PPOLICY_OID)
            .and_then(|c| c.1.val.as_deref())
            .and_then(Refusal::from_ppolicy_control);
        match (result.rc, ppolicy) {
            (0, None) => Ok(()),
            (0 | 49, Some(refusal)) => Err(DirectoryError::Refused(refusal)),
            (49, None) => Err(DirectoryError::Refused(
                Refusal::from_ad_diagnostic(&result.text).unwrap_or(Refusal::InvalidCredentials),
            )),
            (rc, _) => {
                tracing::warn!(host = %self.settings.host, rc, text = %result.text, "user bind refused");
                Err(DirectoryError::Protocol(format!("user bind answered {rc}")))
            }
        }
    }

    /// The person, manager and groups of a user entry.
    async fn describe(
        &self,
        service: &mut Ldap,
        entry: &SearchEntry,
    ) -> Result<DirectoryUser, DirectoryError> {
        let person = self.person(entry)?;
        let manager_dn = first(entry, &self.settings.attributes.manager);
        let manager = match manager_dn {
            Some(dn) => self.read_person(service, &dn).await?,
            None => None,
        };
        let group_dns = self.groups_of(service, &entry.dn).await?;
        let (roles, groups) = self.map_groups(&group_dns);
        Ok(DirectoryUser {
            person,
            manager,
            group_dns,
            roles,
            groups,
        })
    }

    fn person(&self, entry: &SearchEntry) -> Result<DirectoryPerson, DirectoryError> {
        let a = &self.settings.attributes;
        let employee_id = first(entry, &a.employee_id)
            .ok_or_else(|| DirectoryError::Incomplete(entry.dn.clone(), a.employee_id.clone()))?;
        Ok(DirectoryPerson {
            dn: entry.dn.clone(),
            employee_id,
            email: first(entry, &a.mail),
            given_name: first(entry, &a.given_name),
            surname: first(entry, &a.surname),
            display_name: first(entry, &a.display_name),
            title: first(entry, &a.title),
        })
    }

    /// Reads the entry at `dn` (a base search); none if it is gone or has no employee id.
    async fn read_person(
        &self,
        service: &mut Ldap,
        dn: &str,
    ) -> Result<Option<DirectoryPerson>, DirectoryError> {
        let a = &self.settings.attributes;
        let attrs = [
            &a.employee_id,
            &a.mail,
            &a.given_name,
            &a.surname,
            &a.display_name,
            &a.title,
        ];
        let result = service
            .with_timeout(self.timeout())
            .search(dn, Scope::Base, "(objectClass=*)", attrs.to_vec())
            .await
            .map_err(|e| self.protocol("manager read", &e))?;
        let entry = result
            .0
            .into_iter()
            .find(|e| !e.is_ref())
            .map(SearchEntry::construct);
        Ok(entry.and_then(|e| self.person(&e).ok()))
    }
}

fn first(entry: &SearchEntry, attr: &str) -> Option<String> {
    entry
        .attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(attr))
        .and_then(|(_, v)| v.first().cloned())
        .filter(|v| !v.is_empty())
}

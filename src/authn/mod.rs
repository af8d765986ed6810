//! Authentication of people: local passwords (argon2id) and directories (LDAP/AD).
//! `Authenticator` decides which one a sign-in goes to.

pub mod directories;
pub mod directory;
pub mod password;
pub mod throttle;

use std::sync::Arc;
use std::time::Instant;

pub use password::{hash_password, PasswordVerifier};
pub use throttle::{Attempt, Throttle};

use crate::domain::user_type::is_employee;
use crate::metrics::Metrics;
use crate::store::{EmployeeFacts, Host, Provision, Store, StoreError, UserCredentials};
pub use directories::Directories;
use directories::{DirectoryMap, HostDirectory};
use directory::{Directory, DirectoryError, DirectorySettings, DirectoryUser, Refusal};

/// Who signed in, and to which hosts the sign-in may lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    pub user_id: String,
    /// A local sign-in: every host the user belongs to (the caller narrows them to the
    /// client's). A directory sign-in: the directory's host only.
    pub hosts: Vec<Host>,
    /// Until when the browser's device cookie names a known device of this user, as the
    /// throttle read it (`None`: no cookie, or not one of theirs).
    pub device_known_until: Option<i64>,
}

/// Why a sign-in failed, as the person may be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    Refused(Refusal),
    /// The host's directory did not answer.
    DirectoryUnavailable,
    /// Too many failures: the login, device or address must wait until this time. Said
    /// alike for every login, existing or not.
    Throttled {
        until: i64,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Password(#[from] password::PasswordError),
}

/// Local passwords and the hosts' directories.
#[derive(Clone)]
pub struct Authenticator {
    pub passwords: PasswordVerifier,
    /// The hosts' directories, from the file and the database.
    pub directories: Directories,
    metrics: Arc<Metrics>,
    throttle: Throttle,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("directories", &self.directories)
            .finish()
    }
}

impl Authenticator {
    /// Sets up the directories of the configuration; each names its host by id or domain.
    ///
    /// # Errors
    /// When a host does not exist or a directory's settings cannot work.
    pub async fn new(
        passwords: PasswordVerifier,
        throttle: Throttle,
        settings: &[DirectorySettings],
        store: &dyn Store,
    ) -> Result<Self, DirectoryError> {
        let directories = Directories::from_config(settings, store).await?;
        Ok(Self {
            passwords,
            directories,
            metrics: Arc::default(),
            throttle,
        })
    }

    /// Counts sign-ins and times directories in `metrics` (the node's).
    #[must_use]
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Checks a login and password: against the host's directory for employees of a host
    /// that has one, against the stored argon2id hash otherwise. The throttle is asked
    /// first, so a throttled attempt costs neither a hash nor a bind.
    ///
    /// # Errors
    /// Only for internal failures; a refused sign-in is `Ok(Err(Failure))`.
    pub async fn authenticate(
        &self,
        store: &dyn Store,
        attempt: &Attempt<'_>,
        now: i64,
    ) -> Result<Result<Authenticated, Failure>, AuthError> {
        let (login, client_host) = (attempt.login, attempt.client_host);
        if login.is_empty() || attempt.password.is_empty() {
            return Ok(Err(Failure::Refused(Refusal::InvalidCredentials)));
        }
        let mut found = store.find_user_by_login(login).await?;
        let hosts = match &found {
            Some(c) => store.user_hosts(&c.user.user_id).await?,
            None => Vec::new(),
        };
        // A login that names someone outside the client's host names nobody here: the
        // host's directory may know it (a local username elsewhere must not shadow it).
        if client_host.is_some_and(|c| !hosts.iter().any(|h| h.host_id == c)) {
            found = None;
        }
        let user_id = found.as_ref().map(|c| c.user.user_id.as_str());
        let checked = match self.throttle.check(store, attempt, user_id, now).await? {
            Ok(checked) => checked,
            Err(until) => {
                self.metrics.sign_in("any", "throttled");
                return Ok(Err(Failure::Throttled { until }));
            }
        };
        let mut outcome = self.verify(store, attempt, found, hosts, now).await?;
        match &mut outcome {
            Ok(authenticated) => {
                authenticated.device_known_until =
                    checked.device_known_until(&authenticated.user_id);
                checked.succeeded(store).await?;
            }
            Err(Failure::Refused(_)) => checked.failed(store, now).await?,
            Err(_) => {}
        }
        Ok(outcome)
    }

    /// The password check proper, for a login already looked up.
    async fn verify(
        &self,
        store: &dyn Store,
        attempt: &Attempt<'_>,
        found: Option<UserCredentials>,
        hosts: Vec<Host>,
        now: i64,
    ) -> Result<Result<Authenticated, Failure>, AuthError> {
        let (login, password, client_host) = (attempt.login, attempt.password, attempt.client_host);
        let directories = self.directories.current(store).await;
        let directory = match &found {
            Some(credentials) => Self::directory_of(&directories, credentials, &hosts, client_host),
            None => Self::directory_for_new_login(&directories, login, client_host),
        };
        if let Some((host_id, d)) = directory {
            return self
                .through_directory(store, &host_id, &d.directory, login, password, now)
                .await;
        }
        let phc = found.as_ref().and_then(|c| c.password_hash.as_deref());
        let verified = self.passwords.verify(password, phc).await?;
        match found.filter(|c| verified && !c.user.locked) {
            Some(c) => {
                self.metrics.sign_in("password", "success");
                Ok(Ok(Authenticated {
                    user_id: c.user.user_id,
                    hosts,
                    device_known_until: None,
                }))
            }
            None => {
                self.metrics.sign_in("password", "refused");
                Ok(Err(Failure::Refused(Refusal::InvalidCredentials)))
            }
        }
    }

    /// The directory a known user signs in with, if any: an employee's host's (unless
    /// local passwords are allowed and set), or a customer's without a password when the
    /// host lets customers use the directory.
    fn directory_of<'a>(
        directories: &'a DirectoryMap,
        credentials: &UserCredentials,
        hosts: &[Host],
        client_host: Option<&str>,
    ) -> Option<(String, &'a HostDirectory)> {
        let with_directory = hosts
            .iter()
            .filter(|h| client_host.is_none_or(|c| c == h.host_id))
            .find_map(|h| {
                directories
                    .get(&h.host_id)
                    .map(|d| (h.host_id.clone(), &**d))
            });
        let user_type = credentials.user.user_type.as_deref().unwrap_or_default();
        match with_directory {
            Some((host, d)) if is_employee(user_type) => {
                let local_allowed = d.directory.settings().employees_may_use_local_passwords
                    && credentials.password_hash.is_some();
                (!local_allowed).then_some((host, d))
            }
            Some((host, d))
                if d.directory.settings().customers_may_use_directory
                    && credentials.password_hash.is_none() =>
            {
                Some((host, d))
            }
            _ => None,
        }
    }

    /// The directory that may know a login Tessera has never seen: the client's host's,
    /// the one whose host's domain is the login's `@domain`, or the only one configured.
    fn directory_for_new_login<'a>(
        directories: &'a DirectoryMap,
        login: &str,
        client_host: Option<&str>,
    ) -> Option<(String, &'a HostDirectory)> {
        if let Some(host) = client_host {
            return directories.get(host).map(|d| (host.to_owned(), &**d));
        }
        let domain = login.rsplit_once('@').map(|(_, d)| d.to_lowercase());
        if let Some(domain) = domain {
            if let Some((host, d)) = directories.iter().find(|(_, d)| d.domain == domain) {
                return Some((host.clone(), &**d));
            }
        }
        match directories.len() {
            1 => directories.iter().next().map(|(h, d)| (h.clone(), &**d)),
            _ => None,
        }
    }

    async fn through_directory(
        &self,
        store: &dyn Store,
        host_id: &str,
        directory: &Directory,
        login: &str,
        password: &str,
        now: i64,
    ) -> Result<Result<Authenticated, Failure>, AuthError> {
        let started = Instant::now();
        let result = directory.authenticate(login, password).await;
        let outcome = match &result {
            Ok(_) => "success",
            Err(DirectoryError::Refused(_) | DirectoryError::Incomplete(..)) => "refused",
            Err(_) => "error",
        };
        self.metrics
            .directory_request(host_id, outcome, started.elapsed());
        self.metrics.sign_in(
            "directory",
            if outcome == "error" {
                "unavailable"
            } else {
                outcome
            },
        );
        let user = match result {
            Ok(user) => user,
            Err(DirectoryError::Refused(refusal)) => return Ok(Err(Failure::Refused(refusal))),
            Err(DirectoryError::Incomplete(dn, attribute)) => {
                tracing::error!(host_id, %dn, %attribute, "directory entry lacks an attribute Tessera needs");
                return Ok(Err(Failure::Refused(Refusal::InvalidCredentials)));
            }
            Err(e) => {
                tracing::warn!(host_id, error = %e, "directory sign-in failed");
                return Ok(Err(Failure::DirectoryUnavailable));
            }
        };
        let user_id = match provision(store, host_id, directory, &user, now).await {
            Ok(id) => id,
            Err(StoreError::Invalid(reason)) => {
                tracing::warn!(host_id, %reason, "directory sign-in refused");
                return Ok(Err(Failure::Refused(Refusal::InvalidCredentials)));
            }
            Err(e) => return Err(e.into()),
        };
        let hosts = store
            .user_hosts(&user_id)
            .await?
            .into_iter()
            .filter(|h| h.host_id == host_id)
            .collect();
        Ok(Ok(Authenticated {
            user_id,
            hosts,
            device_known_until: None,
        }))
    }
}

fn facts(p: &directory::DirectoryPerson) -> EmployeeFacts {
    EmployeeFacts {
        employee_id: p.employee_id.clone(),
        email: p.email.clone(),
        first_name: p.given_name.clone(),
        last_name: p.surname.clone(),
        title: p.title.clone(),
    }
}

async fn provision(
    store: &dyn Store,
    host_id: &str,
    directory: &Directory,
    user: &DirectoryUser,
    now: i64,
) -> Result<String, StoreError> {
    let employee = facts(&user.person);
    let manager = user.manager.as_ref().map(facts);
    let roles: Vec<String> = user.roles.iter().cloned().collect();
    let groups: Vec<String> = user.groups.iter().cloned().collect();
    store
        .provision_employee(
            &Provision {
                host_id,
                employee: &employee,
                manager: manager.as_ref(),
                roles: &roles,
                groups: &groups,
                customers_allowed: directory.settings().customers_may_use_directory,
            },
            now,
        )
        .await
}

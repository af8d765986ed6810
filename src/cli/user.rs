//! `tessera user add|list|set-password|set-system-admin|unlock`. `user add` creates the
//! user through the same store function as `POST /api/v1/users`, audited as the CLI. Passwords are never taken as arguments (they
//! would show in `ps` and shell history): they come from standard input, or a random
//! one is generated and printed.

use clap::Subcommand;

use serde_json::{json, Value};

use super::{now, print_json, print_table, read_stdin_line};
use crate::authn::hash_password;
use crate::config::Config;
use crate::domain::input::MIN_PASSWORD;
use crate::domain::secret::random_id;
use crate::domain::throttle::{normalise_login, Party};
use crate::domain::{Secret, User};
use crate::store::{
    EmployeeRecord, HostStore, Member, MemberQuery, MemberStore, NewMember, SqlStore,
    ThrottleStore, UserAdminStore, UserStore,
};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user to a host.
    Add {
        /// The user's email address: unique, and a login.
        #[arg(long)]
        email: String,
        /// The host (id or domain).
        #[arg(long)]
        host: String,
        /// A second login besides the email (unique).
        #[arg(long)]
        username: Option<String>,
        /// The given name (the `given_name` claim).
        #[arg(long)]
        first_name: Option<String>,
        /// The family name (the `family_name` claim).
        #[arg(long)]
        last_name: Option<String>,
        /// The user type: E (employee) or C (customer); P and B for hosts of that model.
        #[arg(long, default_value = "C")]
        user_type: String,
        /// Read the password from the first line of standard input instead of
        /// generating one.
        #[arg(long)]
        password_stdin: bool,
        /// A customer's id in the host (`customer_t`).
        #[arg(long, conflicts_with = "employee_id")]
        customer_id: Option<String>,
        /// An employee's id in the host (`employee_t`); needed for user type E.
        #[arg(long)]
        employee_id: Option<String>,
        /// Mark the email address verified.
        #[arg(long)]
        verified: bool,
        /// Print the user as the management API shows them (`POST /api/v1/users`),
        /// with `generated_password` when one was generated.
        #[arg(long)]
        json: bool,
    },
    /// List users.
    List {
        /// Only the users of this host (id or domain).
        #[arg(long)]
        host: Option<String>,
        /// Print `{"users": [...]}` in the management API's shape (`GET
        /// /api/v1/users`); without `--host`, users carry no `active` (it is a
        /// membership's).
        #[arg(long)]
        json: bool,
    },
    /// Set a user's password.
    SetPassword {
        /// The user's email, username or id.
        user: String,
        /// Read the password from the first line of standard input instead of
        /// generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Make a user a system admin, who administers every host through the API (or,
    /// with `--off`, no longer one).
    SetSystemAdmin {
        /// The user's email, username or id.
        user: String,
        /// Take the right away instead of giving it.
        #[arg(long)]
        off: bool,
    },
    /// End a sign-in lockout at once: forgets the failed sign-ins counted against the
    /// user's email and username (or against this login, if no user has it) and
    /// against the user's known devices. Client addresses keep their counts.
    Unlock {
        /// The user's id, email or username, or any login that was tried.
        user: String,
    },
}

fn password(from_stdin: bool) -> anyhow::Result<(Secret, bool)> {
    if from_stdin {
        Ok((Secret::new(read_stdin_line()?), false))
    } else {
        Ok((Secret::generate(), true))
    }
}

/// A user's state in `user list`: a locked user cannot sign in; an unverified one can,
/// but their email has not been confirmed (tokens say `email_verified: false`).
fn state(locked: bool, verified: bool) -> &'static str {
    match (locked, verified) {
        (true, _) => "locked",
        (false, false) => "unverified",
        (false, true) => "active",
    }
}

pub async fn run(config: &Config, cmd: UserCommand) -> anyhow::Result<()> {
    let store = crate::app::open_store(config).await?;
    match cmd {
        UserCommand::Add {
            email,
            host,
            username,
            first_name,
            last_name,
            user_type,
            password_stdin,
            customer_id,
            employee_id,
            verified,
            json,
        } => {
            let email = crate::domain::input::email("email", &email)
                .map_err(|e| anyhow::anyhow!("--{e}"))?;
            let host = store
                .find_host(&host)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no host {host:?}"))?;
            anyhow::ensure!(
                host.user_type_model.contains(user_type.as_str()) && user_type.len() == 1,
                "user type {user_type:?} is not one of host {}'s types ({})",
                host.domain,
                host.user_type_model
            );
            let employee = match (user_type.as_str(), employee_id) {
                ("E", Some(employee_id)) => Some(EmployeeRecord {
                    employee_id,
                    ..EmployeeRecord::default()
                }),
                ("E", None) => anyhow::bail!("an employee (E) needs --employee-id"),
                (_, Some(_)) => anyhow::bail!("--employee-id is for employees (E) only"),
                (_, None) => None,
            };
            let (secret, generated) = password(password_stdin)?;
            anyhow::ensure!(
                secret.expose().chars().count() >= MIN_PASSWORD,
                "the password must be at least {MIN_PASSWORD} characters"
            );
            let new = NewMember {
                user_id: random_id(),
                email,
                username,
                password_hash: Some(hash_password(secret.expose())?),
                first_name,
                last_name,
                language: "en".to_owned(),
                user_type,
                verified,
                employee,
                customer_id,
            };
            let member = store
                .add_member(&host.host_id, &new, &super::audit_context(), now())
                .await?;
            if json {
                let mut value = member_json(&member);
                if generated {
                    value["generated_password"] = secret.expose().into();
                }
                print_json(&value)?;
            } else {
                out!("user_id:  {}", member.user.user_id)?;
                if generated {
                    out!("password: {}", secret.expose())?;
                }
            }
        }
        UserCommand::List { host, json } => {
            let host_id = match host {
                Some(h) => Some(
                    store
                        .find_host(&h)
                        .await?
                        .ok_or_else(|| anyhow::anyhow!("no host {h:?}"))?
                        .host_id,
                ),
                None => None,
            };
            if json {
                let users = match &host_id {
                    Some(h) => all_members(&store, h)
                        .await?
                        .iter()
                        .map(member_json)
                        .collect(),
                    None => store
                        .list_users(None)
                        .await?
                        .iter()
                        .map(account_json)
                        .collect::<Vec<_>>(),
                };
                return print_json(&json!({ "users": users }));
            }
            let rows: Vec<Vec<String>> = store
                .list_users(host_id.as_deref())
                .await?
                .into_iter()
                .map(|u| {
                    vec![
                        u.user_id,
                        u.email,
                        u.username.unwrap_or_default(),
                        u.user_type.unwrap_or_default(),
                        state(u.locked, u.verified).to_owned(),
                    ]
                })
                .collect();
            print_table(&["USER_ID", "EMAIL", "USERNAME", "TYPE", "STATE"], &rows)?;
        }
        UserCommand::SetPassword {
            user,
            password_stdin,
        } => {
            let found = match store.find_user_by_login(&user).await? {
                Some(c) => c.user,
                None => store
                    .find_user(&user)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("no user {user:?}"))?,
            };
            let (secret, generated) = password(password_stdin)?;
            store
                .set_password(&found.user_id, &hash_password(secret.expose())?, now())
                .await?;
            out!("Password set for {}", found.email)?;
            if generated {
                out!("password: {}", secret.expose())?;
            }
        }
        UserCommand::SetSystemAdmin { user, off } => {
            let found = match store.find_user_by_login(&user).await? {
                Some(c) => c.user,
                None => store
                    .find_user(&user)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("no user {user:?}"))?,
            };
            store
                .set_system_admin(&found.user_id, !off, &super::audit_context(), now())
                .await?;
            // No audit trail exists yet: the operator's action goes to the log.
            tracing::info!(user_id = %found.user_id, system_admin = !off, "system admin set by the CLI");
            if off {
                out!("{} is no longer a system admin", found.email)?;
            } else {
                out!("{} is a system admin", found.email)?;
            }
        }
        UserCommand::Unlock { user } => unlock(&store, &user).await?,
    }
    Ok(())
}

/// Every member of a host, page by page (the store pages by email).
async fn all_members(store: &SqlStore, host_id: &str) -> anyhow::Result<Vec<Member>> {
    let mut all = Vec::new();
    let mut query = MemberQuery {
        limit: 200,
        ..MemberQuery::default()
    };
    loop {
        let page = store.list_members(host_id, &query).await?;
        all.extend(page.users);
        match page.next {
            Some(next) => query.after = Some(next),
            None => return Ok(all),
        }
    }
}

/// A user without a host: the API's shape less the membership's `active`.
fn account_json(u: &User) -> Value {
    json!({
        "id": u.user_id,
        "email": u.email,
        "username": u.username,
        "first_name": u.first_name,
        "last_name": u.last_name,
        "user_type": u.user_type,
        "verified": u.verified,
        "locked": u.locked,
        "language": u.language,
        "status": if u.locked { "locked" } else { "active" },
    })
}

/// A member in the management API's shape (`UserResponse` of `/api/v1/users`); the
/// CLI test compares the two.
fn member_json(m: &Member) -> Value {
    let mut value = account_json(&m.user);
    value["active"] = m.active.into();
    value["status"] = if m.user.locked {
        "locked"
    } else if m.active {
        "active"
    } else {
        "inactive"
    }
    .into();
    value
}

async fn unlock(store: &SqlStore, login: &str) -> anyhow::Result<()> {
    let found = match store.find_user_by_login(login).await? {
        Some(c) => Some(c.user),
        None => store.find_user(login).await?,
    };
    let mut logins = vec![normalise_login(login)];
    if let Some(u) = &found {
        logins.push(normalise_login(&u.email));
        logins.extend(u.username.as_deref().map(normalise_login));
    }
    logins.sort();
    logins.dedup();
    let parties: Vec<Party> = logins.into_iter().map(Party::Account).collect();
    let mut cleared = store.clear_counters(&parties).await?;
    if let Some(u) = &found {
        cleared += store.clear_device_counters(&u.user_id).await?;
    }
    // No audit log exists yet: the operator's action goes to the log.
    tracing::info!(
        login,
        user_id = found.as_ref().map(|u| u.user_id.as_str()),
        cleared,
        "sign-in lockout cleared by the CLI"
    );
    match found {
        Some(u) => println!("Unlocked {} ({cleared} counters cleared)", u.email),
        None => println!("No user has this login; cleared {cleared} counters for {login:?}"),
    }
    Ok(())
}

//! The `tessera` command line: one file per subcommand group.

/// `println!` that returns the error instead of panicking: standard output may be a
/// pipe its reader has closed (`tessera keys list | head -1`), and Rust ignores SIGPIPE,
/// so the write fails with `BrokenPipe`, which `main` takes as a quiet end.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}

mod audit;
mod catalog;
mod client;
mod demo;
mod endpoint;
mod host;
mod import_help;
mod keys;
mod permission;
mod token;
mod user;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::domain::catalog::Kind;

/// Tessera, an OpenID Provider.
#[derive(Debug, Parser)]
#[command(name = "tessera", version, about, long_about = None)]
pub struct Cli {
    /// Configuration file (default: tessera.toml if it exists). Every setting can also
    /// be set by a TESSERA_* environment variable, which wins over the file.
    #[arg(long, global = true, env = "TESSERA_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve {
        /// Development mode: local issuer, and demo host, client and user on an empty
        /// database (their credentials are printed once).
        #[arg(long)]
        dev: bool,
    },
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Manage hosts (tenants).
    #[command(subcommand)]
    Host(host::HostCommand),
    /// Manage OAuth clients.
    #[command(subcommand)]
    Client(client::ClientCommand),
    /// Manage users.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Manage a host's roles.
    #[command(subcommand)]
    Role(catalog::DefinitionCommand),
    /// Manage a host's groups.
    #[command(subcommand)]
    Group(catalog::DefinitionCommand),
    /// Manage a host's positions.
    #[command(subcommand)]
    Position(catalog::DefinitionCommand),
    /// Manage a host's attributes.
    #[command(subcommand)]
    Attribute(catalog::DefinitionCommand),
    /// Manage a host's API endpoints.
    #[command(subcommand)]
    Endpoint(endpoint::EndpointCommand),
    /// Manage permissions on a host's API endpoints.
    #[command(subcommand)]
    Permission(permission::PermissionCommand),
    /// Read the audit trail.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Manage API tokens (personal and system).
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Try development mode's demo data.
    #[command(subcommand)]
    Demo(demo::DemoCommand),
    /// Load hosts, users, clients and their assignments from a YAML or JSON document
    /// (`--help` lists every section and field).
    #[command(long_about = import_help::IMPORT_HELP)]
    Import {
        /// The document.
        file: PathBuf,
    },
}

/// Runs the parsed command.
///
/// # Errors
/// Whatever the command fails with, with context.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load(cli.config.as_deref())?;
    run_with(cli.command, config).await
}

/// Runs a command with a configuration already loaded (`main` loads it first, to set
/// up logging as it says).
///
/// # Errors
/// Whatever the command fails with, with context.
pub async fn run_with(command: Command, mut config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve { dev } => {
            config.dev |= dev;
            let app = crate::app::App::build(config).await?;
            app.run().await
        }
        Command::Migrate => {
            crate::app::open_store(&config).await?;
            out!("The database is up to date.")?;
            Ok(())
        }
        Command::Host(cmd) => host::run(&config, cmd).await,
        Command::Client(cmd) => client::run(&config, cmd).await,
        Command::User(cmd) => user::run(&config, cmd).await,
        Command::Keys(cmd) => keys::run(&config, cmd).await,
        Command::Role(cmd) => catalog::run_definition(&config, Kind::Role, cmd).await,
        Command::Group(cmd) => catalog::run_definition(&config, Kind::Group, cmd).await,
        Command::Position(cmd) => catalog::run_definition(&config, Kind::Position, cmd).await,
        Command::Attribute(cmd) => catalog::run_definition(&config, Kind::Attribute, cmd).await,
        Command::Endpoint(cmd) => endpoint::run(&config, cmd).await,
        Command::Permission(cmd) => permission::run(&config, cmd).await,
        Command::Audit(cmd) => audit::run(&config, cmd).await,
        Command::Token(cmd) => token::run(&config, cmd).await,
        Command::Demo(cmd) => demo::run(&config, cmd).await,
        Command::Import { file } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let json = file
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("json"));
            let store = crate::app::open_store(&config).await?;
            let context = crate::domain::audit::AuditContext::import(audit_context().actor_name);
            let report = crate::import::import_text(&store, &text, json, &context, now())
                .await
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            out!(
                "Imported {}: {} rows added or changed.",
                file.display(),
                report.changed
            )?;
            Ok(())
        }
    }
}

fn now() -> i64 {
    crate::domain::Clock::system().now()
}

/// Whether `error` comes from writing to a closed pipe: the reader has all it wanted,
/// so the command ends quietly.
#[must_use]
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// A unix time as people read it, in UTC (`2026-12-02 14:55:16Z`), for listings.
fn date_time(unix: i64) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]Z");
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| unix.to_string())
}

/// Prints rows as aligned columns.
fn print_table(header: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out!("{}", parts.join("  ").trim_end())
    };
    line(header.to_vec())?;
    for row in rows {
        line(row.iter().map(String::as_str).collect())?;
    }
    Ok(())
}

/// Prints a value as pretty JSON, for `--json`: the shape is the management API's
/// for the same resource, so scripts can use either.
fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    out!("{}", serde_json::to_string_pretty(value)?)?;
    Ok(())
}

/// The audit context of a command: the operator's OS account, from the environment
/// (`SUDO_USER` first, so that `sudo tessera …` names the person, not root).
fn audit_context() -> crate::domain::audit::AuditContext {
    let operator = ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()));
    crate::domain::audit::AuditContext::cli(operator)
}

/// Reads a secret from the first line of standard input.
fn read_stdin_line() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let value = line.trim_end_matches(['\r', '\n']).to_owned();
    anyhow::ensure!(!value.is_empty(), "standard input held no password");
    Ok(value)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::Cli;

    /// Every subcommand, at any depth, with its path for messages.
    fn walk(command: &clap::Command, path: &str, out: &mut Vec<(String, clap::Command)>) {
        for sub in command.get_subcommands() {
            let here = format!("{path} {}", sub.get_name());
            out.push((here.clone(), sub.clone()));
            walk(sub, &here, out);
        }
    }

    #[test]
    fn every_option_and_argument_has_a_help_line() {
        let mut commands = vec![("tessera".to_owned(), Cli::command())];
        walk(&Cli::command(), "tessera", &mut commands);
        let mut missing = Vec::new();
        for (path, command) in &commands {
            if command.get_about().is_none() && path != "tessera help" {
                missing.push(path.clone());
            }
            for arg in command.get_arguments() {
                let builtin = matches!(arg.get_id().as_str(), "help" | "version");
                if !builtin && arg.get_help().is_none() {
                    missing.push(format!("{path} --{}", arg.get_id()));
                }
            }
        }
        assert!(missing.is_empty(), "without help: {missing:?}");
    }
}

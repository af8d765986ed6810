//! The `tessera` binary: parse the command line, load the configuration, set up
//! logging, run.

use std::io::IsTerminal;

use clap::Parser;
use tessera::config::{Config, LogFormat};
use tracing_subscriber::EnvFilter;

/// mimalloc instead of glibc's allocator: a request allocates and frees many small
/// buffers across the runtime's threads, and glibc's malloc, free and consolidation were
/// a seventh of the CPU of an introspection in the profile (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = tessera::cli::Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(e) => return fail(&e),
    };
    init_logging(config.log.format);
    match tessera::cli::run_with(cli.command, config).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // The reader of our output went away (`tessera keys list | head -1`): it has
        // what it wanted.
        Err(e) if tessera::cli::is_broken_pipe(&e) => std::process::ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(e: &anyhow::Error) -> std::process::ExitCode {
    eprintln!("error: {e:#}");
    std::process::ExitCode::FAILURE
}

/// Logs go to standard error, so that a command's output (a client secret, a table)
/// stays clean on standard output: text, coloured only on a terminal (escape codes
/// would litter a journal or a file), or JSON lines with the request's span fields
/// (its `request_id`). sqlx reports PostgreSQL's notices at info level.
fn init_logging(format: LogFormat) {
    let filter =
        EnvFilter::try_from_env("TESSERA_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder
            .json()
            .with_ansi(false)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}

//! The `tessera` binary: parse the command line, set up logging, run.

use clap::Parser;
use tracing_subscriber::EnvFilter;

/// mimalloc instead of glibc's allocator: a request allocates and frees many small
/// buffers across the runtime's threads, and glibc's malloc, free and consolidation were
/// a seventh of the CPU of an introspection in the profile (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Logs go to standard error, so that a command's output (a client secret, a table)
    // stays clean on standard output. sqlx reports PostgreSQL's notices at info level.
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("TESSERA_LOG")
                .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = tessera::cli::Cli::parse();
    match tessera::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

//! Building and running the application: database, migrations, keys, router.
//! Tests build it on port 0 and read the real port back (`App::port`).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::authn::{Authenticator, PasswordVerifier, Throttle};
use crate::config::Config;
use crate::domain::Clock;
use crate::http::{self, AppState};
use crate::keys::{self, KeyRing};
use crate::store::{SqlStore, Store};

/// How often a node reloads the signing keys (so a rotation made elsewhere reaches
/// it) and purges expired rows.
const KEY_RELOAD: Duration = Duration::from_secs(60);
const PURGE: Duration = Duration::from_secs(600);
/// How often a node reads the access tokens revoked elsewhere.
const REVOCATIONS: Duration = Duration::from_secs(1);

pub struct App {
    listener: TcpListener,
    state: AppState,
    store: Arc<SqlStore>,
}

impl App {
    /// Binds the listener, connects and migrates the database, loads or creates the
    /// signing keys and, in development mode, the demo data.
    ///
    /// An empty `issuer` means `http://` + the bound address (used by tests on port 0).
    ///
    /// # Errors
    /// When any of those steps fails; the message says which.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, Clock::system()).await
    }

    /// [`App::build`] with the clock to use (tests move it forward to pass expiries).
    ///
    /// # Errors
    /// As [`App::build`].
    pub async fn build_with_clock(mut config: Config, clock: Clock) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let address = listener.local_addr()?;
        if config.issuer.is_empty() {
            config.issuer = format!("http://{address}");
        }
        config.validate()?;
        let store = Arc::new(open_store(&config).await?);
        let records = prepare_keys(&*store, &config, clock.now()).await?;
        let keys = KeyRing::from_records(&records)?;
        if config.dev {
            crate::demo::ensure(&*store, &config, clock.now()).await?;
        }
        let passwords =
            PasswordVerifier::per_core().context("cannot start the password hashing threads")?;
        let throttle = Throttle::new(&config.throttle);
        let authenticator = Authenticator::new(passwords, throttle, &config.directories, &*store)
            .await
            .context("cannot set up the directories")?;
        let state = AppState::new(Arc::new(config), store.clone(), keys, authenticator, clock);
        state
            .revocations
            .sync(&*state.store, state.now())
            .await
            .context("cannot read the revoked tokens")?;
        Ok(Self {
            listener,
            state,
            store,
        })
    }

    #[must_use]
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map_or(0, |a| a.port())
    }

    #[must_use]
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until the process gets SIGINT or SIGTERM, finishing requests in flight.
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `shutdown` completes.
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let background = tokio::spawn(maintain(self.state.clone()));
        let router = http::router(self.state.clone());
        tracing::info!(
            issuer = %self.state.config.issuer,
            "listening on {}; discovery at {}/.well-known/openid-configuration",
            self.listener.local_addr()?,
            self.state.config.issuer_base()
        );
        // The peer's address is the client's, for the sign-in throttle.
        let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
        axum::serve(self.listener, service)
            .with_graceful_shutdown(shutdown)
            .await?;
        background.abort();
        self.store.close().await;
        Ok(())
    }
}

/// Connects to the configured database and runs its migrations.
///
/// # Errors
/// When the database cannot be reached or migrated.
pub async fn open_store(config: &Config) -> anyhow::Result<SqlStore> {
    let store = SqlStore::connect(&config.database_url, config.database_max_connections)
        .await
        .with_context(|| {
            format!(
                "cannot open the database {}",
                redact_url(&config.database_url)
            )
        })?;
    store
        .migrate()
        .await
        .context("cannot migrate the database")?;
    Ok(store)
}

/// Imports the PEM files of `keys_dir` and makes sure there is an active and a next key.
///
/// # Errors
/// When a key file or the store fails.
pub async fn prepare_keys(
    store: &dyn Store,
    config: &Config,
    now: i64,
) -> anyhow::Result<Vec<crate::store::KeyRecord>> {
    let imported = keys::import_dir(store, &config.keys_dir, config.signing_alg, now).await?;
    for kid in imported {
        tracing::info!(%kid, "imported signing key from {}", config.keys_dir.display());
    }
    Ok(keys::ensure_ready(
        store,
        config.signing_alg,
        Some(&config.keys_dir),
        config.max_signed_token_ttl(),
        now,
    )
    .await?)
}

/// The database URL without its password, for messages.
#[must_use]
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

async fn maintain(state: AppState) {
    let mut keys_tick = tokio::time::interval(KEY_RELOAD);
    let mut purge_tick = tokio::time::interval(PURGE);
    let mut revocations_tick = tokio::time::interval(REVOCATIONS);
    loop {
        tokio::select! {
            _ = revocations_tick.tick() => {
                if let Err(e) = state.revocations.sync(&*state.store, state.now()).await {
                    tracing::warn!(error = %e, "reading revoked tokens failed");
                }
            }
            _ = keys_tick.tick() => {
                let now = state.now();
                let result = async {
                    let records = keys::ensure_ready(&*state.store, state.config.signing_alg, None, state.config.max_signed_token_ttl(), now).await?;
                    state.keys.replace(&records)
                }.await;
                if let Err(e) = result {
                    tracing::warn!(error = %e, "reloading signing keys failed; keeping the current ones");
                }
            }
            _ = purge_tick.tick() => {
                match state.store.purge_expired(state.now()).await {
                    Ok(n) if n > 0 => tracing::debug!(rows = n, "purged expired rows"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "purging expired rows failed"),
                }
                if let Err(e) = state.store.purge_throttle(state.now()).await {
                    tracing::warn!(error = %e, "purging sign-in throttle rows failed");
                }
            }
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

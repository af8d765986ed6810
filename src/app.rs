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
use crate::keys::{self, KeyEncryption, KeyRing, Reseal};
use crate::metrics::Metrics;
use crate::server;
use crate::store::{SqlStore, Store};

/// How often a node reloads the signing keys (so a rotation made elsewhere reaches
/// it) and purges expired rows.
const KEY_RELOAD: Duration = Duration::from_secs(60);
const PURGE: Duration = Duration::from_secs(600);
/// How often a node reads the access tokens revoked elsewhere.
const REVOCATIONS: Duration = Duration::from_secs(1);
/// How often the policy snapshots are checked against the hosts' policy versions.
const POLICY_SYNC: Duration = Duration::from_secs(1);

pub struct App {
    listener: TcpListener,
    /// The separate `/metrics` listener, when `metrics.listen` names one.
    metrics_listener: Option<TcpListener>,
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
        let metrics_listener = match config.metrics_listen()? {
            Some(at) => Some(
                TcpListener::bind(at)
                    .await
                    .with_context(|| format!("cannot listen on {at} for the metrics"))?,
            ),
            None => None,
        };
        let kek = Arc::new(load_key_encryption(&config)?);
        let store = Arc::new(open_store(&config).await?);
        let records = prepare_keys(&*store, &kek, &config, clock.now()).await?;
        let keys = KeyRing::from_records(&records, kek).context("cannot load the signing keys")?;
        if config.dev {
            crate::demo::ensure(&store, &config, clock.now()).await?;
        }
        let passwords =
            PasswordVerifier::per_core().context("cannot start the password hashing threads")?;
        let metrics = Arc::new(Metrics::default());
        let throttle = Throttle::new(&config.throttle);
        let authenticator = Authenticator::new(passwords, throttle, &config.directories, &*store)
            .await
            .context("cannot set up the directories")?
            .with_metrics(metrics.clone());
        let state = AppState::new(
            Arc::new(config),
            store.clone(),
            keys,
            authenticator,
            clock,
            metrics,
        );
        state
            .revocations
            .sync(&*state.store, state.now())
            .await
            .context("cannot read the revoked tokens")?;
        Ok(Self {
            listener,
            metrics_listener,
            state,
            store,
        })
    }

    #[must_use]
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map_or(0, |a| a.port())
    }

    /// The port of the separate metrics listener, if there is one.
    #[must_use]
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
            .map(|a| a.port())
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
        let open_files = server::raise_open_files_limit();
        let limits = server::Limits::new(&self.state.config.server, open_files);
        tracing::info!(
            issuer = %self.state.config.issuer,
            max_connections = limits.max_connections,
            "listening on {}; discovery at {}/.well-known/openid-configuration",
            self.listener.local_addr()?,
            self.state.config.issuer_base()
        );
        // The metrics listener stops with the public one.
        let (stop, stopped) = tokio::sync::watch::channel(());
        if let Some(listener) = self.metrics_listener {
            tracing::info!("metrics at http://{}/metrics", listener.local_addr()?);
            let mut stopped = stopped.clone();
            let router = http::metrics_router(self.state.clone());
            tokio::spawn(async move {
                let until = async move {
                    let _ = stopped.changed().await;
                };
                if let Err(e) = axum::serve(listener, router)
                    .with_graceful_shutdown(until)
                    .await
                {
                    tracing::error!(error = %e, "the metrics listener failed");
                }
            });
        }
        server::serve(
            self.listener,
            router,
            limits,
            self.state.metrics.clone(),
            shutdown,
        )
        .await?;
        drop(stop);
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

/// Reads the key-encryption key (and the previous ones); in development mode, first
/// generates the file if it is missing.
///
/// # Errors
/// When no file is configured outside development mode, or a file does not read.
pub fn load_key_encryption(config: &Config) -> anyhow::Result<KeyEncryption> {
    let path = config.key_encryption_key_path()?;
    if config.dev && keys::kek::generate_file(&path)? {
        tracing::info!(
            "development mode: generated the key-encryption key {}",
            path.display()
        );
    }
    KeyEncryption::from_files(&path, &config.previous_key_encryption_key_files)
        .context("cannot read the key-encryption key")
}

/// Seals keys still stored in plain PEM, imports the PEM files of `keys_dir` and makes
/// sure there is an active and a next key.
///
/// # Errors
/// When a key file or the store fails.
pub async fn prepare_keys(
    store: &dyn Store,
    kek: &KeyEncryption,
    config: &Config,
    now: i64,
) -> anyhow::Result<Vec<crate::store::KeyRecord>> {
    let sealed = keys::reseal(store, kek, Reseal::Plain).await?;
    if !sealed.is_empty() {
        tracing::info!(
            keys = sealed.len(),
            "sealed the signing keys stored in plain PEM"
        );
    }
    let imported = keys::import_dir(store, kek, &config.keys_dir, config.signing_alg, now).await?;
    for kid in imported {
        tracing::info!(%kid, "imported signing key from {}", config.keys_dir.display());
    }
    Ok(keys::ensure_ready(
        store,
        kek,
        config.signing_alg,
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
    let mut policy_tick = tokio::time::interval(POLICY_SYNC);
    loop {
        tokio::select! {
            _ = policy_tick.tick() => {
                if let Err(e) = state.policy.sync(&*state.store).await {
                    tracing::warn!(error = %e, "reading policy versions failed");
                }
            }
            _ = revocations_tick.tick() => {
                if let Err(e) = state.revocations.sync(&*state.store, state.now()).await {
                    tracing::warn!(error = %e, "reading revoked tokens failed");
                }
            }
            _ = keys_tick.tick() => {
                let now = state.now();
                let result = reload_keys(&state, now).await;
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
                let retention = state.config.audit.retention_days.saturating_mul(86_400);
                if retention > 0 {
                    let before = state.now() - retention;
                    match state.store.purge_audit(before).await {
                        Ok(n) if n > 0 => tracing::info!(entries = n, "purged audit entries past retention"),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "purging old audit entries failed"),
                    }
                }
            }
        }
    }
}

/// Seals keys that an older node wrote in plain PEM (during an upgrade), follows
/// rotations made elsewhere and removes expired keys.
async fn reload_keys(state: &AppState, now: i64) -> Result<(), keys::KeyError> {
    let kek = state.keys.key_encryption();
    keys::reseal(&*state.store, kek, Reseal::Plain).await?;
    let records = keys::ensure_ready(
        &*state.store,
        kek,
        state.config.signing_alg,
        state.config.max_signed_token_ttl(),
        now,
    )
    .await?;
    state.keys.replace(&records)
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

//! All SQL lives here, behind narrow traits, one file per aggregate.
//!
//! One set of portable queries serves SQLite and PostgreSQL through sqlx's `Any`
//! driver: text ids, integer unix times and 0/1 flags, and `$N` placeholders numbered
//! in ascending order of appearance (SQLite binds `$N` by order of first appearance,
//! so the numbering and the order must agree). Single use is enforced inside one
//! statement (`UPDATE … WHERE used_at IS NULL RETURNING …`), never read-then-write.

mod clients;
mod consent;
mod directory;
mod grants;
mod hosts;
mod import;
mod keys;
mod profile;
mod sessions;
mod throttle;
mod users;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor};

pub use clients::ClientStore;
pub use consent::ConsentStore;
pub use directory::{DirectoryStore, EmployeeFacts, Provision};
pub use grants::{
    CodeRecord, CodeUse, GrantStore, Issuance, NewCode, NewFamily, RefreshRecord, RefreshStatus,
    RefreshUse,
};
pub use hosts::{Host, HostStore, NewHost};
pub use import::ImportReport;
pub use keys::{KeyRecord, KeyStore};
pub use profile::ProfileStore;
pub use sessions::SessionRows;
pub use throttle::{PolicyOverride, ThrottleStore};
pub use users::{NewUser, UserCredentials, UserStore};

/// Errors of the store layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write; names what was duplicated.
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// A referenced row does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The input breaks a rule of the model; the message says which.
    #[error("{0}")]
    Invalid(String),
    /// A stored value could not be interpreted.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Which database the URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// # Errors
    /// On a URL of any other database.
    pub fn of_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Self::Postgres)
        } else {
            Err(StoreError::Corrupt(format!(
                "database URL must start with sqlite: or postgres: (got {})",
                url.split(':').next().unwrap_or_default()
            )))
        }
    }
}

/// Everything the rest of Tessera needs from the database.
#[async_trait]
pub trait Store:
    ClientStore
    + ConsentStore
    + DirectoryStore
    + GrantStore
    + HostStore
    + KeyStore
    + ProfileStore
    + SessionRows
    + ThrottleStore
    + UserStore
{
    /// Checks that the database answers (for `/readyz`).
    async fn ping(&self) -> StoreResult<()>;
}

/// The SQL implementation of every store trait, on SQLite or PostgreSQL.
#[derive(Clone, Debug)]
pub struct SqlStore {
    /// Reads, and on PostgreSQL writes too.
    pool: AnyPool,
    /// Writes. On SQLite a pool of one connection: the database has one writer, and
    /// writers queued here wait their turn in order, where several connections racing
    /// for the lock would sleep in SQLite's busy handler (1 ms, then 2, 5, … up to
    /// 100 ms between tries) and leave the CPU idle. On PostgreSQL the same pool as
    /// `pool`.
    writer: AnyPool,
    backend: Backend,
}

impl SqlStore {
    /// Connects to the database named by `url`, without running migrations.
    ///
    /// # Errors
    /// When the URL is not SQLite or PostgreSQL or the database cannot be reached.
    pub async fn connect(url: &str, max_connections: u32) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url)?;
        let options = AnyConnectOptions::from_str(url)?.disable_statement_logging();
        // An in-memory SQLite database lives in one connection: one pool of one.
        let in_memory =
            backend == Backend::Sqlite && (url.contains(":memory:") || url.contains("mode=memory"));
        let pool = Self::pool(backend, if in_memory { 1 } else { max_connections })
            .connect_with(options.clone())
            .await?;
        let writer = match backend {
            Backend::Sqlite if !in_memory => Self::pool(backend, 1).connect_with(options).await?,
            _ => pool.clone(),
        };
        Ok(Self {
            pool,
            writer,
            backend,
        })
    }

    fn pool(backend: Backend, max_connections: u32) -> AnyPoolOptions {
        AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers proceed while one writer writes. The busy
                        // timeout makes a writer of another process (the CLI) wait
                        // instead of failing; it comes first because switching to WAL
                        // takes a lock, and a new connection must wait for it too.
                        conn.execute("PRAGMA busy_timeout = 5000").await?;
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                    }
                    Ok(())
                })
            })
    }

    /// Runs the migrations of this backend (`migrations/sqlite` or `migrations/postgres`).
    ///
    /// # Errors
    /// When a migration fails or the database has migrations this build does not know.
    pub async fn migrate(&self) -> StoreResult<()> {
        let migrator = match self.backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("migrations/postgres"),
        };
        migrator
            .run(&self.writer)
            .await
            .map_err(|e| StoreError::Database(e.into()))
    }

    /// Begins a transaction that will write. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`): a deferred transaction that reads and then writes fails with
    /// `SQLITE_BUSY` when another connection wrote in between, without waiting for the
    /// busy timeout.
    ///
    /// The `BEGIN` runs in a task of its own: sqlx 0.8.6 returns a connection to the pool
    /// still inside a transaction when `begin` is cancelled (sqlx issue #4393, fixed
    /// after 0.8.6), which happens when a client goes away mid-request; a spawned `begin`
    /// always completes, and a transaction dropped unfinished is rolled back.
    pub(crate) async fn begin_write(&self) -> StoreResult<sqlx::Transaction<'static, sqlx::Any>> {
        let pool = self.writer.clone();
        let statement = match self.backend {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        };
        tokio::spawn(async move { pool.begin_with(statement).await })
            .await
            .map_err(|e| StoreError::Corrupt(format!("the transaction task failed: {e}")))?
            .map_err(StoreError::Database)
    }

    #[must_use]
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
    }
}

#[async_trait]
impl Store for SqlStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

/// Turns a unique-constraint violation into `Conflict(what)`, anything else into
/// `Database`.
pub(crate) fn on_unique(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
        _ => StoreError::Database(e),
    }
}

pub(crate) fn flag(b: bool) -> i64 {
    i64::from(b)
}

/// Lists are stored as newline-separated text: portable, and no value here (URIs,
/// grant type names) can contain a newline.
pub(crate) fn join_lines<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join("\n")
}

pub(crate) fn split_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(i: usize) -> NewHost {
        NewHost {
            host_id: format!("h{i}"),
            domain: format!("h{i}.example"),
            name: format!("Host {i}"),
        }
    }

    /// Many writers at once on a file database: they queue for the one writer
    /// connection, none fails, and the readers see every write.
    #[tokio::test]
    async fn concurrent_writers_on_sqlite_all_land() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let store = SqlStore::connect(&url, 4).await.unwrap();
        store.migrate().await.unwrap();
        let writes = (0..24).map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.create_host(&host(i), 0).await })
        });
        for write in writes.collect::<Vec<_>>() {
            write.await.unwrap().unwrap();
        }
        assert_eq!(store.list_hosts().await.unwrap().len(), 24);
        store.close().await;
    }

    /// An in-memory database is one connection's: reads and writes share it.
    #[tokio::test]
    async fn an_in_memory_sqlite_database_is_one_database() {
        let store = SqlStore::connect("sqlite::memory:", 4).await.unwrap();
        store.migrate().await.unwrap();
        store.create_host(&host(1), 0).await.unwrap();
        assert!(store.find_host("h1.example").await.unwrap().is_some());
    }
}

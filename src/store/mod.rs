//! All SQL lives here, behind narrow traits, one file per aggregate.
//!
//! One set of portable queries serves SQLite and PostgreSQL through sqlx's `Any`
//! driver: text ids, integer unix times and 0/1 flags, and `$N` placeholders numbered
//! in ascending order of appearance (SQLite binds `$N` by order of first appearance,
//! so the numbering and the order must agree). Single use is enforced inside one
//! statement (`UPDATE … WHERE used_at IS NULL RETURNING …`), never read-then-write.

mod accounts;
mod api_token_use;
mod api_tokens;
mod assignment_rows;
mod assignments;
mod audit;
mod catalog;
mod client_rows;
mod clients;
mod consent;
mod directory;
mod grants;
mod guard;
mod hosts;
mod import;
mod keys;
mod members;
mod policy;
mod profile;
mod readiness;
mod rotation;
mod sessions;
mod throttle;
mod user_admin;
mod user_status;
mod users;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AnyPool, ConnectOptions, Connection, Executor};

pub use api_token_use::{ApiTokenUseStore, PresentedToken};
pub use api_tokens::{ApiToken, ApiTokenPage, ApiTokenQuery, ApiTokenStore, NewApiToken};
pub use assignments::{
    Assignment, AssignmentKind, AssignmentStore, Ending, NamedDefinition, NewAssignment,
};
pub use audit::{AuditEntry, AuditPage, AuditQuery, AuditStore};
pub use catalog::{
    CatalogQuery, Definition, DefinitionChange, DefinitionPage, DefinitionStore, Endpoint,
    EndpointChange, EndpointPage, EndpointStore, Grant, NewDefinition, NewEndpoint, Permission,
    PermissionPage, PermissionStore,
};
pub use clients::{ClientPage, ClientStore};
pub use consent::ConsentStore;
pub use directory::{DirectoryStore, EmployeeFacts, Provision};
pub use grants::{
    CodeLookup, CodeRecord, Consume, GrantStore, Issuance, NewCode, NewFamily, RefreshLookup,
    RefreshRecord, RefreshStatus,
};
pub use hosts::{FeatureFlags, Host, HostPage, HostSettings, HostStore, NewHost, StoredDirectory};
pub use import::ImportReport;
pub use keys::{KeyRecord, KeyStore};
pub use members::{Member, MemberPage, MemberQuery, MemberStore, RoleFilter, Standing, UserStatus};
pub use policy::PolicyStore;
pub use profile::ProfileStore;
pub use sessions::SessionRows;
pub use throttle::{PolicyOverride, ThrottleStore};
pub use user_admin::{EmployeeRecord, MemberChange, NewMember, Removal, UserAdminStore};
pub use user_status::{StatusChange, UserStatusStore};
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
    /// The change is refused by the state it meets (the host's last admin, a name in
    /// use by other rows); the message says why.
    #[error("{0}")]
    Refused(String),
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
    AssignmentStore
    + ApiTokenStore
    + ApiTokenUseStore
    + AuditStore
    + ClientStore
    + DefinitionStore
    + EndpointStore
    + PermissionStore
    + ConsentStore
    + DirectoryStore
    + GrantStore
    + HostStore
    + KeyStore
    + MemberStore
    + PolicyStore
    + ProfileStore
    + SessionRows
    + ThrottleStore
    + UserAdminStore
    + UserStatusStore
    + UserStore
{
    /// Checks that the database can serve this node: it takes a write, its schema is
    /// there and (SQLite) its file is the one open (for `/readyz`).
    async fn check_ready(&self, now: i64) -> StoreResult<()>;

    /// How many pooled connections are open and idle (for the metrics).
    fn pool_stats(&self) -> PoolStats {
        PoolStats::default()
    }
}

/// Connections of the database pools.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    pub open: u32,
    pub idle: u32,
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
    /// The SQLite database file (none in memory and on PostgreSQL).
    sqlite_file: Option<Arc<readiness::SqliteFile>>,
    /// This process's row in `readiness_t`.
    node_id: String,
    /// Refresh token rotations waiting to commit together (`rotation.rs`).
    rotations: rotation::Rotations,
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
        let sqlite_file = if backend == Backend::Sqlite && !in_memory {
            let path = SqliteConnectOptions::from_str(url)?
                .get_filename()
                .to_path_buf();
            if url.contains("mode=rwc") {
                create_private_file(&path)?;
            }
            restrict_permissions(&path)?;
            Some(readiness::SqliteFile::new(path))
        } else {
            None
        };
        let pool = Self::pool(
            backend,
            if in_memory { 1 } else { max_connections },
            sqlite_file.clone(),
        )
        .connect_with(options.clone())
        .await?;
        let writer = match backend {
            Backend::Sqlite if !in_memory => {
                Self::pool(backend, 1, sqlite_file.clone())
                    .connect_with(options)
                    .await?
            }
            _ => pool.clone(),
        };
        Ok(Self {
            pool,
            writer,
            backend,
            sqlite_file,
            node_id: crate::domain::secret::random_id(),
            rotations: rotation::Rotations::default(),
        })
    }

    fn pool(
        backend: Backend,
        max_connections: u32,
        file: Option<Arc<readiness::SqliteFile>>,
    ) -> AnyPoolOptions {
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
            // A connection whose COMMIT or ROLLBACK failed stays inside its transaction
            // (as sqlx counts it): on a full disk SQLite rolls the transaction back by
            // itself, the ROLLBACK that sqlx then sends fails with "no transaction is
            // active", and every later `BEGIN` on that connection would fail with
            // "attempted to call begin_with at non-zero transaction depth". SQLite's one
            // writer connection would then refuse every write until a restart. Such a
            // connection is closed instead of being handed out again, so one failed
            // commit costs one request. The check is made when a connection is taken:
            // by then the pool's own ping on release has waited for the ROLLBACK of a
            // dropped transaction (queued to SQLite's worker thread), and it costs no
            // round trip of its own.
            //
            // A connection to an SQLite file that was since replaced (restored from a
            // backup) would go on reading and writing the old, unlinked file.
            .before_acquire(move |conn, meta| {
                let usable = !conn.is_in_transaction()
                    && file.as_ref().is_none_or(|f| !f.is_stale(meta.age));
                Box::pin(async move { Ok(usable) })
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
        let failed = |e: sqlx::migrate::MigrateError| StoreError::Database(e.into());
        match self.backend {
            // sqlx locks PostgreSQL for the run (an advisory lock) but not SQLite, where
            // processes starting together on a new file would each apply the first
            // migration and all but one fail. One write transaction around the run
            // makes the others wait, then find the migrations applied; each
            // migration's own transaction nests in it as a savepoint.
            Backend::Sqlite => {
                let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
                migrator.run(&mut *tx).await.map_err(failed)?;
                tx.commit().await?;
                Ok(())
            }
            Backend::Postgres => migrator.run(&self.writer).await.map_err(failed),
        }
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
    async fn check_ready(&self, now: i64) -> StoreResult<()> {
        self.check_writable(&self.node_id, now).await
    }

    fn pool_stats(&self) -> PoolStats {
        let idle = |p: &AnyPool| u32::try_from(p.num_idle()).unwrap_or(u32::MAX);
        let mut stats = PoolStats {
            open: self.pool.size(),
            idle: idle(&self.pool),
        };
        // On SQLite the writer is a pool of its own; on PostgreSQL the same one.
        if self.backend == Backend::Sqlite {
            stats.open += self.writer.size();
            stats.idle += idle(&self.writer);
        }
        stats
    }
}

/// Creates the SQLite database file readable by its owner only (`0600`) before SQLite
/// creates it with the process's umask. SQLite gives its `-wal` and `-shm` files the
/// database file's permissions.
fn create_private_file(path: &Path) -> StoreResult<()> {
    if path.exists() {
        return Ok(());
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::Database(sqlx::Error::Io(e))),
    }
}

/// Takes group and other access away from an existing database file and its `-wal` and
/// `-shm` files: they hold password hashes, sessions and signing keys.
fn restrict_permissions(path: &Path) -> StoreResult<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut files = vec![path.to_path_buf()];
        for suffix in ["-wal", "-shm"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            files.push(name.into());
        }
        for file in files {
            let Ok(metadata) = std::fs::metadata(&file) else {
                continue;
            };
            let mode = metadata.permissions().mode();
            if mode & 0o077 != 0 {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode & 0o700))
                    .map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Turns a unique-constraint violation into `Conflict(what)`, anything else into
/// `Database`.
pub(crate) fn on_unique(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
        _ => StoreError::Database(e),
    }
}

/// `on_unique` for an error already in the store's type (a writer's, in `accounts`).
pub(crate) fn unique_as(what: &'static str) -> impl FnOnce(StoreError) -> StoreError {
    move |e| match e {
        StoreError::Database(e) => on_unique(what)(e),
        other => other,
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

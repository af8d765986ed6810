//! Readiness: whether this node's database can serve, for `/readyz`: `readiness_t`.
//!
//! A `SELECT 1` is not enough: a full disk, a missing schema or a deleted SQLite file
//! all answer it. The check writes a row of its own instead, and on SQLite also checks
//! that the file at the configured path is still the one the pool has open.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::{SqlStore, StoreError, StoreResult};

/// The identity of an SQLite database file, to notice that it was deleted or replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileId {
    device: u64,
    inode: u64,
}

fn file_id(path: &Path) -> Option<FileId> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).ok().map(|m| FileId {
            device: m.dev(),
            inode: m.ino(),
        })
    }
    #[cfg(not(unix))]
    {
        std::fs::metadata(path).ok().map(|_| FileId {
            device: 0,
            inode: 0,
        })
    }
}

/// The SQLite file the pools opened, and when it was last seen replaced: connections
/// opened before that moment still hold the old file and are not handed out again.
#[derive(Debug)]
pub(crate) struct SqliteFile {
    path: PathBuf,
    opened: Mutex<Option<FileId>>,
    replaced_at: Mutex<Option<Instant>>,
}

impl SqliteFile {
    pub(crate) fn new(path: PathBuf) -> Arc<Self> {
        let opened = file_id(&path);
        Arc::new(Self {
            path,
            opened: Mutex::new(opened),
            replaced_at: Mutex::new(None),
        })
    }

    /// Whether a connection of this age was opened before the file was replaced.
    pub(crate) fn is_stale(&self, age: std::time::Duration) -> bool {
        self.replaced_at
            .lock()
            .ok()
            .and_then(|at| *at)
            .is_some_and(|at| age > at.elapsed())
    }

    /// Checks that the file is where it was; a file put back (restored from a backup)
    /// or created anew marks every open connection stale, so the pools reopen it.
    fn check(&self) -> StoreResult<()> {
        let now = file_id(&self.path);
        let Ok(mut opened) = self.opened.lock() else {
            return Ok(());
        };
        if now == *opened {
            return Ok(());
        }
        if now.is_some() {
            tracing::warn!(path = %self.path.display(), "the database file was replaced; reopening it");
            *opened = now;
            if let Ok(mut at) = self.replaced_at.lock() {
                *at = Some(Instant::now());
            }
        }
        Err(StoreError::Invalid(format!(
            "the database file {} was removed or replaced",
            self.path.display()
        )))
    }
}

impl SqlStore {
    /// Checks that the database can take a write now: the schema is there, the disk
    /// has room and (SQLite) the file is the one the pools have open.
    ///
    /// # Errors
    /// The reason it cannot.
    pub(crate) async fn check_writable(&self, node_id: &str, now: i64) -> StoreResult<()> {
        if let Some(file) = &self.sqlite_file {
            file.check()?;
        }
        sqlx::query(
            "INSERT INTO readiness_t (node_id, checked_at) VALUES ($1, $2) \
             ON CONFLICT (node_id) DO UPDATE SET checked_at = excluded.checked_at",
        )
        .bind(node_id)
        .bind(now)
        .execute(&self.writer)
        .await?;
        Ok(())
    }
}

impl SqlStore {
    /// Writes a consistent copy of an SQLite database to `path` (`VACUUM INTO`), while
    /// the database stays in use.
    ///
    /// # Errors
    /// On PostgreSQL (use `pg_dump`), or when the copy cannot be written.
    pub async fn backup_to(&self, path: &Path) -> StoreResult<()> {
        if self.sqlite_file.is_none() {
            return Err(StoreError::Invalid(
                "only a file SQLite database is copied this way".to_owned(),
            ));
        }
        sqlx::query("VACUUM INTO $1")
            .bind(path.display().to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

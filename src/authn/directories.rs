//! Which directory serves each host's sign-ins: the configuration file's
//! (`[[directories]]`), set up once at start, and those kept in the database (issue 13:
//! set through the management API, effective without a restart). The database's are
//! read again when the node's copy is older than [`STORED_TTL`], or at once after this
//! node changed one ([`Directories::forget`]); other nodes follow within the TTL. A
//! directory whose settings did not change is kept, with its pool of service
//! connections. For a host in the file, the file wins: a directory kept in the database
//! for it is ignored (and the API refuses to set one).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::directory::{Directory, DirectoryError, DirectorySettings};
use crate::store::{Store, StoredDirectory};

/// How long a node trusts its copy of the directories kept in the database.
pub const STORED_TTL: Duration = Duration::from_secs(10);

/// A host's directory, with the host's domain (for a login never seen: `user@domain`).
pub(crate) struct HostDirectory {
    pub(crate) domain: String,
    pub(crate) directory: Directory,
}

/// Directories by host id.
pub(crate) type DirectoryMap = HashMap<String, Arc<HostDirectory>>;

struct Snapshot {
    /// When the database was last read; none: read it at the next sign-in.
    loaded: Option<Instant>,
    /// The file's directories and the database's, merged.
    merged: Arc<DirectoryMap>,
}

#[derive(Clone)]
pub struct Directories {
    configured: Arc<DirectoryMap>,
    snapshot: Arc<RwLock<Snapshot>>,
}

impl std::fmt::Debug for Directories {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.configured.keys()).finish()
    }
}

impl Directories {
    /// Sets up the configuration's directories; each names its host by id or domain.
    ///
    /// # Errors
    /// When a host does not exist or a directory's settings cannot work.
    pub async fn from_config(
        settings: &[DirectorySettings],
        store: &dyn Store,
    ) -> Result<Self, DirectoryError> {
        let mut configured = DirectoryMap::new();
        for s in settings {
            let host = store
                .find_host(&s.host)
                .await
                .map_err(|e| DirectoryError::Protocol(e.to_string()))?
                .ok_or_else(|| DirectoryError::Settings {
                    host: s.host.clone(),
                    message: "no such host".into(),
                })?;
            configured.insert(
                host.host_id.clone(),
                Arc::new(HostDirectory {
                    domain: host.domain.to_lowercase(),
                    directory: Directory::new(s.clone())?,
                }),
            );
        }
        let configured = Arc::new(configured);
        Ok(Self {
            snapshot: Arc::new(RwLock::new(Snapshot {
                loaded: None,
                merged: Arc::clone(&configured),
            })),
            configured,
        })
    }

    /// Whether the host's directory comes from the configuration file.
    #[must_use]
    pub fn is_configured(&self, host_id: &str) -> bool {
        self.configured.contains_key(host_id)
    }

    /// Makes the next sign-in read the database's directories again (after a change
    /// made on this node).
    pub fn forget(&self) {
        if let Ok(mut s) = self.snapshot.write() {
            s.loaded = None;
        }
    }

    /// Every host's directory now. When the database cannot be read, the last copy
    /// serves (and the next sign-in tries again).
    pub(crate) async fn current(&self, store: &dyn Store) -> Arc<DirectoryMap> {
        let old = match self.snapshot.read() {
            Ok(s) => {
                if s.loaded.is_some_and(|at| at.elapsed() < STORED_TTL) {
                    return Arc::clone(&s.merged);
                }
                Arc::clone(&s.merged)
            }
            Err(_) => return Arc::clone(&self.configured),
        };
        let rows = match store.stored_directories().await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the directories kept in the database");
                return old;
            }
        };
        let merged = Arc::new(self.merge(rows, &old));
        if let Ok(mut s) = self.snapshot.write() {
            s.loaded = Some(Instant::now());
            s.merged = Arc::clone(&merged);
        }
        merged
    }

    /// The file's directories and the database's, reusing those unchanged since `old`.
    fn merge(&self, rows: Vec<StoredDirectory>, old: &DirectoryMap) -> DirectoryMap {
        let mut map = (*self.configured).clone();
        for row in rows {
            if self.configured.contains_key(&row.host_id) {
                continue;
            }
            let settings: DirectorySettings = match serde_json::from_value(row.settings) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(host_id = %row.host_id, error = %e, "stored directory settings do not read");
                    continue;
                }
            };
            let domain = row.domain.to_lowercase();
            let kept = old
                .get(&row.host_id)
                .filter(|d| d.domain == domain && *d.directory.settings() == settings);
            let entry = match kept {
                Some(d) => Arc::clone(d),
                None => match Directory::new(settings) {
                    Ok(directory) => Arc::new(HostDirectory { domain, directory }),
                    Err(e) => {
                        tracing::error!(host_id = %row.host_id, error = %e, "stored directory settings cannot work");
                        continue;
                    }
                },
            };
            map.insert(row.host_id, entry);
        }
        map
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authn::directory::DirectoryKind;

    fn settings(host: &str, password_file: &std::path::Path, base: &str) -> DirectorySettings {
        serde_json::from_value(serde_json::json!({
            "host": host,
            "kind": "ldap",
            "urls": ["ldaps://ldap.example"],
            "bind_dn": "cn=svc",
            "bind_password_file": password_file,
            "user_base": base,
        }))
        .unwrap()
    }

    fn row(host: &str, s: &DirectorySettings) -> StoredDirectory {
        StoredDirectory {
            host_id: host.to_owned(),
            domain: format!("{host}.example"),
            settings: serde_json::to_value(s).unwrap(),
        }
    }

    #[test]
    fn the_file_wins_and_an_unchanged_directory_is_kept_with_its_pool() {
        let dir = tempfile::tempdir().unwrap();
        let password = dir.path().join("pw");
        std::fs::write(&password, "secret\n").unwrap();
        let from_file = settings("h1", &password, "ou=file");
        let mut configured = DirectoryMap::new();
        configured.insert(
            "h1".to_owned(),
            Arc::new(HostDirectory {
                domain: "h1.example".to_owned(),
                directory: Directory::new(from_file).unwrap(),
            }),
        );
        let configured = Arc::new(configured);
        let directories = Directories {
            snapshot: Arc::new(RwLock::new(Snapshot {
                loaded: None,
                merged: Arc::clone(&configured),
            })),
            configured,
        };
        let stored_h1 = settings("h1", &password, "ou=database");
        let stored_h2 = settings("h2", &password, "ou=people");
        let first = directories.merge(
            vec![row("h1", &stored_h1), row("h2", &stored_h2)],
            &DirectoryMap::new(),
        );
        assert_eq!(first.len(), 2);
        assert_eq!(first["h1"].directory.settings().user_base, "ou=file");
        assert_eq!(first["h2"].directory.settings().kind, DirectoryKind::Ldap);

        // The same settings again: the same directory, pool and all.
        let again = directories.merge(vec![row("h2", &stored_h2)], &first);
        assert!(Arc::ptr_eq(&first["h2"], &again["h2"]));
        // Changed settings: a new directory.
        let changed = settings("h2", &password, "ou=staff");
        let third = directories.merge(vec![row("h2", &changed)], &again);
        assert!(!Arc::ptr_eq(&again["h2"], &third["h2"]));
        assert_eq!(third["h2"].directory.settings().user_base, "ou=staff");
        // Removed from the database: gone.
        let fourth = directories.merge(Vec::new(), &third);
        assert!(!fourth.contains_key("h2") && fourth.contains_key("h1"));
    }
}

//! The policy snapshots of this node (issue 14: "decisions come from memory, a snapshot
//! per host, refreshed on change on every node within a second"). A host's snapshot is
//! built from the store on its first decision and kept with the host's policy version
//! seen before it was read; [`PolicyCache::sync`], run every second, reads every host's
//! version in one query and drops the snapshots whose version moved, so the next
//! decision rebuilds them. A write bumps its host's version in its own transaction
//! (`store::policy::bump_policy`), so no change can slip between a read and its
//! version.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::domain::policy::PolicySnapshot;
use crate::store::{Store, StoreResult};

/// A snapshot and the version of the host's policy it was built at (or after).
type Entry = (i64, Arc<PolicySnapshot>);

#[derive(Clone, Default)]
pub struct PolicyCache {
    /// The versions read by the last sync; a host never changed is at 0.
    versions: Arc<RwLock<HashMap<String, i64>>>,
    snapshots: Arc<RwLock<HashMap<String, Entry>>>,
}

impl std::fmt::Debug for PolicyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PolicyCache")
    }
}

impl PolicyCache {
    fn version(&self, host_id: &str) -> i64 {
        self.versions
            .read()
            .ok()
            .and_then(|v| v.get(host_id).copied())
            .unwrap_or(0)
    }

    /// The host's snapshot, from memory while its version holds.
    ///
    /// # Errors
    /// When the store fails while building it.
    pub async fn get(&self, store: &dyn Store, host_id: &str) -> StoreResult<Arc<PolicySnapshot>> {
        let version = self.version(host_id);
        if let Some((at, snapshot)) = self
            .snapshots
            .read()
            .ok()
            .and_then(|s| s.get(host_id).cloned())
        {
            if at == version {
                return Ok(snapshot);
            }
        }
        // The version is taken before the read: a change committed during the read
        // moves the version past it, and the next sync drops this snapshot.
        let snapshot = Arc::new(PolicySnapshot::from_rows(store.policy_rows(host_id).await?));
        if let Ok(mut s) = self.snapshots.write() {
            s.insert(host_id.to_owned(), (version, Arc::clone(&snapshot)));
        }
        Ok(snapshot)
    }

    /// Reads every host's policy version and forgets the snapshots that are behind.
    ///
    /// # Errors
    /// When the store fails; the snapshots are kept as they are.
    pub async fn sync(&self, store: &dyn Store) -> StoreResult<()> {
        let versions: HashMap<String, i64> = store.policy_versions().await?.into_iter().collect();
        // Versions first: a decision in between then finds its snapshot behind and
        // rebuilds it, rather than keeping it.
        if let Ok(mut v) = self.versions.write() {
            v.clone_from(&versions);
        }
        if let Ok(mut s) = self.snapshots.write() {
            s.retain(|host, (at, _)| versions.get(host).copied().unwrap_or(0) == *at);
        }
        Ok(())
    }
}

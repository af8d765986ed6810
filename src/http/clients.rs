//! A short-lived cache of registered clients for the machine endpoints (token,
//! introspection, revocation, userinfo), which would otherwise read the client on every
//! request. Entries live `CLIENT_TTL`: a client changed on another node (a rotated
//! secret, a new redirect URI) is seen here within that time. Unknown client ids are
//! not cached, so the cache holds at most the registered clients. A change made on this
//! node (the management API) forgets the client here at once; other nodes see it within
//! `CLIENT_TTL`.
//!
//! A map with a time stamp is all this needs (no eviction policy, no size bound), so no
//! caching crate is pulled in for it.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::domain::Client;
use crate::store::{Store, StoreResult};

/// How long a cached client is trusted.
pub const CLIENT_TTL: Duration = Duration::from_secs(10);

/// A client and when it was read.
type Entry = (Instant, Arc<Client>);

#[derive(Clone, Default)]
pub struct ClientCache {
    entries: Arc<RwLock<HashMap<String, Entry>>>,
}

impl std::fmt::Debug for ClientCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientCache")
    }
}

impl ClientCache {
    /// The client, from the cache while fresh, from the store otherwise.
    pub async fn get(
        &self,
        store: &dyn Store,
        client_id: &str,
    ) -> StoreResult<Option<Arc<Client>>> {
        if let Ok(entries) = self.entries.read() {
            if let Some((at, client)) = entries.get(client_id) {
                if at.elapsed() < CLIENT_TTL {
                    return Ok(Some(Arc::clone(client)));
                }
            }
        }
        let Some(client) = store.find_client(client_id).await? else {
            if let Ok(mut entries) = self.entries.write() {
                entries.remove(client_id);
            }
            return Ok(None);
        };
        Ok(Some(self.insert(client)))
    }

    /// Caches a client just read from the store.
    pub fn insert(&self, client: Client) -> Arc<Client> {
        let client = Arc::new(client);
        if let Ok(mut entries) = self.entries.write() {
            entries.insert(
                client.client_id.clone(),
                (Instant::now(), Arc::clone(&client)),
            );
        }
        client
    }

    /// Forgets a client just changed or deleted on this node, so the next request
    /// reads it from the store.
    pub fn forget(&self, client_id: &str) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(client_id);
        }
    }
}

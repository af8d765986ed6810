//! What every handler shares.

use std::sync::Arc;

use crate::authn::Authenticator;
use crate::config::Config;
use crate::domain::Clock;
use crate::keys::{KeyRing, TokenIssuer};
use crate::metrics::Metrics;
use crate::store::Store;

/// The application state, one per node. Every request clones it (axum's `State`), so
/// it is one `Arc`: a clone is one reference count, not one per field.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] holds.
pub struct Shared {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub keys: KeyRing,
    pub issuer: TokenIssuer,
    /// Local passwords and the hosts' directories.
    pub authenticator: Authenticator,
    pub clock: Clock,
    /// The revoked access tokens, kept in memory.
    pub revocations: crate::oauth::revocation::RevocationList,
    /// Registered clients, cached briefly for the machine endpoints.
    pub clients: super::clients::ClientCache,
    /// Each host's policy snapshot, for the decision endpoint.
    pub policy: super::policy_cache::PolicyCache,
    /// The discovery document, serialised once at start.
    pub discovery: bytes::Bytes,
    /// This node's Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Proxies whose `X-Forwarded-For` names the client (`throttle.trusted_proxies`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl AppState {
    #[must_use]
    pub fn new(
        config: Arc<Config>,
        store: Arc<dyn Store>,
        keys: KeyRing,
        authenticator: Authenticator,
        clock: Clock,
        metrics: Arc<Metrics>,
    ) -> Self {
        let issuer_url = config.issuer_base().to_owned();
        let issuer = TokenIssuer {
            keys: keys.clone(),
            issuer: issuer_url.clone(),
            audience: config.access_token_audience().to_owned(),
            access_ttl: config.tokens.access_token_ttl,
            id_ttl: config.tokens.id_token_ttl,
        };
        let metadata = crate::oidc::discovery::metadata(&issuer_url, keys.algorithm());
        let discovery = bytes::Bytes::from(serde_json::to_vec(&metadata).unwrap_or_default());
        // `Config::validate` refused unparseable entries before the state is built.
        let trusted_proxies = config.throttle.proxies().unwrap_or_default();
        Self(Arc::new(Shared {
            config,
            store,
            keys,
            issuer,
            authenticator,
            clients: super::clients::ClientCache::default(),
            policy: super::policy_cache::PolicyCache::default(),
            revocations: crate::oauth::revocation::RevocationList::default(),
            clock,
            discovery,
            metrics,
            trusted_proxies,
        }))
    }

    #[must_use]
    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}

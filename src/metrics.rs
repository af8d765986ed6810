//! Prometheus metrics, with the `prometheus-client` crate (the Prometheus project's
//! own Rust client): each node builds one [`Metrics`] with a registry of its own rather
//! than a process-wide recorder (the `metrics` crate's model), so that several apps in
//! one process (the test suite) count apart, and label sets are typed structs.
//!
//! Names and labels are listed in `docs/operations.md`. Every label has a bounded set
//! of values: routes are the matched templates, never raw paths.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: &'static str,
    /// The route template (`/authorize`), or `unmatched`.
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SignInLabels {
    /// `password` or `directory`.
    pub method: &'static str,
    /// `success`, `refused` or `unavailable`.
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GrantLabels {
    pub grant: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DirectoryLabels {
    /// The host id of the directory (one per configured directory).
    pub host: String,
    /// `success`, `refused` (a wrong password, a locked account) or `error`.
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PoolLabels {
    /// `idle` or `in_use`.
    pub state: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// From 1 ms to about 33 s: a JWKS answer takes microseconds, a sign-in on a busy
/// hash pool or a slow directory seconds.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// The metrics of one node.
pub struct Metrics {
    registry: Registry,
    pub http_requests: HistogramFamily<HttpLabels>,
    pub sign_ins: Family<SignInLabels, Counter>,
    pub tokens_issued: Family<GrantLabels, Counter>,
    pub directory_requests: HistogramFamily<DirectoryLabels>,
    pub hash_pool_queued: Gauge,
    pub hash_pool_in_use: Gauge,
    pub db_connections: Family<PoolLabels, Gauge>,
    pub connections_open: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut metrics = Self {
            registry: Registry::with_prefix("tessera"),
            http_requests: Family::new_with_constructor(latency_histogram),
            sign_ins: Family::default(),
            tokens_issued: Family::default(),
            directory_requests: Family::new_with_constructor(latency_histogram),
            hash_pool_queued: Gauge::default(),
            hash_pool_in_use: Gauge::default(),
            db_connections: Family::default(),
            connections_open: Gauge::default(),
        };
        metrics.register();
        metrics
    }
}

impl Metrics {
    fn register(&mut self) {
        let r = &mut self.registry;
        r.register(
            "http_request_duration_seconds",
            "HTTP requests by method, route template and status, and their latency",
            self.http_requests.clone(),
        );
        r.register(
            "sign_ins",
            "Sign-ins by method and outcome",
            self.sign_ins.clone(),
        );
        r.register(
            "tokens_issued",
            "Token responses by grant type",
            self.tokens_issued.clone(),
        );
        r.register(
            "directory_request_duration_seconds",
            "Directory sign-ins (search, bind, groups) by host and outcome, and their latency",
            self.directory_requests.clone(),
        );
        r.register(
            "hash_pool_queued",
            "Password hashings waiting for a hashing thread",
            self.hash_pool_queued.clone(),
        );
        r.register(
            "hash_pool_in_use",
            "Hashing threads busy",
            self.hash_pool_in_use.clone(),
        );
        r.register(
            "db_connections",
            "Database pool connections by state",
            self.db_connections.clone(),
        );
        r.register(
            "http_connections_open",
            "Open client connections on the public listener",
            self.connections_open.clone(),
        );
    }

    pub fn sign_in(&self, method: &'static str, outcome: &'static str) {
        self.sign_ins
            .get_or_create(&SignInLabels { method, outcome })
            .inc();
    }

    pub fn token_issued(&self, grant: &'static str) {
        self.tokens_issued
            .get_or_create(&GrantLabels { grant })
            .inc();
    }

    pub fn directory_request(&self, host: &str, outcome: &'static str, took: Duration) {
        self.directory_requests
            .get_or_create(&DirectoryLabels {
                host: host.to_owned(),
                outcome,
            })
            .observe(took.as_secs_f64());
    }

    /// The text exposition format (OpenMetrics 1.0).
    ///
    /// # Errors
    /// When encoding fails (writing into a `String` does not).
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_appear_in_the_exposition_with_their_labels() {
        let metrics = Metrics::default();
        metrics.sign_in("password", "success");
        metrics.token_issued("authorization_code");
        let text = metrics.encode().unwrap();
        assert!(
            text.contains("tessera_sign_ins_total{method=\"password\",outcome=\"success\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("tessera_tokens_issued_total{grant=\"authorization_code\"} 1"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}

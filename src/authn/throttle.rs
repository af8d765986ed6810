//! Brute-force throttling of password sign-ins (local and directory), checked before
//! any argon2 run or directory bind: a throttled attempt costs two reads and no
//! verification, and a directory's own lockout never sees a stranger's guesses past
//! the free ones. The rule is `domain::throttle::Policy`; `docs/brute-force.md`
//! explains it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::config::ThrottleConfig;
use crate::domain::throttle::{normalise_login, Counter, Party, Policy};
use crate::store::{PolicyOverride, Store, StoreResult};

/// The configured policies, and the hosts' own as last read.
#[derive(Clone, Debug)]
pub struct Throttle {
    account: Policy,
    address: Policy,
    host_policies: Arc<HostPolicies>,
}

/// How long a host's policy, as read from the store, is taken as current. A change
/// (`tessera host throttle`, on any node) reaches every node's sign-ins within this
/// time; until then, one read per host and second instead of one per sign-in.
const HOST_POLICY_FRESH: Duration = Duration::from_secs(1);

/// At most this many hosts' policies are kept: the key comes from the login's domain,
/// which anyone can make up, so the map is emptied when it is full.
const HOST_POLICY_ENTRIES: usize = 1024;

/// Hosts' own account policies (or the lack of one) by host id or domain, with when
/// each was read.
#[derive(Debug, Default)]
struct HostPolicies(Mutex<HashMap<String, (Instant, Option<PolicyOverride>)>>);

impl HostPolicies {
    fn get(&self, host: &str) -> Option<Option<PolicyOverride>> {
        let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(host)
            .filter(|(read_at, _)| read_at.elapsed() < HOST_POLICY_FRESH)
            .map(|(_, policy)| *policy)
    }

    fn put(&self, host: &str, read_at: Instant, policy: Option<PolicyOverride>) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= HOST_POLICY_ENTRIES {
            map.retain(|_, (at, _)| at.elapsed() < HOST_POLICY_FRESH);
            if map.len() >= HOST_POLICY_ENTRIES {
                map.clear();
            }
        }
        map.insert(host.to_owned(), (read_at, policy));
    }
}

/// Who is trying: what the counters are keyed by.
#[derive(Clone, Debug)]
pub struct Attempt<'a> {
    pub login: &'a str,
    pub password: &'a str,
    /// The host the client is bound to, if any.
    pub client_host: Option<&'a str>,
    /// The client address (`http` decides it: the peer, or a trusted proxy's word).
    pub address: IpAddr,
    /// The SHA-256 of the browser's device cookie, if it sent one.
    pub device: Option<&'a str>,
}

/// The parties of one attempt with their policies, and what their counters said.
#[derive(Debug)]
pub(super) struct Checked {
    parties: Vec<(Party, Policy)>,
    counted: Vec<Party>,
    login: String,
    address: IpAddr,
    /// The user the device was looked up for, and until when it is known for them.
    device: Option<(String, i64)>,
}

impl Throttle {
    #[must_use]
    pub fn new(config: &ThrottleConfig) -> Self {
        Self {
            account: config.account,
            address: config.address,
            host_policies: Arc::default(),
        }
    }

    /// Reads the counters of the attempt's parties: the login (or, from a known device
    /// of `user_id`, that device instead) and the address. `Err(until)` when one of
    /// them must wait.
    pub(super) async fn check(
        &self,
        store: &dyn Store,
        attempt: &Attempt<'_>,
        user_id: Option<&str>,
        now: i64,
    ) -> StoreResult<Result<Checked, i64>> {
        let account_policy = self.account_policy(store, attempt).await?;
        let device_until = match (attempt.device, user_id) {
            (Some(device), Some(user)) => store
                .known_device_until(device, user)
                .await?
                .map(|until| (user.to_owned(), until)),
            _ => None,
        };
        let known_device = attempt
            .device
            .filter(|_| device_until.as_ref().is_some_and(|(_, until)| *until > now))
            .map(str::to_owned);
        let login = normalise_login(attempt.login);
        // A known device's failures count on the device: the account's lockout, which a
        // stranger's guesses drive, does not reach it (OWASP "device cookies").
        let first = match known_device {
            Some(device) => Party::Device(device),
            None => Party::Account(login.clone()),
        };
        let parties = vec![
            (first, account_policy),
            (Party::Address(address_key(attempt.address)), self.address),
        ];
        let keys: Vec<Party> = parties.iter().map(|(p, _)| p.clone()).collect();
        let counters = store.throttle_counters(&keys, now).await?;
        let until = counters
            .iter()
            .filter_map(|(party, counter)| wait_until(&parties, party, counter, now))
            .max();
        if let Some(until) = until {
            tracing::warn!(login = %attempt.login, address = %attempt.address, retry_after = until - now, "sign-in throttled");
            return Ok(Err(until));
        }
        Ok(Ok(Checked {
            parties,
            counted: counters.into_iter().map(|(p, _)| p).collect(),
            login,
            address: attempt.address,
            device: device_until,
        }))
    }

    /// The account policy: the client's host's, or that of the host whose domain the
    /// login names, or the configured one. Both come from the request, never from
    /// whether the account exists.
    async fn account_policy(
        &self,
        store: &dyn Store,
        attempt: &Attempt<'_>,
    ) -> StoreResult<Policy> {
        let host = attempt.client_host.or_else(|| {
            attempt
                .login
                .rsplit_once('@')
                .map(|(_, domain)| domain.trim())
        });
        let own = match host {
            Some(host) if !host.is_empty() => self.host_policy(store, host).await?,
            _ => None,
        };
        Ok(own.map_or(self.account, |o| o.apply(self.account)))
    }
}

impl Throttle {
    /// A host's own policy, from what was read within the last second, or read now.
    async fn host_policy(
        &self,
        store: &dyn Store,
        host: &str,
    ) -> StoreResult<Option<PolicyOverride>> {
        if let Some(policy) = self.host_policies.get(host) {
            return Ok(policy);
        }
        // Taken before the read: a change committed during it is read again next time.
        let read_at = Instant::now();
        let policy = store.host_policy(host).await?;
        self.host_policies.put(host, read_at, policy);
        Ok(policy)
    }
}

/// The address counter's key: an IPv4 address, or an IPv6 address's /64, which one
/// subscriber usually holds whole (RFC 6177), so rotating within it gains nothing.
fn address_key(address: IpAddr) -> String {
    match address.to_canonical() {
        IpAddr::V6(v6) => ipnet::Ipv6Net::new(v6, 64)
            .map_or_else(|_| v6.to_string(), |net| net.trunc().to_string()),
        v4 @ IpAddr::V4(_) => v4.to_string(),
    }
}

fn wait_until(
    parties: &[(Party, Policy)],
    party: &Party,
    counter: &Counter,
    now: i64,
) -> Option<i64> {
    let (_, policy) = parties.iter().find(|(p, _)| p == party)?;
    policy.wait_until(counter, now)
}

impl Checked {
    /// Until when the browser's device is known for `user_id`, as read by the check (the
    /// renewal of the device cookie needs no second read).
    pub(super) fn device_known_until(&self, user_id: &str) -> Option<i64> {
        self.device
            .as_ref()
            .filter(|(user, _)| user == user_id)
            .map(|(_, until)| *until)
    }

    /// Counts a refused sign-in against every party, in one statement.
    pub(super) async fn failed(&self, store: &dyn Store, now: i64) -> StoreResult<()> {
        tracing::warn!(login = %self.login, address = %self.address, "sign-in refused");
        let parties: Vec<(Party, i64)> = self
            .parties
            .iter()
            .map(|(p, policy)| (p.clone(), policy.reset_after))
            .collect();
        store.record_failures(&parties, now).await
    }

    /// A sign-in succeeded: the login's (or device's) failures are forgotten, not the
    /// address's (one account of one's own must not reset a guesser's address). Writes
    /// only when there was something to forget.
    pub(super) async fn succeeded(&self, store: &dyn Store) -> StoreResult<()> {
        let forget: Vec<Party> = self
            .counted
            .iter()
            .filter(|p| !matches!(p, Party::Address(_)))
            .cloned()
            .collect();
        if !forget.is_empty() {
            store.clear_counters(&forget).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::store::SqlStore;

    /// Log lines written to memory.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn failures_are_logged_with_login_and_address_and_then_throttled() {
        let store = SqlStore::connect("sqlite::memory:", 1).await.unwrap();
        store.migrate().await.unwrap();
        let config = crate::config::Config::default().throttle;
        let throttle = Throttle::new(&config);
        let attempt = Attempt {
            login: "Alice@Example.com",
            password: "hunter2-secret",
            client_host: None,
            address: "203.0.113.5".parse().unwrap(),
            device: None,
        };
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let now = 1_000_000;
        for _ in 0..config.account.free_attempts {
            let checked = throttle.check(&store, &attempt, None, now).await.unwrap();
            checked.unwrap().failed(&store, now).await.unwrap();
        }
        let until = throttle.check(&store, &attempt, None, now).await.unwrap();
        assert_eq!(until.unwrap_err(), now + config.account.base_delay);
        let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(log.contains("sign-in refused"), "{log}");
        assert!(log.contains("sign-in throttled"), "{log}");
        assert!(
            log.contains("alice@example.com") && log.contains("203.0.113.5"),
            "{log}"
        );
        assert!(!log.contains("hunter2"), "never the password: {log}");
    }

    #[tokio::test]
    async fn a_hosts_policy_is_read_once_a_second_not_once_a_sign_in() {
        use crate::store::{HostStore, NewHost, ThrottleStore};
        let store = SqlStore::connect("sqlite::memory:", 1).await.unwrap();
        store.migrate().await.unwrap();
        let host = NewHost {
            host_id: "acme".to_owned(),
            domain: "acme.example".to_owned(),
            name: "Acme".to_owned(),
        };
        store.create_host(&host, 0).await.unwrap();
        let with_free = |n| PolicyOverride {
            free_attempts: Some(n),
            ..PolicyOverride::default()
        };
        store.set_host_policy("acme", &with_free(1)).await.unwrap();
        let throttle = Throttle::new(&crate::config::Config::default().throttle);
        let attempt = Attempt {
            login: "bob@acme.example",
            password: "x",
            client_host: None,
            address: "203.0.113.5".parse().unwrap(),
            device: None,
        };
        let free = |t: &Throttle| {
            let t = t.clone();
            let store = &store;
            let attempt = attempt.clone();
            async move {
                t.account_policy(store, &attempt)
                    .await
                    .unwrap()
                    .free_attempts
            }
        };
        assert_eq!(free(&throttle).await, 1, "the host's own policy applies");
        store.set_host_policy("acme", &with_free(7)).await.unwrap();
        assert_eq!(
            free(&throttle).await,
            1,
            "read a moment ago: not read again"
        );
        tokio::time::sleep(HOST_POLICY_FRESH + Duration::from_millis(100)).await;
        assert_eq!(
            free(&throttle).await,
            7,
            "a second later the change applies"
        );
        store.clear_host_policy("acme").await.unwrap();
        tokio::time::sleep(HOST_POLICY_FRESH + Duration::from_millis(100)).await;
        assert_eq!(
            free(&throttle).await,
            crate::config::Config::default()
                .throttle
                .account
                .free_attempts
        );
    }

    #[test]
    fn the_host_policy_cache_stays_bounded_whatever_the_logins_name() {
        let cache = HostPolicies::default();
        for i in 0..(3 * HOST_POLICY_ENTRIES) {
            cache.put(&format!("made-up-{i}.example"), Instant::now(), None);
        }
        assert!(cache.0.lock().unwrap().len() <= HOST_POLICY_ENTRIES);
    }

    #[test]
    fn ipv6_addresses_count_by_their_64_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), "2001:db8:1:2::/64");
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        assert_eq!(address_key("192.0.2.1".parse().unwrap()), "192.0.2.1");
    }
}

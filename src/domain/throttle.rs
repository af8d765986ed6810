//! The brute-force rule (OWASP Authentication Cheat Sheet, "Account Lockout"; the shape
//! of Keycloak's brute force detection): a few free failures, then a wait that doubles
//! with each further failure up to a cap, and after many failures a temporary lockout.
//! Every wait ends by itself; nothing here locks an account for good.
//!
//! The wait is derived from the counter (failures and the time of the last one) and the
//! policy, never stored, so a policy change applies at once. `docs/brute-force.md`
//! explains the choice.

use serde::{Deserialize, Serialize};

use super::UnixTime;

/// How failures of one scope (an account, a client address) are throttled. Times are
/// seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Attempts answered at once: after this many failures the next attempt waits
    /// `base_delay`.
    pub free_attempts: i64,
    /// The wait after the first failure past the free ones; it doubles with each
    /// further failure.
    pub base_delay: i64,
    /// The longest progressive wait.
    pub max_delay: i64,
    /// After this many failures the wait is `lockout_duration`. 0: never.
    pub lockout_after: i64,
    /// The temporary lockout, counted from the last failure.
    pub lockout_duration: i64,
    /// Failures are forgotten this long after the last one (Keycloak's "failure reset
    /// time").
    pub reset_after: i64,
}

impl Policy {
    /// The defaults for accounts: five attempts at once, then 1 s, 2 s, … up to a minute, and
    /// after twenty failures a quarter of an hour; forgotten after an hour.
    #[must_use]
    pub const fn account() -> Self {
        Self {
            free_attempts: 5,
            base_delay: 1,
            max_delay: 60,
            lockout_after: 20,
            lockout_duration: 900,
            reset_after: 3600,
        }
    }

    /// The defaults for client addresses: looser, because many people may share one
    /// address (an office behind NAT), and one address guessing at many accounts is
    /// what the account limit alone would miss.
    #[must_use]
    pub const fn address() -> Self {
        Self {
            free_attempts: 20,
            base_delay: 1,
            max_delay: 60,
            lockout_after: 100,
            lockout_duration: 900,
            reset_after: 3600,
        }
    }

    /// Which setting is unusable, if any.
    #[must_use]
    pub fn problem(&self) -> Option<&'static str> {
        if self.free_attempts < 0 || self.lockout_after < 0 {
            return Some("free_attempts and lockout_after must not be negative");
        }
        if self.base_delay < 0 || self.max_delay < 0 || self.lockout_duration < 0 {
            return Some("delays must not be negative");
        }
        if self.reset_after <= 0 {
            return Some("reset_after must be a positive number of seconds");
        }
        None
    }

    /// When the throttled party may try again, given its counter; `None` when it may
    /// try now (or the counter is forgotten).
    #[must_use]
    pub fn wait_until(&self, counter: &Counter, now: UnixTime) -> Option<UnixTime> {
        let failures = counter.live_failures(self, now);
        if failures == 0 || failures < self.free_attempts {
            return None;
        }
        let wait = if self.lockout_after > 0 && failures >= self.lockout_after {
            self.lockout_duration
        } else {
            // 2^k overflows quickly; past 62 doublings every sane cap is reached.
            let doublings = u32::try_from(failures - self.free_attempts)
                .unwrap_or(u32::MAX)
                .min(62);
            self.base_delay
                .saturating_mul(1_i64 << doublings)
                .min(self.max_delay)
        };
        let until = counter.last_failure_at.saturating_add(wait);
        (until > now).then_some(until)
    }
}

impl std::fmt::Display for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "free_attempts {}, base_delay {} s, max_delay {} s, lockout_after {}, \
             lockout_duration {} s, reset_after {} s",
            self.free_attempts,
            self.base_delay,
            self.max_delay,
            self.lockout_after,
            self.lockout_duration,
            self.reset_after
        )
    }
}

/// Failed sign-ins counted for one throttled party.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counter {
    pub failures: i64,
    pub last_failure_at: UnixTime,
}

impl Counter {
    /// The failures that still count: none once `reset_after` has passed since the last.
    #[must_use]
    pub fn live_failures(&self, policy: &Policy, now: UnixTime) -> i64 {
        if now.saturating_sub(self.last_failure_at) >= policy.reset_after {
            0
        } else {
            self.failures
        }
    }
}

/// The form of a login that the account counter is keyed by: trimmed, lower-case, and
/// without a `DOMAIN\` prefix (which names the same directory account as the bare
/// name). It depends on the text alone, never on whether the account exists, so the
/// throttle cannot tell a stranger which logins are real.
#[must_use]
pub fn normalise_login(login: &str) -> String {
    let login = login.trim();
    let bare = login.rsplit('\\').next().unwrap_or(login);
    bare.to_lowercase()
}

/// The party a failure counts against. The wait of an attempt is the longest of its
/// parties'.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Party {
    /// A login, normalised ([`normalise_login`]).
    Account(String),
    /// A client address.
    Address(String),
    /// A known device of the account (the SHA-256 of its cookie): its failures count
    /// here instead of on the account, so a stranger's guesses do not lock it out.
    Device(String),
}

impl Party {
    /// The stored scope name.
    #[must_use]
    pub fn scope(&self) -> &'static str {
        match self {
            Self::Account(_) => "account",
            Self::Address(_) => "address",
            Self::Device(_) => "device",
        }
    }

    #[must_use]
    pub fn key(&self) -> &str {
        match self {
            Self::Account(k) | Self::Address(k) | Self::Device(k) => k,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixTime = 1_000_000;

    fn after(failures: i64, seconds_ago: i64) -> Counter {
        Counter {
            failures,
            last_failure_at: NOW - seconds_ago,
        }
    }

    #[test]
    fn the_free_attempts_cost_no_wait() {
        let p = Policy::account();
        assert_eq!(p.wait_until(&Counter::default(), NOW), None);
        assert_eq!(p.wait_until(&after(4, 0), NOW), None);
    }

    #[test]
    fn the_wait_doubles_after_the_free_attempts_up_to_the_cap() {
        let p = Policy::account();
        let waits: Vec<_> = (5..=13)
            .map(|n| p.wait_until(&after(n, 0), NOW).map(|t| t - NOW))
            .collect();
        assert_eq!(
            waits,
            [1, 2, 4, 8, 16, 32, 60, 60, 60].map(Some).to_vec(),
            "1 s doubling, capped at max_delay"
        );
    }

    #[test]
    fn many_failures_lock_for_the_lockout_duration_and_no_longer() {
        let p = Policy::account();
        assert_eq!(p.wait_until(&after(20, 0), NOW), Some(NOW + 900));
        assert_eq!(p.wait_until(&after(500, 899), NOW), Some(NOW + 1));
        assert_eq!(
            p.wait_until(&after(500, 900), NOW),
            None,
            "the lockout ends by itself however many failures there were"
        );
    }

    #[test]
    fn the_wait_counts_from_the_last_failure() {
        let p = Policy::account();
        assert_eq!(p.wait_until(&after(8, 3), NOW), Some(NOW + 5));
        assert_eq!(p.wait_until(&after(8, 8), NOW), None);
    }

    #[test]
    fn failures_are_forgotten_after_the_reset_time() {
        let p = Policy {
            lockout_duration: 7200,
            ..Policy::account()
        };
        assert!(p.wait_until(&after(30, 3599), NOW).is_some());
        assert_eq!(after(30, 3600).live_failures(&p, NOW), 0);
        assert_eq!(p.wait_until(&after(30, 3600), NOW), None);
    }

    #[test]
    fn lockout_after_zero_means_the_progressive_wait_only() {
        let p = Policy {
            lockout_after: 0,
            ..Policy::account()
        };
        assert_eq!(p.wait_until(&after(1000, 0), NOW), Some(NOW + 60));
    }

    #[test]
    fn huge_counts_do_not_overflow() {
        let p = Policy {
            lockout_after: 0,
            max_delay: i64::MAX,
            ..Policy::account()
        };
        let until = p.wait_until(&after(i64::MAX, 0), NOW);
        assert!(until.is_some_and(|t| t > NOW + (1 << 60)), "{until:?}");
        let p = Policy {
            base_delay: i64::MAX,
            ..p
        };
        assert_eq!(
            p.wait_until(&after(100, 0), NOW),
            Some(i64::MAX),
            "saturates"
        );
    }

    #[test]
    fn logins_are_normalised_by_their_text_alone() {
        assert_eq!(normalise_login("  Alice@Example.COM "), "alice@example.com");
        assert_eq!(normalise_login("CORP\\Alice"), "alice");
        assert_eq!(normalise_login("alice"), "alice");
    }

    #[test]
    fn unusable_policies_are_named() {
        assert!(Policy::account().problem().is_none());
        let p = Policy {
            reset_after: 0,
            ..Policy::account()
        };
        assert!(p.problem().is_some());
    }
}

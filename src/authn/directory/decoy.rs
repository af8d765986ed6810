//! Equal time for unknown logins. A login the directory does not know used to be
//! refused after the search alone (about 5 ms), a known one with a wrong password after
//! a connection and a bind of its own (about 55 ms): the difference told a stranger
//! which accounts exist. An unknown login now gets the same work, a bind on a
//! connection of its own as a DN that does not exist, and then waits until the median
//! time of recent refused binds of real users (a directory may spend longer on a real
//! account, updating its bad-password count).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{Directory, DirectoryError, Refusal};
use crate::domain::random_token;
use crate::domain::secret::random_id;

/// How many refused binds the median is taken over.
const SAMPLES: usize = 15;

/// The durations of recent refused user binds.
#[derive(Debug, Default)]
pub(super) struct BindTimes(Mutex<VecDeque<Duration>>);

impl BindTimes {
    pub(super) fn record(&self, took: Duration) {
        if let Ok(mut times) = self.0.lock() {
            if times.len() == SAMPLES {
                times.pop_front();
            }
            times.push_back(took);
        }
    }

    /// The median of the recorded durations; zero before any.
    pub(super) fn median(&self) -> Duration {
        let Ok(times) = self.0.lock() else {
            return Duration::ZERO;
        };
        let mut sorted: Vec<Duration> = times.iter().copied().collect();
        sorted.sort_unstable();
        sorted.get(sorted.len() / 2).copied().unwrap_or_default()
    }
}

impl Directory {
    /// Binds as a user and, when the password is refused, records how long that took.
    pub(super) async fn timed_bind(&self, dn: &str, password: &str) -> Result<(), DirectoryError> {
        let started = Instant::now();
        let result = self.bind_as(dn, password).await;
        if matches!(
            result,
            Err(DirectoryError::Refused(Refusal::InvalidCredentials))
        ) {
            self.bind_times.record(started.elapsed());
        }
        result
    }

    /// Spends on a login the directory does not know what a wrong password for a known
    /// one costs, then refuses it. When the decoy bind cannot reach the server the
    /// answer is the one a real bind would get: unavailable.
    pub(super) async fn refuse_unknown(&self, refusal: Refusal) -> DirectoryError {
        let started = Instant::now();
        // A random name under the user base: no entry has it, so no account's
        // bad-password count moves. A random password: the person's goes nowhere.
        let dn = format!(
            "cn=tessera-nobody-{},{}",
            random_id(),
            self.settings.user_base
        );
        match self.bind_as(&dn, &random_token()).await {
            Ok(()) | Err(DirectoryError::Refused(_)) => {}
            Err(e) => return e,
        }
        let target = self.bind_times.median();
        if let Some(rest) = target.checked_sub(started.elapsed()) {
            tokio::time::sleep(rest).await;
        }
        DirectoryError::Refused(refusal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_follows_the_recent_binds() {
        let times = BindTimes::default();
        assert_eq!(times.median(), Duration::ZERO);
        for ms in [50, 10, 60] {
            times.record(Duration::from_millis(ms));
        }
        assert_eq!(times.median(), Duration::from_millis(50));
        for _ in 0..SAMPLES {
            times.record(Duration::from_millis(5));
        }
        assert_eq!(
            times.median(),
            Duration::from_millis(5),
            "old samples age out"
        );
    }
}

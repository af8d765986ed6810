//! Time as integer unix seconds, the portable representation the store uses, and a
//! clock that tests can fix.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch.
pub type UnixTime = i64;

/// Where "now" comes from. Production uses the system clock; unit tests pass a fixed one.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> UnixTime + Send + Sync>);

impl Clock {
    /// The system clock.
    #[must_use]
    pub fn system() -> Self {
        Self(Arc::new(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        }))
    }

    /// A clock that always answers `at`.
    #[must_use]
    pub fn fixed(at: UnixTime) -> Self {
        Self(Arc::new(move || at))
    }

    /// The system clock moved by an offset that tests can change while the app runs
    /// (to step past an expiry without waiting for it).
    #[must_use]
    pub fn offset() -> (Self, ClockOffset) {
        let offset = ClockOffset(Arc::new(AtomicI64::new(0)));
        let system = Self::system();
        let shared = offset.0.clone();
        (
            Self(Arc::new(move || {
                system.now().saturating_add(shared.load(Ordering::Relaxed))
            })),
            offset,
        )
    }

    #[must_use]
    pub fn now(&self) -> UnixTime {
        (self.0)()
    }
}

/// The handle of [`Clock::offset`]: moves that clock forward.
#[derive(Clone, Debug)]
pub struct ClockOffset(Arc<AtomicI64>);

impl ClockOffset {
    /// Moves the clock `seconds` forward (backward when negative).
    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock({})", self.now())
    }
}

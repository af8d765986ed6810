//! Local passwords: argon2id (RFC 9106) with OWASP's parameters (m = 19456 KiB, t = 2,
//! p = 1), stored as PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<tag>`).
//!
//! The implementation is `argon2-rust`, a port of the C reference with runtime-dispatched
//! SIMD; it verified 1.6–1.9× as many hashes per second as RustCrypto's `argon2` on this
//! project's machines, with the same PHC strings both ways (`docs/password-hashing.md`
//! has the measurements, the audit status, and how to switch back). Hashes written by
//! the earlier implementation (RustCrypto `argon2` 0.5) verify unchanged: the tests below
//! hold fixtures it made.
//!
//! Hashing runs on a pool of its own, one thread per core, at a lower OS priority than
//! the request workers (niceness +10 on Linux): a burst of sign-ins then takes every
//! idle cycle but the scheduler preempts it for any other request, so token, discovery
//! and JWKS latencies hold while the hash pool is saturated. One thread per core also
//! bounds argon2's memory (19 MiB a run) to one reused arena per pool thread.
//!
//! Timing: a sign-in for an unknown user verifies against a dummy hash, so it takes
//! about as long as one for a known user with a wrong password, and does not reveal
//! whether the account exists. The tag comparison is constant-time (`argon2-rust`'s
//! `constant_time_eq`, the reference's `argon2_compare`).

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::available_parallelism;

use argon2_rust::params::{Memory, TagLen};
use argon2_rust::{Algorithm, Argon2, Hasher, Params, Version};
use tokio::sync::Semaphore;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("the password hashing task failed")]
    Task,
}

/// OWASP's argon2id parameters (Password Storage Cheat Sheet): 19 MiB, two passes, one
/// lane, a 32-byte tag. `None` only if the library refused them, which it does not.
fn owasp_params() -> Option<Params> {
    Params::builder()
        .memory(Memory::kib(19_456))
        .passes(2)
        .lanes(1)
        .tag_len(TagLen::bytes(32))
        .build()
        .ok()
}

/// The largest cost a stored hash may ask for. A PHC string carries its own parameters
/// and a verification allocates what `m` says before it can fail; a row written by an
/// import must not make a sign-in allocate gigabytes or spin for minutes. The bounds
/// admit every recommendation of RFC 9106 §4 short of its 2 GiB one and every one of
/// OWASP's. `threads(1)`: a hash with several lanes is computed lane after lane on its
/// pool thread (the tag does not depend on it) instead of spawning threads of its own.
fn ceiling() -> Option<Params> {
    Params::builder()
        .memory(Memory::mib(256))
        .passes(16)
        .lanes(16)
        .threads(1)
        .tag_len(TagLen::bytes(64))
        .build()
        .ok()
}

/// Hashes a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`), with a
/// 16-byte salt from the operating system.
///
/// # Errors
/// When argon2 or the OS's randomness fails.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    with_hasher(|hasher| hasher.hash_password_with_random_salt(password.as_bytes()))
        .ok_or_else(|| PasswordError::Hash("no argon2 hasher on this thread".to_owned()))?
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `phc` is an argon2 PHC string that [`verify_password`] can check: well formed,
/// and within the costs a stored hash may ask for (see `ceiling`). An import refuses
/// other strings rather than store a password that can never verify.
#[must_use]
pub fn is_argon2_phc(phc: &str) -> bool {
    let within = |p: &Params, c: &Params| {
        p.memory_kib() <= c.memory_kib()
            && p.passes() <= c.passes()
            && p.lanes() <= c.lanes()
            && p.tag_len_bytes() <= c.tag_len_bytes()
    };
    match (argon2_rust::decode_phc(phc), ceiling()) {
        (Ok(decoded), Some(ceiling)) => within(&decoded.params, &ceiling),
        _ => false,
    }
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password("tessera-dummy-password").unwrap_or_default())
}

/// Whether `password` matches the PHC string `phc`, on the calling thread (for the
/// command line; request paths use [`PasswordVerifier`]).
#[must_use]
pub fn verify_password(password: &str, phc: &str) -> bool {
    verify_blocking(password, Some(phc))
}

fn verify_blocking(password: &str, phc: Option<&str>) -> bool {
    let known = phc.is_some();
    let phc = phc.unwrap_or_else(|| dummy_hash());
    verify_phc(password, phc) && known
}

/// The algorithm a PHC string names: the verifier must be told, and refuses a string
/// of another.
fn algorithm_of(phc: &str) -> Option<Algorithm> {
    match phc.split('$').nth(1)? {
        "argon2id" => Some(Algorithm::Argon2id),
        "argon2i" => Some(Algorithm::Argon2i),
        "argon2d" => Some(Algorithm::Argon2d),
        _ => None,
    }
}

/// Verifies with this thread's arena. The hash's own parameters decide the cost (within
/// [`ceiling`]), so hashes made with other parameters still verify.
fn verify_phc(password: &str, phc: &str) -> bool {
    let (Some(algorithm), Some(ceiling)) = (algorithm_of(phc), ceiling()) else {
        return false;
    };
    with_hasher(|hasher| {
        hasher
            .verify_encoded_bounded(phc, password.as_bytes(), algorithm, &ceiling)
            .is_ok()
    })
    .unwrap_or(false)
}

thread_local! {
    /// Each hashing thread keeps its argon2 arena (19 MiB with our parameters) instead
    /// of allocating it per verification: page faults on fresh memory were a quarter of
    /// a sign-in's samples, and per-call allocation grew the process by hundreds of MiB
    /// under load. A stored hash with a larger `m` runs on an arena of its own, freed
    /// on the way out, so no row can make the kept arena grow.
    static HASHER: RefCell<Option<Hasher>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's hasher, configured with OWASP's parameters on first use.
fn with_hasher<T>(f: impl FnOnce(&mut Hasher) -> T) -> Option<T> {
    HASHER.with(|cell| {
        let mut slot = cell.try_borrow_mut().ok()?;
        let hasher = match &mut *slot {
            Some(h) => h,
            empty => {
                let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, owasp_params()?);
                empty.insert(argon2.hasher())
            }
        };
        Some(f(hasher))
    })
}

/// How much lower than the request workers the hashing threads run (added to the
/// process's niceness, capped at 19). At +10 a hashing thread weighs about a tenth of
/// a worker in the kernel's fair scheduler.
const HASH_NICENESS: i32 = 10;

/// Verifies and hashes passwords on the hash pool, one job per hashing thread at a time:
/// a burst of sign-ins waits its turn in a fair queue (the semaphore's) rather than
/// piling up work in the pool.
#[derive(Clone, Debug)]
pub struct PasswordVerifier {
    permits: Arc<Semaphore>,
    pool: Arc<rayon::ThreadPool>,
    threads: usize,
    /// Callers waiting for a permit (the semaphore does not count them).
    queued: Arc<AtomicUsize>,
}

/// How busy the hash pool is, for the metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolLoad {
    /// Hashings waiting for a thread.
    pub queued: usize,
    /// Threads hashing.
    pub in_use: usize,
}

/// Counts a caller as queued until it is dropped (it got its permit, or it was
/// cancelled while waiting).
struct Queued(Arc<AtomicUsize>);

impl Queued {
    fn enter(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Self(Arc::clone(count))
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl PasswordVerifier {
    /// A verifier with `threads` hashing threads (at least one).
    ///
    /// # Errors
    /// When the operating system refuses to start the threads.
    pub fn new(threads: usize) -> Result<Self, PasswordError> {
        let threads = threads.max(1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("tessera-hash-{i}"))
            .start_handler(|_| lower_this_threads_priority(HASH_NICENESS))
            // A panic in argon2 must not abort the server: the caller sees `Task`.
            .panic_handler(|_| tracing::error!("a password hashing task panicked"))
            .build()
            .map_err(|e| PasswordError::Hash(e.to_string()))?;
        Ok(Self {
            permits: Arc::new(Semaphore::new(threads)),
            pool: Arc::new(pool),
            threads,
            queued: Arc::default(),
        })
    }

    /// How many hashings wait and how many threads are busy.
    #[must_use]
    pub fn load(&self) -> PoolLoad {
        PoolLoad {
            queued: self.queued.load(Ordering::Relaxed),
            in_use: self
                .threads
                .saturating_sub(self.permits.available_permits()),
        }
    }

    /// One hashing thread per core.
    ///
    /// # Errors
    /// See [`PasswordVerifier::new`].
    pub fn per_core() -> Result<Self, PasswordError> {
        Self::new(available_parallelism().map_or(2, std::num::NonZero::get))
    }

    /// Whether `password` matches `phc`; with `phc` absent (unknown user, or a user
    /// without a local password) it runs against a dummy hash and answers false.
    ///
    /// # Errors
    /// When the hashing task fails.
    pub async fn verify(&self, password: &str, phc: Option<&str>) -> Result<bool, PasswordError> {
        let password = password.to_owned();
        let phc = phc.map(str::to_owned);
        self.run(move || verify_blocking(&password, phc.as_deref()))
            .await
    }

    /// Hashes on the hash pool.
    ///
    /// # Errors
    /// When hashing or the task fails.
    pub async fn hash(&self, password: &str) -> Result<String, PasswordError> {
        let password = password.to_owned();
        self.run(move || hash_password(&password)).await?
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PasswordError> {
        // The permit travels with the job: a caller that goes away (a closed
        // connection) frees its place only when the hashing it started has finished.
        let queued = Queued::enter(&self.queued);
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| PasswordError::Task)?;
        drop(queued);
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.pool.spawn(move || {
            let out = job();
            drop(permit);
            // The receiver is gone when the caller was cancelled; nothing to tell.
            let _ = tx.send(out);
        });
        rx.await.map_err(|_| PasswordError::Task)
    }
}

/// Raises this thread's niceness by `by` (Linux keeps a niceness per thread). Failing
/// to is not fatal: hashing then competes with requests on equal terms.
fn lower_this_threads_priority(by: i32) {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{getpriority_process, setpriority_process};
        let tid = rustix::thread::gettid();
        let lowered = getpriority_process(Some(tid))
            .and_then(|now| setpriority_process(Some(tid), (now + by).min(19)));
        if let Err(e) = lowered {
            tracing::warn!(error = %e, "could not lower the priority of a hashing thread");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = by;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_use_owasp_argon2id_parameters() {
        let phc = hash_password("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        // A 16-byte salt and a 32-byte tag, in unpadded Base64, as before.
        let fields: Vec<&str> = phc.split('$').collect();
        assert_eq!((fields[4].len(), fields[5].len()), (22, 43), "{phc}");
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("correct horsE", &phc));
    }

    /// PHC strings made by the previous implementation (RustCrypto `argon2` 0.5.3), with
    /// the password each was made from: every stored hash must go on verifying.
    const MADE_BY_ARGON2_0_5: [(&str, &str); 5] = [
        (
            "correct horse battery staple",
            "$argon2id$v=19$m=19456,t=2,p=1$TRfo8Sfogm49wIX7qzcMug$ti0gibCz8gfdclDDaXcEHiK8xs1PWEg2yzUHJYTaDtI",
        ),
        (
            "pässwörd ünicode ✓",
            "$argon2id$v=19$m=19456,t=2,p=1$/R8im7s63klSnc79FYjC+w$qx/Pzju+NXxjm/4rbXgTMfOp7uNoprzZ+mEtuyZcZ/o",
        ),
        (
            "correct horse battery staple",
            "$argon2id$v=19$m=65536,t=3,p=4$eJr6IyGq8JMYF+E7PrBjCQ$eyt2WXmArukueywABeppaO6W1fZjtI5RZXq88cJAO9s",
        ),
        (
            "",
            "$argon2id$v=19$m=4096,t=3,p=1$vl39jxB7SZm0AIRGihbgBg$lzwAYCqR6NQWkGtVsdkVwIwfZrCRkSZNMS+7FYIC6P4",
        ),
        (
            "correct horse battery staple",
            "$argon2i$v=19$m=4096,t=3,p=1$1vxOMFZ9vIz8E5QZ+1Gpdw$ZzLmne2Nwk4KDOd2PIhODT3iFtqC1FeUUnYFKU8Yj4w",
        ),
    ];

    #[test]
    fn hashes_made_by_the_previous_implementation_still_verify() {
        for (password, phc) in MADE_BY_ARGON2_0_5 {
            assert!(verify_password(password, phc), "{phc}");
            assert!(!verify_password("wrong", phc), "{phc}");
            // Twice on the same thread: the arena is reused, the answer the same.
            assert!(verify_password(password, phc), "{phc}");
        }
    }

    #[test]
    fn a_tampered_or_foreign_hash_does_not_verify() {
        let (password, phc) = MADE_BY_ARGON2_0_5[0];
        // Another algorithm's name over the same tag, another cost, a flipped tag.
        for bad in [
            phc.replacen("$argon2id$", "$argon2d$", 1),
            phc.replacen("t=2", "t=3", 1),
            format!("{}A", &phc[..phc.len() - 1]),
            "$scrypt$ln=15,r=8,p=1$c2FsdA$aGFzaA".to_owned(),
            String::new(),
        ] {
            assert!(!verify_password(password, &bad), "{bad}");
        }
    }

    #[test]
    fn only_verifiable_argon2_strings_pass_as_phc() {
        for (_, phc) in MADE_BY_ARGON2_0_5 {
            assert!(is_argon2_phc(phc), "{phc}");
        }
        let (_, phc) = MADE_BY_ARGON2_0_5[0];
        assert!(!is_argon2_phc(&phc.replacen("m=19456", "m=4194304", 1)));
        assert!(!is_argon2_phc("$2b$12$abcdefghijklmnopqrstuv"));
        assert!(!is_argon2_phc("$argon2id$v=19$m=19456,t=2,p=1$!!$!!"));
    }

    #[test]
    fn a_hash_asking_for_more_than_the_ceiling_is_refused_before_it_runs() {
        // 4 GiB: allocated, this would take the process down; it is refused instead.
        let (password, phc) = MADE_BY_ARGON2_0_5[0];
        let huge = phc.replacen("m=19456", "m=4194304", 1);
        let started = std::time::Instant::now();
        assert!(!verify_password(password, &huge));
        assert!(started.elapsed() < std::time::Duration::from_millis(50));
    }

    #[tokio::test]
    async fn only_the_right_password_verifies() {
        let verifier = PasswordVerifier::new(2).unwrap();
        let phc = hash_password("correct horse").unwrap();
        assert!(verifier.verify("correct horse", Some(&phc)).await.unwrap());
        assert!(!verifier.verify("wrong", Some(&phc)).await.unwrap());
        assert!(!verifier
            .verify("tessera-dummy-password", None)
            .await
            .unwrap());
        assert!(!verifier.verify("x", Some("not a hash")).await.unwrap());
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_threads_run_below_the_request_workers() {
        use rustix::process::getpriority_process;
        let niceness = || getpriority_process(Some(rustix::thread::gettid())).unwrap();
        let here = niceness();
        let verifier = PasswordVerifier::new(1).unwrap();
        let there = verifier.run(niceness).await.unwrap();
        assert_eq!(there, (here + HASH_NICENESS).min(19));
        assert!(here == 19 || there > here, "{here} → {there}");
    }

    #[tokio::test]
    async fn a_cancelled_caller_keeps_its_place_until_its_hashing_ends() {
        let verifier = PasswordVerifier::new(1).unwrap();
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let first = {
            let verifier = verifier.clone();
            tokio::spawn(async move {
                verifier
                    .run(move || {
                        started_tx.send(()).unwrap();
                        release_rx.recv().unwrap();
                    })
                    .await
            })
        };
        tokio::task::spawn_blocking(move || started_rx.recv().unwrap())
            .await
            .unwrap();
        // A second caller waits behind the first, and is counted as queued.
        let second = {
            let verifier = verifier.clone();
            tokio::spawn(async move { verifier.run(|| ()).await })
        };
        while verifier.load().queued == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(
            verifier.load(),
            PoolLoad {
                queued: 1,
                in_use: 1
            }
        );
        second.abort();
        let _ = second.await;
        assert_eq!(
            verifier.load().queued,
            0,
            "a cancelled waiter leaves the queue"
        );
        first.abort();
        // The job still runs, so its permit is still taken.
        assert_eq!(verifier.permits.available_permits(), 0);
        release_tx.send(()).unwrap();
        assert!(verifier.verify("x", None).await.is_ok());
        assert_eq!(verifier.permits.available_permits(), 1);
    }
}

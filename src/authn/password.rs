//! Local passwords: argon2id with OWASP's parameters (m = 19456 KiB, t = 2, p = 1).
//!
//! Hashing runs on a pool of its own, one thread per core, at a lower OS priority than
//! the request workers (niceness +10 on Linux): a burst of sign-ins then takes every
//! idle cycle but the scheduler preempts it for any other request, so token, discovery
//! and JWKS latencies hold while the hash pool is saturated. One thread per core also
//! bounds argon2's memory (19 MiB a run) to one reused buffer per pool thread.
//!
//! Timing: a sign-in for an unknown user verifies against a dummy hash, so it takes
//! about as long as one for a known user with a wrong password, and does not reveal
//! whether the account exists.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::available_parallelism;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("the password hashing task failed")]
    Task,
}

fn argon2() -> Argon2<'static> {
    // These parameters are constants that argon2 accepts; `Params::DEFAULT` is the
    // fallback only to keep this path free of a panic.
    let params = Params::new(19_456, 2, 1, None).unwrap_or(Params::DEFAULT);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
///
/// # Errors
/// When argon2 fails (it does not for valid parameters).
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
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
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    // The hash's own parameters decide the cost, so old hashes still verify.
    let ok = verify_with_reused_memory(password, &parsed).unwrap_or_else(|| {
        argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    });
    ok && known
}

thread_local! {
    /// Each hashing thread keeps its argon2 memory (19 MiB with our parameters) instead
    /// of allocating it per verification: the allocator does not return such blocks to
    /// the system, so per-call allocation grew the process by hundreds of MiB under load,
    /// and reuse is also faster.
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Verifies with this thread's reusable memory; `None` when the hash is not one this
/// path handles (the caller then uses the library's own verification).
fn verify_with_reused_memory(password: &str, parsed: &PasswordHash<'_>) -> Option<bool> {
    let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .ok()?
        .unwrap_or_default();
    let params = Params::try_from(parsed).ok()?;
    let expected = parsed.hash?;
    let mut salt_buf = [0u8; 64];
    let salt = parsed.salt?.decode_b64(&mut salt_buf).ok()?;
    let mut out = vec![0u8; expected.len()];
    let blocks = params.block_count();
    let hasher = Argon2::new(algorithm, version, params);
    BLOCKS.with(|cell| {
        let mut memory = cell.try_borrow_mut().ok()?;
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        hasher
            .hash_password_into_with_memory(
                password.as_bytes(),
                salt,
                &mut out,
                &mut memory[..blocks],
            )
            .ok()
    })?;
    Some(expected.as_bytes().ct_eq(&out).into())
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
    }

    #[test]
    fn the_reused_memory_path_agrees_with_the_library() {
        for phc in [
            hash_password("correct horse").unwrap(),
            argon2_default_phc(),
        ] {
            let parsed = PasswordHash::new(&phc).unwrap();
            assert_eq!(
                verify_with_reused_memory("correct horse", &parsed),
                Some(true),
                "{phc}"
            );
            assert_eq!(
                verify_with_reused_memory("wrong", &parsed),
                Some(false),
                "{phc}"
            );
            // Twice on the same thread: the memory is reused, the answer the same.
            assert_eq!(
                verify_with_reused_memory("correct horse", &parsed),
                Some(true)
            );
        }
    }

    /// A hash with other parameters (argon2's defaults), as an imported one may have.
    fn argon2_default_phc() -> String {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string()
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

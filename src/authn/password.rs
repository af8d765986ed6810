//! Local passwords: argon2id with OWASP's parameters (m = 19456 KiB, t = 2, p = 1),
//! checked on the blocking pool so hashing never stalls the async workers.
//!
//! Timing: a sign-in for an unknown user verifies against a dummy hash, so it takes
//! about as long as one for a known user with a wrong password, and does not reveal
//! whether the account exists.

use std::cell::RefCell;
use std::sync::{Arc, OnceLock};

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

/// Verifies passwords on the blocking pool, at most `limit` at a time, so a burst of
/// sign-ins cannot take every blocking thread (or all memory: each run holds 19 MiB).
#[derive(Clone, Debug)]
pub struct PasswordVerifier {
    permits: Arc<Semaphore>,
}

impl PasswordVerifier {
    #[must_use]
    pub fn new(limit: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(limit.max(1))),
        }
    }

    /// Whether `password` matches `phc`; with `phc` absent (unknown user, or a user
    /// without a local password) it runs against a dummy hash and answers false.
    ///
    /// # Errors
    /// When the blocking task fails.
    pub async fn verify(&self, password: &str, phc: Option<&str>) -> Result<bool, PasswordError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| PasswordError::Task)?;
        let password = password.to_owned();
        let phc = phc.map(str::to_owned);
        tokio::task::spawn_blocking(move || verify_blocking(&password, phc.as_deref()))
            .await
            .map_err(|_| PasswordError::Task)
    }

    /// Hashes on the blocking pool.
    ///
    /// # Errors
    /// When hashing or the task fails.
    pub async fn hash(&self, password: &str) -> Result<String, PasswordError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| PasswordError::Task)?;
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|_| PasswordError::Task)?
    }
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
        let verifier = PasswordVerifier::new(2);
        let phc = hash_password("correct horse").unwrap();
        assert!(verifier.verify("correct horse", Some(&phc)).await.unwrap());
        assert!(!verifier.verify("wrong", Some(&phc)).await.unwrap());
        assert!(!verifier
            .verify("tessera-dummy-password", None)
            .await
            .unwrap());
        assert!(!verifier.verify("x", Some("not a hash")).await.unwrap());
    }
}

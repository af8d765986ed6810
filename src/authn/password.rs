//! Local passwords: argon2id with OWASP's parameters (m = 19456 KiB, t = 2, p = 1),
//! checked on the blocking pool so hashing never stalls the async workers.
//!
//! Timing: a sign-in for an unknown user verifies against a dummy hash, so it takes
//! about as long as one for a known user with a wrong password, and does not reveal
//! whether the account exists.

use std::sync::{Arc, OnceLock};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
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
    let ok = argon2()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    ok && known
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

//! Signing keys: their states, signing and verifying JWTs, and the published JWKS
//! (RFC 7517; OpenID Connect Core §10.1).
//!
//! A key is *next* (published, not yet signing), then *active* (signing), then
//! *retired* (published until every token it signed has expired), then *removed* (a
//! tombstone without key material). There is always a next key, so rotation promotes a
//! key that verifiers have already seen: rotation never breaks a verifier that caches
//! the JWKS for up to `JWKS_MAX_AGE`, provided rotations are further apart than that.
//! The database is the source of truth, so several nodes agree on the active key; each
//! node reloads it periodically. Private keys are sealed at rest under the
//! key-encryption key (`kek`).

mod algorithm;
mod at_rest;
mod import;
mod issuer;
pub mod kek;
mod ring;
mod rotation;

pub use algorithm::{Algorithm, KeyError};
pub use at_rest::{reseal, Reseal};
pub use import::import_dir;
pub use issuer::TokenIssuer;
pub use kek::KeyEncryption;
pub use ring::{KeyRing, Verified};
pub use rotation::{ensure_ready, published, rotate, KeyState};

/// How long verifiers may cache the JWKS, in seconds.
pub const JWKS_MAX_AGE: u64 = 300;

//! Authentication of people: local passwords (argon2id) now, directories later.

pub mod password;

pub use password::{hash_password, PasswordVerifier};

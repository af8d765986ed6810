//! Keeping the stored private keys sealed under the current key-encryption key: rows
//! written before migration 0008 (plain PEM) are sealed at start, and
//! `tessera keys rewrap` reseals every row under the current KEK after a rotation of
//! the KEK (see `docs/deployment.md`).

use super::algorithm::KeyError;
use super::kek::{is_plain, KeyEncryption};
use super::rotation::KeyState;
use crate::store::KeyStore;

/// Which rows to reseal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reseal {
    /// Only rows still in plain PEM (at every start and key reload: idempotent).
    Plain,
    /// Every row not sealed by the current KEK (`tessera keys rewrap`).
    NotCurrent,
}

/// Reseals the stored private keys that `which` selects under the current KEK.
/// Returns the kids resealed. A row that changes meanwhile (removed, or resealed by
/// another node) is left as it is.
///
/// # Errors
/// When a row does not open with the configured KEKs, or the store fails.
pub async fn reseal(
    store: &dyn KeyStore,
    kek: &KeyEncryption,
    which: Reseal,
) -> Result<Vec<String>, KeyError> {
    let mut resealed = Vec::new();
    for key in store.list_keys().await? {
        if key.state == KeyState::Removed.as_str() || key.private_key.is_empty() {
            continue;
        }
        let plain = is_plain(&key.private_key);
        let wanted = match which {
            Reseal::Plain => plain,
            Reseal::NotCurrent => !kek.is_current(&key.private_key),
        };
        if !wanted {
            continue;
        }
        let pem = if plain {
            zeroize::Zeroizing::new(key.private_key.clone())
        } else {
            kek.open(&key.kid, &key.private_key)?
        };
        let sealed = kek.seal(&key.kid, &pem)?;
        if store
            .reseal_key(&key.kid, &key.private_key, &sealed)
            .await?
        {
            resealed.push(key.kid);
        }
    }
    Ok(resealed)
}

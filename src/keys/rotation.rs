//! The rules of key states, and the start-up steps that make a node ready to sign.

use super::algorithm::{Algorithm, KeyError};
use super::kek::KeyEncryption;
use crate::domain::secret::random_id;
use crate::store::{KeyRecord, KeyStore, StoreError};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyState {
    Next,
    Active,
    Retired,
    /// A tombstone: the key's tokens have all expired and its private key is erased.
    /// The row stays so that its kid is never imported again.
    Removed,
}

impl KeyState {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Active => "active",
            Self::Retired => "retired",
            Self::Removed => "removed",
        }
    }
}

pub(super) fn new_record(
    alg: Algorithm,
    kid: String,
    sealed: String,
    state: KeyState,
    now: i64,
) -> KeyRecord {
    KeyRecord {
        kid,
        alg: alg.as_str().to_owned(),
        state: state.as_str().to_owned(),
        private_key: sealed,
        created_at: now,
        activated_at: (state == KeyState::Active).then_some(now),
        retired_at: None,
        remove_after: None,
    }
}

/// Generates a key and stores it, sealed. Generated keys are never written to a file:
/// a plain copy on disk would defeat the encryption at rest, and a stale file would
/// come back as a new key at the next start.
async fn generate(
    store: &dyn KeyStore,
    kek: &KeyEncryption,
    alg: Algorithm,
    state: KeyState,
    now: i64,
) -> Result<(), KeyError> {
    let kid = random_id();
    let pem = zeroize::Zeroizing::new(alg.generate_pem()?);
    let sealed = kek.seal(&kid, &pem)?;
    store
        .insert_key(&new_record(alg, kid, sealed, state, now))
        .await?;
    Ok(())
}

/// Whether `result` failed only because another node got there first: the database
/// holds at most one next and one active key per algorithm (migrations 0006 and 0008),
/// and the loser of a race adopts the winner's.
fn lost_race(result: Result<(), KeyError>) -> Result<(), KeyError> {
    match result {
        Ok(()) | Err(KeyError::Store(StoreError::Conflict(_))) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The keys to publish: every key but the removed ones.
#[must_use]
pub fn published(records: Vec<KeyRecord>) -> Vec<KeyRecord> {
    records
        .into_iter()
        .filter(|k| k.state != KeyState::Removed.as_str())
        .collect()
}

/// Makes sure there is an active key of `alg` and a next key of `alg` to rotate to,
/// promoting or generating as needed, and removes retired keys whose tokens have all
/// expired. Returns the records to publish. Nodes that run it at once all end with the
/// same single active and next key.
///
/// # Errors
/// When the store or the crypto library fails.
pub async fn ensure_ready(
    store: &dyn KeyStore,
    kek: &KeyEncryption,
    alg: Algorithm,
    max_token_ttl: i64,
    now: i64,
) -> Result<Vec<KeyRecord>, KeyError> {
    store.remove_expired_keys(now).await?;
    let keys = store.list_keys().await?;
    let of_alg =
        |k: &KeyRecord, state: KeyState| k.alg == alg.as_str() && k.state == state.as_str();
    if !keys.iter().any(|k| of_alg(k, KeyState::Active)) {
        lost_race(activate(store, kek, keys, alg, max_token_ttl, now).await)?;
    }
    let keys = store.list_keys().await?;
    if !keys.iter().any(|k| of_alg(k, KeyState::Next)) {
        lost_race(generate(store, kek, alg, KeyState::Next, now).await)?;
    }
    Ok(published(store.list_keys().await?))
}

/// The configured algorithm changed, or this is a fresh install: promotes a next key of
/// `alg` if one is published, or generates one, and retires the active keys of other
/// algorithms.
async fn activate(
    store: &dyn KeyStore,
    kek: &KeyEncryption,
    mut keys: Vec<KeyRecord>,
    alg: Algorithm,
    max_token_ttl: i64,
    now: i64,
) -> Result<(), KeyError> {
    // Retired before the promotion, in the same transaction: the database refuses a
    // second active key of an algorithm at each statement.
    let mut changed = Vec::new();
    for key in keys
        .iter_mut()
        .filter(|k| k.state == KeyState::Active.as_str())
    {
        retire(key, now, max_token_ttl);
        changed.push(key.clone());
    }
    let next = keys
        .iter_mut()
        .find(|k| k.alg == alg.as_str() && k.state == KeyState::Next.as_str());
    if let Some(next) = next {
        next.state = KeyState::Active.as_str().to_owned();
        next.activated_at = Some(now);
        changed.push(next.clone());
        store.update_key_states(&changed).await?;
    } else {
        store.update_key_states(&changed).await?;
        generate(store, kek, alg, KeyState::Active, now).await?;
    }
    Ok(())
}

fn retire(key: &mut KeyRecord, now: i64, max_token_ttl: i64) {
    key.state = KeyState::Retired.as_str().to_owned();
    key.retired_at = Some(now);
    // Published until every token it signed has expired, plus a minute of clock skew.
    key.remove_after = Some(now + max_token_ttl + 60);
}

/// Rotates: the active key retires, the next key becomes active, and a new next key is
/// generated. Returns the kid of the new active key.
///
/// # Errors
/// When the store or the crypto library fails, or there is no next key.
pub async fn rotate(
    store: &dyn KeyStore,
    kek: &KeyEncryption,
    alg: Algorithm,
    max_token_ttl: i64,
    now: i64,
) -> Result<String, KeyError> {
    let mut keys = ensure_ready(store, kek, alg, max_token_ttl, now).await?;
    let mut changed = Vec::new();
    for key in keys
        .iter_mut()
        .filter(|k| k.state == KeyState::Active.as_str())
    {
        retire(key, now, max_token_ttl);
        changed.push(key.clone());
    }
    let next = keys
        .iter_mut()
        .find(|k| k.alg == alg.as_str() && k.state == KeyState::Next.as_str())
        .ok_or(KeyError::NoActiveKey)?;
    next.state = KeyState::Active.as_str().to_owned();
    next.activated_at = Some(now);
    let kid = next.kid.clone();
    changed.push(next.clone());
    store.update_key_states(&changed).await?;
    lost_race(generate(store, kek, alg, KeyState::Next, now).await)?;
    Ok(kid)
}

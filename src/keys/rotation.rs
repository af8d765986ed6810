//! The rules of key states, and the start-up steps that make a node ready to sign.

use std::path::Path;

use super::algorithm::{Algorithm, KeyError};
use crate::domain::secret::random_id;
use crate::store::{KeyRecord, KeyStore, StoreError};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyState {
    Next,
    Active,
    Retired,
}

impl KeyState {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Active => "active",
            Self::Retired => "retired",
        }
    }
}

fn new_record(alg: Algorithm, kid: String, pem: String, state: KeyState, now: i64) -> KeyRecord {
    KeyRecord {
        kid,
        alg: alg.as_str().to_owned(),
        state: state.as_str().to_owned(),
        private_pem: pem,
        created_at: now,
        activated_at: (state == KeyState::Active).then_some(now),
        retired_at: None,
        remove_after: None,
    }
}

/// Generates a key, writes its PEM to `dir` (when given) and stores it.
async fn generate(
    store: &dyn KeyStore,
    alg: Algorithm,
    state: KeyState,
    dir: Option<&Path>,
    now: i64,
) -> Result<KeyRecord, KeyError> {
    let kid = random_id();
    let pem = alg.generate_pem()?;
    if let Some(dir) = dir {
        write_pem(dir, &kid, &pem)?;
    }
    let record = new_record(alg, kid, pem, state, now);
    if let Err(e) = store.insert_key(&record).await {
        // The key never existed: its file must not be imported at the next start.
        if let Some(dir) = dir {
            let _ = std::fs::remove_file(dir.join(format!("{}.pem", record.kid)));
        }
        return Err(e.into());
    }
    Ok(record)
}

/// Generates the next key of `alg`, unless another node (or this node's maintenance
/// task) has just done so: the database holds at most one next key per algorithm
/// (migration 0006), and the loser of the race keeps the winner's.
async fn generate_next(
    store: &dyn KeyStore,
    alg: Algorithm,
    dir: Option<&Path>,
    now: i64,
) -> Result<(), KeyError> {
    match generate(store, alg, KeyState::Next, dir, now).await {
        Ok(_) | Err(KeyError::Store(StoreError::Conflict(_))) => Ok(()),
        Err(e) => Err(e),
    }
}

fn write_pem(dir: &Path, kid: &str, pem: &str) -> Result<(), KeyError> {
    let path = dir.join(format!("{kid}.pem"));
    let err = |e: std::io::Error| KeyError::File {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(err)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&path).map_err(err)?;
    std::io::Write::write_all(&mut file, pem.as_bytes()).map_err(err)
}

/// Imports the `*.pem` files of `dir` whose name (the kid) is not stored yet, as *next*
/// keys. Returns the kids imported.
///
/// # Errors
/// When a file cannot be read or holds no supported private key.
pub async fn import_dir(
    store: &dyn KeyStore,
    dir: &Path,
    preferred: Algorithm,
    now: i64,
) -> Result<Vec<String>, KeyError> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let known: Vec<String> = store
        .list_keys()
        .await?
        .into_iter()
        .map(|k| k.kid)
        .collect();
    let mut paths: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "pem"))
        .collect();
    paths.sort();
    let mut imported = Vec::new();
    for path in paths {
        let Some(kid) = path.file_stem().and_then(|s| s.to_str()).map(str::to_owned) else {
            continue;
        };
        if known.contains(&kid) {
            continue;
        }
        let file_err = |message: String| KeyError::File {
            path: path.display().to_string(),
            message,
        };
        let pem = std::fs::read_to_string(&path).map_err(|e| file_err(e.to_string()))?;
        let alg = Algorithm::of_pem(&pem, preferred).map_err(|e| file_err(e.to_string()))?;
        store
            .insert_key(&new_record(alg, kid.clone(), pem, KeyState::Next, now))
            .await?;
        imported.push(kid);
    }
    Ok(imported)
}

/// Makes sure there is an active key of `alg` and a next key of `alg` to rotate to,
/// promoting or generating as needed, and removes retired keys whose tokens have all
/// expired. Returns the records to publish.
///
/// # Errors
/// When the store or the crypto library fails.
pub async fn ensure_ready(
    store: &dyn KeyStore,
    alg: Algorithm,
    dir: Option<&Path>,
    max_token_ttl: i64,
    now: i64,
) -> Result<Vec<KeyRecord>, KeyError> {
    store.delete_keys_removable(now).await?;
    let mut keys = store.list_keys().await?;
    let of_alg =
        |k: &KeyRecord, state: KeyState| k.alg == alg.as_str() && k.state == state.as_str();
    if !keys.iter().any(|k| of_alg(k, KeyState::Active)) {
        // The configured algorithm changed, or this is a fresh install: promote a next key
        // of the algorithm if one is published, or generate one, and retire the rest.
        let mut changed = Vec::new();
        for key in keys
            .iter_mut()
            .filter(|k| k.state == KeyState::Active.as_str())
        {
            retire(key, now, max_token_ttl);
            changed.push(key.clone());
        }
        if let Some(next) = keys.iter_mut().find(|k| of_alg(k, KeyState::Next)) {
            next.state = KeyState::Active.as_str().to_owned();
            next.activated_at = Some(now);
            changed.push(next.clone());
            store.update_key_states(&changed).await?;
        } else {
            store.update_key_states(&changed).await?;
            generate(store, alg, KeyState::Active, dir, now).await?;
        }
    }
    let keys = store.list_keys().await?;
    if !keys.iter().any(|k| of_alg(k, KeyState::Next)) {
        generate_next(store, alg, dir, now).await?;
    }
    Ok(store.list_keys().await?)
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
    alg: Algorithm,
    dir: Option<&Path>,
    max_token_ttl: i64,
    now: i64,
) -> Result<String, KeyError> {
    let mut keys = ensure_ready(store, alg, dir, max_token_ttl, now).await?;
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
    generate_next(store, alg, dir, now).await?;
    Ok(kid)
}

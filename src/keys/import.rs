//! Import of operator-supplied PEM files (`keys/KID.pem`) as next keys.
//!
//! Only operators put files there: Tessera never writes its generated keys to disk.
//! A file whose kid the database knows, in any state, is skipped: a removed key stays
//! as a tombstone (`KeyState::Removed`), so a stale file never brings it back.

use std::path::Path;

use super::algorithm::{Algorithm, KeyError};
use super::kek::KeyEncryption;
use super::rotation::{new_record, KeyState};
use crate::store::{KeyStore, StoreError};

/// Imports the `*.pem` files of `dir` whose name (the kid) is not stored yet. Each
/// becomes the next key of its algorithm, sealed, replacing the next key that was
/// waiting (which never signed anything), so the operator's key is the one the next
/// rotation activates. Returns the kids imported; a file another node imports at the
/// same moment is left to it.
///
/// # Errors
/// When a file cannot be read or holds no supported private key, or the store fails.
pub async fn import_dir(
    store: &dyn KeyStore,
    kek: &KeyEncryption,
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
        let pem = zeroize::Zeroizing::new(
            std::fs::read_to_string(&path).map_err(|e| file_err(e.to_string()))?,
        );
        let alg = Algorithm::of_pem(&pem, preferred).map_err(|e| file_err(e.to_string()))?;
        let sealed = kek.seal(&kid, &pem)?;
        let record = new_record(alg, kid.clone(), sealed, KeyState::Next, now);
        match store.replace_next_key(&record, now).await {
            Ok(()) => imported.push(kid),
            // Another node imported this file (or another) at the same moment; the
            // database kept one next key, and start-up goes on with it.
            Err(StoreError::Conflict(_)) => {
                tracing::warn!(
                    %kid,
                    file = %path.display(),
                    "key file not imported: another node imported a key at the same moment"
                );
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(imported)
}

//! `tessera import`: parse a YAML or JSON document (`domain::import`), check it, hash
//! the passwords it gives in clear (`authn`), and write it in one transaction
//! (`store`). A user whose stored hash already matches the given password keeps it, so
//! a second import of the same file changes nothing.

use std::collections::HashMap;

use crate::authn::password::{hash_password, verify_password};
use crate::domain::audit::AuditContext;
use crate::domain::import::{parse, validate, Document};
use crate::store::{ImportReport, SqlStore, UserStore};

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The document is malformed or breaks a rule; the message names where.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Imports `text` (JSON when `json`, YAML otherwise).
///
/// # Errors
/// `Invalid` with the line or entry at fault; the database is then unchanged.
pub async fn import_text(
    store: &SqlStore,
    text: &str,
    json: bool,
    context: &AuditContext,
    now: i64,
) -> Result<ImportReport, ImportError> {
    let doc = parse(text, json).map_err(ImportError::Invalid)?;
    import_document(store, doc, context, now).await
}

/// Imports a parsed document (development mode's demo data is one).
///
/// # Errors
/// As `import_text`.
pub async fn import_document(
    store: &SqlStore,
    doc: Document,
    context: &AuditContext,
    now: i64,
) -> Result<ImportReport, ImportError> {
    validate(&doc).map_err(ImportError::Invalid)?;
    let mut hashes = HashMap::new();
    for (i, user) in doc.users.iter().enumerate() {
        let key = user.email.to_lowercase();
        if let Some(phc) = &user.password_hash {
            if !crate::authn::password::is_argon2_phc(phc) {
                return Err(ImportError::Invalid(format!(
                    "users[{i}] ({}): password_hash is not an argon2 PHC string",
                    user.email
                )));
            }
            hashes.insert(key, phc.clone());
        } else if let Some(password) = &user.password {
            if password.is_empty() {
                return Err(ImportError::Invalid(format!(
                    "users[{i}] ({}): the password is empty",
                    user.email
                )));
            }
            let existing = store
                .find_user_by_login(&user.email)
                .await?
                .and_then(|c| c.password_hash);
            let phc = match existing {
                Some(phc) if verify_password(password, &phc) => phc,
                _ => hash_password(password).map_err(|e| ImportError::Invalid(e.to_string()))?,
            };
            hashes.insert(key, phc);
        }
    }
    store
        .import(&doc, &hashes, context, now)
        .await
        .map_err(|e| match e {
            crate::store::StoreError::Invalid(m) => ImportError::Invalid(m),
            other => ImportError::Store(other),
        })
}

//! The key-encryption key (KEK) that seals private signing keys at rest.
//!
//! Each private key is stored as an envelope `v1:KEK_ID:NONCE:CIPHERTEXT` (nonce and
//! ciphertext in unpadded base64url): AES-256-GCM (NIST SP 800-38D, from the RustCrypto
//! `aes-gcm` crate) under a 256-bit KEK, with a fresh 96-bit random nonce per envelope
//! and the key's kid as associated data, so that an envelope moved to another row does
//! not open. The KEK id is a hash of the KEK: it names which KEK sealed a row without
//! revealing it, so a rotation of the KEK (`tessera keys rewrap`) can tell what is left.
//!
//! A KEK file holds 32 random bytes in base64 (`tessera keys new-kek FILE`, or
//! `openssl rand -base64 32`). Neither this type's `Debug` nor its errors show a key.

use std::io::Write;
use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::algorithm::KeyError;

const VERSION: &str = "v1";

/// One KEK and its id.
struct Kek {
    id: String,
    key: Zeroizing<[u8; 32]>,
}

impl Kek {
    fn new(key: Zeroizing<[u8; 32]>) -> Self {
        // Domain-separated, so the id is not the hash of the key used anywhere else.
        let digest = Sha256::new()
            .chain_update(b"tessera key-encryption key id\0")
            .chain_update(key.as_slice())
            .finalize();
        let id = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        Self { id, key }
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(self.key.as_slice().into())
    }
}

/// The current KEK, which seals, and the previous ones, which still open envelopes
/// until every row is resealed under the current one.
pub struct KeyEncryption {
    current: Kek,
    previous: Vec<Kek>,
}

impl std::fmt::Debug for KeyEncryption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyEncryption")
            .field("current", &self.current.id)
            .field(
                "previous",
                &self.previous.iter().map(|k| &k.id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

fn kek_error(message: impl Into<String>) -> KeyError {
    KeyError::KeyEncryption(message.into())
}

impl KeyEncryption {
    /// A KEK of random bytes, with no previous ones (for tests and embedders).
    #[must_use]
    pub fn random() -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(key.as_mut_slice());
        Self {
            current: Kek::new(key),
            previous: Vec::new(),
        }
    }

    /// Reads the current KEK from `current` and earlier ones from `previous`.
    ///
    /// # Errors
    /// When a file cannot be read or does not hold 32 bytes in base64.
    pub fn from_files(current: &Path, previous: &[PathBuf]) -> Result<Self, KeyError> {
        Ok(Self {
            current: read_file(current)?,
            previous: previous
                .iter()
                .map(|p| read_file(p))
                .collect::<Result<_, _>>()?,
        })
    }

    /// The id of the current KEK.
    #[must_use]
    pub fn current_id(&self) -> &str {
        &self.current.id
    }

    /// Seals `pem`, the private key of `kid`, under the current KEK.
    ///
    /// # Errors
    /// When the cipher fails (it does not for inputs of this size).
    pub fn seal(&self, kid: &str, pem: &str) -> Result<String, KeyError> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let payload = Payload {
            msg: pem.as_bytes(),
            aad: kid.as_bytes(),
        };
        let ciphertext = self
            .current
            .cipher()
            .encrypt(&nonce, payload)
            .map_err(|_| kek_error(format!("cannot seal the key {kid}")))?;
        Ok(format!(
            "{VERSION}:{}:{}:{}",
            self.current.id,
            URL_SAFE_NO_PAD.encode(nonce),
            URL_SAFE_NO_PAD.encode(ciphertext)
        ))
    }

    /// Opens the envelope of `kid` with whichever known KEK sealed it.
    ///
    /// # Errors
    /// When the envelope is malformed, was sealed by an unknown KEK, or does not open
    /// (tampered, or moved from another kid's row).
    pub fn open(&self, kid: &str, envelope: &str) -> Result<Zeroizing<String>, KeyError> {
        let malformed = || kek_error(format!("the stored key {kid} is not a sealed key"));
        let mut parts = envelope.split(':');
        let (Some(VERSION), Some(kek_id), Some(nonce), Some(ciphertext), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(malformed());
        };
        let kek = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == kek_id)
            .ok_or_else(|| {
                kek_error(format!(
                    "the key {kid} is sealed by the key-encryption key {kek_id}, which is not \
                     configured (current {}; add the old file to \
                     previous_key_encryption_key_files)",
                    self.current.id
                ))
            })?;
        let nonce = URL_SAFE_NO_PAD.decode(nonce).map_err(|_| malformed())?;
        if nonce.len() != 12 {
            return Err(malformed());
        }
        let ciphertext = URL_SAFE_NO_PAD
            .decode(ciphertext)
            .map_err(|_| malformed())?;
        let payload = Payload {
            msg: &ciphertext,
            aad: kid.as_bytes(),
        };
        let plain = kek
            .cipher()
            .decrypt(Nonce::from_slice(&nonce), payload)
            .map_err(|_| {
                kek_error(format!(
                    "the stored key {kid} does not open: altered, or not its own row"
                ))
            })?;
        String::from_utf8(plain)
            .map(Zeroizing::new)
            .map_err(|_| malformed())
    }

    /// Whether `stored` is sealed by the current KEK.
    #[must_use]
    pub fn is_current(&self, stored: &str) -> bool {
        sealed_by(stored) == Some(self.current.id.as_str())
    }
}

/// The id of the KEK that sealed `stored`, if it is an envelope.
#[must_use]
pub fn sealed_by(stored: &str) -> Option<&str> {
    let mut parts = stored.split(':');
    match (parts.next(), parts.next()) {
        (Some(VERSION), Some(id)) => Some(id),
        _ => None,
    }
}

/// Whether `stored` is a plain PEM key, as rows written before migration 0008 are.
#[must_use]
pub fn is_plain(stored: &str) -> bool {
    stored.trim_start().starts_with("-----BEGIN")
}

fn read_file(path: &Path) -> Result<Kek, KeyError> {
    let error = |message: String| KeyError::File {
        path: path.display().to_string(),
        message,
    };
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?);
    warn_if_readable_by_others(path);
    let bytes = Zeroizing::new(
        STANDARD
            .decode(text.trim())
            .map_err(|_| error("the key-encryption key is not base64".into()))?,
    );
    let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
        error("the key-encryption key must be 32 bytes (256 bits) in base64".into())
    })?;
    Ok(Kek::new(Zeroizing::new(key)))
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                "the key-encryption key file {} is readable by others than its owner",
                path.display()
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_: &Path) {}

/// Writes a new random KEK to `path` (mode 0600) unless the file exists. Returns
/// whether it wrote one. Nodes that race to create it all end with the same file: each
/// writes a file of its own and links it into place, which only one link wins.
///
/// # Errors
/// When the folder or the file cannot be written.
pub fn generate_file(path: &Path) -> Result<bool, KeyError> {
    let error = |e: std::io::Error| KeyError::File {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    if path.exists() {
        return Ok(false);
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(error)?;
    let temporary = dir.join(format!(".kek-{}", crate::domain::secret::random_id()));
    let mut key = Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(key.as_mut_slice());
    let text = Zeroizing::new(format!("{}\n", STANDARD.encode(key.as_slice())));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options
        .open(&temporary)
        .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.sync_all()));
    let linked = written.and_then(|()| std::fs::hard_link(&temporary, path));
    let _ = std::fs::remove_file(&temporary);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(error(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM: &str =
        "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI...\n-----END PRIVATE KEY-----\n";

    #[test]
    fn a_sealed_key_opens_only_for_its_own_kid() {
        let kek = KeyEncryption::random();
        let sealed = kek.seal("kid-a", PEM).unwrap();
        assert!(!sealed.contains("PRIVATE KEY"));
        assert_eq!(kek.open("kid-a", &sealed).unwrap().as_str(), PEM);
        assert!(kek.open("kid-b", &sealed).is_err(), "moved to another row");
    }

    #[test]
    fn an_altered_envelope_does_not_open() {
        let kek = KeyEncryption::random();
        let sealed = kek.seal("kid", PEM).unwrap();
        let (head, last) = sealed.split_at(sealed.len() - 1);
        let altered = format!("{head}{}", if last == "A" { "B" } else { "A" });
        assert!(kek.open("kid", &altered).is_err());
    }

    #[test]
    fn another_kek_cannot_open_a_key_it_did_not_seal() {
        let sealed = KeyEncryption::random().seal("kid", PEM).unwrap();
        let error = KeyEncryption::random().open("kid", &sealed).unwrap_err();
        assert!(error.to_string().contains("not configured"), "{error}");
    }

    #[test]
    fn a_previous_kek_still_opens_what_it_sealed() {
        let dir = tempfile::tempdir().unwrap();
        let (old, new) = (dir.path().join("old"), dir.path().join("new"));
        assert!(generate_file(&old).unwrap());
        assert!(generate_file(&new).unwrap());
        let sealed = KeyEncryption::from_files(&old, &[])
            .unwrap()
            .seal("kid", PEM)
            .unwrap();
        let rotated = KeyEncryption::from_files(&new, &[old]).unwrap();
        assert!(!rotated.is_current(&sealed));
        assert_eq!(rotated.open("kid", &sealed).unwrap().as_str(), PEM);
        assert!(rotated.is_current(&rotated.seal("kid", PEM).unwrap()));
    }

    #[test]
    fn a_generated_file_is_private_and_kept_when_it_exists() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("kek");
        assert!(generate_file(&path).unwrap());
        let first = KeyEncryption::from_files(&path, &[]).unwrap();
        assert!(
            !generate_file(&path).unwrap(),
            "an existing KEK is never replaced"
        );
        let again = KeyEncryption::from_files(&path, &[]).unwrap();
        assert_eq!(first.current_id(), again.current_id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
    }

    #[test]
    fn a_file_without_32_bytes_of_base64_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kek");
        std::fs::write(&path, STANDARD.encode([7u8; 16])).unwrap();
        assert!(KeyEncryption::from_files(&path, &[]).is_err());
        std::fs::write(&path, "not base64!").unwrap();
        assert!(KeyEncryption::from_files(&path, &[]).is_err());
        assert!(KeyEncryption::from_files(&dir.path().join("missing"), &[]).is_err());
    }

    #[test]
    fn debug_shows_the_ids_and_never_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kek");
        generate_file(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let kek = KeyEncryption::from_files(&path, &[]).unwrap();
        let debug = format!("{kek:?}");
        assert!(debug.contains(kek.current_id()));
        assert!(!debug.contains(text.trim()));
    }

    #[test]
    fn plain_and_sealed_rows_are_told_apart() {
        let kek = KeyEncryption::random();
        let sealed = kek.seal("kid", PEM).unwrap();
        assert!(is_plain(PEM) && !is_plain(&sealed));
        assert_eq!(sealed_by(&sealed), Some(kek.current_id()));
        assert_eq!(sealed_by(PEM), None);
    }
}

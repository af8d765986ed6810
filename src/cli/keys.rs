//! `tessera keys list|generate|rotate|rewrap|new-kek`. Running nodes pick up a change
//! within a minute.

use std::path::PathBuf;

use clap::Subcommand;

use super::{date_time, now, print_table};
use crate::config::Config;
use crate::keys::{self, kek, Algorithm, KeyState, Reseal};
use crate::store::KeyStore;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List the signing keys, their states and the key-encryption key that seals each.
    List,
    /// Make sure an active and a next key exist for the configured algorithm,
    /// generating what is missing (in the database only, sealed).
    Generate,
    /// Retire the active key, promote the next key (already published) to active, and
    /// generate a new next key. The retired key stays published until every token it
    /// signed has expired.
    Rotate,
    /// Reseal every stored private key under the current key-encryption key, after
    /// the old one was moved to previous_key_encryption_key_files (the steps are in
    /// docs/deployment.md).
    Rewrap,
    /// Write a new key-encryption key (32 random bytes, base64) to FILE, readable by
    /// its owner only. An existing file is left untouched.
    NewKek {
        /// Where to write it.
        file: PathBuf,
    },
}

pub async fn run(config: &Config, cmd: KeysCommand) -> anyhow::Result<()> {
    if let KeysCommand::NewKek { file } = &cmd {
        if !kek::generate_file(file)? {
            anyhow::bail!("{} exists; it was left untouched", file.display());
        }
        out!("Wrote a new key-encryption key to {}.", file.display())?;
        return Ok(());
    }
    let store = crate::app::open_store(config).await?;
    match cmd {
        KeysCommand::List => list(&store).await?,
        KeysCommand::Generate => {
            let kek = crate::app::load_key_encryption(config)?;
            crate::app::prepare_keys(&store, &kek, config, now()).await?;
            out!(
                "An active and a next {} key exist.",
                config.signing_alg.as_str()
            )?;
        }
        KeysCommand::Rotate => {
            let kek = crate::app::load_key_encryption(config)?;
            let alg: Algorithm = config.signing_alg;
            let kid = keys::rotate(&store, &kek, alg, config.max_signed_token_ttl(), now()).await?;
            out!(
                "Key {kid} is now {}; running nodes follow within a minute.",
                KeyState::Active.as_str()
            )?;
        }
        KeysCommand::Rewrap => {
            let kek = crate::app::load_key_encryption(config)?;
            let resealed = keys::reseal(&store, &kek, Reseal::NotCurrent).await?;
            out!(
                "Resealed {} key(s) under the key-encryption key {}.",
                resealed.len(),
                kek.current_id()
            )?;
        }
        KeysCommand::NewKek { .. } => {}
    }
    Ok(())
}

async fn list(store: &dyn KeyStore) -> anyhow::Result<()> {
    let fmt_time = |t: Option<i64>| t.map(date_time).unwrap_or_default();
    let rows: Vec<Vec<String>> = store
        .list_keys()
        .await?
        .into_iter()
        .map(|k| {
            let sealed_by = if kek::is_plain(&k.private_key) {
                "plain".to_owned()
            } else {
                kek::sealed_by(&k.private_key).unwrap_or("-").to_owned()
            };
            vec![
                k.kid,
                k.alg,
                k.state,
                date_time(k.created_at),
                fmt_time(k.activated_at),
                fmt_time(k.remove_after),
                sealed_by,
            ]
        })
        .collect();
    print_table(
        &[
            "KID",
            "ALG",
            "STATE",
            "CREATED",
            "ACTIVATED",
            "REMOVE_AFTER",
            "KEK",
        ],
        &rows,
    )?;
    Ok(())
}

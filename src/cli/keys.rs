//! `tessera keys list|generate|rotate`. Running nodes pick up a change within a minute.

use clap::Subcommand;

use super::{now, print_table};
use crate::config::Config;
use crate::keys::{self, Algorithm, KeyState};
use crate::store::KeyStore;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List the signing keys and their states.
    List,
    /// Make sure an active and a next key exist for the configured algorithm,
    /// generating what is missing (under the keys folder too).
    Generate,
    /// Retire the active key, promote the next key (already published) to active, and
    /// generate a new next key. The retired key stays published until every token it
    /// signed has expired.
    Rotate,
}

pub async fn run(config: &Config, cmd: KeysCommand) -> anyhow::Result<()> {
    let store = crate::app::open_store(config).await?;
    let dir = Some(config.keys_dir.as_path());
    match cmd {
        KeysCommand::List => {
            let fmt_time = |t: Option<i64>| t.map(|v| v.to_string()).unwrap_or_default();
            let rows: Vec<Vec<String>> = store
                .list_keys()
                .await?
                .into_iter()
                .map(|k| {
                    vec![
                        k.kid,
                        k.alg,
                        k.state,
                        k.created_at.to_string(),
                        fmt_time(k.activated_at),
                        fmt_time(k.remove_after),
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
                ],
                &rows,
            )?;
        }
        KeysCommand::Generate => {
            crate::app::prepare_keys(&store, config, now()).await?;
            out!(
                "An active and a next {} key exist.",
                config.signing_alg.as_str()
            )?;
        }
        KeysCommand::Rotate => {
            let alg: Algorithm = config.signing_alg;
            let kid = keys::rotate(&store, alg, dir, config.max_signed_token_ttl(), now()).await?;
            out!(
                "Key {kid} is now {}; running nodes follow within a minute.",
                KeyState::Active.as_str()
            )?;
        }
    }
    Ok(())
}

//! The revoked access tokens, kept in memory so that introspection and userinfo check a
//! JWT without a database round trip.
//!
//! Access tokens are JWTs, valid by their signature alone; revocation (RFC 7009) and the
//! revocation of a grant family (a reused code, a replayed refresh token) are recorded in
//! `access_token_t`. Each node holds the unexpired revoked `jti`s and reads the new ones
//! every second (`sync`); a node that revokes a token syncs at once, so it never answers
//! "active" for a token it revoked itself. Another node may, for at most about a second.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

use crate::store::{Store, StoreResult};

/// Rows committed slightly out of order, or by a node whose clock is a little behind,
/// are still read: each sync looks back this far.
const OVERLAP: i64 = 5;

#[derive(Clone, Default)]
pub struct RevocationList {
    /// jti → when the token expires (and can leave the list).
    jtis: Arc<RwLock<HashMap<String, i64>>>,
    synced_to: Arc<AtomicI64>,
}

impl std::fmt::Debug for RevocationList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.jtis.read().map_or(0, |j| j.len());
        write!(f, "RevocationList({n} tokens)")
    }
}

impl RevocationList {
    #[must_use]
    pub fn contains(&self, jti: &str) -> bool {
        self.jtis.read().is_ok_and(|j| j.contains_key(jti))
    }

    /// Marks a token revoked on this node only, as a sync would (tests only).
    #[cfg(test)]
    pub(crate) fn insert(&self, jti: &str, expires_at: i64) {
        if let Ok(mut jtis) = self.jtis.write() {
            jtis.insert(jti.to_owned(), expires_at);
        }
    }

    /// Reads the revocations made since the last sync, and forgets expired tokens.
    ///
    /// # Errors
    /// When the store fails; the list stays as it was.
    pub async fn sync(&self, store: &dyn Store, now: i64) -> StoreResult<()> {
        let since = self
            .synced_to
            .load(Ordering::Acquire)
            .saturating_sub(OVERLAP);
        let rows = store.revoked_access_tokens(since, now).await?;
        if let Ok(mut jtis) = self.jtis.write() {
            jtis.retain(|_, expires_at| *expires_at > now);
            for (jti, expires_at, _) in rows {
                jtis.insert(jti, expires_at);
            }
        }
        self.synced_to.fetch_max(now, Ordering::AcqRel);
        Ok(())
    }

    /// Revokes a grant family and syncs.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn revoke_family(
        &self,
        store: &dyn Store,
        family_id: &str,
        now: i64,
    ) -> StoreResult<()> {
        store.revoke_family(family_id, now).await?;
        self.sync(store, now).await
    }

    /// Revokes the grants of an ended SSO session (all but `offline_access` ones) and
    /// syncs; answers how many token families were revoked.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn revoke_session(&self, store: &dyn Store, sid: &str, now: i64) -> StoreResult<u64> {
        let families = store.revoke_session_families(sid, now).await?;
        self.sync(store, now).await?;
        Ok(families)
    }

    /// Revokes one access token and syncs.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn revoke_token(
        &self,
        store: &dyn Store,
        jti: &str,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<()> {
        store.revoke_access_token(jti, expires_at, now).await?;
        self.sync(store, now).await
    }
}

//! The SSO session: tower-sessions over the `session_t` table (so any node answers any
//! request), the signed-in user's facts, the CSRF token and pending authorization
//! requests.
//!
//! Session ids are stored as their SHA-256, so a copy of the database does not hand
//! out live sessions.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};
use tower_sessions::Session;

use super::error::PageError;
use crate::domain::secret::random_id;
use crate::domain::{random_token, Clock, TokenHash};
use crate::oauth::authorize::AuthorizationRequest;
use crate::store::{Store, StoreError};

/// tower-sessions' store, backed by the same database as everything else.
#[derive(Clone)]
pub struct SqlSessionStore {
    store: Arc<dyn Store>,
    clock: Clock,
}

impl std::fmt::Debug for SqlSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqlSessionStore")
    }
}

impl SqlSessionStore {
    #[must_use]
    pub fn new(store: Arc<dyn Store>, clock: Clock) -> Self {
        Self { store, clock }
    }
}

fn key(id: &Id) -> String {
    TokenHash::of(&id.to_string()).as_str().to_owned()
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

/// What a session row holds: the record without its id. The id is the cookie's value;
/// the row is keyed by its SHA-256 and holds nothing from which the cookie could be
/// rebuilt, so a copy of the database hands out no live session.
#[derive(Serialize, Deserialize)]
struct StoredRecord {
    data: HashMap<String, serde_json::Value>,
    expiry_date: time::OffsetDateTime,
}

fn encode(record: &Record) -> session_store::Result<(String, i64)> {
    let stored = StoredRecord {
        data: record.data.clone(),
        expiry_date: record.expiry_date,
    };
    let data =
        serde_json::to_string(&stored).map_err(|e| session_store::Error::Encode(e.to_string()))?;
    Ok((data, record.expiry_date.unix_timestamp()))
}

#[async_trait]
impl SessionStore for SqlSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A fresh id that happens to collide is replaced, never overwritten.
        loop {
            let (data, expires_at) = encode(record)?;
            match self
                .store
                .insert_session(&key(&record.id), &data, expires_at)
                .await
            {
                Ok(()) => return Ok(()),
                Err(StoreError::Conflict(_)) => record.id = Id::default(),
                Err(e) => return Err(backend(e)),
            }
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let (data, expires_at) = encode(record)?;
        self.store
            .save_session(&key(&record.id), &data, expires_at)
            .await
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let Some(data) = self
            .store
            .load_session(&key(id), self.clock.now())
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let stored: StoredRecord =
            serde_json::from_str(&data).map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data: stored.data,
            expiry_date: stored.expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.store.delete_session(&key(id)).await.map_err(backend)
    }
}

/// Who is signed in, and how.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SsoSession {
    pub user_id: String,
    pub host_id: String,
    pub auth_time: i64,
    /// Authentication methods (RFC 8176), e.g. `pwd`.
    pub amr: Vec<String>,
    /// The session id that goes into ID tokens as `sid`; not the cookie's value.
    pub sid: String,
    /// The pending authorization request this sign-in was made for: it answers that
    /// request's `prompt=login` or `max_age` (Core §3.1.2.1), however soon after an
    /// earlier sign-in it happened, and no other request's.
    #[serde(default)]
    pub for_request: Option<String>,
}

/// An authorization request waiting for the user to sign in or consent.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PendingAuthorization {
    pub id: String,
    pub request: AuthorizationRequest,
    /// When the request arrived (the oldest is dropped first when there are too many).
    pub created_at: i64,
}

const SSO: &str = "sso";
const CSRF: &str = "csrf";
const PENDING: &str = "pending";
/// A user who opens many tabs keeps at most this many requests waiting.
const MAX_PENDING: usize = 8;

pub async fn sso(session: &Session) -> Result<Option<SsoSession>, PageError> {
    Ok(session.get(SSO).await?)
}

/// Signs the user in: a new session id (no fixation), then the facts.
pub async fn sign_in(session: &Session, sso: &SsoSession) -> Result<(), PageError> {
    session.cycle_id().await?;
    session.insert(SSO, sso).await?;
    Ok(())
}

/// The session's CSRF token, created on first use.
pub async fn csrf_token(session: &Session) -> Result<String, PageError> {
    if let Some(token) = session.get::<String>(CSRF).await? {
        return Ok(token);
    }
    let token = random_token();
    session.insert(CSRF, &token).await?;
    Ok(token)
}

/// Checks a submitted CSRF token against the session's, in constant time.
pub async fn check_csrf(session: &Session, submitted: Option<&str>) -> Result<(), PageError> {
    let expected = session.get::<String>(CSRF).await?;
    match (expected, submitted) {
        (Some(expected), Some(submitted)) if TokenHash::of(&expected).matches(submitted) => Ok(()),
        _ => Err(PageError::Forbidden(
            "This form has expired or was not sent by this site. Go back, reload the page and try again."
                .to_owned(),
        )),
    }
}

pub async fn save_pending(
    session: &Session,
    pending: &PendingAuthorization,
) -> Result<(), PageError> {
    let mut all: HashMap<String, PendingAuthorization> =
        session.get(PENDING).await?.unwrap_or_default();
    // A request never changes once saved: saving it again would only rewrite the session.
    if all.contains_key(&pending.id) {
        return Ok(());
    }
    if all.len() >= MAX_PENDING {
        if let Some(oldest) = all
            .values()
            .min_by_key(|p| p.created_at)
            .map(|p| p.id.clone())
        {
            all.remove(&oldest);
        }
    }
    all.insert(pending.id.clone(), pending.clone());
    session.insert(PENDING, all).await?;
    Ok(())
}

pub async fn load_pending(
    session: &Session,
    id: &str,
) -> Result<Option<PendingAuthorization>, PageError> {
    let all: HashMap<String, PendingAuthorization> =
        session.get(PENDING).await?.unwrap_or_default();
    Ok(all.get(id).cloned())
}

pub async fn remove_pending(session: &Session, id: &str) -> Result<(), PageError> {
    let mut all: HashMap<String, PendingAuthorization> =
        session.get(PENDING).await?.unwrap_or_default();
    if all.remove(id).is_some() {
        session.insert(PENDING, all).await?;
    }
    Ok(())
}

#[must_use]
pub fn new_pending(request: AuthorizationRequest, now: i64) -> PendingAuthorization {
    PendingAuthorization {
        id: random_id(),
        request,
        created_at: now,
    }
}

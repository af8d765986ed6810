//! Registered clients (RFC 6749 §2): `client_t`, written here only (the import's upsert
//! included). Changes made by the management API and the CLI run in one transaction
//! with their audit entry (issue 13); no secret ever reaches the trail.

use async_trait::async_trait;
use sqlx::AnyConnection;

use super::client_rows::{grants_text, uris_text, ClientFacts, ClientRow, CLIENT_COLUMNS};
use super::{audit, flag, on_unique, SqlStore, StoreError, StoreResult};
use crate::domain::audit::{actions, AuditContext, AuditEvent};
use crate::domain::{AuthMethod, Client, TokenHash};

/// Writes an imported client where it differs from the stored one (the import's
/// upsert by client id, its secret included); answers the rows changed (0 or 1).
pub(super) async fn upsert(
    conn: &mut AnyConnection,
    client: &Client,
    now: i64,
) -> StoreResult<u64> {
    let done = sqlx::query(
            "INSERT INTO client_t (client_id, host_id, name, client_type, secret_hash, redirect_uris, \
             post_logout_redirect_uris, grant_types, scopes, require_pkce, profile_in_id_token, skip_consent, auth_method, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (client_id) DO UPDATE SET \
             host_id = excluded.host_id, name = excluded.name, client_type = excluded.client_type, \
             secret_hash = excluded.secret_hash, redirect_uris = excluded.redirect_uris, \
             post_logout_redirect_uris = excluded.post_logout_redirect_uris, grant_types = excluded.grant_types, \
             scopes = excluded.scopes, require_pkce = excluded.require_pkce, \
             profile_in_id_token = excluded.profile_in_id_token, skip_consent = excluded.skip_consent, \
             auth_method = excluded.auth_method \
             WHERE client_t.host_id IS DISTINCT FROM excluded.host_id OR client_t.name IS DISTINCT FROM excluded.name \
                OR client_t.client_type IS DISTINCT FROM excluded.client_type \
                OR client_t.secret_hash IS DISTINCT FROM excluded.secret_hash \
                OR client_t.redirect_uris IS DISTINCT FROM excluded.redirect_uris \
                OR client_t.post_logout_redirect_uris IS DISTINCT FROM excluded.post_logout_redirect_uris \
                OR client_t.grant_types IS DISTINCT FROM excluded.grant_types \
                OR client_t.scopes IS DISTINCT FROM excluded.scopes \
                OR client_t.require_pkce IS DISTINCT FROM excluded.require_pkce \
                OR client_t.profile_in_id_token IS DISTINCT FROM excluded.profile_in_id_token \
                OR client_t.skip_consent IS DISTINCT FROM excluded.skip_consent \
                OR client_t.auth_method IS DISTINCT FROM excluded.auth_method",
        )
        .bind(client.client_id.clone())
        .bind(client.host_id.clone())
        .bind(client.name.clone())
        .bind(client.client_type.as_str())
        .bind(client.secret_hash.as_ref().map(|h| h.as_str().to_owned()))
        .bind(uris_text(&client.redirect_uris))
        .bind(uris_text(&client.post_logout_redirect_uris))
        .bind(grants_text(&client.grant_types))
        .bind(client.allowed_scopes.to_string())
        .bind(flag(client.require_pkce))
        .bind(flag(client.profile_in_id_token))
        .bind(flag(client.skip_consent))
        .bind(client.auth_method.map(AuthMethod::as_str))
        .bind(now)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// A page of a host's clients, by client id.
#[derive(Debug)]
pub struct ClientPage {
    pub clients: Vec<Client>,
    /// The last client id of this page when more follow.
    pub next: Option<String>,
}

#[async_trait]
pub trait ClientStore: Send + Sync {
    /// Registers a client, audited as Tessera's own doing (tests, development data).
    async fn create_client(&self, client: &Client, now: i64) -> StoreResult<()> {
        self.register_client(client, &AuditContext::system(), now)
            .await
    }
    /// Registers a client with its audit entry. `Conflict` when the id is taken.
    async fn register_client(
        &self,
        client: &Client,
        context: &AuditContext,
        now: i64,
    ) -> StoreResult<()>;
    async fn find_client(&self, client_id: &str) -> StoreResult<Option<Client>>;
    async fn list_clients(&self) -> StoreResult<Vec<Client>>;
    /// A host's clients after the client id `after`, at most `limit`.
    async fn list_host_clients(
        &self,
        host_id: &str,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<ClientPage>;
    /// Replaces a client's settings (not its id, host or secret) with `changed`'s,
    /// provided the stored client still is `expected` (what the caller read and
    /// changed): a change made meanwhile is `Refused` rather than lost. `host_id`
    /// none: any host (the CLI).
    async fn update_client(
        &self,
        host_id: Option<&str>,
        expected: &Client,
        changed: &Client,
        context: &AuditContext,
        now: i64,
    ) -> StoreResult<()>;
    /// Deletes a client of the host (`None`: any host); its consents go with it and its
    /// token families are revoked, so no token it was given keeps working.
    async fn delete_client(
        &self,
        host_id: Option<&str>,
        client_id: &str,
        context: &AuditContext,
        now: i64,
    ) -> StoreResult<()>;
    /// Replaces a confidential client's secret. `NotFound` for a public client or one
    /// of another host.
    async fn rotate_client_secret(
        &self,
        host_id: Option<&str>,
        client_id: &str,
        secret_hash: &TokenHash,
        context: &AuditContext,
        now: i64,
    ) -> StoreResult<()>;
}

/// The client, inside a transaction, if it belongs to `host_id` (any host if none).
async fn client_in(
    conn: &mut AnyConnection,
    host_id: Option<&str>,
    client_id: &str,
) -> StoreResult<Option<Client>> {
    let sql = format!("SELECT {CLIENT_COLUMNS} FROM client_t WHERE client_id = $1");
    let row: Option<ClientRow> = sqlx::query_as(&sql)
        .bind(client_id)
        .fetch_optional(conn)
        .await?;
    let client = row.map(Client::try_from).transpose()?;
    Ok(client.filter(|c| host_id.is_none_or(|h| c.host_id.as_deref() == Some(h))))
}

/// Takes the client row's lock on PostgreSQL (SQLite's write transaction holds the
/// database's), so the state read after it cannot change before the commit.
async fn lock_client(conn: &mut AnyConnection, client_id: &str) -> StoreResult<()> {
    sqlx::query("UPDATE client_t SET client_id = client_id WHERE client_id = $1")
        .bind(client_id)
        .execute(conn)
        .await?;
    Ok(())
}

#[async_trait]
impl ClientStore for SqlStore {
    async fn register_client(
        &self,
        c: &Client,
        context: &AuditContext,
        now: i64,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO client_t (client_id, host_id, name, client_type, secret_hash, \
             redirect_uris, post_logout_redirect_uris, grant_types, scopes, require_pkce, \
             profile_in_id_token, skip_consent, auth_method, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(&c.client_id)
        .bind(&c.host_id)
        .bind(&c.name)
        .bind(c.client_type.as_str())
        .bind(c.secret_hash.as_ref().map(|h| h.as_str().to_owned()))
        .bind(uris_text(&c.redirect_uris))
        .bind(uris_text(&c.post_logout_redirect_uris))
        .bind(grants_text(&c.grant_types))
        .bind(c.allowed_scopes.to_string())
        .bind(flag(c.require_pkce))
        .bind(flag(c.profile_in_id_token))
        .bind(flag(c.skip_consent))
        .bind(c.auth_method.map(AuthMethod::as_str))
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(on_unique("a client with this id"))?;
        let mut event = AuditEvent::new(actions::CLIENT_CREATED)
            .target("client", &c.client_id)
            .after(&ClientFacts::from(c));
        event.host_id.clone_from(&c.host_id);
        audit::record(&mut tx, context, &event, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn find_client(&self, client_id: &str) -> StoreResult<Option<Client>> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM client_t WHERE client_id = $1");
        let row: Option<ClientRow> = sqlx::query_as(&sql)
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(Client::try_from).transpose()
    }

    async fn list_clients(&self) -> StoreResult<Vec<Client>> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM client_t ORDER BY name, client_id");
        let rows: Vec<ClientRow> = sqlx::query_as(&sql).fetch_all(&self.pool).await?;
        rows.into_iter().map(Client::try_from).collect()
    }

    async fn list_host_clients(
        &self,
        host_id: &str,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<ClientPage> {
        // One row more than the page tells whether another page follows.
        let sql = format!(
            "SELECT {CLIENT_COLUMNS} FROM client_t WHERE host_id = $1 AND client_id > $2 \
             ORDER BY client_id LIMIT $3"
        );
        let rows: Vec<ClientRow> = sqlx::query_as(&sql)
            .bind(host_id)
            .bind(after.unwrap_or_default())
            .bind(i64::from(limit) + 1)
            .fetch_all(&self.pool)
            .await?;
        let mut clients = rows
            .into_iter()
            .map(Client::try_from)
            .collect::<StoreResult<Vec<_>>>()?;
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let next = if clients.len() > limit {
            clients.truncate(limit);
            clients.last().map(|c| c.client_id.clone())
        } else {
            None
        };
        Ok(ClientPage { clients, next })
    }

    async fn update_client(
        &self,
        host_id: Option<&str>,
        expected: &Client,
        c: &Client,
        context: &AuditContext,
        now: i64,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        lock_client(&mut tx, &expected.client_id).await?;
        let before = client_in(&mut tx, host_id, &expected.client_id)
            .await?
            .ok_or(StoreError::NotFound("client"))?;
        if ClientFacts::from(&before) != ClientFacts::from(expected) {
            return Err(StoreError::Refused(
                "the client was changed meanwhile; read it again".to_owned(),
            ));
        }
        sqlx::query(
            "UPDATE client_t SET name = $1, redirect_uris = $2, post_logout_redirect_uris = $3, \
             grant_types = $4, scopes = $5, require_pkce = $6, profile_in_id_token = $7, \
             skip_consent = $8, auth_method = $9 WHERE client_id = $10",
        )
        .bind(&c.name)
        .bind(uris_text(&c.redirect_uris))
        .bind(uris_text(&c.post_logout_redirect_uris))
        .bind(grants_text(&c.grant_types))
        .bind(c.allowed_scopes.to_string())
        .bind(flag(c.require_pkce))
        .bind(flag(c.profile_in_id_token))
        .bind(flag(c.skip_consent))
        .bind(c.auth_method.map(AuthMethod::as_str))
        .bind(&before.client_id)
        .execute(&mut *tx)
        .await?;
        let after = client_in(&mut tx, None, &before.client_id)
            .await?
            .ok_or(StoreError::NotFound("client"))?;
        let mut event = AuditEvent::new(actions::CLIENT_UPDATED)
            .target("client", &before.client_id)
            .before(&ClientFacts::from(&before))
            .after(&ClientFacts::from(&after));
        event.host_id.clone_from(&before.host_id);
        audit::record(&mut tx, context, &event, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_client(
        &self,
        host_id: Option<&str>,
        client_id: &str,
        context: &AuditContext,
        now: i64,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        lock_client(&mut tx, client_id).await?;
        let before = client_in(&mut tx, host_id, client_id)
            .await?
            .ok_or(StoreError::NotFound("client"))?;
        super::grants::revoke_client_families(&mut tx, client_id, now).await?;
        sqlx::query("DELETE FROM client_t WHERE client_id = $1")
            .bind(client_id)
            .execute(&mut *tx)
            .await?;
        let mut event = AuditEvent::new(actions::CLIENT_DELETED)
            .target("client", client_id)
            .before(&ClientFacts::from(&before));
        event.host_id.clone_from(&before.host_id);
        audit::record(&mut tx, context, &event, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn rotate_client_secret(
        &self,
        host_id: Option<&str>,
        client_id: &str,
        secret_hash: &TokenHash,
        context: &AuditContext,
        now: i64,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        lock_client(&mut tx, client_id).await?;
        let before = client_in(&mut tx, host_id, client_id)
            .await?
            .filter(|c| !c.is_public())
            .ok_or(StoreError::NotFound("confidential client"))?;
        sqlx::query("UPDATE client_t SET secret_hash = $1 WHERE client_id = $2")
            .bind(secret_hash.as_str())
            .bind(client_id)
            .execute(&mut *tx)
            .await?;
        // Neither secret nor hash: the entry says that it changed, and by whom.
        let mut event = AuditEvent::new(actions::CLIENT_SECRET_ROTATED).target("client", client_id);
        event.host_id.clone_from(&before.host_id);
        audit::record(&mut tx, context, &event, now).await?;
        tx.commit().await?;
        Ok(())
    }
}

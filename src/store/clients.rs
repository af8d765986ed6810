//! Registered clients: `client_t`.

use async_trait::async_trait;
use sqlx::FromRow;

use super::{flag, join_lines, on_unique, split_lines, SqlStore, StoreError, StoreResult};
use crate::domain::{Client, ClientType, RedirectUri, Scopes, TokenHash};

#[derive(FromRow)]
struct ClientRow {
    client_id: String,
    host_id: Option<String>,
    name: String,
    client_type: String,
    secret_hash: Option<String>,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    grant_types: String,
    scopes: String,
    require_pkce: i64,
    profile_in_id_token: i64,
    skip_consent: i64,
}

impl TryFrom<ClientRow> for Client {
    type Error = StoreError;

    fn try_from(row: ClientRow) -> Result<Self, StoreError> {
        let uris = |text: &str| {
            split_lines(text)
                .iter()
                .map(|u| RedirectUri::parse(u).map_err(|e| StoreError::Corrupt(e.to_string())))
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(Client {
            client_type: ClientType::parse(&row.client_type).map_err(StoreError::Corrupt)?,
            secret_hash: row.secret_hash.map(TokenHash::from_stored),
            redirect_uris: uris(&row.redirect_uris)?,
            post_logout_redirect_uris: uris(&row.post_logout_redirect_uris)?,
            grant_types: split_lines(&row.grant_types),
            allowed_scopes: Scopes::parse(&row.scopes)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            require_pkce: row.require_pkce != 0,
            profile_in_id_token: row.profile_in_id_token != 0,
            skip_consent: row.skip_consent != 0,
            client_id: row.client_id,
            name: row.name,
            host_id: row.host_id,
        })
    }
}

const CLIENT_COLUMNS: &str = "client_id, host_id, name, client_type, secret_hash, redirect_uris, \
     post_logout_redirect_uris, grant_types, scopes, require_pkce, profile_in_id_token, \
     skip_consent";

#[async_trait]
pub trait ClientStore: Send + Sync {
    async fn create_client(&self, client: &Client, now: i64) -> StoreResult<()>;
    async fn find_client(&self, client_id: &str) -> StoreResult<Option<Client>>;
    async fn list_clients(&self) -> StoreResult<Vec<Client>>;
    async fn set_client_secret(&self, client_id: &str, secret_hash: &TokenHash) -> StoreResult<()>;
}

#[async_trait]
impl ClientStore for SqlStore {
    async fn create_client(&self, c: &Client, now: i64) -> StoreResult<()> {
        let uris = |list: &[RedirectUri]| {
            join_lines(&list.iter().map(RedirectUri::as_str).collect::<Vec<_>>())
        };
        sqlx::query(
            "INSERT INTO client_t (client_id, host_id, name, client_type, secret_hash, \
             redirect_uris, post_logout_redirect_uris, grant_types, scopes, require_pkce, \
             profile_in_id_token, skip_consent, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(&c.client_id)
        .bind(&c.host_id)
        .bind(&c.name)
        .bind(c.client_type.as_str())
        .bind(c.secret_hash.as_ref().map(|h| h.as_str().to_owned()))
        .bind(uris(&c.redirect_uris))
        .bind(uris(&c.post_logout_redirect_uris))
        .bind(join_lines(&c.grant_types))
        .bind(c.allowed_scopes.to_string())
        .bind(flag(c.require_pkce))
        .bind(flag(c.profile_in_id_token))
        .bind(flag(c.skip_consent))
        .bind(now)
        .execute(&self.writer)
        .await
        .map_err(on_unique("a client with this id"))?;
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

    async fn set_client_secret(&self, client_id: &str, secret_hash: &TokenHash) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE client_t SET secret_hash = $1 WHERE client_id = $2 \
             AND client_type = 'confidential'",
        )
        .bind(secret_hash.as_str())
        .bind(client_id)
        .execute(&self.writer)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("confidential client"));
        }
        Ok(())
    }
}

//! API tokens (issue 14): `api_token_t` and the roles of system tokens
//! (`api_token_role_t`). A token is stored as the SHA-256 of its secret only; making
//! and revoking one are audited writes (one transaction with the entry), and the
//! exchange's reads are in `api_token_use`.

use async_trait::async_trait;
use serde::Serialize;
use sqlx::{AnyConnection, FromRow};

use super::{audit, SqlStore, StoreError, StoreResult};
use crate::domain::api_token::TokenKind;
use crate::domain::audit::{actions, AuditContext, AuditEvent};

/// A token to make. `token_hash` is the SHA-256 of the secret, which never reaches
/// the store.
#[derive(Clone, Debug)]
pub struct NewApiToken {
    pub token_id: String,
    pub host_id: String,
    pub kind: TokenKind,
    /// The owner of a personal token; none for a system token.
    pub user_id: Option<String>,
    pub name: String,
    /// Space separated.
    pub scope: String,
    /// The role names of a system token (they must exist in the host).
    pub roles: Vec<String>,
    pub token_hash: String,
    pub created_by: Option<String>,
    pub expires_at: i64,
}

/// A token as listed: everything but the secret, which is not kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    pub token_id: String,
    pub host_id: String,
    pub kind: TokenKind,
    pub user_id: Option<String>,
    pub name: String,
    pub scope: String,
    /// A system token's roles, by their current names.
    pub roles: Vec<String>,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl ApiToken {
    /// Neither revoked nor expired at `now`.
    #[must_use]
    pub fn is_live(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

/// Which tokens of a host to list, and from where.
#[derive(Clone, Debug, Default)]
pub struct ApiTokenQuery {
    pub host_id: String,
    /// Only the personal tokens of this user.
    pub user_id: Option<String>,
    pub kind: Option<TokenKind>,
    /// Only tokens neither revoked nor expired at this time.
    pub live_at: Option<i64>,
    /// The last token of the previous page: `(created_at, token_id)`.
    pub after: Option<(i64, String)>,
    pub limit: u32,
}

/// One page of tokens, newest first.
#[derive(Clone, Debug)]
pub struct ApiTokenPage {
    pub tokens: Vec<ApiToken>,
    pub next: Option<(i64, String)>,
}

#[async_trait]
pub trait ApiTokenStore: Send + Sync {
    /// Makes a token; `Invalid` names a role the host does not have.
    async fn create_api_token(
        &self,
        token: &NewApiToken,
        context: &AuditContext,
        now: i64,
    ) -> StoreResult<ApiToken>;
    /// A page of the host's tokens.
    async fn list_api_tokens(&self, query: &ApiTokenQuery) -> StoreResult<ApiTokenPage>;
    /// A token of the host by id.
    async fn find_api_token(&self, host_id: &str, token_id: &str) -> StoreResult<Option<ApiToken>>;
    /// Revokes a token of the host; `NotFound` when there is none. Revoking a revoked
    /// token changes nothing and records nothing.
    async fn revoke_api_token(
        &self,
        host_id: &str,
        token_id: &str,
        context: &AuditContext,
        now: i64,
    ) -> StoreResult<ApiToken>;
}

pub(super) const TOKEN_COLUMNS: &str =
    "t.token_id, t.host_id, t.kind, t.user_id, t.name, t.scope, \
     t.created_by, t.created_at, t.expires_at, t.last_used_at, t.revoked_at";

/// A value bound to a placeholder of a query built condition by condition.
enum Bind {
    Text(String),
    Int(i64),
}

#[derive(FromRow)]
pub(super) struct TokenRow {
    pub(super) token_id: String,
    host_id: String,
    pub(super) kind: String,
    pub(super) user_id: Option<String>,
    name: String,
    scope: String,
    created_by: Option<String>,
    created_at: i64,
    expires_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl TokenRow {
    pub(super) fn into_token(self, roles: Vec<String>) -> StoreResult<ApiToken> {
        let kind = TokenKind::parse(&self.kind)
            .ok_or_else(|| StoreError::Corrupt(format!("token kind {:?}", self.kind)))?;
        Ok(ApiToken {
            token_id: self.token_id,
            host_id: self.host_id,
            kind,
            user_id: self.user_id,
            name: self.name,
            scope: self.scope,
            roles,
            created_by: self.created_by,
            created_at: self.created_at,
            expires_at: self.expires_at,
            last_used_at: self.last_used_at,
            revoked_at: self.revoked_at,
        })
    }
}

/// What the audit trail records of a token: never its secret or hash.
#[derive(Serialize)]
struct TokenFacts<'a> {
    name: &'a str,
    kind: TokenKind,
    user_id: Option<&'a str>,
    scope: &'a str,
    roles: &'a [String],
    expires_at: i64,
    revoked: bool,
}

impl<'a> From<&'a ApiToken> for TokenFacts<'a> {
    fn from(t: &'a ApiToken) -> Self {
        Self {
            name: &t.name,
            kind: t.kind,
            user_id: t.user_id.as_deref(),
            scope: &t.scope,
            roles: &t.roles,
            expires_at: t.expires_at,
            revoked: t.revoked_at.is_some(),
        }
    }
}

/// The current names of a token's roles, sorted.
pub(super) async fn roles_of(conn: &mut AnyConnection, token_id: &str) -> StoreResult<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT r.role_name FROM api_token_role_t tr \
         JOIN role_t r ON r.host_id = tr.host_id AND r.role_id = tr.role_id \
         WHERE tr.token_id = $1 ORDER BY r.role_name",
    )
    .bind(token_id)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|(n,)| n).collect())
}

async fn token_in(
    conn: &mut AnyConnection,
    host_id: &str,
    token_id: &str,
) -> StoreResult<Option<ApiToken>> {
    let row: Option<TokenRow> = sqlx::query_as(&format!(
        "SELECT {TOKEN_COLUMNS} FROM api_token_t t WHERE t.host_id = $1 AND t.token_id = $2"
    ))
    .bind(host_id)
    .bind(token_id)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        None => Ok(None),
        Some(row) => {
            let roles = roles_of(conn, token_id).await?;
            row.into_token(roles).map(Some)
        }
    }
}

/// Writes the role rows of a new system token, by name; a name the host lacks is
/// `Invalid`.
async fn write_roles(conn: &mut AnyConnection, token: &NewApiToken) -> StoreResult<()> {
    for name in &token.roles {
        let role: Option<(String,)> =
            sqlx::query_as("SELECT role_id FROM role_t WHERE host_id = $1 AND role_name = $2")
                .bind(&token.host_id)
                .bind(name)
                .fetch_optional(&mut *conn)
                .await?;
        let (role_id,) =
            role.ok_or_else(|| StoreError::Invalid(format!("the host has no role {name:?}")))?;
        sqlx::query(
            "INSERT INTO api_token_role_t (token_id, host_id, role_id) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&token.token_id)
        .bind(&token.host_id)
        .bind(role_id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[async_trait]
impl ApiTokenStore for SqlStore {
    async fn create_api_token(
        &self,
        token: &NewApiToken,
        context: &AuditContext,
        now: i64,
    ) -> StoreResult<ApiToken> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO api_token_t (token_id, host_id, kind, user_id, name, scope, token_hash, \
             created_by, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&token.token_id)
        .bind(&token.host_id)
        .bind(token.kind.as_str())
        .bind(&token.user_id)
        .bind(&token.name)
        .bind(&token.scope)
        .bind(&token.token_hash)
        .bind(&token.created_by)
        .bind(now)
        .bind(token.expires_at)
        .execute(&mut *tx)
        .await
        .map_err(|e| match &e {
            // The owner's membership (a composite reference) is gone.
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                StoreError::NotFound("user in host")
            }
            _ => StoreError::Database(e),
        })?;
        write_roles(&mut tx, token).await?;
        let made = token_in(&mut tx, &token.host_id, &token.token_id)
            .await?
            .ok_or(StoreError::NotFound("token"))?;
        let event = AuditEvent::new(actions::TOKEN_CREATED)
            .host(&token.host_id)
            .target("api_token", &token.token_id)
            .after(&TokenFacts::from(&made));
        audit::record(&mut tx, context, &event, now).await?;
        tx.commit().await?;
        Ok(made)
    }

    async fn list_api_tokens(&self, query: &ApiTokenQuery) -> StoreResult<ApiTokenPage> {
        // Conditions are added in order, each taking the next placeholder number, so
        // that numbering and binding order agree on both backends.
        let mut sql = format!("SELECT {TOKEN_COLUMNS} FROM api_token_t t WHERE 1 = 1");
        let mut binds: Vec<Bind> = Vec::new();
        let mut push = |sql: &mut String, condition: &str, value: Bind| {
            binds.push(value);
            sql.push_str(&condition.replace('?', &format!("${}", binds.len())));
        };
        push(
            &mut sql,
            " AND t.host_id = ?",
            Bind::Text(query.host_id.clone()),
        );
        if let Some(user) = &query.user_id {
            push(&mut sql, " AND t.user_id = ?", Bind::Text(user.clone()));
        }
        if let Some(kind) = query.kind {
            push(
                &mut sql,
                " AND t.kind = ?",
                Bind::Text(kind.as_str().to_owned()),
            );
        }
        if let Some(now) = query.live_at {
            let live = " AND t.revoked_at IS NULL AND t.expires_at > ?";
            push(&mut sql, live, Bind::Int(now));
        }
        if let Some((at, id)) = &query.after {
            push(&mut sql, " AND (t.created_at < ?", Bind::Int(*at));
            push(&mut sql, " OR (t.created_at = ?", Bind::Int(*at));
            push(&mut sql, " AND t.token_id < ?))", Bind::Text(id.clone()));
        }
        // One row more than asked tells whether another page follows.
        sql.push_str(&format!(
            " ORDER BY t.created_at DESC, t.token_id DESC LIMIT {}",
            i64::from(query.limit) + 1
        ));
        let mut statement = sqlx::query_as::<_, TokenRow>(&sql);
        for value in binds {
            statement = match value {
                Bind::Text(t) => statement.bind(t),
                Bind::Int(i) => statement.bind(i),
            };
        }
        let mut conn = self.pool.acquire().await?;
        let rows = statement.fetch_all(&mut *conn).await?;
        let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
        let more = rows.len() > limit;
        let mut tokens = Vec::with_capacity(rows.len().min(limit));
        for row in rows.into_iter().take(limit) {
            // Only system tokens have roles: no query for a personal one.
            let roles = if row.kind == TokenKind::System.as_str() {
                roles_of(&mut conn, &row.token_id).await?
            } else {
                Vec::new()
            };
            tokens.push(row.into_token(roles)?);
        }
        let next = more
            .then(|| tokens.last().map(|t| (t.created_at, t.token_id.clone())))
            .flatten();
        Ok(ApiTokenPage { tokens, next })
    }

    async fn find_api_token(&self, host_id: &str, token_id: &str) -> StoreResult<Option<ApiToken>> {
        let mut conn = self.pool.acquire().await?;
        token_in(&mut conn, host_id, token_id).await
    }

    async fn revoke_api_token(
        &self,
        host_id: &str,
        token_id: &str,
        context: &AuditContext,
        now: i64,
    ) -> StoreResult<ApiToken> {
        let mut tx = self.begin_write().await?;
        let before = token_in(&mut tx, host_id, token_id)
            .await?
            .ok_or(StoreError::NotFound("token"))?;
        if before.revoked_at.is_some() {
            return Ok(before);
        }
        sqlx::query("UPDATE api_token_t SET revoked_at = $1 WHERE token_id = $2")
            .bind(now)
            .bind(token_id)
            .execute(&mut *tx)
            .await?;
        let after = token_in(&mut tx, host_id, token_id)
            .await?
            .ok_or(StoreError::NotFound("token"))?;
        let event = AuditEvent::new(actions::TOKEN_REVOKED)
            .host(host_id)
            .target("api_token", token_id)
            .before(&TokenFacts::from(&before))
            .after(&TokenFacts::from(&after));
        audit::record(&mut tx, context, &event, now).await?;
        tx.commit().await?;
        Ok(after)
    }
}

//! A host's users as its administrators see them: the caller's standing (what their
//! rights are made of), and reading the members of a host with search, filters and
//! keyset paging. Reads only; `user_t` and `user_host_t` are written in `users`.

use async_trait::async_trait;

use super::users::{UserRow, USER_COLUMNS};
use super::{SqlStore, StoreResult};
use crate::domain::User;

/// What a user's rights in a host are made of, read in one query.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Standing {
    pub locked: bool,
    pub system_admin: bool,
    /// Whether the user belongs to the host.
    pub member: bool,
    /// The names of the roles in effect in the host (the host's default role aside).
    pub roles: Vec<String>,
}

/// A user's status, as the list filters it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserStatus {
    /// Neither locked nor deactivated in the host: may sign in.
    Active,
    /// The account is locked.
    Locked,
    /// The membership in the host is deactivated.
    Inactive,
}

/// A user as a member of a host.
#[derive(Clone, Debug)]
pub struct Member {
    pub user: User,
    /// Whether the membership is active (a deactivated member cannot sign in there).
    pub active: bool,
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    #[sqlx(flatten)]
    user: UserRow,
    member_active: i64,
}

impl From<MemberRow> for Member {
    fn from(r: MemberRow) -> Self {
        Self {
            user: r.user.into_credentials().user,
            active: r.member_active != 0,
        }
    }
}

/// The members of the host bound as `$1`, with their membership's flag.
fn members_sql() -> String {
    format!(
        "SELECT {USER_COLUMNS}, m.active AS member_active FROM user_t \
         JOIN (SELECT host_id, user_id AS member_id, active FROM user_host_t WHERE host_id = $1) m \
           ON m.member_id = user_t.user_id WHERE 1 = 1"
    )
}

/// Which members of a host to list, and from where.
#[derive(Clone, Debug, Default)]
pub struct MemberQuery {
    /// Text searched, case-insensitively, in the email, first and last name.
    pub text: Option<String>,
    pub user_type: Option<String>,
    pub status: Option<UserStatus>,
    /// Only the users holding this role on a day.
    pub role: Option<RoleFilter>,
    /// The email of the last user of the previous page (the list is ordered by
    /// lowercased email, which is unique).
    pub after: Option<String>,
    pub limit: u32,
}

/// Users holding the role `name` on `day` (`YYYY-MM-DD`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleFilter {
    pub name: String,
    pub day: String,
}

/// One page of members, ordered by lowercased email.
#[derive(Clone, Debug)]
pub struct MemberPage {
    pub users: Vec<Member>,
    /// The email to pass as `after` for the next page, when there is one.
    pub next: Option<String>,
}

#[async_trait]
pub trait MemberStore: Send + Sync {
    /// The standing of `user_id` in `host_id` on `day` (`YYYY-MM-DD`); none when the
    /// user does not exist.
    async fn standing(
        &self,
        user_id: &str,
        host_id: &str,
        day: &str,
    ) -> StoreResult<Option<Standing>>;
    /// A page of the host's members.
    async fn list_members(&self, host_id: &str, query: &MemberQuery) -> StoreResult<MemberPage>;
    /// A member of the host by id; none when no such user belongs to the host.
    async fn find_member(&self, host_id: &str, user_id: &str) -> StoreResult<Option<Member>>;
}

/// One row per role in effect (or one row with none): the user's flags, whether the
/// membership exists, and the role's name.
const STANDING_SQL: &str = "\
SELECT u.locked, u.system_admin, uh.host_id, r.role_name FROM user_t u \
  LEFT JOIN user_host_t uh ON uh.user_id = u.user_id AND uh.host_id = $1 AND uh.active = 1 \
  LEFT JOIN role_user_t ru ON ru.host_id = uh.host_id AND ru.user_id = u.user_id \
        AND ru.start_date <= $2 AND (ru.end_date IS NULL OR ru.end_date >= $3) \
  LEFT JOIN role_t r ON r.host_id = ru.host_id AND r.role_id = ru.role_id \
 WHERE u.user_id = $4";

/// `LIKE` matches `%` and `_` as wildcards: a search for them must find them literally.
fn like_pattern(text: &str) -> String {
    let mut pattern = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[async_trait]
impl MemberStore for SqlStore {
    async fn standing(
        &self,
        user_id: &str,
        host_id: &str,
        day: &str,
    ) -> StoreResult<Option<Standing>> {
        let rows: Vec<(i64, i64, Option<String>, Option<String>)> = sqlx::query_as(STANDING_SQL)
            .bind(host_id)
            .bind(day)
            .bind(day)
            .bind(user_id)
            .fetch_all(&self.pool)
            .await?;
        let Some((locked, system_admin, member, _)) = rows.first() else {
            return Ok(None);
        };
        Ok(Some(Standing {
            locked: *locked != 0,
            system_admin: *system_admin != 0,
            member: member.is_some(),
            roles: rows.iter().filter_map(|r| r.3.clone()).collect(),
        }))
    }

    async fn list_members(&self, host_id: &str, query: &MemberQuery) -> StoreResult<MemberPage> {
        // Conditions are added in order, each taking the next placeholder number, so
        // that numbering and binding order agree on both backends.
        let mut sql = members_sql();
        let mut binds: Vec<String> = vec![host_id.to_owned()];
        if let Some(text) = query.text.as_deref().filter(|t| !t.is_empty()) {
            let n = binds.len() + 1;
            sql.push_str(&format!(
                " AND (lower(email) LIKE ${n} ESCAPE '\\' \
                 OR lower(first_name) LIKE ${} ESCAPE '\\' \
                 OR lower(last_name) LIKE ${} ESCAPE '\\')",
                n + 1,
                n + 2
            ));
            let pattern = like_pattern(text);
            binds.extend([pattern.clone(), pattern.clone(), pattern]);
        }
        if let Some(user_type) = &query.user_type {
            sql.push_str(&format!(" AND user_type = ${}", binds.len() + 1));
            binds.push(user_type.clone());
        }
        if let Some(status) = query.status {
            // A constant, not user input.
            sql.push_str(match status {
                UserStatus::Active => " AND locked = 0 AND m.active = 1",
                UserStatus::Locked => " AND locked = 1",
                UserStatus::Inactive => " AND m.active = 0",
            });
        }
        if let Some(role) = &query.role {
            let n = binds.len() + 1;
            // The role's assignments in effect that day; `$1` is the host.
            sql.push_str(&format!(
                " AND user_id IN (SELECT ru.user_id FROM role_user_t ru \
                 JOIN role_t r ON r.host_id = ru.host_id AND r.role_id = ru.role_id \
                 WHERE ru.host_id = m.host_id AND r.role_name = ${n} AND ru.start_date <= ${} \
                 AND (ru.end_date IS NULL OR ru.end_date >= ${}))",
                n + 1,
                n + 2
            ));
            binds.extend([role.name.clone(), role.day.clone(), role.day.clone()]);
        }
        if let Some(after) = &query.after {
            // The database lowers both sides: its `lower` and Rust's differ beyond ASCII.
            sql.push_str(&format!(" AND lower(email) > lower(${})", binds.len() + 1));
            binds.push(after.clone());
        }
        // One row more than asked tells whether another page follows.
        sql.push_str(&format!(
            " ORDER BY lower(email) LIMIT {}",
            i64::from(query.limit) + 1
        ));
        let mut statement = sqlx::query_as::<_, MemberRow>(&sql);
        for value in &binds {
            statement = statement.bind(value);
        }
        let mut users: Vec<Member> = statement
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(Member::from)
            .collect();
        let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
        let next = if users.len() > limit {
            users.truncate(limit);
            users.last().map(|m| m.user.email.clone())
        } else {
            None
        };
        Ok(MemberPage { users, next })
    }

    async fn find_member(&self, host_id: &str, user_id: &str) -> StoreResult<Option<Member>> {
        let mut conn = self.pool.acquire().await?;
        member_in(&mut conn, host_id, user_id).await
    }
}

/// A member of the host, read on `conn` (inside a write's transaction, or not).
pub(super) async fn member_in(
    conn: &mut sqlx::AnyConnection,
    host_id: &str,
    user_id: &str,
) -> StoreResult<Option<Member>> {
    let sql = format!("{} AND user_id = $2", members_sql());
    let row: Option<MemberRow> = sqlx::query_as(&sql)
        .bind(host_id)
        .bind(user_id)
        .fetch_optional(conn)
        .await?;
    Ok(row.map(Member::from))
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn a_search_for_wildcards_finds_them_literally() {
        assert_eq!(like_pattern("Ann"), "%ann%");
        assert_eq!(like_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }
}

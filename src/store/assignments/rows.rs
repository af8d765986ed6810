//! Reading a member's assignment rows of one kind, with their dates and origin.

use sqlx::AnyConnection;

use super::{Assignment, AssignmentKind};
use crate::store::StoreResult;

type Row = (
    String,
    Option<String>,
    String,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
);

/// The member's rows of a kind (of one definition, when `only` names its id).
pub(super) async fn rows_of(
    conn: &mut AnyConnection,
    host_id: &str,
    user_id: &str,
    kind: AssignmentKind,
    only: Option<&str>,
) -> StoreResult<Vec<Assignment>> {
    // Every select answers (name, value, start, end, source, position type,
    // inherited from); the constants fill what a table lacks.
    let (select, id_col) = match kind {
        AssignmentKind::Role => (
            "SELECT d.role_name, NULL, a.start_date, a.end_date, a.source, NULL, NULL \
             FROM role_user_t a JOIN role_t d ON d.host_id = a.host_id AND d.role_id = a.role_id \
             WHERE a.host_id = $1 AND a.user_id = $2",
            "a.role_id",
        ),
        AssignmentKind::Group => (
            "SELECT d.group_name, NULL, a.start_date, a.end_date, a.source, NULL, NULL \
             FROM group_user_t a JOIN group_t d ON d.host_id = a.host_id AND d.group_id = a.group_id \
             WHERE a.host_id = $1 AND a.user_id = $2",
            "a.group_id",
        ),
        AssignmentKind::Attribute => (
            "SELECT d.attribute_name, a.attribute_value, a.start_date, a.end_date, 'local', NULL, NULL \
             FROM attribute_user_t a \
             JOIN attribute_t d ON d.host_id = a.host_id AND d.attribute_id = a.attribute_id \
             WHERE a.host_id = $1 AND a.user_id = $2",
            "a.attribute_id",
        ),
        AssignmentKind::Position => (
            "SELECT d.position_name, NULL, a.start_date, a.end_date, 'local', a.position_type, \
             a.inherited_from FROM employee_position_t a \
             JOIN employee_t e ON e.host_id = a.host_id AND e.employee_id = a.employee_id \
             JOIN position_t d ON d.host_id = a.host_id AND d.position_id = a.position_id \
             WHERE a.host_id = $1 AND e.user_id = $2",
            "a.position_id",
        ),
    };
    let mut sql = select.to_owned();
    if only.is_some() {
        sql.push_str(&format!(" AND {id_col} = $3"));
    }
    sql.push_str(" ORDER BY 1, 3");
    let mut query = sqlx::query_as::<_, Row>(&sql).bind(host_id).bind(user_id);
    if let Some(id) = only {
        query = query.bind(id);
    }
    let rows = query.fetch_all(&mut *conn).await?;
    Ok(rows
        .into_iter()
        .map(
            |(name, value, start_date, end_date, source, position_type, inherited_from)| {
                Assignment {
                    name,
                    value,
                    start_date,
                    end_date,
                    source,
                    position_type,
                    // Own positions store '' here.
                    inherited_from: inherited_from.filter(|f| !f.is_empty()),
                }
            },
        )
        .collect())
}

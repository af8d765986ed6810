//! The two migration folders stay in step: `migrations/sqlite` and
//! `migrations/postgres` hold the same file names (numbers and names), and each pair
//! makes the same schema changes — tables, columns with their kind of type, renames,
//! drops and indexes. SQL is read roughly (statements split at `;`, comments
//! dropped), which is enough for the DDL these files hold; data statements (`UPDATE`,
//! `INSERT`) are the dialects' own and are not compared.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn folder(dialect: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(dialect)
}

fn file_names(dialect: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder(dialect))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    names.sort();
    names
}

/// The kind of a column's type: PostgreSQL's integers are `BIGINT` where SQLite says
/// `INTEGER` (ARCHITECTURE.md: every integer decodes as `i64`); other types must match.
fn type_kind(word: &str) -> String {
    let word = word
        .split('(')
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase();
    match word.as_str() {
        "INTEGER" | "BIGINT" | "INT" | "SMALLINT" => "integer".to_owned(),
        _ => word.to_lowercase(),
    }
}

fn unquote(name: &str) -> String {
    name.trim_matches('"').to_ascii_lowercase()
}

/// The elements of a parenthesised list, split at top-level commas.
fn top_level_items(body: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut depth, mut start) = (0_i32, 0);
    for (i, c) in body.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                items.push(body[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(body[start..].trim());
    items.retain(|i| !i.is_empty());
    items
}

/// What one file does to the schema, one line per effect, e.g.
/// `column user_t.email text` or `index user_email_uk on user_t (unique)`.
fn schema_changes(sql: &str) -> BTreeSet<String> {
    let text: String = sql
        .lines()
        .map(|l| l.split("--").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let mut changes = BTreeSet::new();
    for statement in text.split(';') {
        let words: Vec<&str> = statement.split_whitespace().collect();
        let lower: Vec<String> = words.iter().map(|w| w.to_ascii_lowercase()).collect();
        let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
        // Skip `IF NOT EXISTS` / `IF EXISTS` wherever they appear: a dialect may need
        // them where the other does not.
        let (words, lower): (Vec<&str>, Vec<&str>) = words
            .iter()
            .zip(&lower)
            .filter(|(_, l)| !matches!(**l, "if" | "not" | "exists"))
            .map(|(w, l)| (*w, *l))
            .unzip();
        match lower.as_slice() {
            ["create", "table", name, ..] => {
                let table = unquote(name.split('(').next().unwrap_or_default());
                changes.insert(format!("table {table}"));
                let (Some(open), Some(close)) = (statement.find('('), statement.rfind(')')) else {
                    panic!("CREATE TABLE {table} without a column list");
                };
                for item in top_level_items(&statement[open + 1..close]) {
                    let mut parts = item.split_whitespace();
                    let column = parts.next().unwrap_or_default();
                    if matches!(
                        column.to_ascii_lowercase().as_str(),
                        "primary" | "unique" | "foreign" | "check" | "constraint"
                    ) {
                        continue;
                    }
                    let kind = type_kind(parts.next().unwrap_or_default());
                    changes.insert(format!("column {table}.{} {kind}", unquote(column)));
                }
            }
            ["alter", "table", table, "add", rest @ ..] => {
                let rest = if rest.first() == Some(&"column") {
                    &rest[1..]
                } else {
                    rest
                };
                let offset = words.len() - rest.len();
                let kind = type_kind(words.get(offset + 1).copied().unwrap_or_default());
                changes.insert(format!(
                    "column {}.{} {kind}",
                    unquote(table),
                    unquote(words[offset])
                ));
            }
            ["alter", "table", table, "rename", "column", from, "to", to] => {
                changes.insert(format!(
                    "rename {}.{} to {}",
                    unquote(table),
                    unquote(from),
                    unquote(to)
                ));
            }
            ["alter", "table", table, "rename", "to", to] => {
                changes.insert(format!("rename {} to {}", unquote(table), unquote(to)));
            }
            ["alter", "table", table, "drop", "column", column, ..]
            | ["alter", "table", table, "drop", column, ..] => {
                changes.insert(format!("drop {}.{}", unquote(table), unquote(column)));
            }
            ["alter", "table", table, ..] => {
                changes.insert(format!("alter {} {}", unquote(table), lower[3..].join(" ")));
            }
            ["create", "unique", "index", name, "on", table, ..] => {
                let table = unquote(table.split('(').next().unwrap_or_default());
                changes.insert(format!("index {} on {table} (unique)", unquote(name)));
            }
            ["create", "index", name, "on", table, ..] => {
                let table = unquote(table.split('(').next().unwrap_or_default());
                changes.insert(format!("index {} on {table}", unquote(name)));
            }
            ["drop", what @ ("table" | "index"), name, ..] => {
                changes.insert(format!("drop {what} {}", unquote(name)));
            }
            _ => {}
        }
    }
    changes
}

#[test]
fn both_migration_folders_hold_the_same_file_names() {
    let sqlite = file_names("sqlite");
    let postgres = file_names("postgres");
    assert!(!sqlite.is_empty(), "no migrations found");
    assert_eq!(
        sqlite, postgres,
        "migrations/sqlite and migrations/postgres must have the same numbers and names"
    );
    // sqlx orders and identifies migrations by number: one file per number.
    let numbers: BTreeSet<&str> = sqlite
        .iter()
        .map(|n| n.split('_').next().unwrap_or_default())
        .collect();
    assert_eq!(
        numbers.len(),
        sqlite.len(),
        "a migration number is used twice"
    );
}

#[test]
fn each_migration_pair_makes_the_same_tables_columns_and_indexes() {
    let mut compared = 0;
    for name in file_names("sqlite") {
        let read = |dialect: &str| std::fs::read_to_string(folder(dialect).join(&name));
        let Ok(postgres) = read("postgres") else {
            continue; // the file-name test reports it
        };
        let sqlite = schema_changes(&read("sqlite").unwrap());
        let postgres = schema_changes(&postgres);
        let only_sqlite: Vec<_> = sqlite.difference(&postgres).collect();
        let only_postgres: Vec<_> = postgres.difference(&sqlite).collect();
        assert!(
            only_sqlite.is_empty() && only_postgres.is_empty(),
            "{name}: only in sqlite {only_sqlite:?}, only in postgres {only_postgres:?}"
        );
        compared += 1;
    }
    assert!(compared > 0, "no migration pair compared");
}

#[test]
fn the_core_migration_is_read_into_its_tables_and_columns() {
    // The reader must see what the files hold, or the comparison above proves nothing.
    let core =
        schema_changes(&std::fs::read_to_string(folder("postgres").join("0001_core.sql")).unwrap());
    for expected in [
        "table user_t",
        "column user_t.email text",
        "column user_t.created_at integer",
        "column client_t.require_pkce integer",
        "index user_email_uk on user_t (unique)",
    ] {
        assert!(core.contains(expected), "{expected} not read: {core:?}");
    }
    assert!(
        !core.iter().any(|c| c.contains(".primary")),
        "a constraint was read as a column"
    );
}

#[test]
fn a_column_added_on_one_side_only_is_a_difference() {
    let sqlite = schema_changes(
        "-- a comment; with a semicolon\n\
         CREATE TABLE a_t (id TEXT PRIMARY KEY, n INTEGER NOT NULL, PRIMARY KEY (id));\n\
         ALTER TABLE a_t ADD COLUMN extra TEXT NULL;",
    );
    let postgres = schema_changes(
        "CREATE TABLE a_t (id TEXT PRIMARY KEY, n BIGINT NOT NULL, PRIMARY KEY (id));",
    );
    assert_eq!(
        sqlite.difference(&postgres).collect::<Vec<_>>(),
        vec!["column a_t.extra text"]
    );
    let retyped = schema_changes(
        "CREATE TABLE a_t (id TEXT PRIMARY KEY, n TEXT NOT NULL, PRIMARY KEY (id));",
    );
    assert_ne!(retyped, postgres, "a column's kind of type counts");
    let in_table = schema_changes(
        "CREATE TABLE a_t (id TEXT PRIMARY KEY, n BIGINT NOT NULL, more BIGINT, PRIMARY KEY (id));",
    );
    assert_ne!(in_table, postgres, "a column in CREATE TABLE counts");
}

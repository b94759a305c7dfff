//! What a pod's schema objects may be: the rule that keeps pod SQL away from
//! the platform's tables, whichever connection later runs.
//!
//! A pod owns every table, index, view, trigger and virtual table it creates,
//! and SQLite runs those objects on *any* connection that touches them: a
//! foreign key's cascade or a trigger fires on the platform's own writer just
//! as well as on the pod's connection, where no authorizer is watching. So the
//! rule is on the objects themselves, checked after every statement of the pod
//! that changes the schema ([`crate::UserDb`]) and when a database is opened:
//!
//! * a pod object never has a platform name (`hbf_*`, `sqlar`, in any case);
//! * its SQL never mentions one, as an identifier or as a string (which SQLite
//!   accepts as a name in places: `REFERENCES 'hbf_fs_content'`, an FTS5
//!   `content='hbf_fs_content'`), so no trigger body, view, foreign key, index
//!   or virtual table refers to a platform table;
//! * no foreign key of a pod table has a platform table as its parent (checked
//!   again through `pragma_foreign_key_list`, beside the text rule);
//! * no `sqlite_stat1`/`sqlite_stat4` row describes a platform table (planner
//!   statistics a pod could forge to slow the platform's queries down).
//!
//! The platform's connections also never run triggers at all
//! (`SQLITE_DBCONFIG_ENABLE_TRIGGER` off, see `database.rs`): the platform
//! schema has none, so any trigger is a pod's.

use std::collections::HashSet;
use std::sync::OnceLock;

use rusqlite::{Connection, OptionalExtension};

/// The prefix of Litestream's tables.
pub const REPLICATOR_TABLE_PREFIX: &str = "_litestream_";

/// True for a name the replicator owns or may own: `_litestream_*`, compared
/// as SQLite compares names (ASCII case-insensitively).
pub(crate) fn is_replicator_name(name: &str) -> bool {
    let prefix = REPLICATOR_TABLE_PREFIX.as_bytes();
    let bytes = name.as_bytes();
    bytes.len() >= prefix.len() && bytes[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// True for a name the platform owns or may own: `hbf_*`, `sqlar` and the
/// replicator's `_litestream_*`, compared as SQLite compares names (ASCII
/// case-insensitively).
pub(crate) fn is_platform_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (bytes.len() >= 4 && bytes[..4].eq_ignore_ascii_case(b"hbf_"))
        || name.eq_ignore_ascii_case("sqlar")
        || is_replicator_name(name)
}

/// True for SQLite's own tables (`sqlite_schema`, `sqlite_stat1`, ...).
pub(crate) fn is_sqlite_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.len() >= 7 && bytes[..7].eq_ignore_ascii_case(b"sqlite_")
}

/// True when `sql` is a statement that can change the schema: its first
/// keyword is `CREATE`, `ALTER`, `DROP` or `ANALYZE` (which writes planner
/// statistics). Such statements run inside a savepoint and are checked.
pub(crate) fn is_schema_statement(sql: &str) -> bool {
    match Tokens::new(sql).next() {
        Some(Token::Word(word)) => ["create", "alter", "drop", "analyze"]
            .iter()
            .any(|k| word.eq_ignore_ascii_case(k)),
        _ => false,
    }
}

/// A pod schema object that breaks the rule, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// `table`, `index`, `view`, `trigger`, or `statistics`.
    pub kind: String,
    pub name: String,
    pub reason: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {:?} {}", self.kind, self.name, self.reason)
    }
}

/// Every pod object of `conn`'s main schema that breaks the rule.
pub(crate) fn violations(conn: &Connection) -> rusqlite::Result<Vec<Violation>> {
    let platform = platform_objects();
    let mut found = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT type, name, tbl_name, coalesce(sql, '') FROM main.sqlite_schema ORDER BY rowid",
    )?;
    let objects = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for (kind, name, table, sql) in objects {
        if platform.contains(&(kind.clone(), name.to_ascii_lowercase()))
            || is_sqlite_name(&name)
            || (kind == "table" && is_replicator_name(&name) && is_plain_table(&name, &sql))
        {
            // The replicator's own tables (a pod can create none: the
            // authorizer refuses the name) are the platform's.
            continue;
        }
        let violation = |reason: String| Violation {
            kind: kind.clone(),
            name: name.clone(),
            reason,
        };
        if is_platform_name(&name) {
            found.push(violation(
                "has a name reserved for the platform (hbf_*, sqlar, _litestream_*)".into(),
            ));
        } else if is_platform_name(&table) {
            found.push(violation(format!("is on the platform table {table}")));
        } else if let Some(mentioned) = mentioned_platform_name(&sql) {
            found.push(violation(format!("mentions the platform name {mentioned}")));
        } else if kind == "table" {
            let parents = conn
                .prepare_cached("SELECT DISTINCT \"table\" FROM pragma_foreign_key_list(?1)")?
                .query_map([&name], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            if let Some(parent) = parents.iter().find(|p| is_platform_name(p)) {
                found.push(violation(format!(
                    "has a foreign key to the platform table {parent}"
                )));
            }
        }
    }
    for stat in ["sqlite_stat1", "sqlite_stat4"] {
        if let Some(table) = platform_statistics(conn, stat)? {
            found.push(Violation {
                kind: "statistics".into(),
                name: stat.into(),
                reason: format!("has rows for the platform table {table}"),
            });
        }
    }
    Ok(found)
}

/// The SQL that deletes planner statistics of platform tables from `stat`.
pub(crate) fn delete_platform_statistics(conn: &Connection) -> rusqlite::Result<()> {
    for stat in ["sqlite_stat1", "sqlite_stat4"] {
        if table_exists(conn, stat)? {
            conn.execute(&format!("DELETE FROM main.{stat} WHERE {PLATFORM_TBL}"), [])?;
        }
    }
    Ok(())
}

/// `tbl` names a platform table, as SQL.
const PLATFORM_TBL: &str = "lower(tbl) LIKE 'hbf\\_%' ESCAPE '\\' OR lower(tbl) = 'sqlar' \
    OR lower(tbl) LIKE '\\_litestream\\_%' ESCAPE '\\'";

fn platform_statistics(conn: &Connection, stat: &str) -> rusqlite::Result<Option<String>> {
    if !table_exists(conn, stat)? {
        return Ok(None);
    }
    conn.query_row(
        &format!("SELECT tbl FROM main.{stat} WHERE {PLATFORM_TBL} LIMIT 1"),
        [],
        |r| r.get(0),
    )
    .optional()
}

fn table_exists(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT 1 FROM main.sqlite_schema WHERE type = 'table' AND name = ?1")?
        .exists([name])
}

/// The platform's own schema objects, as (type, lower-case name): what the
/// migrations and the `sqlar` table create, found by building them once in
/// memory, so that the list can never drift from the schema.
fn platform_objects() -> &'static HashSet<(String, String)> {
    static OBJECTS: OnceLock<HashSet<(String, String)>> = OnceLock::new();
    OBJECTS.get_or_init(|| {
        let build = || -> crate::Result<HashSet<(String, String)>> {
            let mut conn = Connection::open_in_memory()?;
            crate::schema::migrate(&mut conn)?;
            conn.execute_batch(crate::archive::CREATE_SQLAR)?;
            let mut stmt = conn.prepare("SELECT type, lower(name) FROM sqlite_schema")?;
            let objects = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(objects)
        };
        build().expect("the platform schema builds in memory")
    })
}

/// The first platform name that `sql` mentions as an identifier or a string.
pub(crate) fn mentioned_platform_name(sql: &str) -> Option<String> {
    Tokens::new(sql).find_map(|token| match token {
        Token::Word(name) | Token::Quoted(name) if is_platform_name(&name) => Some(name),
        _ => None,
    })
}

/// True when `sql` defines the table `name` and mentions no other platform
/// name and no foreign key: the shape of the replicator's own tables
/// (`CREATE TABLE _litestream_seq (id INTEGER PRIMARY KEY, seq INTEGER)`).
fn is_plain_table(name: &str, sql: &str) -> bool {
    Tokens::new(sql).all(|token| match token {
        Token::Word(word) | Token::Quoted(word) => {
            (!is_platform_name(&word) || word.eq_ignore_ascii_case(name))
                && !word.eq_ignore_ascii_case("references")
        }
        Token::Other => true,
    })
}

/// A token of SQL text, as far as this module needs to tell them apart.
#[derive(Debug, PartialEq, Eq)]
enum Token {
    /// A bare word: a keyword or an unquoted identifier.
    Word(String),
    /// A quoted identifier (`"x"`, `` `x` ``, `[x]`) or a string literal (`'x'`),
    /// unquoted.
    Quoted(String),
    /// Anything else (operators, numbers, blobs).
    Other,
}

/// SQLite's lexical rules for comments, quotes and identifiers (tokenize.c),
/// enough to find every name in a statement.
struct Tokens<'a> {
    rest: &'a str,
}

impl<'a> Tokens<'a> {
    fn new(sql: &'a str) -> Self {
        Self { rest: sql }
    }

    /// Skips a quoted run whose closing quote is `close`, doubled to escape
    /// (except for `]`); returns its content.
    fn quoted(&mut self, close: char) -> String {
        let mut out = String::new();
        let mut chars = self.rest[1..].char_indices();
        while let Some((i, c)) = chars.next() {
            if c == close {
                if close != ']' && self.rest[1 + i + 1..].starts_with(close) {
                    out.push(c);
                    chars.next();
                    continue;
                }
                self.rest = &self.rest[1 + i + 1..];
                return out;
            }
            out.push(c);
        }
        self.rest = ""; // unterminated: SQLite refuses the statement anyway
        out
    }
}

impl Iterator for Tokens<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        loop {
            let trimmed = self.rest.trim_start();
            self.rest = trimmed;
            if let Some(comment) = trimmed.strip_prefix("--") {
                self.rest = comment.find('\n').map_or("", |end| &comment[end + 1..]);
            } else if let Some(comment) = trimmed.strip_prefix("/*") {
                self.rest = comment.find("*/").map_or("", |end| &comment[end + 2..]);
            } else {
                break;
            }
        }
        let c = self.rest.chars().next()?;
        let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$' || !c.is_ascii();
        Some(match c {
            '\'' | '"' | '`' => Token::Quoted(self.quoted(c)),
            '[' => Token::Quoted(self.quoted(']')),
            c if (c == 'x' || c == 'X') && self.rest[1..].starts_with('\'') => {
                self.rest = &self.rest[1..];
                self.quoted('\'');
                Token::Other
            }
            c if is_word(c) && !c.is_ascii_digit() => {
                let end = self.rest.find(|c| !is_word(c)).unwrap_or(self.rest.len());
                let word = self.rest[..end].to_owned();
                self.rest = &self.rest[end..];
                Token::Word(word)
            }
            c if c.is_ascii_digit() => {
                let end = self
                    .rest
                    .find(|c| !is_word(c) && c != '.')
                    .unwrap_or(self.rest.len());
                self.rest = &self.rest[end..];
                Token::Other
            }
            c => {
                self.rest = &self.rest[c.len_utf8()..];
                Token::Other
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicator_names_in_any_case() {
        for name in ["_litestream_seq", "_LITESTREAM_LOCK", "_Litestream_"] {
            assert!(is_replicator_name(name), "{name}");
        }
        for name in ["litestream_seq", "_litestream", "x_litestream_seq", ""] {
            assert!(!is_replicator_name(name), "{name}");
        }
    }

    #[test]
    fn platform_names_in_any_case() {
        for name in ["hbf_fs_file", "HBF_X", "Hbf_", "sqlar", "SQLAR"] {
            assert!(is_platform_name(name), "{name}");
        }
        for name in ["hbf", "myhbf_x", "sqlar2", "items", "hb"] {
            assert!(!is_platform_name(name), "{name}");
        }
    }

    #[test]
    fn schema_statements_by_their_first_keyword() {
        for sql in [
            "CREATE TABLE t(x)",
            "  -- c\n /* d */ create trigger x",
            "DROP VIEW v",
            "alter table t add y",
            "ANALYZE",
        ] {
            assert!(is_schema_statement(sql), "{sql}");
        }
        for sql in [
            "SELECT 'CREATE'",
            "INSERT INTO t VALUES (1)",
            "EXPLAIN CREATE TABLE t(x)",
            "",
        ] {
            assert!(!is_schema_statement(sql), "{sql}");
        }
    }

    #[test]
    fn finds_platform_names_however_quoted() {
        for sql in [
            "CREATE TABLE p(m REFERENCES hbf_module_cache)",
            "CREATE TABLE p(m REFERENCES \"HBF_MODULE_CACHE\")",
            "CREATE TABLE p(m REFERENCES 'hbf_fs_content'(id))",
            "CREATE TABLE p(m REFERENCES [hbf_fs_file])",
            "CREATE TABLE p(m REFERENCES `sqlar`)",
            "CREATE TRIGGER t AFTER DELETE ON p BEGIN DELETE FROM main.hbf_fs_version; END",
            "CREATE VIRTUAL TABLE f USING fts5(x, content='hbf_fs_content')",
            "CREATE VIEW v AS SELECT * FROM/**/hbf_fs_file",
        ] {
            assert!(mentioned_platform_name(sql).is_some(), "{sql}");
        }
        for sql in [
            "CREATE TABLE p(x TEXT DEFAULT 'hbf', y BLOB DEFAULT x'ab')",
            "CREATE TABLE p(x) -- hbf_fs_file in a comment",
            "CREATE TABLE p(x /* sqlar */)",
            "CREATE TABLE \"a\"\"hbf_b\"(x)",
        ] {
            assert_eq!(mentioned_platform_name(sql), None, "{sql}");
        }
    }

    #[test]
    fn the_platform_schema_is_known() {
        let objects = platform_objects();
        assert!(objects.contains(&("table".into(), "hbf_fs_content".into())));
        assert!(objects.contains(&("table".into(), "sqlar".into())));
        assert!(objects
            .iter()
            .all(|(_, name)| is_platform_name(name) || is_sqlite_name(name)));
    }
}

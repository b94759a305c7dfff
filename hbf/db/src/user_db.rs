//! A pod's own SQL: the connection behind JavaScript's `hbf:db`.
//!
//! A pod may create and use any tables of its own. It may read the platform's
//! tables but never write them: an SQLite authorizer refuses, at prepare time,
//! every statement (including a trigger's body) that would insert into, update,
//! delete from, create, alter or drop a platform table (`hbf_*`, `sqlar`), attach
//! another database, change a pragma, or open or close a transaction by hand
//! (transactions go through [`UserDb::transaction`]). Files are written only
//! through the versioned filesystem.
//!
//! Each JavaScript worker owns one `UserDb` connection; writes from several
//! workers take turns through SQLite's locking (with the busy timeout).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::types::Value;
use rusqlite::Connection;

use crate::schema::PLATFORM_TABLE_PREFIX;
use crate::{Error, Result};

/// Parameters of a statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Params {
    /// `?`, `?1`: bound in order.
    Positional(Vec<Value>),
    /// `:name`, `@name`, `$name`: bound by name, given without or with its prefix.
    Named(Vec<(String, Value)>),
}

/// One result row: column names and values, in the statement's column order.
pub type Row = Vec<(String, Value)>;

/// What [`UserDb::execute`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Executed {
    pub changes: u64,
    pub last_insert_rowid: i64,
}

/// A connection for a pod's own SQL.
pub struct UserDb {
    conn: Connection,
    /// Set while this module runs its own transaction statements.
    internal: Arc<AtomicBool>,
}

fn is_platform_table(name: &str) -> bool {
    name.starts_with(PLATFORM_TABLE_PREFIX) || name.eq_ignore_ascii_case("sqlar")
}

impl UserDb {
    pub(crate) fn new(mut conn: Connection) -> Result<Self> {
        let internal = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&internal);
        conn.authorizer(Some(move |ctx: AuthContext<'_>| {
            if authorize(&ctx.action, flag.load(Ordering::Relaxed)) {
                Authorization::Allow
            } else {
                Authorization::Deny
            }
        }))?;
        Ok(Self { conn, internal })
    }

    /// Runs a statement that returns rows.
    pub fn query(&self, sql: &str, params: &Params) -> Result<Vec<Row>> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(refused)?;
        bind(&mut stmt, params)?;
        let names: Vec<String> = stmt.column_names().map(str::to_owned).collect();
        let mut rows = stmt.raw_query();
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(refused)? {
            let mut values = Vec::with_capacity(names.len());
            for (i, name) in names.iter().enumerate() {
                values.push((name.clone(), row.get::<_, Value>(i)?));
            }
            out.push(values);
        }
        Ok(out)
    }

    /// Runs a statement for its effect.
    pub fn execute(&self, sql: &str, params: &Params) -> Result<Executed> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(refused)?;
        bind(&mut stmt, params)?;
        let changes = stmt.raw_execute().map_err(refused)?;
        Ok(Executed {
            changes: changes as u64,
            last_insert_rowid: self.conn.last_insert_rowid(),
        })
    }

    /// Runs `body` in a transaction: committed if it returns `Ok`, rolled back if
    /// it returns `Err` (or panics). Transactions do not nest.
    pub fn transaction<R, E: From<Error>>(
        &self,
        body: impl FnOnce(&Self) -> std::result::Result<R, E>,
    ) -> std::result::Result<R, E> {
        if !self.conn.is_autocommit() {
            return Err(Error::Sql("transactions cannot be nested".into()).into());
        }
        self.control("BEGIN IMMEDIATE")?;
        let guard = RollbackOnDrop(self);
        let result = body(self);
        std::mem::forget(guard);
        match result {
            Ok(value) => {
                if let Err(e) = self.control("COMMIT") {
                    let _ = self.control("ROLLBACK");
                    return Err(e.into());
                }
                Ok(value)
            }
            Err(e) => {
                if !self.conn.is_autocommit() {
                    self.control("ROLLBACK")?;
                }
                Err(e)
            }
        }
    }

    fn control(&self, sql: &str) -> Result<()> {
        self.internal.store(true, Ordering::Relaxed);
        let result = self.conn.execute_batch(sql);
        self.internal.store(false, Ordering::Relaxed);
        Ok(result?)
    }
}

/// Rolls an open transaction back if the body unwinds.
struct RollbackOnDrop<'a>(&'a UserDb);

impl Drop for RollbackOnDrop<'_> {
    fn drop(&mut self) {
        if !self.0.conn.is_autocommit() {
            let _ = self.0.control("ROLLBACK");
        }
    }
}

/// Whether the authorizer lets a pod's statement do `action`.
fn authorize(action: &AuthAction<'_>, internal: bool) -> bool {
    match *action {
        AuthAction::Insert { table_name }
        | AuthAction::Delete { table_name }
        | AuthAction::Update { table_name, .. }
        | AuthAction::CreateTable { table_name }
        | AuthAction::DropTable { table_name }
        | AuthAction::CreateIndex { table_name, .. }
        | AuthAction::DropIndex { table_name, .. }
        | AuthAction::CreateTrigger { table_name, .. }
        | AuthAction::DropTrigger { table_name, .. }
        | AuthAction::AlterTable { table_name, .. }
        | AuthAction::CreateVtable { table_name, .. }
        | AuthAction::DropVtable { table_name, .. } => !is_platform_table(table_name),
        AuthAction::CreateView { view_name } | AuthAction::DropView { view_name } => {
            !is_platform_table(view_name)
        }
        AuthAction::Attach { .. } | AuthAction::Detach { .. } => false,
        AuthAction::Pragma { pragma_value, .. } => pragma_value.is_none(),
        AuthAction::Transaction { .. } | AuthAction::Savepoint { .. } => internal,
        _ => true,
    }
}

/// Makes an authorizer refusal read as what it is.
fn refused(e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::AuthorizationForStatementDenied) => Error::Sql(format!(
            "not allowed: {e} (pods cannot write platform tables (hbf_*, sqlar), attach databases, set pragmas or control transactions by hand; use transaction(fn))"
        )),
        _ => Error::Sql(e.to_string()),
    }
}

fn bind(stmt: &mut rusqlite::CachedStatement<'_>, params: &Params) -> Result<()> {
    stmt.clear_bindings();
    match params {
        Params::Positional(values) => {
            let expected = stmt.parameter_count();
            if values.len() != expected {
                return Err(Error::Sql(format!(
                    "the statement has {expected} parameters, {} were given",
                    values.len()
                )));
            }
            for (i, value) in values.iter().enumerate() {
                stmt.raw_bind_parameter(i + 1, value)?;
            }
        }
        Params::Named(pairs) => {
            for (name, value) in pairs {
                let index = if name.starts_with([':', '@', '$']) {
                    stmt.parameter_index(name)?
                } else {
                    [":", "@", "$"].iter().find_map(|prefix| {
                        stmt.parameter_index(&format!("{prefix}{name}"))
                            .ok()
                            .flatten()
                    })
                };
                let index = index.ok_or_else(|| {
                    Error::Sql(format!("the statement has no parameter named {name:?}"))
                })?;
                stmt.raw_bind_parameter(index, value)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Database;

    fn pos(values: Vec<Value>) -> Params {
        Params::Positional(values)
    }

    #[test]
    fn a_pod_uses_its_own_tables() {
        let db = Database::memory().unwrap();
        let user = db.user_db().unwrap();
        user.execute(
            "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, data BLOB)",
            &pos(vec![]),
        )
        .unwrap();
        let done = user
            .execute(
                "INSERT INTO items (name, data) VALUES (?, ?)",
                &pos(vec![Value::Text("a".into()), Value::Blob(vec![0, 1, 2])]),
            )
            .unwrap();
        assert_eq!(
            done,
            Executed {
                changes: 1,
                last_insert_rowid: 1
            }
        );
        let rows = user
            .query(
                "SELECT name, data FROM items WHERE id = :id",
                &Params::Named(vec![("id".into(), Value::Integer(1))]),
            )
            .unwrap();
        assert_eq!(
            rows,
            vec![vec![
                ("name".to_owned(), Value::Text("a".into())),
                ("data".to_owned(), Value::Blob(vec![0, 1, 2]))
            ]]
        );
        // Platform tables are readable.
        assert_eq!(
            user.query("SELECT count(*) AS n FROM hbf_fs_file", &pos(vec![]))
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn platform_tables_are_not_writable() {
        let db = Database::memory().unwrap();
        db.fs().write("static/a.txt", "x").unwrap();
        db.write_archive(vec![crate::ArchiveEntry::file("a", 0, "x")])
            .unwrap();
        let user = db.user_db().unwrap();
        user.execute("CREATE TABLE mine (x)", &pos(vec![])).unwrap();
        for sql in [
            "DELETE FROM hbf_fs_version",
            "UPDATE hbf_fs_file SET size = 0",
            "INSERT INTO hbf_fs_content (sha256, size, data) VALUES (zeroblob(32), 0, x'')",
            "DROP TABLE hbf_fs_file",
            "CREATE TABLE hbf_mine (x)",
            "ALTER TABLE hbf_import ADD COLUMN y",
            "CREATE INDEX i ON hbf_fs_version (mtime)",
            "DELETE FROM sqlar",
            "ATTACH ':memory:' AS other",
            "PRAGMA user_version = 99",
            "PRAGMA writable_schema = ON",
            "BEGIN",
            "COMMIT",
            "SAVEPOINT s",
        ] {
            match user.execute(sql, &pos(vec![])) {
                Err(err) => assert!(err.to_string().contains("not allowed"), "{sql}: {err}"),
                Ok(done) => panic!("{sql} was allowed: {done:?}"),
            }
        }
        // A trigger on the pod's own table may be created, but its body is
        // checked when it runs: the insert that would fire it is refused.
        user.execute(
            "CREATE TRIGGER t AFTER INSERT ON mine BEGIN DELETE FROM hbf_fs_version; END",
            &pos(vec![]),
        )
        .unwrap();
        let err = user
            .execute("INSERT INTO mine VALUES (1)", &pos(vec![]))
            .unwrap_err();
        assert!(err.to_string().contains("not allowed"), "{err}");
        assert_eq!(db.fs().read("static/a.txt").unwrap(), b"x");
        assert_eq!(db.fs().history("static/a.txt").unwrap().len(), 1);
    }

    #[test]
    fn transactions_commit_or_roll_back() {
        let db = Database::memory().unwrap();
        let user = db.user_db().unwrap();
        user.execute("CREATE TABLE t (x)", &pos(vec![])).unwrap();
        user.transaction(|u| u.execute("INSERT INTO t VALUES (1)", &pos(vec![])))
            .unwrap();
        let err: Error = user
            .transaction(|u| {
                u.execute("INSERT INTO t VALUES (2)", &pos(vec![]))?;
                Err::<(), _>(Error::Sql("no".into()))
            })
            .unwrap_err();
        assert_eq!(err.to_string(), "SQL: no");
        let rows = user.query("SELECT x FROM t", &pos(vec![])).unwrap();
        assert_eq!(rows.len(), 1);
        let nested = user.transaction(|u| u.transaction(|_| Ok::<_, Error>(())));
        assert!(nested.unwrap_err().to_string().contains("nested"));
    }

    #[test]
    fn parameter_mistakes_are_clear() {
        let db = Database::memory().unwrap();
        let user = db.user_db().unwrap();
        let err = user
            .query("SELECT ?1 + ?2", &pos(vec![Value::Integer(1)]))
            .unwrap_err();
        assert!(
            err.to_string().contains("2 parameters, 1 were given"),
            "{err}"
        );
        let err = user
            .query(
                "SELECT :a",
                &Params::Named(vec![("b".into(), Value::Integer(1))]),
            )
            .unwrap_err();
        assert!(
            err.to_string().contains("no parameter named \"b\""),
            "{err}"
        );
        let err = user.query("SELEC 1", &pos(vec![])).unwrap_err();
        assert!(err.to_string().contains("syntax error"), "{err}");
    }
}

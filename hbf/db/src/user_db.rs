//! A pod's own SQL: the connection behind JavaScript's `hbf:db`.
//!
//! Pod SQL is untrusted. A pod may create and use any tables of its own and
//! read the platform's tables, but:
//!
//! * **It never writes platform tables.** An SQLite authorizer refuses, at
//!   prepare time, every statement (a trigger's body included) that would
//!   insert into, update or delete from a platform table (`hbf_*`, `sqlar`, in
//!   any case) or SQLite's own tables (`sqlite_stat1`, ...; `sqlite_sequence`
//!   stays the pod's), attach a database, set a pragma or read one outside a
//!   short list, create TEMP objects, call `load_extension`, or open or close a
//!   transaction by hand (transactions go through [`UserDb::transaction`]).
//! * **Its schema objects never reach the platform.** A statement that can
//!   change the schema (`CREATE`, `ALTER`, `DROP`, `ANALYZE`) runs in a
//!   savepoint; afterwards the whole pod schema is checked
//!   ([`crate::pod_schema`]: no trigger, view, index, foreign key or virtual
//!   table refers to a platform table) and the statement is rolled back if it
//!   broke the rule. The authorizer refuses schema changes in any other
//!   statement, so nothing skips the check.
//! * **It stops at the request's deadline.** A progress handler interrupts any
//!   statement once [`UserDb::set_deadline`] has passed (a stopped write rolls
//!   back with its statement, or with its transaction), and waiting for the
//!   write lock never outlasts the deadline.
//! * **Its results are bounded.** No single value may exceed
//!   [`SqlLimits::max_value_bytes`] (`SQLITE_LIMIT_LENGTH`: `randomblob(1e9)`
//!   fails instead of allocating a gigabyte), no statement's text
//!   [`SqlLimits::max_sql_bytes`], and a query's result rows together no more
//!   than [`SqlLimits::max_result_bytes`] (collected row by row, so the bound
//!   holds before the memory is spent).
//!
//! Each JavaScript worker owns one `UserDb` connection; writes from several
//! workers take turns through SQLite's locking (with the busy timeout).

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::limits::Limit;
use rusqlite::types::Value;
use rusqlite::{Connection, Statement};

use crate::pod_schema::{self, is_platform_name, is_sqlite_name};
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

/// Bounds on what one statement of a pod may make SQLite and HBF hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqlLimits {
    /// Largest string or blob SQLite builds (`SQLITE_LIMIT_LENGTH`).
    pub max_value_bytes: usize,
    /// Largest statement text (`SQLITE_LIMIT_SQL_LENGTH`).
    pub max_sql_bytes: usize,
    /// Largest result of one query, all its rows together (values, plus
    /// column names and a small overhead per value).
    pub max_result_bytes: usize,
}

impl Default for SqlLimits {
    /// Sized for the default 64 MB JavaScript memory limit, which a result
    /// must fit in anyway.
    fn default() -> Self {
        Self {
            max_value_bytes: 32 << 20,
            max_sql_bytes: 1 << 20,
            max_result_bytes: 64 << 20,
        }
    }
}

/// How often (in SQLite virtual-machine instructions) the deadline is checked.
const PROGRESS_STEPS: i32 = 1000;
/// The busy timeout when no deadline is set.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Bytes counted for each value of a result on top of its data (the Rust
/// representation of the value and its column name).
const VALUE_OVERHEAD: usize = 48;
/// The savepoint a schema statement runs in.
const SCHEMA_SAVEPOINT: &str = "hbf_pod_schema";

/// A connection for a pod's own SQL.
pub struct UserDb {
    conn: Connection,
    guard: Arc<Guard>,
    max_result_bytes: Cell<usize>,
}

/// What the authorizer and the progress handler need to know, shared with them.
struct Guard {
    /// Set while this module runs its own transaction statements.
    internal: AtomicBool,
    /// Set while a schema statement runs inside its checking savepoint.
    schema_change: AtomicBool,
    /// The deadline in nanoseconds since `epoch`, 0 for none.
    deadline: AtomicU64,
    epoch: Instant,
}

impl Guard {
    fn deadline(&self) -> Option<Instant> {
        match self.deadline.load(Ordering::Relaxed) {
            0 => None,
            nanos => Some(self.epoch + Duration::from_nanos(nanos)),
        }
    }

    fn expired(&self) -> bool {
        let d = self.deadline.load(Ordering::Relaxed);
        d != 0 && self.epoch.elapsed().as_nanos() as u64 >= d
    }
}

impl UserDb {
    pub(crate) fn new(mut conn: Connection) -> Result<Self> {
        let guard = Arc::new(Guard {
            internal: AtomicBool::new(false),
            schema_change: AtomicBool::new(false),
            deadline: AtomicU64::new(0),
            epoch: Instant::now(),
        });
        let flags = Arc::clone(&guard);
        conn.authorizer(Some(move |ctx: AuthContext<'_>| {
            authorize(
                &ctx.action,
                flags.internal.load(Ordering::Relaxed),
                flags.schema_change.load(Ordering::Relaxed),
            )
        }))?;
        let clock = Arc::clone(&guard);
        conn.progress_handler(PROGRESS_STEPS, Some(move || clock.expired()))?;
        // No limit on ATTACH beyond the authorizer's refusal: none at all.
        conn.set_limit(Limit::SQLITE_LIMIT_ATTACHED, 0)?;
        let db = Self {
            conn,
            guard,
            max_result_bytes: Cell::new(0),
        };
        db.set_limits(SqlLimits::default())?;
        Ok(db)
    }

    /// Applies `limits` to the statements that follow.
    pub fn set_limits(&self, limits: SqlLimits) -> Result<()> {
        let clamp = |n: usize| i32::try_from(n).unwrap_or(i32::MAX).max(1);
        self.conn
            .set_limit(Limit::SQLITE_LIMIT_LENGTH, clamp(limits.max_value_bytes))?;
        self.conn
            .set_limit(Limit::SQLITE_LIMIT_SQL_LENGTH, clamp(limits.max_sql_bytes))?;
        self.max_result_bytes.set(limits.max_result_bytes);
        Ok(())
    }

    /// Statements stop (with an "interrupted" error) once `deadline` has
    /// passed; `None` lifts the bound. Set for each request.
    pub fn set_deadline(&self, deadline: Option<Instant>) {
        let nanos = deadline.map_or(0, |d| {
            (d.saturating_duration_since(self.guard.epoch).as_nanos() as u64).max(1)
        });
        self.guard.deadline.store(nanos, Ordering::Relaxed);
    }

    /// Runs a statement that returns rows.
    pub fn query(&self, sql: &str, params: &Params) -> Result<Vec<Row>> {
        let limit = self.max_result_bytes.get();
        self.run(sql, params, |stmt| {
            let names: Vec<String> = stmt.column_names().map(str::to_owned).collect();
            let mut rows = stmt.raw_query();
            let mut out = Vec::new();
            let mut bytes = 0usize;
            while let Some(row) = rows.next()? {
                let mut values = Vec::with_capacity(names.len());
                for (i, name) in names.iter().enumerate() {
                    let value = row.get::<_, Value>(i)?;
                    bytes += VALUE_OVERHEAD
                        + name.len()
                        + match &value {
                            Value::Text(s) => s.len(),
                            Value::Blob(b) => b.len(),
                            _ => 0,
                        };
                    if bytes > limit {
                        return Err(Error::Sql(format!(
                            "the query's result is larger than {limit} bytes (the request's memory limit); select fewer rows or columns (LIMIT/OFFSET)"
                        )));
                    }
                    values.push((name.clone(), value));
                }
                out.push(values);
            }
            Ok(out)
        })
    }

    /// Runs a statement for its effect.
    pub fn execute(&self, sql: &str, params: &Params) -> Result<Executed> {
        self.run(sql, params, |stmt| {
            let changes = stmt.raw_execute()?;
            Ok(Executed {
                changes: changes as u64,
                last_insert_rowid: self.conn.last_insert_rowid(),
            })
        })
    }

    /// Prepares `sql`, binds `params` and hands the statement to `step`; a
    /// schema statement runs in a savepoint and is kept only if the pod's
    /// schema still follows the rule of [`crate::pod_schema`].
    fn run<R>(
        &self,
        sql: &str,
        params: &Params,
        step: impl FnOnce(&mut Statement<'_>) -> Result<R>,
    ) -> Result<R> {
        if self.guard.expired() {
            return Err(interrupted());
        }
        let timeout = self.guard.deadline().map_or(BUSY_TIMEOUT, |d| {
            d.saturating_duration_since(Instant::now())
                .min(BUSY_TIMEOUT)
        });
        self.conn.busy_timeout(timeout)?;
        if !pod_schema::is_schema_statement(sql) {
            let mut stmt = self.conn.prepare_cached(sql).map_err(refused)?;
            bind(&mut stmt, params)?;
            return step(&mut stmt).map_err(refused_db);
        }
        self.control(&format!("SAVEPOINT {SCHEMA_SAVEPOINT}"))?;
        self.guard.schema_change.store(true, Ordering::Relaxed);
        // Not cached: a schema statement is prepared (and authorized) anew,
        // always inside this savepoint.
        let ran = self
            .conn
            .prepare(sql)
            .map_err(refused)
            .and_then(|mut stmt| {
                bind(&mut stmt, params)?;
                step(&mut stmt).map_err(refused_db)
            });
        self.guard.schema_change.store(false, Ordering::Relaxed);
        let checked = ran.and_then(|value| {
            let violations = pod_schema::violations(&self.conn).map_err(refused)?;
            if violations.is_empty() {
                Ok(value)
            } else {
                let list: Vec<String> = violations.iter().map(ToString::to_string).collect();
                Err(Error::Sql(format!(
                    "not allowed: {} (a pod's tables, triggers, views, indexes and foreign keys may not refer to the platform's tables, hbf_* and sqlar); the statement was rolled back",
                    list.join("; ")
                )))
            }
        });
        if checked.is_ok() {
            if let Err(e) = self.control(&format!("RELEASE {SCHEMA_SAVEPOINT}")) {
                let _ = self.control(&format!("ROLLBACK TO {SCHEMA_SAVEPOINT}"));
                let _ = self.control(&format!("RELEASE {SCHEMA_SAVEPOINT}"));
                return Err(e);
            }
        } else {
            // An interrupted statement may have rolled the transaction back
            // already; then there is no savepoint left to undo.
            let _ = self.control(&format!("ROLLBACK TO {SCHEMA_SAVEPOINT}"));
            let _ = self.control(&format!("RELEASE {SCHEMA_SAVEPOINT}"));
        }
        checked
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
        if self.guard.expired() {
            return Err(interrupted().into());
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

    /// Runs this module's own transaction control statement. Not subject to
    /// the deadline: a `ROLLBACK` must run even after it.
    fn control(&self, sql: &str) -> Result<()> {
        let deadline = self.guard.deadline.swap(0, Ordering::Relaxed);
        self.guard.internal.store(true, Ordering::Relaxed);
        let result = self.conn.execute_batch(sql);
        self.guard.internal.store(false, Ordering::Relaxed);
        self.guard.deadline.store(deadline, Ordering::Relaxed);
        result.map_err(refused)
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

/// Pragmas a pod may run: reading settings and describing its schema. Any
/// other pragma, and any of these with a value that is not a name to
/// describe, is refused.
const PRAGMAS_READ: &[&str] = &[
    "application_id",
    "auto_vacuum",
    "busy_timeout",
    "cache_size",
    "collation_list",
    "data_version",
    "database_list",
    "encoding",
    "foreign_keys",
    "freelist_count",
    "function_list",
    "journal_mode",
    "module_list",
    "page_count",
    "page_size",
    "pragma_list",
    "schema_version",
    "synchronous",
    "user_version",
];
/// Pragmas that describe a table or an index, whose value is its name.
const PRAGMAS_DESCRIBE: &[&str] = &[
    "foreign_key_check",
    "foreign_key_list",
    "index_info",
    "index_list",
    "index_xinfo",
    "table_info",
    "table_list",
    "table_xinfo",
];
/// Functions a pod may not call.
const FUNCTIONS_DENIED: &[&str] = &["load_extension", "fts3_tokenizer"];
/// Virtual table modules a pod may create tables with.
const VTABLE_MODULES: &[&str] = &["fts3", "fts4", "fts5", "rtree", "rtree_i32"];

/// Whether the authorizer lets a pod's statement do `action`. `internal`: this
/// module's own transaction statements; `schema_change`: a schema statement
/// inside its checking savepoint.
fn authorize(action: &AuthAction<'_>, internal: bool, schema_change: bool) -> Authorization {
    let allow = |yes: bool| {
        if yes {
            Authorization::Allow
        } else {
            Authorization::Deny
        }
    };
    let pod_name = |name: &str| !is_platform_name(name) && !is_sqlite_name(name);
    let in_list = |list: &[&str], name: &str| list.iter().any(|n| n.eq_ignore_ascii_case(name));
    match *action {
        AuthAction::Insert { table_name }
        | AuthAction::Delete { table_name }
        | AuthAction::Update { table_name, .. } => allow(if is_platform_name(table_name) {
            false
        } else if table_name.eq_ignore_ascii_case("sqlite_sequence") {
            true // AUTOINCREMENT counters of the pod's own tables
        } else if is_sqlite_name(table_name) {
            // sqlite_schema (rows SQLite writes for a CREATE, an ALTER or a
            // DROP) and planner statistics: only inside a checked schema
            // statement; sqlite_temp_schema never (no TEMP objects).
            schema_change && !table_name.to_ascii_lowercase().starts_with("sqlite_temp")
        } else {
            true
        }),
        // ANALYZE creates the statistics tables it writes.
        AuthAction::CreateTable { table_name }
            if in_list(&["sqlite_stat1", "sqlite_stat4"], table_name) =>
        {
            allow(schema_change)
        }
        AuthAction::CreateTable { table_name }
        | AuthAction::DropTable { table_name }
        | AuthAction::AlterTable { table_name, .. } => allow(schema_change && pod_name(table_name)),
        AuthAction::CreateView { view_name } | AuthAction::DropView { view_name } => {
            allow(schema_change && pod_name(view_name))
        }
        AuthAction::CreateIndex {
            index_name,
            table_name,
        }
        | AuthAction::DropIndex {
            index_name,
            table_name,
        } => allow(
            schema_change
                && pod_name(table_name)
                // SQLite names the indexes of UNIQUE and PRIMARY KEY constraints.
                && (pod_name(index_name) || index_name.starts_with("sqlite_autoindex_")),
        ),
        AuthAction::CreateTrigger {
            trigger_name,
            table_name,
        }
        | AuthAction::DropTrigger {
            trigger_name,
            table_name,
        } => allow(schema_change && pod_name(trigger_name) && pod_name(table_name)),
        AuthAction::CreateVtable {
            table_name,
            module_name,
        }
        | AuthAction::DropVtable {
            table_name,
            module_name,
        } => allow(schema_change && pod_name(table_name) && in_list(VTABLE_MODULES, module_name)),
        AuthAction::CreateTempIndex { .. }
        | AuthAction::CreateTempTable { .. }
        | AuthAction::CreateTempTrigger { .. }
        | AuthAction::CreateTempView { .. }
        | AuthAction::DropTempIndex { .. }
        | AuthAction::DropTempTable { .. }
        | AuthAction::DropTempTrigger { .. }
        | AuthAction::DropTempView { .. } => Authorization::Deny,
        AuthAction::Attach { .. } | AuthAction::Detach { .. } => Authorization::Deny,
        AuthAction::Pragma {
            pragma_name,
            pragma_value,
        } => allow(match pragma_value {
            None => in_list(PRAGMAS_READ, pragma_name) || in_list(PRAGMAS_DESCRIBE, pragma_name),
            Some(_) => in_list(PRAGMAS_DESCRIBE, pragma_name),
        }),
        AuthAction::Transaction { .. } | AuthAction::Savepoint { .. } => allow(internal),
        // Planner statistics of platform tables are the platform's: an
        // ANALYZE skips those tables rather than failing.
        AuthAction::Analyze { table_name } if !pod_name(table_name) => Authorization::Ignore,
        AuthAction::Analyze { .. } => allow(schema_change),
        AuthAction::Reindex { index_name } => allow(pod_name(index_name)),
        AuthAction::Function { function_name } => allow(!in_list(FUNCTIONS_DENIED, function_name)),
        AuthAction::Read { .. } | AuthAction::Select | AuthAction::Recursive => {
            Authorization::Allow
        }
        // An action this list does not know (a newer SQLite): refused.
        _ => Authorization::Deny,
    }
}

fn interrupted() -> Error {
    Error::Sql("interrupted: the request's time limit passed".into())
}

/// Makes an authorizer refusal or an interrupt read as what it is.
fn refused(e: rusqlite::Error) -> Error {
    let denied = e.to_string().contains("not authorized");
    match e.sqlite_error_code() {
        _ if denied => Error::Sql(format!(
            "not allowed: {e} (pods cannot write platform tables (hbf_*, sqlar) or SQLite's own, create TEMP objects, attach databases, set pragmas or control transactions by hand; use transaction(fn))"
        )),
        Some(rusqlite::ErrorCode::OperationInterrupted) => interrupted(),
        Some(rusqlite::ErrorCode::TooBig) => Error::Sql(format!(
            "{e} (a pod's strings, blobs and statements are limited in size)"
        )),
        _ => Error::Sql(e.to_string()),
    }
}

/// [`refused`] for an error already converted to the crate's type.
fn refused_db(e: Error) -> Error {
    match e {
        Error::Sqlite(e) => refused(e),
        other => other,
    }
}

fn bind(stmt: &mut Statement<'_>, params: &Params) -> Result<()> {
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
                stmt.raw_bind_parameter(i + 1, value).map_err(refused)?;
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
                stmt.raw_bind_parameter(index, value).map_err(refused)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Database;
    use std::time::{Duration, Instant};

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
        // A trigger body is checked again when it runs: the pod's connection
        // refuses the write even if such a trigger existed.
        assert_eq!(db.fs().read("static/a.txt").unwrap(), b"x");
        assert_eq!(db.fs().history("static/a.txt").unwrap().len(), 1);
    }

    fn refused(user: &UserDb, sql: &str) -> String {
        match user.execute(sql, &pos(vec![])) {
            Err(err) => {
                let text = err.to_string();
                assert!(text.contains("not allowed"), "{sql}: {text}");
                text
            }
            Ok(done) => panic!("{sql} was allowed: {done:?}"),
        }
    }

    /// Issue 11, defect 1: the probe's objects, and every way to the same end.
    #[test]
    fn pod_schema_objects_never_refer_to_platform_tables() {
        let db = Database::memory().unwrap();
        db.fs().write("static/a.txt", "x").unwrap();
        let user = db.user_db().unwrap();
        user.execute(
            "CREATE TABLE mine (id INTEGER PRIMARY KEY, x)",
            &pos(vec![]),
        )
        .unwrap();
        let text = refused(
            &user,
            "CREATE TABLE pwn(m,s,e, FOREIGN KEY(m,s,e) REFERENCES hbf_module_cache(module,source_sha256,engine) ON DELETE CASCADE)",
        );
        assert!(text.contains("hbf_module_cache"), "{text}");
        for sql in [
            "CREATE TRIGGER pwn_t AFTER DELETE ON mine BEGIN DELETE FROM hbf_fs_version WHERE path='static/b.txt'; END",
            "CREATE TRIGGER r AFTER INSERT ON mine BEGIN SELECT * FROM HBF_FS_FILE; END",
            "CREATE TABLE c (x REFERENCES 'hbf_fs_content'(id))",
            "CREATE TABLE c (x REFERENCES [Hbf_Fs_Content])",
            "ALTER TABLE mine ADD COLUMN y REFERENCES hbf_fs_content(id)",
            "CREATE VIEW v AS SELECT path FROM hbf_fs_file",
            "CREATE VIRTUAL TABLE f USING fts5(data, content='hbf_fs_content')",
            "CREATE TABLE HBF_X (x)",
            "CREATE TABLE Sqlar (x)",
            "CREATE INDEX hbf_i ON mine (x)",
            "CREATE TEMP TABLE t (x)",
            "CREATE TEMP TRIGGER tt AFTER INSERT ON main.hbf_fs_version BEGIN SELECT 1; END",
            "CREATE TEMP VIEW tv AS SELECT 1",
            "CREATE TABLE temp.t2 (x)",
            "CREATE VIRTUAL TABLE s USING dbstat",
            "SELECT load_extension('/tmp/x.so')",
            "PRAGMA journal_mode = DELETE",
            "PRAGMA optimize",
            "PRAGMA incremental_vacuum",
            "EXPLAIN CREATE TABLE e (x)",
        ] {
            refused(&user, sql);
        }
        // Nothing of it stayed, and the pod's own objects still work.
        let rows = user
            .query(
                "SELECT name FROM sqlite_schema WHERE name NOT LIKE 'hbf\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
                &pos(vec![]),
            )
            .unwrap();
        assert_eq!(
            rows,
            vec![vec![("name".to_owned(), Value::Text("mine".into()))]]
        );
        for sql in [
            "CREATE TABLE child (p REFERENCES mine(id) ON DELETE CASCADE)",
            "CREATE TRIGGER ok AFTER INSERT ON mine BEGIN INSERT INTO child VALUES (new.id); END",
            "CREATE VIEW ok_v AS SELECT * FROM mine",
            "CREATE INDEX ok_i ON mine (x)",
            "CREATE VIRTUAL TABLE ok_f USING fts5(body)",
            "INSERT INTO mine (x) VALUES (1)",
            "ANALYZE",
            "DROP VIEW ok_v",
        ] {
            user.execute(sql, &pos(vec![]))
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        let n = user
            .query("SELECT count(*) AS n FROM child", &pos(vec![]))
            .unwrap();
        assert_eq!(n[0][0].1, Value::Integer(1));
        refused(
            &user,
            "INSERT INTO sqlite_stat1 VALUES ('hbf_fs_version', NULL, '1 1')",
        );
        refused(&user, "DELETE FROM sqlite_stat1");
        // ANALYZE described the pod's tables only.
        let stats = user
            .query(
                "SELECT DISTINCT tbl FROM sqlite_stat1 ORDER BY tbl",
                &pos(vec![]),
            )
            .unwrap();
        assert!(
            stats
                .iter()
                .all(|row| matches!(&row[0].1, Value::Text(t) if !t.starts_with("hbf_"))),
            "{stats:?}"
        );
        // Introspection pragmas are readable.
        assert!(!user
            .query("PRAGMA table_info(mine)", &pos(vec![]))
            .unwrap()
            .is_empty());
        assert_eq!(db.fs().read("static/a.txt").unwrap(), b"x");
    }

    /// A new HBF database file in `dir`, then `sql` run on it by a plain
    /// connection (no authorizer: what another tool, or an older HBF, could do).
    fn database_file_with(dir: &tempfile::TempDir, sql: &str) -> std::path::PathBuf {
        let path = dir.path().join("hbf.db");
        if !path.exists() {
            drop(Database::open(&path).unwrap());
        }
        Connection::open(&path).unwrap().execute_batch(sql).unwrap();
        path
    }

    /// The platform's writer runs no pod trigger, even one that got into the
    /// file some other way.
    #[test]
    fn the_platform_never_fires_pod_triggers() {
        let dir = tempfile::tempdir().unwrap();
        let path = database_file_with(
            &dir,
            "CREATE TABLE t (x); CREATE TABLE log (x);
             CREATE TRIGGER t_ai AFTER INSERT ON t BEGIN INSERT INTO log VALUES (new.x); END;",
        );
        let db = Database::open(&path).unwrap();
        db.write(|c| Ok(c.execute("INSERT INTO t VALUES (1)", [])?))
            .unwrap();
        let logged: i64 = db
            .read(|c| Ok(c.query_row("SELECT count(*) FROM log", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(logged, 0, "the platform's writer ran a pod trigger");
        // The pod's own connection still runs its triggers.
        let user = db.user_db().unwrap();
        user.execute("INSERT INTO t VALUES (2)", &pos(vec![]))
            .unwrap();
        let rows = user.query("SELECT x FROM log", &pos(vec![])).unwrap();
        assert_eq!(rows, vec![vec![("x".to_owned(), Value::Integer(2))]]);
    }

    /// A database that already holds the probe's objects (made before this
    /// check, or by another tool) is refused with a clear error, untouched.
    #[test]
    fn a_database_with_objects_that_reach_the_platform_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = database_file_with(
            &dir,
            "CREATE TABLE pwn(m,s,e, FOREIGN KEY(m,s,e) REFERENCES hbf_module_cache(module,source_sha256,engine) ON DELETE CASCADE);
             CREATE TRIGGER pwn_t AFTER DELETE ON pwn BEGIN DELETE FROM hbf_fs_version; END;",
        );
        let before = std::fs::read(&path).unwrap();
        let err = Database::open(&path).err().expect("refused");
        let text = err.to_string();
        assert!(matches!(err, Error::UnsafeSchema { .. }), "{text}");
        assert!(
            text.contains("pwn") && text.contains("hbf_module_cache"),
            "{text}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), before);
        // Forged planner statistics of platform tables are dropped at open.
        database_file_with(
            &dir,
            "DROP TABLE pwn; CREATE TABLE mine (x); INSERT INTO mine VALUES (1); ANALYZE mine;
             INSERT INTO sqlite_stat1 VALUES ('hbf_fs_version', NULL, '1000000 1');",
        );
        let db = Database::open(&path).unwrap();
        let forged: i64 = db
            .read(|c| {
                Ok(c.query_row(
                    "SELECT count(*) FROM sqlite_stat1 WHERE tbl LIKE 'hbf%'",
                    [],
                    |r| r.get(0),
                )?)
            })
            .unwrap();
        assert_eq!(forged, 0);
    }

    /// Runs `f` on another thread; fails if it has not finished within a
    /// minute (the bug: a statement that never ends).
    fn finishes<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f());
        });
        rx.recv_timeout(Duration::from_secs(60))
            .expect("the statement ignored its deadline")
    }

    const ENDLESS: &str = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) ";

    /// Issue 11, defect 2: SQL stops at the deadline; a stopped write rolls back.
    #[test]
    fn statements_stop_at_the_deadline_and_roll_back() {
        let db = Database::memory().unwrap();
        let user = db.user_db().unwrap();
        user.execute("CREATE TABLE t (x)", &pos(vec![])).unwrap();
        user.execute("INSERT INTO t VALUES (0)", &pos(vec![]))
            .unwrap();
        let (user, errors) = finishes(move || {
            let soon = || Some(Instant::now() + Duration::from_millis(200));
            let mut errors = Vec::new();
            user.set_deadline(soon());
            errors.push(
                user.query(&format!("{ENDLESS}SELECT max(x) FROM c"), &pos(vec![]))
                    .unwrap_err(),
            );
            user.set_deadline(soon());
            errors.push(
                user.execute(
                    &format!("INSERT INTO t {ENDLESS}SELECT x FROM c"),
                    &pos(vec![]),
                )
                .unwrap_err(),
            );
            user.set_deadline(soon());
            errors.push(
                user.transaction(|u| {
                    u.execute("INSERT INTO t VALUES (1)", &pos(vec![]))?;
                    u.execute(
                        &format!("INSERT INTO t {ENDLESS}SELECT x FROM c"),
                        &pos(vec![]),
                    )
                })
                .unwrap_err(),
            );
            // Past the deadline, nothing more runs.
            errors.push(user.query("SELECT 1", &pos(vec![])).unwrap_err());
            user.set_deadline(None);
            (user, errors)
        });
        for e in errors {
            assert!(e.to_string().contains("interrupted"), "{e}");
        }
        let rows = user
            .query("SELECT count(*) AS n FROM t", &pos(vec![]))
            .unwrap();
        assert_eq!(rows[0][0].1, Value::Integer(1), "a stopped write left rows");
        // The connection is usable again.
        user.execute("INSERT INTO t VALUES (2)", &pos(vec![]))
            .unwrap();
    }

    /// Issue 11, defect 2: values and results are bounded before they are held.
    #[test]
    fn values_and_results_are_bounded() {
        let db = Database::memory().unwrap();
        let user = db.user_db().unwrap();
        let err = user
            .query("SELECT randomblob(999999999) AS b", &pos(vec![]))
            .unwrap_err();
        assert!(err.to_string().contains("too big"), "{err}");
        user.set_limits(SqlLimits {
            max_result_bytes: 1 << 20,
            ..SqlLimits::default()
        })
        .unwrap();
        let err = user
            .query(
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 100000) SELECT randomblob(1000) FROM c",
                &pos(vec![]),
            )
            .unwrap_err();
        assert!(
            err.to_string().contains("larger than 1048576 bytes"),
            "{err}"
        );
        let ok = user
            .query(
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 100) SELECT randomblob(1000) FROM c",
                &pos(vec![]),
            )
            .unwrap();
        assert_eq!(ok.len(), 100);
        let err = user
            .query(&format!("SELECT '{}'", "x".repeat(2 << 20)), &pos(vec![]))
            .unwrap_err();
        assert!(err.to_string().contains("statement too long"), "{err}");
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

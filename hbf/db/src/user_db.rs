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
//! * **It stops at the request's limits.** A progress handler interrupts any
//!   statement once [`UserDb::set_deadline`] has passed or the request's CPU
//!   time ([`UserDb::set_cpu_budget`]) is used up (a stopped write rolls back
//!   with its statement, or with its transaction), and waiting for the write
//!   lock never outlasts the deadline.
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
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use rusqlite::hooks::AuthContext;
use rusqlite::limits::Limit;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Statement};

use crate::authorizer::authorize;
use crate::pod_schema;
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
    /// Set while this module writes the platform's record of a migration
    /// (`hbf_migration`), in the migration's own transaction.
    platform: AtomicBool,
    /// The deadline in nanoseconds since `epoch`, 0 for none.
    deadline: AtomicU64,
    epoch: Instant,
    /// The CPU clock's value (nanoseconds) at which the request's CPU time
    /// is used up, 0 for none; read with `cpu_clock`.
    cpu_until: AtomicU64,
    cpu_clock: OnceLock<fn() -> Duration>,
    /// Nanoseconds since `epoch` before which the CPU time cannot be used
    /// up (the clock is a system call: not read before then).
    cpu_check_from: AtomicU64,
}

/// A bound on the CPU time of the thread that runs the statements: `clock`
/// reads that thread's CPU clock (the engine's: this crate has no unsafe
/// code), `until` is its value at which statements stop. Reading the clock
/// is a system call, so it is not read before `not_before` (the request's
/// start plus its CPU limit: a thread cannot use CPU time faster than
/// wall-clock time passes).
#[derive(Debug, Clone, Copy)]
pub struct CpuBudget {
    pub clock: fn() -> Duration,
    pub until: Duration,
    pub not_before: Instant,
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
        if d != 0 && self.epoch.elapsed().as_nanos() as u64 >= d {
            return true;
        }
        let cpu = self.cpu_until.load(Ordering::Relaxed);
        cpu != 0
            && self.epoch.elapsed().as_nanos() as u64 >= self.cpu_check_from.load(Ordering::Relaxed)
            && self
                .cpu_clock
                .get()
                .is_some_and(|clock| clock().as_nanos() as u64 >= cpu)
    }
}

impl UserDb {
    pub(crate) fn new(mut conn: Connection) -> Result<Self> {
        let guard = Arc::new(Guard {
            internal: AtomicBool::new(false),
            schema_change: AtomicBool::new(false),
            platform: AtomicBool::new(false),
            deadline: AtomicU64::new(0),
            epoch: Instant::now(),
            cpu_until: AtomicU64::new(0),
            cpu_clock: OnceLock::new(),
            cpu_check_from: AtomicU64::new(0),
        });
        let flags = Arc::clone(&guard);
        conn.authorizer(Some(move |ctx: AuthContext<'_>| {
            if flags.platform.load(Ordering::Relaxed) {
                return rusqlite::hooks::Authorization::Allow;
            }
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

    /// Statements stop (with an "interrupted" error) once the thread has
    /// used the CPU time `budget` allows; `None` lifts the bound. Set for each
    /// request. The first budget's clock is the one used from then on.
    pub fn set_cpu_budget(&self, budget: Option<CpuBudget>) {
        let nanos = budget.map_or(0, |b| {
            let _ = self.guard.cpu_clock.set(b.clock);
            let from = b.not_before.saturating_duration_since(self.guard.epoch);
            self.guard
                .cpu_check_from
                .store(from.as_nanos() as u64, Ordering::Relaxed);
            (b.until.as_nanos() as u64).max(1)
        });
        self.guard.cpu_until.store(nanos, Ordering::Relaxed);
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

    /// Runs one statement and hands `visit` its column names and each row in
    /// turn, until `visit` returns `false` or the rows end; returns the column
    /// names. `read_only` refuses, before it runs, a statement that would
    /// write (`sqlite3_stmt_readonly`). Rows are not collected: an export or a
    /// page of a large result holds one row at a time.
    pub fn scan(
        &self,
        sql: &str,
        params: &Params,
        read_only: bool,
        mut visit: impl FnMut(&[String], Vec<Value>) -> Result<bool>,
    ) -> Result<Vec<String>> {
        self.run(sql, params, |stmt| {
            if read_only && !stmt.readonly() {
                return Err(Error::Sql(
                    "not allowed: the statement writes, and this query is read-only".into(),
                ));
            }
            let names: Vec<String> = stmt.column_names().map(str::to_owned).collect();
            let mut rows = stmt.raw_query();
            while let Some(row) = rows.next()? {
                let values = (0..names.len())
                    .map(|i| row.get::<_, Value>(i))
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                if !visit(&names, values)? {
                    break;
                }
            }
            Ok(names)
        })
    }

    /// Runs a pod migration named `name` (its SQL `sql`, the SHA-256 of its
    /// file `sha256`) in one transaction: every statement in order under the
    /// pod's authorizer (schema changes allowed, as in a checked schema
    /// statement), the pod schema checked at the end ([`crate::pod_schema`]),
    /// and its `hbf_migration` record written before the commit. Already
    /// applied with this hash: `Ok(None)`, nothing runs; with another hash:
    /// [`Error::MigrationChanged`]. The record is read inside the write
    /// transaction, so of two processes applying one migration, one runs it.
    /// Statements stop at `deadline` (the migration's time limit).
    pub(crate) fn run_migration(
        &self,
        name: &str,
        path: &str,
        sha256: &[u8; 32],
        sql: &str,
        deadline: Instant,
    ) -> Result<Option<Duration>> {
        if !self.conn.is_autocommit() {
            return Err(Error::Internal(
                "a migration cannot run inside a transaction".into(),
            ));
        }
        self.set_deadline(Some(deadline));
        self.conn
            .busy_timeout(deadline.saturating_duration_since(Instant::now()))?;
        let result = self.control("BEGIN IMMEDIATE").and_then(|()| {
            let rollback = RollbackOnDrop(self);
            let ran = self.migration_body(name, path, sha256, sql)?;
            std::mem::forget(rollback);
            match ran {
                Some(duration) => {
                    if let Err(e) = self.control("COMMIT") {
                        let _ = self.control("ROLLBACK");
                        return Err(e);
                    }
                    Ok(Some(duration))
                }
                None => {
                    self.control("ROLLBACK")?;
                    Ok(None)
                }
            }
        });
        self.set_deadline(None);
        result
    }

    /// [`Self::run_migration`]'s work inside its transaction.
    fn migration_body(
        &self,
        name: &str,
        path: &str,
        sha256: &[u8; 32],
        sql: &str,
    ) -> Result<Option<Duration>> {
        let applied: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT sha256 FROM hbf_migration WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()?;
        match applied {
            Some(hash) if hash == sha256 => return Ok(None),
            Some(hash) => {
                return Err(Error::MigrationChanged {
                    path: path.to_owned(),
                    applied: hex::encode(hash),
                    now: hex::encode(sha256),
                })
            }
            None => {}
        }
        let started = Instant::now();
        self.guard.schema_change.store(true, Ordering::Relaxed);
        let ran = self.conn.execute_batch(sql).map_err(refused);
        self.guard.schema_change.store(false, Ordering::Relaxed);
        ran?;
        let violations = pod_schema::violations(&self.conn).map_err(refused)?;
        if !violations.is_empty() {
            let list: Vec<String> = violations.iter().map(ToString::to_string).collect();
            return Err(Error::Sql(format!(
                "not allowed: {} (a pod's tables, triggers, views, indexes and foreign keys may not refer to the platform's tables, hbf_* and sqlar)",
                list.join("; ")
            )));
        }
        let duration = started.elapsed();
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        self.guard.platform.store(true, Ordering::Relaxed);
        let recorded = self.conn.execute(
            "INSERT INTO hbf_migration (name, sha256, applied_at, duration_ms) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![name, &sha256[..], now_ms, duration.as_millis() as i64],
        );
        self.guard.platform.store(false, Ordering::Relaxed);
        recorded.map_err(refused)?;
        Ok(Some(duration))
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
        let cpu_until = self.guard.cpu_until.swap(0, Ordering::Relaxed);
        self.guard.internal.store(true, Ordering::Relaxed);
        let result = self.conn.execute_batch(sql);
        self.guard.internal.store(false, Ordering::Relaxed);
        self.guard.deadline.store(deadline, Ordering::Relaxed);
        self.guard.cpu_until.store(cpu_until, Ordering::Relaxed);
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

//! Opening the main database and sharing it safely between threads.
//!
//! # Concurrency model
//!
//! SQLite connections are `Send` but not `Sync`: a connection may move between
//! threads, but two threads must never use one at the same time. HBF keeps to that
//! rule with two kinds of connection, both owned by [`Database`]:
//!
//! * **One writer.** The only connection that writes sits behind a mutex, and
//!   only the leader of the write queue uses it ([`crate::group_commit`]): waiting
//!   writes are run together in one transaction, each in its own savepoint, and
//!   committed once. A write returns only after its transaction committed, so an
//!   acknowledged write is in the WAL and survives a `kill -9` of the process.
//! * **A pool of readers.** Each read takes an idle reader connection (or opens a
//!   new one), uses it on the calling thread and puts it back. Readers are
//!   `query_only`. On a file database the journal is in WAL mode, so a reader sees
//!   the last committed state and never waits for the writer.
//!
//! An in-memory database ([`Database::memory`]) is a named `memdb` shared by the
//! same writer and readers. `memdb` has no WAL: a reader that arrives while a write
//! transaction is open waits for it (the busy timeout), which in memory is
//! microseconds to a few milliseconds for a large batch.
//!
//! # Opening
//!
//! An existing file is checked before anything is written to it: it must be an
//! SQLite database stamped with HBF's [`APPLICATION_ID`](crate::APPLICATION_ID), not
//! corrupt (`PRAGMA quick_check`) and not from a newer schema. Otherwise opening
//! fails with a clear error and the file is left as it was. A missing file is
//! created from a template (or empty) under a temporary name and linked into place
//! only when complete, so a crash never leaves a half-made database, and an existing
//! database is never overwritten.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use std::time::{Duration, Instant};

use rusqlite::backup::Backup;
use rusqlite::config::DbConfig;
use rusqlite::{Connection, ErrorCode, OpenFlags, MAIN_DB};

use crate::checkpoint::Checkpointer;
use crate::group_commit::{Output, WriteQueue};
use crate::module_cache::{self, EntryDigest};
use crate::pod_schema;
use crate::schema::{self, APPLICATION_ID, SCHEMA_VERSION};
use crate::{Error, Result};

/// How long a connection retries when the database is locked.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Idle reader connections kept open for reuse.
const MAX_IDLE_READERS: usize = 32;
/// Prepared statements cached per connection.
const STATEMENT_CACHE: usize = 64;
/// The WAL is truncated to this size after a checkpoint, so that one large
/// transaction (a pod's, say) does not leave a large file behind.
const WAL_SIZE_LIMIT: i64 = 64 << 20;

/// The HBF main database: a handle that can be cloned and shared between threads.
#[derive(Clone)]
pub struct Database {
    shared: Arc<Shared>,
}

struct Shared {
    /// A file database's checkpointer ([`crate::checkpoint`]); first, so that it
    /// stops before the other connections close.
    _checkpointer: Option<Checkpointer>,
    location: Location,
    writer: Mutex<Connection>,
    queue: WriteQueue,
    readers: Mutex<Vec<Connection>>,
    /// Bumped after every committed [`Database::write`], and when another process
    /// is seen to have changed the file: caches of stored files compare it to
    /// know whether they may still be current.
    generation: AtomicU64,
    /// Watches for changes made by other processes (`hbf fs put` while serving).
    outside: Mutex<Option<OutsideWatch>>,
    /// When `outside` was last polled, in milliseconds since `epoch`.
    outside_polled_ms: AtomicU64,
    epoch: Instant,
    /// Compiled-module entries that may be handed to the engine
    /// ([`crate::ModuleCache`]'s trust).
    trusted_modules: Mutex<HashSet<EntryDigest>>,
    /// Told of every file change made through a [`crate::VersionedFs`] that names
    /// its source ([`Database::fs_by`]), once committed (the dev API's events).
    change_hook: OnceLock<ChangeHook>,
    /// Small blocks kept in memory for reads, shared by every
    /// [`crate::BlockStore`] of this database.
    block_cache: crate::blocks::BlockCache,
    /// The latest version of each path written here by a named source, recorded
    /// inside the writing transaction (so before anyone can read the row): a
    /// watcher diffing the files table tells these, already announced through the
    /// hook, from changes made by other processes.
    own_writes: Mutex<HashMap<String, u64>>,
}

/// See [`Database::on_file_change`].
pub type ChangeHook = Box<dyn Fn(&crate::FileVersion, &'static str) + Send + Sync>;

/// A connection kept to read `PRAGMA data_version`, which changes when any
/// other connection (another process included) commits to the file.
struct OutsideWatch {
    conn: Connection,
    data_version: i64,
}

/// `OutsideWatch::data_version` before its first reading.
const BASELINE: i64 = i64::MIN;

/// How often [`Database::generation`] looks for other processes' writes.
const OUTSIDE_POLL: Duration = Duration::from_millis(500);

enum Location {
    File(PathBuf),
    /// The name of a shared `memdb` database.
    Memory(String),
}

impl Database {
    /// Opens the HBF database at `path`, creating it with an empty schema if the file
    /// does not exist.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_inner(path.as_ref(), None).map(|(db, _)| db)
    }

    /// Opens the HBF database at `path`; if the file does not exist, creates it as a
    /// copy of `template` (the bytes of an HBF database, such as the pod embedded in
    /// the binary). Returns the database and whether it was created now.
    pub fn open_or_create(path: impl AsRef<Path>, template: &[u8]) -> Result<(Self, bool)> {
        Self::open_inner(path.as_ref(), Some(template))
    }

    /// A new, empty in-memory database, discarded when the last handle is dropped.
    pub fn memory() -> Result<Self> {
        Self::memory_inner(None)
    }

    /// A new in-memory database holding a copy of `template`.
    pub fn memory_from_template(template: &[u8]) -> Result<Self> {
        Self::memory_inner(Some(template))
    }

    /// The database file, or `None` for an in-memory database.
    pub fn path(&self) -> Option<&Path> {
        match &self.shared.location {
            Location::File(path) => Some(path),
            Location::Memory(_) => None,
        }
    }

    /// The versioned filesystem stored in this database.
    pub fn fs(&self) -> crate::VersionedFs {
        crate::VersionedFs::new(self.clone())
    }

    /// The versioned filesystem, with its writes attributed to `source` (`"api"`,
    /// `"js"`...) for the hook of [`Database::on_file_change`].
    pub fn fs_by(&self, source: &'static str) -> crate::VersionedFs {
        crate::VersionedFs::by(self.clone(), source)
    }

    /// Sets the hook told of every committed file change made through
    /// [`Database::fs_by`] in this process, with its source; it runs on the
    /// writing thread, so it must be quick (a channel send). Set once: `false`
    /// if a hook was set already. Writes through [`Database::fs`] are not
    /// announced; [`Database::written_here`] tells a watcher which changes it
    /// has heard of this way.
    pub fn on_file_change(&self, hook: ChangeHook) -> bool {
        self.shared.change_hook.set(hook).is_ok()
    }

    /// True when `version` of `path` (or a later one) was written in this
    /// process through [`Database::fs_by`] while a hook was set, so its change
    /// was announced already.
    pub fn written_here(&self, path: &str, version: u64) -> bool {
        self.shared
            .own_writes
            .lock()
            .get(path)
            .is_some_and(|&own| own >= version)
    }

    pub(crate) fn announces_changes(&self) -> bool {
        self.shared.change_hook.get().is_some()
    }

    /// Records, inside the writing transaction, that this process wrote `version`
    /// of `path` (see `own_writes`).
    pub(crate) fn note_own_write(&self, path: &str, version: u64) {
        let mut own = self.shared.own_writes.lock();
        let latest = own.entry(path.to_owned()).or_insert(0);
        *latest = (*latest).max(version);
    }

    pub(crate) fn announce(&self, change: &crate::FileVersion, source: &'static str) {
        if let Some(hook) = self.shared.change_hook.get() {
            hook(change, source);
        }
    }

    /// Runs `read` on a reader connection from the pool. The connection is
    /// `query_only`; on a file database it never waits for writers.
    pub fn read<R>(&self, read: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        let conn = match self.shared.readers.lock().pop() {
            Some(conn) => conn,
            None => self.open_reader()?,
        };
        let result = read(&conn);
        let mut idle = self.shared.readers.lock();
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
        result
    }

    /// Runs `work` on the writer connection inside a transaction, possibly together
    /// with other threads' writes (group commit), and returns its result once the
    /// transaction has committed. If `work` fails, its changes are rolled back and
    /// the error returned; other jobs in the same transaction are unaffected.
    pub fn write<R, F>(&self, work: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R> + Send + 'static,
    {
        let output = self.shared.queue.submit(
            &self.shared.writer,
            Box::new(move |conn| work(conn).map(|r| Box::new(r) as Output)),
        )?;
        self.shared.generation.fetch_add(1, Ordering::Release);
        Ok(*output
            .downcast::<R>()
            .expect("a job's output has the type its caller expects"))
    }

    /// A number that changes after every committed write made through this handle
    /// (or its clones). A cache of stored data (static files, compiled modules)
    /// remembers the generation it read at, and is current while it is unchanged.
    ///
    /// Writes by other processes to the same file are noticed within about half
    /// a second (a cheap `PRAGMA data_version` poll, at most that often).
    pub fn generation(&self) -> u64 {
        let shared = &self.shared;
        let now_ms = shared.epoch.elapsed().as_millis() as u64;
        let polled = shared.outside_polled_ms.load(Ordering::Relaxed);
        if now_ms.saturating_sub(polled) >= OUTSIDE_POLL.as_millis() as u64
            && shared
                .outside_polled_ms
                .compare_exchange(polled, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.poll_outside();
        }
        shared.generation.load(Ordering::Acquire)
    }

    /// Bumps the generation if the file changed since the last poll.
    fn poll_outside(&self) {
        let Location::File(_) = self.shared.location else {
            return; // nothing outside this process can write an in-memory database
        };
        let Some(mut watch) = self.shared.outside.try_lock() else {
            return;
        };
        if watch.is_none() {
            if let Ok(conn) = self.open_reader() {
                *watch = Some(OutsideWatch {
                    conn,
                    data_version: BASELINE,
                });
            }
        }
        if let Some(w) = watch.as_mut() {
            if let Ok(version) = w
                .conn
                .query_row("PRAGMA data_version", [], |r| r.get::<_, i64>(0))
            {
                if version != w.data_version {
                    if w.data_version != BASELINE {
                        self.shared.generation.fetch_add(1, Ordering::Release);
                    }
                    w.data_version = version;
                }
            }
        }
    }

    /// Marks compiled-module entries as trusted (see [`crate::ModuleCache`]).
    pub(crate) fn trust(&self, digests: impl IntoIterator<Item = EntryDigest>) {
        self.shared.trusted_modules.lock().extend(digests);
    }

    pub(crate) fn is_trusted(&self, digest: &EntryDigest) -> bool {
        self.shared.trusted_modules.lock().contains(digest)
    }

    /// Opens a connection for a pod's own SQL (see [`crate::UserDb`]).
    pub fn user_db(&self) -> Result<crate::UserDb> {
        let conn = self.open_connection(Role::Pod)?;
        crate::UserDb::new(conn)
    }

    /// Bounds the memory all of SQLite may use in this process
    /// (`sqlite3_hard_heap_limit64`; 0 lifts the bound): past it an
    /// allocation fails with an error instead of growing the process. A
    /// backstop behind the per-statement limits of [`crate::SqlLimits`].
    pub fn set_sql_memory_limit(&self, bytes: u64) -> Result<()> {
        let conn = self.shared.writer.lock();
        conn.query_row(&format!("PRAGMA hard_heap_limit = {bytes}"), [], |_| Ok(()))?;
        Ok(())
    }

    /// The in-memory cache of blocks ([`crate::blocks`]).
    pub(crate) fn block_cache(&self) -> &crate::blocks::BlockCache {
        &self.shared.block_cache
    }

    /// Runs `f` on the writer connection if no one is using it now (outside
    /// any transaction), else `None`.
    pub(crate) fn try_with_writer<R>(&self, f: impl FnOnce(&Connection) -> R) -> Option<R> {
        let conn = self.shared.writer.try_lock()?;
        Some(f(&conn))
    }

    /// Moves the WAL's content into the main file and truncates the WAL (at
    /// shutdown, or to bound the WAL's size).
    pub fn checkpoint(&self) -> Result<()> {
        let conn = self.shared.writer.lock();
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// Writes a compacted copy of the database to `dest` (`VACUUM INTO`); `dest`
    /// must not exist.
    pub fn vacuum_into(&self, dest: impl AsRef<Path>) -> Result<()> {
        let dest = dest.as_ref();
        let dest_str = dest.to_str().ok_or_else(|| Error::Io {
            path: dest.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "path is not UTF-8"),
        })?;
        // VACUUM INTO writes through the database's own VFS: an in-memory
        // database must name the file with a URI that selects the OS's VFS.
        let target = match &self.shared.location {
            Location::File(_) => dest_str.to_owned(),
            Location::Memory(_) => format!("file:{}?vfs=unix", uri_escape(dest_str)),
        };
        let conn = self.shared.writer.lock();
        conn.execute("VACUUM INTO ?1", [target])?;
        Ok(())
    }

    fn open_inner(path: &Path, template: Option<&[u8]>) -> Result<(Self, bool)> {
        let created = match std::fs::symlink_metadata(path) {
            Ok(_) => {
                check_existing(path)?;
                false
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_file(path, template)?,
            Err(source) => {
                return Err(Error::Io {
                    path: path.to_owned(),
                    source,
                })
            }
        };
        let mut writer = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        configure(&writer, Role::Platform)?;
        writer.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
        writer.execute_batch(&format!(
            "PRAGMA synchronous = NORMAL; PRAGMA journal_size_limit = {WAL_SIZE_LIMIT};"
        ))?;
        schema::migrate(&mut writer)?;
        check_pod_schema(&writer, |objects| Error::UnsafeSchema {
            path: path.to_owned(),
            objects,
        })?;
        let checkpoints = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        configure(&checkpoints, Role::Platform)?;
        let checkpointer = Checkpointer::start(&mut writer, checkpoints)?;
        let db = Self::from_writer(Location::File(path.to_owned()), writer, Some(checkpointer));
        if let Some(bytes) = template {
            // The template is the caller's own code (the pod embedded in the
            // binary, or packed by this process): its compiled modules are
            // trusted, in this file too where they are the same.
            db.trust(module_cache::digests_of(&load_template(bytes)?)?);
        }
        db.poll_outside(); // the baseline that later polls compare with
        Ok((db, created))
    }

    fn memory_inner(template: Option<&[u8]>) -> Result<Self> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "/hbf-memory-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut writer = Connection::open_with_flags(
            memory_uri(&name),
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        configure(&writer, Role::Platform)?;
        let mut trusted = HashSet::new();
        if let Some(bytes) = template {
            let source = load_template(bytes)?;
            copy_database(&source, &mut writer)?;
            trusted = module_cache::digests_of(&source)?; // as in open_inner
        }
        schema::migrate(&mut writer)?;
        check_pod_schema(&writer, |objects| {
            Error::BadTemplate(format!(
                "it holds pod schema objects that refer to the platform's tables: {objects}"
            ))
        })?;
        let db = Self::from_writer(Location::Memory(name), writer, None);
        db.trust(trusted);
        Ok(db)
    }

    fn from_writer(
        location: Location,
        writer: Connection,
        checkpointer: Option<Checkpointer>,
    ) -> Self {
        // The block cache's baseline: later changes of the writer's
        // data_version are other connections' commits.
        let data_version = writer
            .query_row("PRAGMA data_version", [], |r| r.get::<_, i64>(0))
            .ok();
        Self {
            shared: Arc::new(Shared {
                _checkpointer: checkpointer,
                location,
                writer: Mutex::new(writer),
                queue: WriteQueue::default(),
                readers: Mutex::new(Vec::new()),
                generation: AtomicU64::new(0),
                outside: Mutex::new(None),
                outside_polled_ms: AtomicU64::new(0),
                epoch: Instant::now(),
                trusted_modules: Mutex::new(HashSet::new()),
                change_hook: OnceLock::new(),
                block_cache: crate::blocks::BlockCache::new(data_version),
                own_writes: Mutex::new(HashMap::new()),
            }),
        }
    }

    fn open_reader(&self) -> Result<Connection> {
        let conn = self.open_connection(Role::Platform)?;
        conn.execute_batch("PRAGMA query_only = ON;")?;
        Ok(conn)
    }

    /// A new read-write connection to the same database, configured for `role`.
    fn open_connection(&self, role: Role) -> Result<Connection> {
        let conn = match &self.shared.location {
            Location::File(path) => Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?,
            Location::Memory(name) => Connection::open_with_flags(
                memory_uri(name),
                OpenFlags::SQLITE_OPEN_READ_WRITE
                    | OpenFlags::SQLITE_OPEN_URI
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?,
        };
        configure(&conn, role)?;
        Ok(conn)
    }
}

fn memory_uri(name: &str) -> String {
    format!("file:{name}?vfs=memdb")
}

/// Escapes the characters that end or escape the path part of an SQLite URI.
fn uri_escape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        match c {
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3f"),
            '#' => out.push_str("%23"),
            _ => out.push(c),
        }
    }
    out
}

/// Who uses a connection.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    /// HBF itself: the writer, the readers, checks and templates.
    Platform,
    /// A pod's own SQL ([`crate::UserDb`], which adds its authorizer).
    Pod,
}

/// Settings every connection gets.
///
/// Every connection is `DEFENSIVE` (no SQL can deliberately corrupt the
/// file). The platform's also never run a trigger or a view (the platform
/// schema has neither, so any is a pod's: a cascade from a platform table can
/// never fire pod code on a connection without an authorizer) and do not
/// trust the schema (functions with side effects never run from it).
fn configure(conn: &Connection, role: Role) -> Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.execute_batch("PRAGMA foreign_keys = ON;")?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
    if role == Role::Platform {
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_TRIGGER, false)?;
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_VIEW, false)?;
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false)?;
    }
    Ok(())
}

/// Checks the pod objects of a database being opened ([`crate::pod_schema`]):
/// if any refers to the platform's tables the database is refused with
/// `refuse(list)`; planner statistics of platform tables are deleted.
fn check_pod_schema(conn: &Connection, refuse: impl FnOnce(String) -> Error) -> Result<()> {
    let (statistics, objects): (Vec<_>, Vec<_>) = pod_schema::violations(conn)?
        .into_iter()
        .partition(|v| v.kind == "statistics");
    if !objects.is_empty() {
        let list: Vec<String> = objects.iter().map(ToString::to_string).collect();
        return Err(refuse(list.join("; ")));
    }
    if !statistics.is_empty() {
        tracing::warn!(
            "deleted planner statistics of platform tables (a pod's ANALYZE or a forged row)"
        );
        pod_schema::delete_platform_statistics(conn)?;
    }
    Ok(())
}

/// The first 16 bytes of every SQLite database file.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Checks that an existing file is a healthy HBF database, without writing to it.
fn check_existing(path: &Path) -> Result<()> {
    let not_hbf = |reason: &str| Error::NotHbfDatabase {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(not_hbf("it is not a regular file"));
    }
    let mut header = Vec::with_capacity(100);
    std::fs::File::open(path)
        .map_err(io)?
        .take(100)
        .read_to_end(&mut header)
        .map_err(io)?;
    if header.is_empty() {
        return Err(not_hbf("the file is empty"));
    }
    if header.len() < 100 || &header[..16] != SQLITE_MAGIC {
        return Err(not_hbf("it is not an SQLite database"));
    }
    let corrupt = |e: rusqlite::Error| match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseCorrupt) | Some(ErrorCode::NotADatabase) => Error::Corrupt {
            path: path.to_owned(),
            reason: e.to_string(),
        },
        _ => Error::Sqlite(e),
    };
    // Read-write so that a WAL left by a killed process can be recovered, but
    // query_only: nothing is written through this connection.
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(corrupt)?;
    configure(&conn, Role::Platform)?;
    conn.execute_batch("PRAGMA query_only = ON;")
        .map_err(corrupt)?;
    let identity = schema::inspect(&conn).map_err(corrupt)?;
    if identity.application_id != APPLICATION_ID {
        return Err(not_hbf(
            &if identity.application_id == 0 && !identity.has_tables {
                "it is an empty SQLite database that HBF did not create".to_owned()
            } else {
                format!(
                "it is an SQLite database of another application (application_id {:#x}, HBF's is {:#x})",
                identity.application_id, APPLICATION_ID
            )
            },
        ));
    }
    if identity.user_version > SCHEMA_VERSION {
        return Err(Error::SchemaTooNew {
            path: path.to_owned(),
            found: identity.user_version,
            supported: SCHEMA_VERSION,
        });
    }
    let check: String = conn
        .query_row("PRAGMA quick_check(1)", [], |r| r.get(0))
        .map_err(corrupt)?;
    if check != "ok" {
        return Err(Error::Corrupt {
            path: path.to_owned(),
            reason: check,
        });
    }
    Ok(())
}

/// Opens `bytes` as a private, read-only in-memory database and checks that it is
/// an HBF database image.
fn load_template(bytes: &[u8]) -> Result<Connection> {
    if bytes.len() < 100 || &bytes[..16] != SQLITE_MAGIC {
        return Err(Error::BadTemplate("not an SQLite database image".into()));
    }
    let mut conn = Connection::open_in_memory()?;
    configure(&conn, Role::Platform)?;
    conn.deserialize_read_exact(MAIN_DB, bytes, bytes.len(), true)
        .map_err(|e| Error::BadTemplate(e.to_string()))?;
    let identity = schema::inspect(&conn).map_err(|e| Error::BadTemplate(e.to_string()))?;
    if identity.application_id != APPLICATION_ID {
        return Err(Error::BadTemplate(format!(
            "application_id is {:#x}, not HBF's {:#x}",
            identity.application_id, APPLICATION_ID
        )));
    }
    if identity.user_version > SCHEMA_VERSION {
        return Err(Error::BadTemplate(format!(
            "schema version {} is newer than this HBF's {SCHEMA_VERSION}",
            identity.user_version
        )));
    }
    let check: String = conn
        .query_row("PRAGMA quick_check(1)", [], |r| r.get(0))
        .map_err(|e| Error::BadTemplate(e.to_string()))?;
    if check != "ok" {
        return Err(Error::BadTemplate(format!("integrity check: {check}")));
    }
    Ok(conn)
}

/// Copies every page of `source` into `dest` with SQLite's online backup API.
fn copy_database(source: &Connection, dest: &mut Connection) -> Result<()> {
    Backup::new(source, dest)?.run_to_completion(256, Duration::ZERO, None)?;
    Ok(())
}

/// Creates a new database file at `path` from `template` (or empty), atomically:
/// it is built under a temporary name and hard-linked into place, which fails
/// rather than replace a file that appeared meanwhile. Returns `true`, or `false`
/// when another process created `path` first (then `path` is checked instead).
fn create_file(path: &Path, template: Option<&[u8]>) -> Result<bool> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "hbf.db".into());
    let tmp = dir.join(format!(
        ".{name}.creating-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let build = || -> Result<()> {
        let mut conn = Connection::open(&tmp)?;
        configure(&conn, Role::Platform)?;
        if let Some(bytes) = template {
            let source = load_template(bytes)?;
            copy_database(&source, &mut conn)?;
        }
        schema::migrate(&mut conn)?;
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
        conn.close().map_err(|(_, e)| Error::Sqlite(e))?;
        Ok(())
    };
    let built = build();
    let linked = built.and_then(|()| match std::fs::hard_link(&tmp, path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(source) => Err(Error::Io {
            path: path.to_owned(),
            source,
        }),
    });
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut leftover = tmp.clone().into_os_string();
        leftover.push(suffix);
        let _ = std::fs::remove_file(leftover);
    }
    let created = linked?;
    if !created {
        check_existing(path)?;
    }
    Ok(created)
}

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
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rusqlite::{Connection, OpenFlags};

use crate::checkpoint::Checkpointer;
use crate::connection::{
    check_existing, check_pod_schema, configure, copy_database, create_file, load_template, Role,
};
use crate::group_commit::{Output, WriteQueue};
use crate::module_cache::{self, EntryDigest};
use crate::schema;
use crate::{Error, Result};

/// Idle reader connections kept open for reuse.
const MAX_IDLE_READERS: usize = 32;
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
    /// A replicator owns checkpoints ([`Database::hand_checkpoints_to_replicator`]).
    replicated: AtomicBool,
    /// Small blocks kept in memory for reads, shared by every
    /// [`crate::BlockStore`] of this database.
    block_cache: crate::blocks::BlockCache,
    /// The latest version of each path written here by a named source, recorded
    /// inside the writing transaction (so before anyone can read the row): a
    /// watcher diffing the files table tells these, already announced through the
    /// hook, from changes made by other processes.
    own_writes: Mutex<HashMap<String, u64>>,
    /// The last pod migration that failed in this process, until one runs
    /// ([`crate::migrations`]).
    pub(crate) last_migration_error: Mutex<Option<crate::MigrationError>>,
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
                replicated: AtomicBool::new(false),
                block_cache: crate::blocks::BlockCache::new(data_version),
                last_migration_error: Mutex::new(None),
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
        if self.shared.replicated.load(Ordering::Relaxed) {
            // A pod's commits would otherwise checkpoint past 1000 pages.
            conn.execute_batch("PRAGMA wal_autocheckpoint = 0;")?;
        }
        Ok(conn)
    }

    /// Hands the WAL's checkpoints to a replicator (Litestream, which copies
    /// the WAL's frames before it checkpoints them): HBF's checkpointer and
    /// every writing connection's automatic checkpoint (the writer's, and
    /// the pods' opened from now on) stop. Call it before any pod connection
    /// is opened. See `replication.rs`.
    pub fn hand_checkpoints_to_replicator(&self) {
        self.shared.replicated.store(true, Ordering::Relaxed);
        if let Some(checkpointer) = &self.shared._checkpointer {
            checkpointer.hand_over();
        }
    }

    /// Runs `f` on the writer connection (waiting for it).
    pub(crate) fn shared_last_migration_error(&self) -> &Mutex<Option<crate::MigrationError>> {
        &self.shared.last_migration_error
    }

    pub(crate) fn with_writer<R>(&self, f: impl FnOnce(&Connection) -> R) -> R {
        f(&self.shared.writer.lock())
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

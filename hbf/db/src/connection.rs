//! Connections and database files: the settings every connection gets by
//! role, the checks of an existing file and of its pod objects, and a new
//! file made from a template (or empty) under a temporary name, then linked
//! into place. Apart from `database.rs`, which holds the shared handle.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rusqlite::backup::Backup;
use rusqlite::config::DbConfig;
use rusqlite::{Connection, ErrorCode, OpenFlags, MAIN_DB};

use crate::pod_schema;
use crate::schema::{self, APPLICATION_ID, SCHEMA_VERSION};
use crate::{Error, Result};

/// How long a connection retries when the database is locked.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Prepared statements cached per connection.
const STATEMENT_CACHE: usize = 64;

/// Who uses a connection.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
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
pub(crate) fn configure(conn: &Connection, role: Role) -> Result<()> {
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
pub(crate) fn check_pod_schema(
    conn: &Connection,
    refuse: impl FnOnce(String) -> Error,
) -> Result<()> {
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
pub(crate) fn check_existing(path: &Path) -> Result<()> {
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
pub(crate) fn load_template(bytes: &[u8]) -> Result<Connection> {
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
pub(crate) fn copy_database(source: &Connection, dest: &mut Connection) -> Result<()> {
    Backup::new(source, dest)?.run_to_completion(256, Duration::ZERO, None)?;
    Ok(())
}

/// Creates a new database file at `path` from `template` (or empty), atomically:
/// it is built under a temporary name and hard-linked into place, which fails
/// rather than replace a file that appeared meanwhile. Returns `true`, or `false`
/// when another process created `path` first (then `path` is checked instead).
pub(crate) fn create_file(path: &Path, template: Option<&[u8]>) -> Result<bool> {
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

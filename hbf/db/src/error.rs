//! The crate's one error type.

use std::path::PathBuf;

use crate::path::PathError;

/// Everything that can go wrong in HBF storage. Variants carry enough context to
/// print a message that tells the user what happened and what to do next.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file path broke the rules of [`crate::path`].
    #[error("invalid path {path:?}: {problem}")]
    InvalidPath { path: String, problem: PathError },

    /// The path has no live version (never written, or deleted).
    #[error("no such file: {path}")]
    NotFound { path: String },

    /// The path exists but not at that version.
    #[error("{path} has no version {version} (latest is {latest})")]
    VersionNotFound {
        path: String,
        version: u64,
        latest: u64,
    },

    /// A conditional write's precondition did not hold; nothing was written.
    /// `current` is the path's latest version (live or tombstone), if any.
    #[error("{path} has changed: its latest version is {}", current.map_or("none (never written)".to_owned(), |v| v.to_string()))]
    PreconditionFailed { path: String, current: Option<u64> },

    /// The file at `path` is not a database that HBF created. It was not modified.
    #[error("{} is not an HBF database: {reason} (the file was left untouched; pass another --db path)", path.display())]
    NotHbfDatabase { path: PathBuf, reason: String },

    /// The file at `path` is an HBF database that SQLite reports as damaged. It was
    /// not modified.
    #[error("database {} is corrupt: {reason} (the file was left untouched; restore it from a backup or move it away)", path.display())]
    Corrupt { path: PathBuf, reason: String },

    /// The database was written by a newer HBF whose schema this one does not know.
    #[error("database {} has schema version {found}, newer than the {supported} this HBF supports; run a newer HBF", path.display())]
    SchemaTooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },

    /// The database holds pod schema objects (a trigger, a view, a foreign key...)
    /// that refer to the platform's tables: SQLite would run them on the
    /// platform's connections, so HBF refuses the file. It was not modified.
    #[error("database {} holds pod schema objects that refer to the platform's tables, which HBF refuses to run: {objects} (the file was left untouched; drop them with sqlite3, e.g. `DROP TRIGGER name;`, and start again)", path.display())]
    UnsafeSchema { path: PathBuf, objects: String },

    /// A template given as bytes is not a usable HBF database image.
    #[error("invalid database template: {0}")]
    BadTemplate(String),

    /// A row of an SQLite Archive could not be read or imported.
    #[error("archive entry {name:?}: {reason}")]
    BadArchiveEntry { name: String, reason: String },

    /// A stored compiled module no longer matches its recorded hash.
    #[error("the compiled module cache entry of {module} is corrupt (its hash does not match)")]
    CorruptModuleCache { module: String },

    /// A pod's SQL failed or was refused.
    #[error("SQL: {0}")]
    Sql(String),

    /// A pod migration failed or was refused; it was rolled back, so the
    /// schema and data are as they were before it.
    #[error("{path}: {message} (the migration was rolled back; nothing of it was kept)")]
    MigrationFailed { path: String, message: String },

    /// An applied migration's file no longer holds what ran.
    #[error("{path} was applied with SHA-256 {applied}, but the file now has {now}: an applied migration never runs again, so put its old content back and add the change as a new migration")]
    MigrationChanged {
        path: String,
        applied: String,
        now: String,
    },

    /// The transaction holding this write could not be committed; nothing of it was
    /// stored.
    #[error("write was not committed: {0}")]
    CommitFailed(String),

    /// A block, CAS or action-cache entry was refused as given (empty, or a
    /// key that is not what it must be); nothing was stored.
    #[error("{0}")]
    InvalidBlock(String),

    /// A block or cache entry is larger than its limit; nothing was stored.
    #[error("the entry is larger than the {limit}-byte limit")]
    BlockTooLarge { limit: u64 },

    /// A CAS entry's content does not hash to the key it was stored under;
    /// nothing was stored.
    #[error("the content's SHA-256 is {actual}, not the {expected} it was sent as")]
    DigestMismatch { expected: String, actual: String },

    /// An operating-system error on a database file.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// An error reported by SQLite.
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),

    /// A bug in HBF (for example a panic inside a write). Reported, never hidden.
    #[error("internal storage error: {0}")]
    Internal(String),
}

/// Short for `std::result::Result<T, hbf_db::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// True when the error means "this path or version does not exist" (an HTTP
    /// layer maps it to 404).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. } | Error::VersionNotFound { .. })
    }

    /// True when a block or cache entry was refused for what it is (empty, a
    /// wrong digest): the client's mistake (an HTTP layer maps it to 400).
    pub fn is_invalid_block(&self) -> bool {
        matches!(self, Error::InvalidBlock(_) | Error::DigestMismatch { .. })
    }

    /// True when the caller passed an invalid path (an HTTP layer maps it to 400).
    pub fn is_invalid_path(&self) -> bool {
        matches!(self, Error::InvalidPath { .. })
    }
}

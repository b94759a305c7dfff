//! HBF storage: one SQLite database holds a pod's code, its static files and its
//! own data.
//!
//! * [`Database`] opens (or creates from an embedded template) the main database,
//!   applies the schema's migrations and hands out connections safely: one writer,
//!   many readers. Its docs explain the concurrency model.
//! * [`VersionedFs`] is the append-only, versioned filesystem that stores every file
//!   of a pod: every write is a new version, reads see the latest.
//! * [`Archive`] reads and writes the standard SQLite Archive (`sqlar`) table that
//!   `sqlite3 -A` understands; [`VersionedFs::import_archive`] migrates an archive
//!   into the versioned filesystem without clobbering live edits.
//! * [`BlockStore`] names content by its hash: the block service (`PUT` a
//!   block, get its SHA-256) and Bazel's remote cache (`cas`, `ac`), on the
//!   same content rows as the versioned filesystem.
//! * [`ModuleCache`] keeps compiled JavaScript (QuickJS bytecode) beside the
//!   sources it was compiled from.
//! * [`UserDb`] runs a pod's own SQL, which may never write platform tables,
//!   nor leave schema objects that refer to them (`pod_schema`), nor run past
//!   its request's deadline or size limits.
//! * [`Database::migrate`] applies the pod's own schema migrations
//!   (`hbf/migrations/*.sql`, [`migrations`](crate::Migration)) once each,
//!   in order, each in one transaction with its record.
//! * [`path`] says which file paths are valid.
//!
//! Only this crate opens SQLite connections to the main database.

#![forbid(unsafe_code)]

mod archive;
mod authorizer;
mod blocks;
mod checkpoint;
mod connection;
mod database;
mod error;
mod group_commit;
mod migrations;
mod module_cache;
pub mod path;
mod pod_schema;
mod replication;
mod schema;
mod user_db;
mod vfs;

/// The SQLite binding [`Database::read`] and [`Database::write`] hand out.
pub use rusqlite;

pub use archive::{Archive, ArchiveEntry, EntryKind};
pub use blocks::{
    key_from_hex, key_to_hex, BlockKind, BlockPut, BlockStatus, BlockStore, KindStatus, Upload,
    MAX_BLOCK,
};
pub use database::{ChangeHook, Database};
pub use error::{Error, Result};
pub use migrations::{
    migration_name, AppliedRecord, Migration, MigrationError, MigrationState, Ran,
    DEFAULT_MIGRATION_TIMEOUT, MIGRATIONS_DIR,
};
pub use module_cache::ModuleCache;
pub use path::PathError;
pub use pod_schema::Violation;
pub use pod_schema::REPLICATOR_TABLE_PREFIX;
pub use replication::{CheckpointOutcome, WAL_HARD_BOUND_BYTES};
pub use schema::{APPLICATION_ID, PLATFORM_TABLE_PREFIX, SCHEMA_VERSION};
pub use user_db::{CpuBudget, Executed, Params, Row, SqlLimits, UserDb};
pub use vfs::{FileReader, FileVersion, ImportReport, Precondition, VersionedFs};

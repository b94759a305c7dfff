//! The HBF schema, as an ordered list of migrations.
//!
//! `PRAGMA user_version` records how many migrations a database has had. Opening a
//! database applies the missing ones, all in one `BEGIN IMMEDIATE` transaction, so a
//! crash mid-way leaves the previous schema intact. A database whose version is
//! newer than [`SCHEMA_VERSION`] is refused rather than guessed at.
//!
//! Platform tables are all named `hbf_*`; a pod's own tables must not use that
//! prefix (the JavaScript layer enforces it).

use rusqlite::{Connection, TransactionBehavior};

use crate::Result;

/// Stored in the database header (`PRAGMA application_id`) so that HBF can tell its
/// databases from any other SQLite file. The bytes spell "HBF1".
pub const APPLICATION_ID: i32 = 0x4842_4631;

/// The schema version this build writes: the number of migrations.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Prefix of every platform table.
pub const PLATFORM_TABLE_PREFIX: &str = "hbf_";

const MIGRATIONS: &[&str] = &[
    // 1: the versioned filesystem and its import bookkeeping.
    r#"
    -- Each distinct content, stored once (dedup by SHA-256).
    CREATE TABLE hbf_fs_content (
        id      INTEGER PRIMARY KEY,
        sha256  BLOB NOT NULL UNIQUE CHECK (length(sha256) = 32),
        size    INTEGER NOT NULL CHECK (size >= 0),
        data    BLOB NOT NULL
    );
    -- Every version of every path; a tombstone (deleted = 1) has no content.
    CREATE TABLE hbf_fs_version (
        path        TEXT NOT NULL,
        version     INTEGER NOT NULL CHECK (version >= 1),
        mtime       INTEGER NOT NULL,
        size        INTEGER NOT NULL CHECK (size >= 0),
        sha256      BLOB,
        content_id  INTEGER REFERENCES hbf_fs_content(id),
        deleted     INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
        PRIMARY KEY (path, version),
        CHECK ((deleted = 1) = (content_id IS NULL)),
        CHECK ((content_id IS NULL) = (sha256 IS NULL))
    ) WITHOUT ROWID;
    -- The latest version of each path: a copy of its hbf_fs_version row, so that a
    -- read or a listing is one index lookup. Written only together with that row
    -- (same statement sequence, same transaction), so it needs no foreign keys of
    -- its own, which would cost two lookups per write.
    CREATE TABLE hbf_fs_file (
        path        TEXT PRIMARY KEY,
        version     INTEGER NOT NULL,
        mtime       INTEGER NOT NULL,
        size        INTEGER NOT NULL,
        sha256      BLOB,
        content_id  INTEGER,
        deleted     INTEGER NOT NULL
    ) WITHOUT ROWID;
    -- Archives already imported, keyed by the SHA-256 of their rows.
    CREATE TABLE hbf_import (
        archive_sha256  BLOB PRIMARY KEY,
        imported_at     INTEGER NOT NULL,
        written         INTEGER NOT NULL,
        unchanged       INTEGER NOT NULL,
        skipped         INTEGER NOT NULL
    );
    -- For each imported path, the version the last import wrote or confirmed: if the
    -- path's latest version is another one, a user edited it since.
    CREATE TABLE hbf_import_file (
        path     TEXT PRIMARY KEY,
        version  INTEGER NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 2: compiled JavaScript modules, written by the packer and the runtime.
    r#"
    -- QuickJS bytecode of a module, keyed by the module's name (its path, which the
    -- bytecode embeds and relative imports resolve against), the SHA-256 of the
    -- source it was compiled from and a fingerprint of the engine build that wrote
    -- it. A changed source or another engine simply misses the cache.
    CREATE TABLE hbf_module_cache (
        module           TEXT NOT NULL,
        source_sha256    BLOB NOT NULL CHECK (length(source_sha256) = 32),
        engine           BLOB NOT NULL,
        bytecode         BLOB NOT NULL,
        bytecode_sha256  BLOB NOT NULL CHECK (length(bytecode_sha256) = 32),
        PRIMARY KEY (module, source_sha256, engine)
    ) WITHOUT ROWID;
    "#,
    // 3: content-addressed blocks (the block service and Bazel's cache).
    r#"
    -- A name for a content row: a block (key = its SHA-256), a Bazel CAS entry
    -- (key = its SHA-256, verified) or an action-cache entry (key = the action
    -- digest, any content). The content row is shared with the versioned
    -- filesystem; it is deleted only when no reference and no file version uses
    -- it. `used` (milliseconds since the epoch) orders cas/ac entries for
    -- eviction; blocks are never evicted.
    CREATE TABLE hbf_block_ref (
        kind        TEXT NOT NULL CHECK (kind IN ('block', 'cas', 'ac')),
        key         BLOB NOT NULL CHECK (length(key) = 32),
        content_id  INTEGER NOT NULL REFERENCES hbf_fs_content(id),
        size        INTEGER NOT NULL CHECK (size >= 0),
        used        INTEGER NOT NULL,
        PRIMARY KEY (kind, key)
    ) WITHOUT ROWID;
    -- Least recently used cache entries first.
    CREATE INDEX hbf_block_ref_lru ON hbf_block_ref (used) WHERE kind <> 'block';
    -- "Does a reference still use this content?" in one lookup.
    CREATE INDEX hbf_block_ref_content ON hbf_block_ref (content_id);
    -- "Does a file version still use this content?" in one lookup.
    CREATE INDEX hbf_fs_version_content ON hbf_fs_version (content_id);
    -- Entries and bytes per kind, kept in the transaction that changes them.
    CREATE TABLE hbf_block_stat (
        kind   TEXT PRIMARY KEY,
        count  INTEGER NOT NULL,
        bytes  INTEGER NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO hbf_block_stat (kind, count, bytes) VALUES ('block', 0, 0), ('cas', 0, 0), ('ac', 0, 0);
    -- The pieces of a large upload, stored in short transactions while it
    -- arrives, then copied into one content row; an abandoned upload's rows are
    -- deleted (and all of them when the block service starts).
    CREATE TABLE hbf_block_upload (
        upload  INTEGER NOT NULL,
        seq     INTEGER NOT NULL,
        data    BLOB NOT NULL,
        PRIMARY KEY (upload, seq)
    );
    "#,
    // 4: blocks named by their content row, not by a second copy of the hash.
    r#"
    -- The content rows that are blocks. A block's key is its content's SHA-256,
    -- which hbf_fs_content's own index finds; a block needs no hbf_block_ref
    -- row (whose primary key, a second random 32-byte key, cost a B-tree leaf
    -- page written per stored block). New content rows have increasing ids, so
    -- storing a block appends to this table's last page. hbf_block_ref keeps
    -- the Bazel cache entries ('cas', 'ac').
    CREATE TABLE hbf_block (
        content_id  INTEGER PRIMARY KEY REFERENCES hbf_fs_content(id)
    );
    INSERT INTO hbf_block (content_id)
        SELECT content_id FROM hbf_block_ref WHERE kind = 'block';
    DELETE FROM hbf_block_ref WHERE kind = 'block';
    "#,
    // 5: the pod's own schema migrations (hbf/migrations/*.sql) applied.
    r#"
    -- One row per pod migration applied, written in the transaction that ran
    -- it: `name` is the file's name (0001_notes.sql), `sha256` its content's
    -- hash when it ran (a file changed since is refused, never run again),
    -- `applied_at` milliseconds since the epoch, `duration_ms` its run time.
    CREATE TABLE hbf_migration (
        name         TEXT PRIMARY KEY,
        sha256       BLOB NOT NULL CHECK (length(sha256) = 32),
        applied_at   INTEGER NOT NULL,
        duration_ms  INTEGER NOT NULL CHECK (duration_ms >= 0)
    ) WITHOUT ROWID;
    "#,
];

/// What [`inspect`] learned about a database's identity.
pub(crate) struct Identity {
    pub application_id: i32,
    pub user_version: i64,
    pub has_tables: bool,
}

/// Reads the header fields that tell whether a database is HBF's.
pub(crate) fn inspect(conn: &Connection) -> rusqlite::Result<Identity> {
    let application_id = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    let user_version = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?;
    Ok(Identity {
        application_id,
        user_version,
        has_tables: tables > 0,
    })
}

/// Applies every migration the database lacks, in one transaction.
pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let start = usize::try_from(current).unwrap_or(usize::MAX);
    if start >= MIGRATIONS.len() {
        return Ok(());
    }
    for sql in &MIGRATIONS[start..] {
        tx.execute_batch(sql)?;
    }
    tx.execute_batch(&format!(
        "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION};"
    ))?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrate_is_idempotent_and_stamps_the_header() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let id = inspect(&conn).unwrap();
        assert_eq!(id.application_id, APPLICATION_ID);
        assert_eq!(id.user_version, SCHEMA_VERSION);
        assert!(id.has_tables);
    }

    #[test]
    fn blocks_move_from_references_to_their_own_table() {
        let mut conn = Connection::open_in_memory().unwrap();
        for sql in &MIGRATIONS[..3] {
            conn.execute_batch(sql).unwrap();
        }
        conn.execute_batch(
            "PRAGMA user_version = 3;
             INSERT INTO hbf_fs_content (id, sha256, size, data) VALUES
                 (1, zeroblob(32), 1, x'01'), (2, randomblob(32), 1, x'02');
             INSERT INTO hbf_block_ref (kind, key, content_id, size, used) VALUES
                 ('block', zeroblob(32), 1, 1, 0), ('cas', randomblob(32), 2, 1, 0);",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let blocks: Vec<i64> = conn
            .prepare("SELECT content_id FROM hbf_block")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(blocks, [1]);
        let refs: Vec<String> = conn
            .prepare("SELECT kind FROM hbf_block_ref")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(refs, ["cas"]);
    }

    #[test]
    fn every_platform_table_has_the_prefix() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table'")
            .unwrap();
        let names: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(!names.is_empty());
        for name in names {
            assert!(name.starts_with(PLATFORM_TABLE_PREFIX), "{name}");
        }
    }
}

//! The versioned filesystem: every write appends a version, reads see the latest.
//!
//! A path's versions are numbered 1, 2, 3, ... with no gaps. A version records its
//! modification time (milliseconds since the Unix epoch), its size in bytes and the
//! SHA-256 of its content. Deleting a path appends a *tombstone* version, so the
//! history survives and a later write continues the numbering. Reverting to
//! version `n` appends a new version whose state is version `n`'s.
//!
//! Content is stored once per distinct SHA-256: a thousand versions of the same
//! bytes, or the same bytes under two paths, take the space of one copy.
//!
//! Tables: `hbf_fs_content` (content by hash), `hbf_fs_version` (every version),
//! `hbf_fs_file` (the latest version of each path, for one-lookup reads and
//! listings without touching content).

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};

use crate::archive::{ArchiveEntry, EntryKind};
use crate::path::checked;
use crate::{Database, Error, Result};

/// Metadata of one version of one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileVersion {
    pub path: String,
    /// 1 for the first write, then +1 for each later write, delete or revert.
    pub version: u64,
    /// Modification time, milliseconds since the Unix epoch.
    pub mtime_ms: i64,
    /// Content size in bytes (0 for a tombstone).
    pub size: u64,
    /// SHA-256 of the content; `None` for a tombstone.
    pub sha256: Option<[u8; 32]>,
    /// True for a tombstone (the path was deleted by this version).
    pub deleted: bool,
}

impl FileVersion {
    /// The content hash as lower-case hex (an HTTP layer uses it as the ETag).
    pub fn sha256_hex(&self) -> Option<String> {
        self.sha256.map(hex::encode)
    }
}

/// What [`VersionedFs::import_archive`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportReport {
    /// SHA-256 of the archive's rows, the key that makes imports idempotent.
    pub archive_sha256: [u8; 32],
    /// The archive had been imported before; nothing was done.
    pub already_imported: bool,
    /// Paths written as a new version.
    pub written: Vec<String>,
    /// Paths whose latest content already equals the archive's.
    pub unchanged: Vec<String>,
    /// Paths left alone because a user edited them after the last import (or
    /// created them without an import).
    pub skipped: Vec<String>,
}

/// What must hold for a conditional write ([`VersionedFs::write_if`]) to happen;
/// it is checked in the writing transaction, so two writers with the same
/// expectation cannot both succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// Nothing: the last writer wins.
    None,
    /// The latest version (live or tombstone) is this one (HTTP `If-Match`).
    Version(u64),
    /// The path has no live version (HTTP `If-None-Match: *`, create only).
    Absent,
}

impl Precondition {
    fn check(self, path: &str, head: Option<&FileVersion>) -> Result<()> {
        let holds = match self {
            Precondition::None => true,
            Precondition::Version(n) => head.is_some_and(|h| h.version == n),
            Precondition::Absent => head.is_none_or(|h| h.deleted),
        };
        if holds {
            Ok(())
        } else {
            Err(Error::PreconditionFailed {
                path: path.to_owned(),
                current: head.map(|h| h.version),
            })
        }
    }
}

/// The versioned filesystem of one [`Database`]; cheap to clone.
#[derive(Clone)]
pub struct VersionedFs {
    db: Database,
    /// Who writes through this handle, for [`Database::on_file_change`].
    source: Option<&'static str>,
}

// Reads fetch content with a correlated subquery, not a join: with STAT4 compiled
// in, SQLite re-prepares a join statement every time its parameter is re-bound,
// which tripled the cost of a read (see the test `reads_are_not_re_prepared`).
const READ_LATEST: &str = "SELECT version, mtime, size, sha256, deleted,
    (SELECT data FROM hbf_fs_content WHERE id = content_id)
    FROM hbf_fs_file WHERE path = ?1";
const READ_VERSION: &str = "SELECT version, mtime, size, sha256, deleted,
    (SELECT data FROM hbf_fs_content WHERE id = content_id)
    FROM hbf_fs_version WHERE path = ?1 AND version = ?2";

/// The latest version of a path with the id of its content row, for
/// [`VersionedFs::open`].
const OPEN_LATEST: &str =
    "SELECT version, mtime, size, sha256, deleted, content_id FROM hbf_fs_file WHERE path = ?1";

/// An open file: the version [`VersionedFs::open`] found and its content, read
/// whole or piece by piece.
///
/// It holds no connection, transaction or BLOB handle between calls: each read
/// borrows a pooled reader for that read only, so a reader streaming a large
/// file for minutes neither pins a connection (SQLite connections must not be
/// shared between threads, and a BLOB handle borrows its connection) nor holds
/// back WAL checkpoints. It is pinned to the content row's id instead of the
/// path: content rows are immutable (one per SHA-256, never updated), so every
/// piece comes from the version that was opened, even if the path gets new
/// versions meanwhile. Cheap to clone.
#[derive(Clone)]
pub struct FileReader {
    db: Database,
    meta: FileVersion,
    content_id: i64,
}

impl std::fmt::Debug for FileReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileReader")
            .field("meta", &self.meta)
            .field("content_id", &self.content_id)
            .finish_non_exhaustive()
    }
}

impl FileReader {
    /// A reader of content row `content_id`, described by `meta` (a block's
    /// entry: see [`crate::BlockStore::open`]).
    pub(crate) fn of_content(db: Database, meta: FileVersion, content_id: i64) -> Self {
        Self {
            db,
            meta,
            content_id,
        }
    }

    /// The version that was opened.
    pub fn meta(&self) -> &FileVersion {
        &self.meta
    }

    /// The content's size in bytes.
    pub fn len(&self) -> u64 {
        self.meta.size
    }

    /// True for empty content.
    pub fn is_empty(&self) -> bool {
        self.meta.size == 0
    }

    /// The whole content, in one read (for small files: one statement, no BLOB
    /// handle to set up).
    pub fn read_all(&self) -> Result<Vec<u8>> {
        let data = self.db.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT data FROM hbf_fs_content WHERE id = ?1")?
                .query_row([self.content_id], |r| r.get::<_, Vec<u8>>(0))
                .optional()?)
        })?;
        match data {
            Some(data) if data.len() as u64 == self.meta.size => Ok(data),
            _ => Err(self.changed()),
        }
    }

    /// Up to `max` bytes of the content from `offset` (fewer only at the end of
    /// the content; none from or past it). Only those bytes are read: SQLite's
    /// incremental BLOB I/O reads the pages that hold them, not the whole value.
    pub fn read_at(&self, offset: u64, max: usize) -> Result<Vec<u8>> {
        let size = self.meta.size;
        if offset >= size || max == 0 {
            return Ok(Vec::new());
        }
        let n = (size - offset).min(max as u64) as usize;
        let start = usize::try_from(offset)
            .map_err(|_| Error::Internal(format!("offset {offset} is too large")))?;
        self.db.read(|conn| {
            // A vanished row fails here (SQLite's "no such rowid").
            let blob = conn.blob_open(
                rusqlite::MAIN_DB,
                c"hbf_fs_content",
                c"data",
                self.content_id,
                true,
            )?;
            // A content row never changes size; if it did, the bytes would not
            // be those the metadata (size, hash) describe.
            if blob.len() as u64 != size {
                return Err(self.changed());
            }
            let mut buf = vec![0; n];
            blob.read_at_exact(&mut buf, start)?;
            Ok(buf)
        })
    }

    fn changed(&self) -> Error {
        Error::Internal(format!(
            "{} version {}: its content row {} is missing or no longer {} bytes",
            self.meta.path, self.meta.version, self.content_id, self.meta.size
        ))
    }
}

/// Content ready to be appended: its hash is computed before taking the writer.
struct NewContent {
    data: Vec<u8>,
    sha256: [u8; 32],
}

impl NewContent {
    fn new(data: Vec<u8>) -> Self {
        let sha256 = Sha256::digest(&data).into();
        Self { data, sha256 }
    }
}

impl VersionedFs {
    pub(crate) fn new(db: Database) -> Self {
        Self { db, source: None }
    }

    pub(crate) fn by(db: Database, source: &'static str) -> Self {
        Self {
            db,
            source: Some(source),
        }
    }

    /// Runs one write that appends one version, recording and announcing it when
    /// this handle names its source and the database has a change hook.
    fn commit<F>(&self, work: F) -> Result<FileVersion>
    where
        F: FnOnce(&Connection) -> Result<FileVersion> + Send + 'static,
    {
        let source = self.source.filter(|_| self.db.announces_changes());
        let db = self.db.clone();
        let version = self.db.write(move |conn| {
            let version = work(conn)?;
            if source.is_some() {
                db.note_own_write(&version.path, version.version);
            }
            Ok(version)
        })?;
        if let Some(source) = source {
            self.db.announce(&version, source);
        }
        Ok(version)
    }

    /// Appends a new version of `path` holding `data`, stamped with the current time.
    pub fn write(&self, path: &str, data: impl Into<Vec<u8>>) -> Result<FileVersion> {
        self.write_at(path, data, now_ms())
    }

    /// Like [`write`](Self::write) with an explicit modification time (the packer
    /// uses fixed times so that its output is reproducible).
    pub fn write_at(
        &self,
        path: &str,
        data: impl Into<Vec<u8>>,
        mtime_ms: i64,
    ) -> Result<FileVersion> {
        self.write_at_if(path, data, mtime_ms, Precondition::None)
    }

    /// Like [`write`](Self::write), only if `expected` holds when the write
    /// happens (checked in the same transaction); otherwise
    /// [`Error::PreconditionFailed`] and nothing is written.
    pub fn write_if(
        &self,
        path: &str,
        data: impl Into<Vec<u8>>,
        expected: Precondition,
    ) -> Result<FileVersion> {
        self.write_at_if(path, data, now_ms(), expected)
    }

    fn write_at_if(
        &self,
        path: &str,
        data: impl Into<Vec<u8>>,
        mtime_ms: i64,
        expected: Precondition,
    ) -> Result<FileVersion> {
        let path = checked(path)?;
        let content = NewContent::new(data.into());
        self.commit(move |conn| {
            if expected != Precondition::None {
                expected.check(&path, head(conn, &path)?.as_ref())?;
            }
            append_content(conn, &path, &content, mtime_ms)
        })
    }

    /// Writes several files in one transaction: all are stored, or none.
    pub fn write_many(&self, files: Vec<(String, Vec<u8>)>) -> Result<Vec<FileVersion>> {
        let mtime = now_ms();
        let files = files
            .into_iter()
            .map(|(path, data)| Ok((checked(&path)?, NewContent::new(data))))
            .collect::<Result<Vec<_>>>()?;
        let source = self.source.filter(|_| self.db.announces_changes());
        let db = self.db.clone();
        let versions: Vec<FileVersion> = self.db.write(move |conn| {
            let versions = files
                .iter()
                .map(|(path, content)| append_content(conn, path, content, mtime))
                .collect::<Result<Vec<_>>>()?;
            if source.is_some() {
                for v in &versions {
                    db.note_own_write(&v.path, v.version);
                }
            }
            Ok(versions)
        })?;
        if let Some(source) = source {
            for v in &versions {
                self.db.announce(v, source);
            }
        }
        Ok(versions)
    }

    /// Conditional writes of several files in one transaction, each on its own:
    /// one whose path is invalid, whose precondition fails or that fails
    /// otherwise is rolled back alone (a savepoint) and its error reported in
    /// its place; the others are stored. The outer error is for the whole
    /// transaction (not committed: nothing stored). For a server that gathers
    /// concurrent writes itself: one call commits them all, with one thread
    /// hand-off instead of one per write.
    pub fn write_each_if(
        &self,
        writes: Vec<(String, Vec<u8>, Precondition)>,
    ) -> Result<Vec<Result<FileVersion>>> {
        let mtime = now_ms();
        let items: Vec<Result<(String, NewContent, Precondition)>> = writes
            .into_iter()
            .map(|(path, data, expected)| Ok((checked(&path)?, NewContent::new(data), expected)))
            .collect();
        let source = self.source.filter(|_| self.db.announces_changes());
        let db = self.db.clone();
        let outcomes: Vec<Result<FileVersion>> = self.db.write(move |conn| {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let outcome = match item {
                    Err(e) => Err(e),
                    Ok((path, content, expected)) => {
                        conn.execute_batch("SAVEPOINT hbf_write_each")?;
                        let outcome = (|| {
                            if expected != Precondition::None {
                                expected.check(&path, head(conn, &path)?.as_ref())?;
                            }
                            append_content(conn, &path, &content, mtime)
                        })();
                        match &outcome {
                            Ok(_) => conn.execute_batch("RELEASE hbf_write_each")?,
                            Err(_) => conn.execute_batch(
                                "ROLLBACK TO hbf_write_each; RELEASE hbf_write_each",
                            )?,
                        }
                        outcome
                    }
                };
                if let (Some(_), Ok(v)) = (source, &outcome) {
                    db.note_own_write(&v.path, v.version);
                }
                out.push(outcome);
            }
            Ok(out)
        })?;
        if let Some(source) = source {
            for v in outcomes.iter().flatten() {
                self.db.announce(v, source);
            }
        }
        Ok(outcomes)
    }

    /// The latest content of `path`.
    pub fn read(&self, path: &str) -> Result<Vec<u8>> {
        self.read_with_meta(path).map(|(_, data)| data)
    }

    /// The latest version of `path` and its content.
    pub fn read_with_meta(&self, path: &str) -> Result<(FileVersion, Vec<u8>)> {
        let path = checked(path)?;
        self.db.read(|conn| {
            let row = conn
                .prepare_cached(READ_LATEST)?
                .query_row([&path], |r| {
                    Ok((version_from_row(&path, r)?, r.get::<_, Option<Vec<u8>>>(5)?))
                })
                .optional()?;
            match row {
                Some((meta, Some(data))) if !meta.deleted => Ok((meta, data)),
                _ => Err(Error::NotFound { path: path.clone() }),
            }
        })
    }

    /// Opens the latest version of `path` for reading: its metadata now, its
    /// content later, whole or in pieces, from that version whatever is written
    /// meanwhile (see [`FileReader`]). Reads no content.
    pub fn open(&self, path: &str) -> Result<FileReader> {
        let path = checked(path)?;
        let row = self.db.read(|conn| {
            Ok(conn
                .prepare_cached(OPEN_LATEST)?
                .query_row([&path], |r| {
                    Ok((version_from_row(&path, r)?, r.get::<_, Option<i64>>(5)?))
                })
                .optional()?)
        })?;
        match row {
            Some((meta, Some(content_id))) if !meta.deleted => Ok(FileReader {
                db: self.db.clone(),
                meta,
                content_id,
            }),
            _ => Err(Error::NotFound { path }),
        }
    }

    /// Version `version` of `path` and its content. A tombstone version has no
    /// content and is reported as not found.
    pub fn read_version(&self, path: &str, version: u64) -> Result<(FileVersion, Vec<u8>)> {
        let path = checked(path)?;
        self.db.read(|conn| {
            let tx = conn.unchecked_transaction()?;
            let row = tx
                .prepare_cached(READ_VERSION)?
                .query_row(params![path, to_sql_version(version)], |r| {
                    Ok((version_from_row(&path, r)?, r.get::<_, Option<Vec<u8>>>(5)?))
                })
                .optional()?;
            match row {
                Some((meta, Some(data))) => Ok((meta, data)),
                Some((_, None)) => Err(Error::NotFound { path: path.clone() }),
                None => Err(missing_version(&tx, &path, version)?),
            }
        })
    }

    /// Metadata of the latest live version of `path`, without reading content.
    pub fn stat(&self, path: &str) -> Result<FileVersion> {
        let path = checked(path)?;
        self.db.read(|conn| match head(conn, &path)? {
            Some(meta) if !meta.deleted => Ok(meta),
            _ => Err(Error::NotFound { path: path.clone() }),
        })
    }

    /// True when `path` has a live (not deleted) latest version.
    pub fn exists(&self, path: &str) -> Result<bool> {
        match self.stat(path) {
            Ok(_) => Ok(true),
            Err(Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// How many versions `path` has, tombstones included (0 if never written).
    pub fn version_count(&self, path: &str) -> Result<u64> {
        let path = checked(path)?;
        self.db
            .read(|conn| Ok(head(conn, &path)?.map_or(0, |m| m.version)))
    }

    /// The latest version of every live path that starts with `prefix` (`""` for
    /// all), sorted by path. Reads metadata only, never content.
    pub fn list(&self, prefix: &str) -> Result<Vec<FileVersion>> {
        self.list_with_deleted(prefix, false)
    }

    /// Like [`list`](Self::list); with `deleted`, deleted paths are listed too
    /// (their latest version, a tombstone).
    pub fn list_with_deleted(&self, prefix: &str, deleted: bool) -> Result<Vec<FileVersion>> {
        let prefix = prefix.to_owned();
        self.db.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT path, version, mtime, size, sha256, deleted FROM hbf_fs_file
                 WHERE path >= ?1 ORDER BY path",
            )?;
            let mut rows = stmt.query([&prefix])?;
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                let path: String = row.get(0)?;
                if !path.starts_with(&prefix) {
                    break; // sorted: past the prefix's range
                }
                let meta = version_from_columns(path, row, 1)?;
                if deleted || !meta.deleted {
                    out.push(meta);
                }
            }
            Ok(out)
        })
    }

    /// Every version of `path`, oldest first, tombstones included.
    pub fn history(&self, path: &str) -> Result<Vec<FileVersion>> {
        let path = checked(path)?;
        self.db.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT version, mtime, size, sha256, deleted FROM hbf_fs_version
                 WHERE path = ?1 ORDER BY version",
            )?;
            let out = stmt
                .query_map([&path], |r| version_from_row(&path, r))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            if out.is_empty() {
                return Err(Error::NotFound { path: path.clone() });
            }
            Ok(out)
        })
    }

    /// Deletes `path` by appending a tombstone version; its history is kept.
    pub fn delete(&self, path: &str) -> Result<FileVersion> {
        self.delete_if(path, Precondition::None)
    }

    /// Like [`delete`](Self::delete), only if `expected` holds (see
    /// [`write_if`](Self::write_if)).
    pub fn delete_if(&self, path: &str, expected: Precondition) -> Result<FileVersion> {
        let path = checked(path)?;
        let mtime = now_ms();
        self.commit(move |conn| match head(conn, &path)? {
            Some(latest) if !latest.deleted => {
                expected.check(&path, Some(&latest))?;
                append(conn, &path, None, mtime)
            }
            _ => Err(Error::NotFound { path: path.clone() }),
        })
    }

    /// Appends a new version of `path` whose state is that of `version` (its
    /// content, or a tombstone if `version` was one).
    pub fn revert(&self, path: &str, version: u64) -> Result<FileVersion> {
        self.revert_if(path, version, Precondition::None)
    }

    /// Like [`revert`](Self::revert), only if `expected` holds (see
    /// [`write_if`](Self::write_if)).
    pub fn revert_if(
        &self,
        path: &str,
        version: u64,
        expected: Precondition,
    ) -> Result<FileVersion> {
        let path = checked(path)?;
        let mtime = now_ms();
        self.commit(move |conn| {
            if expected != Precondition::None {
                expected.check(&path, head(conn, &path)?.as_ref())?;
            }
            let target: Option<(Option<i64>, i64, Option<Vec<u8>>)> = conn
                .prepare_cached(
                    "SELECT content_id, size, sha256 FROM hbf_fs_version
                     WHERE path = ?1 AND version = ?2",
                )?
                .query_row(params![path, to_sql_version(version)], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()?;
            match target {
                None => Err(missing_version(conn, &path, version)?),
                Some((None, _, _)) => append(conn, &path, None, mtime),
                Some((Some(id), size, sha)) => {
                    let sha = hash_from_sql(sha).ok_or_else(|| {
                        Error::Internal(format!("{path} version {version} has content but no hash"))
                    })?;
                    append(conn, &path, Some((id, size, sha)), mtime)
                }
            }
        })
    }

    /// Imports the regular files of an SQLite Archive as new versions, in one
    /// transaction. Idempotent: an archive already imported (same rows, same
    /// SHA-256) changes nothing. A path is written only if it never existed or the
    /// user has not changed it since the last import wrote it; otherwise it is
    /// skipped and reported, so a live edit is never overwritten. Directories are
    /// ignored; a symlink, an invalid name or two entries naming the same path
    /// (`a` and `./a`) fail the whole import.
    pub fn import_archive(&self, entries: Vec<ArchiveEntry>) -> Result<ImportReport> {
        self.import_archive_at(entries, now_ms())
    }

    /// [`import_archive`](Self::import_archive), recording `imported_at_ms` as the
    /// import time (the packer passes a fixed time so that its output is
    /// reproducible).
    pub fn import_archive_at(
        &self,
        entries: Vec<ArchiveEntry>,
        imported_at_ms: i64,
    ) -> Result<ImportReport> {
        let mut files = BTreeMap::new();
        let mut key = Sha256::new();
        let mut sorted = entries;
        sorted.sort_by(|a, b| a.name.cmp(&b.name));
        for entry in sorted {
            key.update((entry.name.len() as u64).to_le_bytes());
            key.update(entry.name.as_bytes());
            key.update(entry.mode.to_le_bytes());
            key.update(entry.mtime.to_le_bytes());
            key.update((entry.data.len() as u64).to_le_bytes());
            key.update(&entry.data);
            match entry.kind() {
                EntryKind::Directory => continue,
                EntryKind::Symlink => {
                    return Err(Error::BadArchiveEntry {
                        name: entry.name,
                        reason: "symbolic links cannot be imported".into(),
                    })
                }
                EntryKind::File => {}
            }
            let path =
                crate::path::normalize(&entry.name).map_err(|problem| Error::BadArchiveEntry {
                    name: entry.name.clone(),
                    reason: problem.to_string(),
                })?;
            let mtime_ms = entry.mtime.saturating_mul(1000);
            // `a` and `./a` are two rows of the archive but one path: importing
            // either would silently drop the other.
            if files.contains_key(&path) {
                return Err(Error::BadArchiveEntry {
                    name: entry.name,
                    reason: format!("another entry of the archive also names {path}"),
                });
            }
            files.insert(path, (NewContent::new(entry.data), mtime_ms));
        }
        let archive_sha256: [u8; 32] = key.finalize().into();
        let imported_at = imported_at_ms;
        self.db.write(move |conn| {
            let mut report = ImportReport {
                archive_sha256,
                ..ImportReport::default()
            };
            let seen: Option<i64> = conn
                .query_row(
                    "SELECT 1 FROM hbf_import WHERE archive_sha256 = ?1",
                    [&archive_sha256[..]],
                    |r| r.get(0),
                )
                .optional()?;
            if seen.is_some() {
                report.already_imported = true;
                return Ok(report);
            }
            for (path, (content, mtime_ms)) in &files {
                let latest = head(conn, path)?;
                let last_import: Option<i64> = conn
                    .prepare_cached("SELECT version FROM hbf_import_file WHERE path = ?1")?
                    .query_row([path], |r| r.get(0))
                    .optional()?;
                let version = match &latest {
                    Some(l) if !l.deleted && l.sha256 == Some(content.sha256) => {
                        report.unchanged.push(path.clone());
                        l.version
                    }
                    Some(l) if last_import != Some(l.version as i64) => {
                        report.skipped.push(path.clone());
                        continue;
                    }
                    _ => {
                        report.written.push(path.clone());
                        append_content(conn, path, content, *mtime_ms)?.version
                    }
                };
                conn.prepare_cached(
                    "INSERT INTO hbf_import_file (path, version) VALUES (?1, ?2)
                     ON CONFLICT (path) DO UPDATE SET version = excluded.version",
                )?
                .execute(params![path, version as i64])?;
            }
            conn.execute(
                "INSERT INTO hbf_import (archive_sha256, imported_at, written, unchanged, skipped)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    &archive_sha256[..],
                    imported_at,
                    report.written.len() as i64,
                    report.unchanged.len() as i64,
                    report.skipped.len() as i64
                ],
            )?;
            Ok(report)
        })
    }
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn to_sql_version(version: u64) -> i64 {
    i64::try_from(version).unwrap_or(i64::MAX)
}

fn hash_from_sql(blob: Option<Vec<u8>>) -> Option<[u8; 32]> {
    blob.and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
}

/// Reads `version, mtime, size, sha256, deleted` from columns 0..5.
fn version_from_row(path: &str, row: &rusqlite::Row<'_>) -> rusqlite::Result<FileVersion> {
    version_from_columns(path.to_owned(), row, 0)
}

fn version_from_columns(
    path: String,
    row: &rusqlite::Row<'_>,
    first: usize,
) -> rusqlite::Result<FileVersion> {
    Ok(FileVersion {
        path,
        version: row.get::<_, i64>(first)? as u64,
        mtime_ms: row.get(first + 1)?,
        size: row.get::<_, i64>(first + 2)? as u64,
        sha256: hash_from_sql(row.get(first + 3)?),
        deleted: row.get::<_, i64>(first + 4)? != 0,
    })
}

/// The latest version of `path`, live or tombstone.
fn head(conn: &Connection, path: &str) -> Result<Option<FileVersion>> {
    Ok(conn
        .prepare_cached(
            "SELECT version, mtime, size, sha256, deleted FROM hbf_fs_file WHERE path = ?1",
        )?
        .query_row([path], |r| version_from_row(path, r))
        .optional()?)
}

/// The error for a version that does not exist.
fn missing_version(conn: &Connection, path: &str, version: u64) -> Result<Error> {
    Ok(match head(conn, path)? {
        Some(latest) => Error::VersionNotFound {
            path: path.to_owned(),
            version,
            latest: latest.version,
        },
        None => Error::NotFound {
            path: path.to_owned(),
        },
    })
}

/// Stores `content` (once per hash) and appends a version of `path` holding it.
fn append_content(
    conn: &Connection,
    path: &str,
    content: &NewContent,
    mtime_ms: i64,
) -> Result<FileVersion> {
    let size = content.data.len() as i64;
    // Insert first: new content (the common case) costs one index probe.
    let inserted = conn
        .prepare_cached(
            "INSERT INTO hbf_fs_content (sha256, size, data) VALUES (?1, ?2, ?3)
             ON CONFLICT (sha256) DO NOTHING",
        )?
        .execute(params![&content.sha256[..], size, &content.data])?;
    let id = if inserted == 1 {
        conn.last_insert_rowid()
    } else {
        conn.prepare_cached("SELECT id FROM hbf_fs_content WHERE sha256 = ?1")?
            .query_row([&content.sha256[..]], |r| r.get(0))?
    };
    append(conn, path, Some((id, size, content.sha256)), mtime_ms)
}

/// Appends the next version of `path`: `Some((content_id, size, sha256))` for
/// content, `None` for a tombstone. The latest-version row is upserted first,
/// which numbers the new version in the same statement (one B-tree descent
/// instead of a lookup and then an update).
fn append(
    conn: &Connection,
    path: &str,
    content: Option<(i64, i64, [u8; 32])>,
    mtime_ms: i64,
) -> Result<FileVersion> {
    let (content_id, size, sha256) = match content {
        Some((id, size, sha)) => (Some(id), size, Some(sha)),
        None => (None, 0, None),
    };
    let sha_sql = sha256.as_ref().map(|h| &h[..]);
    let deleted = content.is_none() as i64;
    let mut upsert = conn.prepare_cached(
        "INSERT INTO hbf_fs_file (path, version, mtime, size, sha256, content_id, deleted)
             VALUES (?1, 1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (path) DO UPDATE SET version = version + 1, mtime = excluded.mtime,
               size = excluded.size, sha256 = excluded.sha256,
               content_id = excluded.content_id, deleted = excluded.deleted
             RETURNING version",
    )?;
    let version: i64 = upsert.query_row(
        params![path, mtime_ms, size, sha_sql, content_id, deleted],
        |r| r.get(0),
    )?;
    drop(upsert);
    conn.prepare_cached(
        "INSERT INTO hbf_fs_version (path, version, mtime, size, sha256, content_id, deleted)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        path, version, mtime_ms, size, sha_sql, content_id, deleted
    ])?;
    Ok(FileVersion {
        path: path.to_owned(),
        version: version as u64,
        mtime_ms,
        size: size as u64,
        sha256,
        deleted: content.is_none(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::StatementStatus;

    #[test]
    fn preconditions_are_checked_in_the_writing_transaction() {
        let db = Database::memory().unwrap();
        let fs = db.fs();
        let stale = |r: Result<FileVersion>| match r {
            Err(Error::PreconditionFailed { current, .. }) => current,
            other => panic!("expected a failed precondition, got {other:?}"),
        };
        assert_eq!(stale(fs.write_if("a", "x", Precondition::Version(1))), None);
        assert_eq!(
            fs.write_if("a", "1", Precondition::Absent).unwrap().version,
            1
        );
        assert_eq!(stale(fs.write_if("a", "x", Precondition::Absent)), Some(1));
        assert_eq!(
            stale(fs.write_if("a", "x", Precondition::Version(2))),
            Some(1)
        );
        assert_eq!(
            fs.write_if("a", "2", Precondition::Version(1))
                .unwrap()
                .version,
            2
        );
        assert_eq!(stale(fs.delete_if("a", Precondition::Version(1))), Some(2));
        assert_eq!(
            stale(fs.revert_if("a", 1, Precondition::Version(1))),
            Some(2)
        );
        assert_eq!(
            fs.revert_if("a", 1, Precondition::Version(2))
                .unwrap()
                .version,
            3
        );
        assert_eq!(
            fs.delete_if("a", Precondition::Version(3)).unwrap().version,
            4
        );
        assert_eq!(
            fs.write_if("a", "new", Precondition::Absent)
                .unwrap()
                .version,
            5
        );
        assert_eq!(fs.read("a").unwrap(), b"new");
        assert_eq!(fs.history("a").unwrap().len(), 5);

        // Racing writers with the same expectation: exactly one wins.
        let winners: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..16)
                .map(|i| {
                    let fs = fs.clone();
                    s.spawn(move || {
                        fs.write_if("a", format!("{i}"), Precondition::Version(5))
                            .is_ok()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap() as usize)
                .sum()
        });
        assert_eq!(winners, 1);
        assert_eq!(fs.stat("a").unwrap().version, 6);
    }

    #[test]
    fn each_write_of_a_batch_stands_alone() {
        let db = Database::memory().unwrap();
        let fs = db.fs();
        fs.write("b", "b1").unwrap();
        let outcomes = fs
            .write_each_if(vec![
                ("a".into(), b"a1".to_vec(), Precondition::Absent),
                ("b".into(), b"stale".to_vec(), Precondition::Version(7)),
                ("../x".into(), b"x".to_vec(), Precondition::None),
                ("a".into(), b"a2".to_vec(), Precondition::Version(1)),
                ("a".into(), b"lost".to_vec(), Precondition::Version(1)),
                ("b".into(), b"b2".to_vec(), Precondition::None),
            ])
            .unwrap();
        let summary: Vec<std::result::Result<u64, String>> = outcomes
            .into_iter()
            .map(|o| o.map(|v| v.version).map_err(|e| format!("{e:?}")))
            .collect();
        assert_eq!(summary[0], Ok(1));
        assert!(summary[1]
            .as_ref()
            .unwrap_err()
            .contains("PreconditionFailed"));
        assert!(summary[2].as_ref().unwrap_err().contains("InvalidPath"));
        assert_eq!(summary[3], Ok(2));
        assert!(summary[4]
            .as_ref()
            .unwrap_err()
            .contains("PreconditionFailed"));
        assert_eq!(summary[5], Ok(2));
        assert_eq!(fs.read("a").unwrap(), b"a2");
        assert_eq!(fs.read("b").unwrap(), b"b2");
        assert_eq!(fs.history("a").unwrap().len(), 2);
    }

    #[test]
    fn listings_can_include_deleted_paths() {
        let db = Database::memory().unwrap();
        let fs = db.fs();
        fs.write("d/a", "a").unwrap();
        fs.write("d/b", "b").unwrap();
        fs.delete("d/b").unwrap();
        let names = |v: Vec<FileVersion>| {
            v.into_iter()
                .map(|f| (f.path, f.deleted))
                .collect::<Vec<_>>()
        };
        assert_eq!(names(fs.list("d/").unwrap()), [("d/a".to_owned(), false)]);
        assert_eq!(
            names(fs.list_with_deleted("d/", true).unwrap()),
            [("d/a".to_owned(), false), ("d/b".to_owned(), true)]
        );
    }

    #[test]
    fn writes_by_a_named_source_are_announced_after_commit() {
        let db = Database::memory().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let tx = std::sync::Mutex::new(tx);
        assert!(db.on_file_change(Box::new(move |v, source| {
            tx.lock()
                .unwrap()
                .send((v.path.clone(), v.version, v.deleted, source))
                .unwrap();
        })));
        db.fs().write("quiet", "x").unwrap();
        let api = db.fs_by("api");
        api.write("p", "1").unwrap();
        api.delete("p").unwrap();
        assert!(api.write_if("p", "2", Precondition::Version(1)).is_err());
        let got: Vec<_> = rx.try_iter().collect();
        assert_eq!(
            got,
            [
                ("p".to_owned(), 1, false, "api"),
                ("p".to_owned(), 2, true, "api")
            ]
        );
        assert!(db.written_here("p", 2));
        assert!(!db.written_here("p", 3));
        assert!(!db.written_here("quiet", 1));
    }

    #[test]
    fn reads_are_not_re_prepared() {
        let db = Database::memory().unwrap();
        let fs = db.fs();
        for i in 0..5 {
            fs.write(&format!("p{i}"), format!("{i}")).unwrap();
        }
        for _ in 0..3 {
            for i in 0..5 {
                fs.read(&format!("p{i}")).unwrap();
                fs.read_version(&format!("p{i}"), 1).unwrap();
            }
        }
        db.read(|conn| {
            for sql in [READ_LATEST, READ_VERSION] {
                let stmt = conn.prepare_cached(sql)?;
                assert_eq!(stmt.get_status(StatementStatus::Run), 15, "{sql}");
                assert_eq!(stmt.get_status(StatementStatus::RePrepare), 0, "{sql}");
            }
            Ok(())
        })
        .unwrap();
    }
}

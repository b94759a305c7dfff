//! [`VersionedFs`]: every write appends a version, reads see the latest.

use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};

use super::reader::FileReader;
use super::version::{
    hash_from_sql, head, missing_version, now_ms, to_sql_version, version_from_columns,
    version_from_row, FileVersion, Precondition,
};
use crate::path::checked;
use crate::{Database, Error, Result};

/// The versioned filesystem of one [`Database`]; cheap to clone.
#[derive(Clone)]
pub struct VersionedFs {
    pub(super) db: Database,
    /// Who writes through this handle, for [`Database::on_file_change`].
    source: Option<&'static str>,
}

// Reads fetch content with a correlated subquery, not a join: with STAT4 compiled
// in, SQLite re-prepares a join statement every time its parameter is re-bound,
// which tripled the cost of a read (see the test `reads_are_not_re_prepared`).
pub(super) const READ_LATEST: &str = "SELECT version, mtime, size, sha256, deleted,
    (SELECT data FROM hbf_fs_content WHERE id = content_id)
    FROM hbf_fs_file WHERE path = ?1";
pub(super) const READ_VERSION: &str = "SELECT version, mtime, size, sha256, deleted,
    (SELECT data FROM hbf_fs_content WHERE id = content_id)
    FROM hbf_fs_version WHERE path = ?1 AND version = ?2";

/// The latest version of a path with the id of its content row, for
/// [`VersionedFs::open`].
const OPEN_LATEST: &str =
    "SELECT version, mtime, size, sha256, deleted, content_id FROM hbf_fs_file WHERE path = ?1";

/// Content ready to be appended: its hash is computed before taking the writer.
pub(super) struct NewContent {
    data: Vec<u8>,
    pub(super) sha256: [u8; 32],
}

impl NewContent {
    pub(super) fn new(data: Vec<u8>) -> Self {
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
            Some((meta, Some(content_id))) if !meta.deleted => {
                Ok(FileReader::of_content(self.db.clone(), meta, content_id))
            }
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

    /// Whether `expected` holds for `path` now (as [`Self::write_if`] checks
    /// it again when it writes): for work that must come before a
    /// conditional write, like applying a migration before storing it.
    pub fn check(&self, path: &str, expected: Precondition) -> Result<()> {
        let path = checked(path)?;
        self.db
            .read(|conn| expected.check(&path, head(conn, &path)?.as_ref()))
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
}

/// Stores `content` (once per hash) and appends a version of `path` holding it.
pub(super) fn append_content(
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

//! What a version is, what a conditional write expects of it, and how a row
//! of `hbf_fs_file` or `hbf_fs_version` reads as one.

use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension};

use crate::{Error, Result};

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

/// What must hold for a conditional write ([`super::VersionedFs::write_if`]) to happen;
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
    pub(super) fn check(self, path: &str, head: Option<&FileVersion>) -> Result<()> {
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

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

pub(super) fn to_sql_version(version: u64) -> i64 {
    i64::try_from(version).unwrap_or(i64::MAX)
}

pub(super) fn hash_from_sql(blob: Option<Vec<u8>>) -> Option<[u8; 32]> {
    blob.and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
}

/// Reads `version, mtime, size, sha256, deleted` from columns 0..5.
pub(super) fn version_from_row(
    path: &str,
    row: &rusqlite::Row<'_>,
) -> rusqlite::Result<FileVersion> {
    version_from_columns(path.to_owned(), row, 0)
}

pub(super) fn version_from_columns(
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
pub(super) fn head(conn: &Connection, path: &str) -> Result<Option<FileVersion>> {
    Ok(conn
        .prepare_cached(
            "SELECT version, mtime, size, sha256, deleted FROM hbf_fs_file WHERE path = ?1",
        )?
        .query_row([path], |r| version_from_row(path, r))
        .optional()?)
}

/// The error for a version that does not exist.
pub(super) fn missing_version(conn: &Connection, path: &str, version: u64) -> Result<Error> {
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

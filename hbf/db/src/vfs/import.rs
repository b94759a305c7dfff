//! Importing an SQLite Archive into the versioned filesystem, without
//! overwriting a live edit.

use std::collections::BTreeMap;

use rusqlite::{params, OptionalExtension};
use sha2::{Digest, Sha256};

use super::fs::{append_content, NewContent, VersionedFs};
use super::version::{head, now_ms};
use crate::archive::{ArchiveEntry, EntryKind};
use crate::{Error, Result};

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

impl VersionedFs {
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

//! A pod's schema migrations: the SQL files `hbf/migrations/NNNN_name.sql`
//! of its versioned filesystem, applied once each, in the order of their
//! names.
//!
//! A migration runs on a pod connection ([`crate::UserDb`]), so it is pod SQL
//! under the same authorizer and schema rule as any other (no platform table
//! written, no object referring to one), with the request's limits replaced
//! by the migration's time limit. It runs in one `BEGIN IMMEDIATE`
//! transaction together with its record in `hbf_migration` (name, SHA-256,
//! applied at, duration): it is applied entirely or not at all, a crash in
//! the middle leaves it unapplied, and of two processes applying it at once
//! one runs it (the record is read inside the write transaction).
//!
//! A migration that was applied is never run again: a file whose content
//! differs from what ran is an error naming both hashes
//! ([`Error::MigrationChanged`]); the change belongs in a new migration. A
//! deleted file of an applied migration is only reported (`Missing`).
//!
//! The server applies pending migrations before it serves, the packer when it
//! builds a pod, and a live save of a migration (dev API `PUT`, `hbf fs put`)
//! applies it before the file is stored ([`Database::apply_migration`]), so a
//! failing one stores nothing and the code beside it keeps serving.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::OptionalExtension;
use sha2::{Digest, Sha256};

use crate::{Database, Error, Result};

/// The directory of a pod's migrations in its filesystem.
pub const MIGRATIONS_DIR: &str = "hbf/migrations/";

/// The time limit of one migration when none is given (`--migration-timeout`).
pub const DEFAULT_MIGRATION_TIMEOUT: Duration = Duration::from_secs(60);

/// The migration name of a file path: `0001_notes.sql` for
/// `hbf/migrations/0001_notes.sql`; `None` for any other path (files in
/// subdirectories of `hbf/migrations/` and other extensions are not
/// migrations).
pub fn migration_name(path: &str) -> Option<&str> {
    let name = path.strip_prefix(MIGRATIONS_DIR)?;
    (name.len() > ".sql".len() && name.ends_with(".sql") && !name.contains('/')).then_some(name)
}

/// Where a migration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrationState {
    /// It ran, with the file's present content.
    Applied,
    /// Its file is there; it has not run.
    Pending,
    /// It ran, but the file's content has changed since (an error).
    Changed,
    /// It ran; its file has been deleted since.
    Missing,
}

impl MigrationState {
    /// The word the CLI and the dev API use.
    pub fn as_str(self) -> &'static str {
        match self {
            MigrationState::Applied => "applied",
            MigrationState::Pending => "pending",
            MigrationState::Changed => "changed",
            MigrationState::Missing => "missing",
        }
    }
}

/// The record of an applied migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedRecord {
    pub sha256: [u8; 32],
    /// Milliseconds since the Unix epoch.
    pub applied_at_ms: i64,
    pub duration_ms: u64,
}

/// One migration: a file, a record, or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// `0001_notes.sql`.
    pub name: String,
    pub state: MigrationState,
    /// The SHA-256 of the file's present content (`None`: no file).
    pub sha256: Option<[u8; 32]>,
    pub applied: Option<AppliedRecord>,
}

impl Migration {
    /// Its path in the pod's filesystem.
    pub fn path(&self) -> String {
        format!("{MIGRATIONS_DIR}{}", self.name)
    }
}

/// A migration this process has just run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    pub name: String,
    pub duration: Duration,
}

/// The last migration that failed in this process (for `/__dev/api` and the
/// editor; the log has every one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationError {
    pub name: String,
    pub message: String,
    /// Milliseconds since the Unix epoch.
    pub at_ms: i64,
}

impl Database {
    /// Every migration, by name: the files under [`MIGRATIONS_DIR`] and the
    /// records of those applied.
    pub fn migrations(&self) -> Result<Vec<Migration>> {
        let files: Vec<(String, [u8; 32])> = self
            .fs()
            .list(MIGRATIONS_DIR)?
            .into_iter()
            .filter_map(|f| {
                let name = migration_name(&f.path)?.to_owned();
                Some((name, f.sha256?))
            })
            .collect();
        let records = self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT name, sha256, applied_at, duration_ms FROM hbf_migration",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })?;
        let mut out: std::collections::BTreeMap<String, Migration> = files
            .into_iter()
            .map(|(name, sha)| {
                let m = Migration {
                    name: name.clone(),
                    state: MigrationState::Pending,
                    sha256: Some(sha),
                    applied: None,
                };
                (name, m)
            })
            .collect();
        for (name, sha, at, duration) in records {
            let sha: [u8; 32] = sha
                .try_into()
                .map_err(|_| Error::Internal(format!("hbf_migration row {name:?}: bad hash")))?;
            let record = AppliedRecord {
                sha256: sha,
                applied_at_ms: at,
                duration_ms: duration.max(0) as u64,
            };
            let entry = out.entry(name.clone()).or_insert(Migration {
                name,
                state: MigrationState::Missing,
                sha256: None,
                applied: None,
            });
            if entry.sha256.is_some() {
                entry.state = if entry.sha256 == Some(sha) {
                    MigrationState::Applied
                } else {
                    MigrationState::Changed
                };
            }
            entry.applied = Some(record);
        }
        Ok(out.into_values().collect())
    }

    /// Applies every pending migration in name order, each with `timeout`,
    /// stopping at the first that fails (those before it stay applied). A
    /// changed applied migration is an error before anything runs.
    pub fn migrate(&self, timeout: Duration) -> Result<Vec<Ran>> {
        let all = self.migrations()?;
        if let Some(changed) = all.iter().find(|m| m.state == MigrationState::Changed) {
            let error = changed_error(changed);
            self.remember(&changed.name, &error);
            return Err(error);
        }
        let mut ran = Vec::new();
        for m in all.iter().filter(|m| m.state == MigrationState::Pending) {
            let path = m.path();
            let sql = self.fs().read(&path)?;
            if let Some(r) = self.apply_migration(&path, &sql, timeout)? {
                ran.push(r);
            }
        }
        Ok(ran)
    }

    /// Applies the migration at `path` with the content `sql` (a live save:
    /// called before the file is stored). `Ok(None)`: it was applied already
    /// with this content. An error leaves the database as it was.
    pub fn apply_migration(
        &self,
        path: &str,
        sql: &[u8],
        timeout: Duration,
    ) -> Result<Option<Ran>> {
        let name = migration_name(path)
            .ok_or_else(|| Error::Internal(format!("{path} is not a migration")))?;
        let result = self.run_one(name, path, sql, timeout);
        match &result {
            Ok(Some(_)) => *self.shared_last_migration_error().lock() = None,
            Ok(None) => {}
            Err(e) => self.remember(name, e),
        }
        result
    }

    /// Refuses content for `path` that would change an applied migration
    /// ([`Error::MigrationChanged`]); anything else passes. For writes that
    /// store a migration without applying it (a revert), so that the next
    /// start does not meet a changed migration.
    pub fn check_migration_content(&self, path: &str, content: &[u8]) -> Result<()> {
        let Some(name) = migration_name(path) else {
            return Ok(());
        };
        let sha256: [u8; 32] = Sha256::digest(content).into();
        let applied: Option<Vec<u8>> = self.read(|conn| {
            Ok(conn
                .query_row(
                    "SELECT sha256 FROM hbf_migration WHERE name = ?1",
                    [name],
                    |r| r.get(0),
                )
                .optional()?)
        })?;
        match applied {
            Some(hash) if hash != sha256 => Err(Error::MigrationChanged {
                path: path.to_owned(),
                applied: hex::encode(hash),
                now: hex::encode(sha256),
            }),
            _ => Ok(()),
        }
    }

    /// The last migration that failed in this process, until one succeeds.
    pub fn last_migration_error(&self) -> Option<MigrationError> {
        self.shared_last_migration_error().lock().clone()
    }

    fn run_one(
        &self,
        name: &str,
        path: &str,
        sql: &[u8],
        timeout: Duration,
    ) -> Result<Option<Ran>> {
        let failed = |message: String| Error::MigrationFailed {
            path: path.to_owned(),
            message,
        };
        let text = std::str::from_utf8(sql).map_err(|e| failed(format!("not UTF-8 text ({e})")))?;
        let sha256: [u8; 32] = Sha256::digest(sql).into();
        // Cheap and outside any write lock: an applied migration is the
        // common case at every start.
        let applied: Option<Vec<u8>> = self.read(|conn| {
            Ok(conn
                .query_row(
                    "SELECT sha256 FROM hbf_migration WHERE name = ?1",
                    [name],
                    |r| r.get(0),
                )
                .optional()?)
        })?;
        if applied.as_deref() == Some(&sha256[..]) {
            return Ok(None);
        }
        let deadline = Instant::now() + timeout;
        let user = self.user_db()?;
        match user.run_migration(name, path, &sha256, text, deadline) {
            Ok(Some(duration)) => Ok(Some(Ran {
                name: name.to_owned(),
                duration,
            })),
            Ok(None) => Ok(None),
            Err(e @ Error::MigrationChanged { .. }) => Err(e),
            Err(_) if Instant::now() >= deadline => Err(failed(format!(
                "ran past the migration time limit of {} s (--migration-timeout)",
                timeout.as_secs_f64()
            ))),
            Err(Error::Sql(message)) => Err(failed(message)),
            Err(Error::Sqlite(e)) => Err(failed(e.to_string())),
            Err(other) => Err(other),
        }
    }

    fn remember(&self, name: &str, error: &Error) {
        let at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        *self.shared_last_migration_error().lock() = Some(MigrationError {
            name: name.to_owned(),
            message: error.to_string(),
            at_ms,
        });
    }
}

fn changed_error(m: &Migration) -> Error {
    Error::MigrationChanged {
        path: m.path(),
        applied: m
            .applied
            .as_ref()
            .map(|a| hex::encode(a.sha256))
            .unwrap_or_default(),
        now: m.sha256.map(hex::encode).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests;

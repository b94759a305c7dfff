//! SQLite Archives: the `sqlar` table that `sqlite3 -A` reads and writes.
//!
//! Format (as the SQLite CLI defines it): one row per entry with `name`, `mode`
//! (Unix mode bits, file type included), `mtime` (seconds since the epoch), `sz`
//! (the uncompressed size; -1 for a symlink) and `data`. A file's data is stored
//! zlib-compressed when that is smaller, raw otherwise; a reader tells them apart
//! by comparing `length(data)` with `sz`. A directory has `sz = 0` and no data; a
//! symlink's data is its target.

use std::io::{Read, Write};
use std::path::Path;

use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use crate::{Database, Error, Result};

/// The table definition the SQLite CLI uses.
pub(crate) const CREATE_SQLAR: &str = "CREATE TABLE IF NOT EXISTS sqlar(
  name TEXT PRIMARY KEY,  -- name of the file
  mode INT,               -- access permissions
  mtime INT,              -- last modification time
  sz INT,                 -- original file size
  data BLOB               -- compressed content
)";

const S_IFMT: u32 = 0o170_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFLNK: u32 = 0o120_000;
const S_IFREG: u32 = 0o100_000;

/// What an archive entry is, from its mode bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Directory,
    Symlink,
}

/// One archive entry, with its content uncompressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveEntry {
    pub name: String,
    /// Unix mode bits including the file type (e.g. `0o100644`).
    pub mode: u32,
    /// Modification time, seconds since the Unix epoch.
    pub mtime: i64,
    /// The content (a symlink's target; empty for a directory).
    pub data: Vec<u8>,
}

impl ArchiveEntry {
    /// A regular file with mode 0644.
    pub fn file(name: impl Into<String>, mtime: i64, data: impl Into<Vec<u8>>) -> Self {
        Self {
            name: name.into(),
            mode: S_IFREG | 0o644,
            mtime,
            data: data.into(),
        }
    }

    /// A directory with mode 0755.
    pub fn directory(name: impl Into<String>, mtime: i64) -> Self {
        Self {
            name: name.into(),
            mode: S_IFDIR | 0o755,
            mtime,
            data: Vec::new(),
        }
    }

    /// What the entry is. A mode without file-type bits counts as a file.
    pub fn kind(&self) -> EntryKind {
        match self.mode & S_IFMT {
            S_IFDIR => EntryKind::Directory,
            S_IFLNK => EntryKind::Symlink,
            _ => EntryKind::File,
        }
    }
}

/// A standalone SQLite Archive file (or any SQLite database with a `sqlar` table).
pub struct Archive {
    conn: Connection,
}

impl Archive {
    /// Opens the archive at `path`, creating the file and the table if missing.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let conn = Connection::open(path)?;
        conn.execute_batch(CREATE_SQLAR)?;
        Ok(Self { conn })
    }

    /// Opens an existing archive without writing to it.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Self> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        Ok(Self { conn })
    }

    /// Opens a database image held in memory (for example the embedded template).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut conn = Connection::open_in_memory()?;
        conn.deserialize_read_exact(rusqlite::MAIN_DB, bytes, bytes.len(), true)?;
        Ok(Self { conn })
    }

    /// Adds or replaces entries, in one transaction.
    pub fn put_all(&mut self, entries: &[ArchiveEntry]) -> Result<()> {
        let tx = self.conn.transaction()?;
        put_entries(&tx, entries)?;
        tx.commit()?;
        Ok(())
    }

    /// Every entry, sorted by name, content uncompressed and checked.
    pub fn entries(&self) -> Result<Vec<ArchiveEntry>> {
        read_entries(&self.conn)
    }

    /// One entry by name, or `None`.
    pub fn get(&self, name: &str) -> Result<Option<ArchiveEntry>> {
        let row = self
            .conn
            .query_row(
                "SELECT name, mode, mtime, sz, data FROM sqlar WHERE name = ?1",
                [name],
                raw_row,
            )
            .optional()
            .map_err(missing_table)?;
        row.map(decode).transpose()
    }
}

impl Database {
    /// Adds or replaces entries of the database's own `sqlar` table (created if
    /// missing), in one transaction.
    pub fn write_archive(&self, entries: Vec<ArchiveEntry>) -> Result<()> {
        self.write(move |conn| {
            conn.execute_batch(CREATE_SQLAR)?;
            put_entries(conn, &entries)
        })
    }

    /// Every entry of the database's `sqlar` table (empty if it has none).
    pub fn archive_entries(&self) -> Result<Vec<ArchiveEntry>> {
        self.read(|conn| {
            let exists: bool = conn.query_row(
                "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'sqlar'",
                [],
                |r| r.get(0),
            )?;
            if exists {
                read_entries(conn)
            } else {
                Ok(Vec::new())
            }
        })
    }
}

/// A row as stored: name, mode, mtime, sz, data.
type RawRow = (String, i64, i64, i64, Option<Vec<u8>>);

fn raw_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn missing_table(e: rusqlite::Error) -> Error {
    match &e {
        rusqlite::Error::SqliteFailure(_, Some(msg)) if msg.contains("no such table") => {
            Error::BadArchiveEntry {
                name: String::new(),
                reason: "the database has no sqlar table (not an SQLite Archive)".into(),
            }
        }
        _ => Error::Sqlite(e),
    }
}

fn put_entries(conn: &Connection, entries: &[ArchiveEntry]) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "REPLACE INTO sqlar (name, mode, mtime, sz, data) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for entry in entries {
        let (sz, data): (i64, Option<Vec<u8>>) = match entry.kind() {
            EntryKind::Directory => (0, None),
            EntryKind::Symlink => (-1, Some(entry.data.clone())),
            EntryKind::File => (entry.data.len() as i64, Some(compress(&entry.data))),
        };
        stmt.execute(params![entry.name, entry.mode, entry.mtime, sz, data])?;
    }
    Ok(())
}

fn read_entries(conn: &Connection) -> Result<Vec<ArchiveEntry>> {
    let mut stmt = conn
        .prepare("SELECT name, mode, mtime, sz, data FROM sqlar ORDER BY name")
        .map_err(missing_table)?;
    let rows = stmt
        .query_map([], raw_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter().map(decode).collect()
}

/// zlib-compresses `data`, keeping whichever of compressed and raw is smaller.
fn compress(data: &[u8]) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
    let compressed = encoder
        .write_all(data)
        .and_then(|()| encoder.finish())
        .expect("writing to a Vec cannot fail");
    if compressed.len() < data.len() {
        compressed
    } else {
        data.to_vec()
    }
}

/// Turns a stored row into an entry, uncompressing and checking its size.
fn decode((name, mode, mtime, sz, data): RawRow) -> Result<ArchiveEntry> {
    let bad = |reason: String| Error::BadArchiveEntry {
        name: name.clone(),
        reason,
    };
    let mode = u32::try_from(mode).map_err(|_| bad(format!("invalid mode {mode}")))?;
    let stored = data.unwrap_or_default();
    let probe = ArchiveEntry {
        name: name.clone(),
        mode,
        mtime,
        data: Vec::new(),
    };
    let data = match probe.kind() {
        EntryKind::Directory => Vec::new(),
        EntryKind::Symlink => stored,
        EntryKind::File => {
            let size = usize::try_from(sz).map_err(|_| bad(format!("invalid size {sz}")))?;
            if stored.len() == size {
                stored
            } else if stored.len() > size {
                return Err(bad(format!(
                    "stored data ({} bytes) is larger than its size {size}",
                    stored.len()
                )));
            } else {
                let mut out = Vec::with_capacity(size.min(64 << 20));
                // Read at most one byte past the declared size: a corrupt or
                // malicious row cannot make us inflate without bound.
                ZlibDecoder::new(stored.as_slice())
                    .take(size as u64 + 1)
                    .read_to_end(&mut out)
                    .map_err(|e| bad(format!("corrupt compressed data: {e}")))?;
                if out.len() != size {
                    return Err(bad(format!(
                        "uncompressed to {} bytes, expected {size}",
                        out.len()
                    )));
                }
                out
            }
        }
    };
    Ok(ArchiveEntry { data, ..probe })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compresses_only_when_smaller() {
        let text = b"abcabcabc".repeat(100);
        assert!(compress(&text).len() < text.len());
        let tiny = b"xy";
        assert_eq!(compress(tiny), tiny.to_vec());
    }

    #[test]
    fn corrupt_zlib_is_a_clear_error() {
        let err = decode(("f".into(), 0o100644, 0, 100, Some(vec![1, 2, 3]))).unwrap_err();
        assert!(err.to_string().contains("corrupt compressed data"), "{err}");
        let err = decode(("f".into(), 0o100644, 0, 2, Some(vec![1, 2, 3]))).unwrap_err();
        assert!(err.to_string().contains("larger than its size"), "{err}");
        let err = decode(("f".into(), 0o100644, 0, -5, Some(vec![]))).unwrap_err();
        assert!(err.to_string().contains("invalid size"), "{err}");
    }

    /// File content: compressible (a repeated pattern, stored zlib-compressed)
    /// or incompressible (random bytes, stored raw), empty included.
    fn content() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        prop_oneof![
            (prop::collection::vec(any::<u8>(), 1..8), 0usize..600)
                .prop_map(|(unit, n)| unit.repeat(n)),
            prop::collection::vec(any::<u8>(), 0..1500),
        ]
    }

    /// Entries with distinct names: files, directories and a symlink.
    fn entries() -> impl proptest::strategy::Strategy<Value = Vec<ArchiveEntry>> {
        use proptest::prelude::*;
        let entry = (0u8..10, any::<i64>(), content()).prop_map(|(kind, mtime, data)| match kind {
            0 => ArchiveEntry::directory("", mtime),
            1 => ArchiveEntry {
                name: String::new(),
                mode: S_IFLNK | 0o777,
                mtime,
                data: b"target/of/link".to_vec(),
            },
            _ => ArchiveEntry::file("", mtime, data),
        });
        prop::collection::btree_map("[a-z]{1,6}(/[a-zé.]{1,6}){0,2}", entry, 0..12).prop_map(|m| {
            m.into_iter()
                .map(|(name, entry)| ArchiveEntry { name, ..entry })
                .collect()
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        #[test]
        fn sqlar_round_trip(entries in entries()) {
            // In the database's own sqlar table.
            let db = Database::memory().unwrap();
            db.write_archive(entries.clone()).unwrap();
            let back = db.archive_entries().unwrap();
            proptest::prop_assert_eq!(&back, &entries);
            // Stored as the format says: sz is the size, data compressed only when smaller.
            let rows: Vec<(String, i64, Option<Vec<u8>>)> = db
                .read(|c| {
                    let mut stmt = c.prepare("SELECT name, sz, data FROM sqlar ORDER BY name")?;
                    let rows = stmt
                        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                        .collect::<rusqlite::Result<Vec<_>>>()?;
                    Ok(rows)
                })
                .unwrap();
            for ((name, sz, data), entry) in rows.iter().zip(&entries) {
                proptest::prop_assert_eq!(name, &entry.name);
                match entry.kind() {
                    EntryKind::Directory => {
                        proptest::prop_assert_eq!(*sz, 0);
                        proptest::prop_assert!(data.is_none());
                    }
                    EntryKind::Symlink => proptest::prop_assert_eq!(*sz, -1),
                    EntryKind::File => {
                        proptest::prop_assert_eq!(*sz, entry.data.len() as i64);
                        let stored = data.as_ref().unwrap();
                        proptest::prop_assert!(stored.len() <= entry.data.len());
                        if stored.len() < entry.data.len() {
                            proptest::prop_assert_eq!(&stored[..1], &[0x78][..], "zlib header");
                        }
                    }
                }
            }
            // In a standalone archive file, read back as bytes too.
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("a.sqlar");
            let mut archive = Archive::open(&path).unwrap();
            archive.put_all(&entries).unwrap();
            proptest::prop_assert_eq!(&archive.entries().unwrap(), &entries);
            for entry in &entries {
                let got = archive.get(&entry.name).unwrap();
                proptest::prop_assert_eq!(got.as_ref(), Some(entry));
            }
            drop(archive);
            let bytes = std::fs::read(&path).unwrap();
            proptest::prop_assert_eq!(&Archive::from_bytes(&bytes).unwrap().entries().unwrap(), &entries);
        }
    }

    #[test]
    fn a_size_lie_cannot_inflate_without_bound() {
        let bomb = compress(&vec![0u8; 1 << 20]);
        let err =
            decode(("b".into(), 0o100644, 0, 10 + bomb.len() as i64, Some(bomb))).unwrap_err();
        assert!(err.to_string().contains("expected"), "{err}");
    }
}

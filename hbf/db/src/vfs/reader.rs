//! [`FileReader`]: one version's content, read whole or by offset.

use rusqlite::OptionalExtension;

use super::version::FileVersion;
use crate::{Database, Error, Result};

/// An open file: the version [`super::VersionedFs::open`] found and its content, read
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

//! [`BlockStore`]: storing, reading and deleting entries, each a transaction
//! through the group commit or a read on a pooled reader.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use rusqlite::Connection;

use super::eviction::{evict, write_uses, Uses};
use super::kind::{BlockKind, BlockPut, BlockStatus, KindStatus};
use super::rows::{
    self, check, insert_content, link, missing_content, tick, unlink, Checked, Counts,
};
use super::shared::Shared;
use super::upload::Upload;
use crate::vfs::now_ms;
use crate::{Database, FileReader, FileVersion, Result};

/// Blocks and Bazel cache entries of one [`Database`]; cheap to clone.
#[derive(Clone)]
pub struct BlockStore {
    pub(super) db: Database,
    pub(super) shared: Arc<Shared>,
}

impl BlockStore {
    /// The store of `db` without a byte limit, for writers that are not the
    /// block service (a pod's `hbf:blob`). Leaves other uploads alone.
    pub fn new(db: Database) -> Self {
        Self::with_limit(db, None)
    }

    /// The store of `db` for the block service: `max_bytes` bounds the `cas` +
    /// `ac` entries (least recently used evicted first). Deletes the pieces of
    /// uploads a killed process left behind, so call it once, at start.
    pub fn start(db: Database, max_bytes: Option<u64>) -> Result<Self> {
        let removed = db.write(|conn| Ok(conn.execute("DELETE FROM hbf_block_upload", [])?))?;
        if removed > 0 {
            tracing::info!("deleted {removed} pieces of unfinished uploads");
        }
        Ok(Self::with_limit(db, max_bytes))
    }

    fn with_limit(db: Database, max_bytes: Option<u64>) -> Self {
        Self {
            db,
            shared: Arc::new(Shared {
                max_bytes,
                uses: Uses::default(),
                // Unique across restarts too (a killed upload's rows, if any
                // are left, never mix with a new one's).
                next_upload: AtomicI64::new(now_ms().saturating_mul(1000)),
            }),
        }
    }

    /// Stores a block (1 byte to [`crate::MAX_BLOCK`]) and returns its
    /// SHA-256; a block already present is stored once.
    pub fn put_block(&self, data: Vec<u8>) -> Result<[u8; 32]> {
        self.put(BlockKind::Block, None, data)
    }

    /// Stores one entry ([`BlockPut`]) and returns its key.
    pub fn put(&self, kind: BlockKind, key: Option<[u8; 32]>, data: Vec<u8>) -> Result<[u8; 32]> {
        let mut outcomes = self.put_many(vec![BlockPut { kind, key, data }])?;
        outcomes.pop().expect("one outcome per put")
    }

    /// Stores several entries in one transaction, each checked on its own (an
    /// invalid one gets its error in its place, the others are stored); the
    /// outer error is for the transaction (nothing stored). Hashes are
    /// computed before the writer is taken.
    pub fn put_many(&self, puts: Vec<BlockPut>) -> Result<Vec<Result<[u8; 32]>>> {
        let checked: Vec<Result<Checked>> = puts.into_iter().map(check).collect();
        if checked.iter().all(Result::is_err) {
            return Ok(checked.into_iter().map(|c| c.map(|_| [0; 32])).collect());
        }
        let shared = Arc::clone(&self.shared);
        let db = self.db.clone();
        self.db.write(move |conn| {
            note_outside_commits(&db, conn)?;
            let mark = tick();
            let mut counts = Counts::default();
            let mut out = Vec::with_capacity(checked.len());
            let mut cache_written = false;
            for item in checked {
                out.push(match item {
                    Err(e) => Err(e),
                    Ok(c) => {
                        let (id, new) = insert_content(conn, &c.sha256, &c.data)?;
                        let size = c.data.len() as u64;
                        link(conn, &mut counts, c.kind, &c.key, id, size, new)?;
                        cache_written |= c.kind != BlockKind::Block;
                        Ok(c.key)
                    }
                });
            }
            counts.write(conn)?;
            if cache_written {
                evict(conn, &shared.uses, shared.max_bytes, mark)?;
            }
            Ok(out)
        })
    }

    /// The whole content of an entry, or `None`. Records a cache entry's use.
    pub fn get(&self, kind: BlockKind, key: &[u8; 32]) -> Result<Option<Vec<u8>>> {
        if kind == BlockKind::Block {
            return Ok(self.get_block(key)?.map(|data| data.to_vec()));
        }
        match self.db.read(|conn| rows::content(conn, kind, key))? {
            None => Ok(None),
            Some(None) => Err(missing_content(kind, key)),
            Some(Some(data)) => {
                self.touch(kind, key)?;
                Ok(Some(data))
            }
        }
    }

    /// Block `key` if it is in memory: no SQLite read, so cheap enough for
    /// an async thread. `None` says nothing about whether the block exists.
    pub fn cached_block(&self, key: &[u8; 32]) -> Option<Arc<[u8]>> {
        let cache = self.db.block_cache();
        if cache.poll_due() {
            let _ = self
                .db
                .try_with_writer(|conn| note_outside_commits(&self.db, conn));
        }
        cache.get(key)
    }

    /// The content of block `key`, or `None`: from memory if it was read
    /// recently (see [`super::cache`]), shared, not copied.
    pub fn get_block(&self, key: &[u8; 32]) -> Result<Option<Arc<[u8]>>> {
        if let Some(data) = self.cached_block(key) {
            return Ok(Some(data));
        }
        let cache = self.db.block_cache();
        let epoch = cache.epoch();
        let found = self
            .db
            .read(|conn| rows::content(conn, BlockKind::Block, key))?;
        let Some(data) = found else {
            return Ok(None);
        };
        let data: Arc<[u8]> = data
            .ok_or_else(|| missing_content(BlockKind::Block, key))?
            .into();
        cache.insert(*key, Arc::clone(&data), epoch);
        Ok(Some(data))
    }

    /// An entry's content, to read whole or piece by piece ([`FileReader`],
    /// pinned to the content row), or `None`. Records a cache entry's use.
    pub fn open(&self, kind: BlockKind, key: &[u8; 32]) -> Result<Option<FileReader>> {
        let Some((content_id, size, used, sha256)) =
            self.db.read(|conn| rows::entry(conn, kind, key))?
        else {
            return Ok(None);
        };
        let sha256 = sha256
            .and_then(|s| <[u8; 32]>::try_from(s.as_slice()).ok())
            .ok_or_else(|| missing_content(kind, key))?;
        self.touch(kind, key)?;
        let meta = FileVersion {
            path: format!("{}/{}", kind.name(), hex::encode(key)),
            version: 1,
            mtime_ms: used,
            size: size as u64,
            sha256: Some(sha256),
            deleted: false,
        };
        Ok(Some(FileReader::of_content(
            self.db.clone(),
            meta,
            content_id,
        )))
    }

    /// An entry's size, or `None` (no content read, no use recorded).
    pub fn size(&self, kind: BlockKind, key: &[u8; 32]) -> Result<Option<u64>> {
        self.db.read(|conn| rows::size(conn, kind, key))
    }

    /// True when the entry exists.
    pub fn has(&self, kind: BlockKind, key: &[u8; 32]) -> Result<bool> {
        Ok(self.size(kind, key)?.is_some())
    }

    /// Removes an entry; its content goes too unless a file version or another
    /// name uses it (same transaction). `false` if there was none.
    pub fn delete(&self, kind: BlockKind, key: &[u8; 32]) -> Result<bool> {
        let key = *key;
        let db = self.db.clone();
        let deleted = self.db.write(move |conn| {
            note_outside_commits(&db, conn)?;
            let mut counts = Counts::default();
            let deleted = unlink(conn, &mut counts, kind, &key)?;
            counts.write(conn)?;
            Ok(deleted)
        })?;
        if kind == BlockKind::Block {
            // Committed: a read from now on finds no row, and one that found
            // it before does not put it back.
            self.db.block_cache().remove(&key);
        }
        Ok(deleted)
    }

    /// Counts and bytes per kind, and the limit.
    pub fn status(&self) -> Result<BlockStatus> {
        let mut status = BlockStatus {
            max_bytes: self.shared.max_bytes,
            ..BlockStatus::default()
        };
        self.db.read(|conn| {
            let mut stmt = conn.prepare_cached("SELECT kind, count, bytes FROM hbf_block_stat")?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?;
            for row in rows {
                let (kind, count, bytes) = row?;
                let k = KindStatus {
                    count: count as u64,
                    bytes: bytes as u64,
                };
                match BlockKind::from_name(&kind) {
                    Some(BlockKind::Block) => status.block = k,
                    Some(BlockKind::Cas) => status.cas = k,
                    Some(BlockKind::Ac) => status.ac = k,
                    None => {}
                }
            }
            Ok(())
        })?;
        Ok(status)
    }

    /// Starts a streamed upload of a `kind` entry under `key` (a block's key
    /// is checked as a CAS key), at most `limit` bytes.
    pub fn begin_upload(&self, kind: BlockKind, key: [u8; 32], limit: u64) -> Upload {
        let id = self.shared.next_upload.fetch_add(1, Ordering::Relaxed);
        Upload::new(
            self.db.clone(),
            Arc::clone(&self.shared),
            kind,
            key,
            id,
            limit,
        )
    }

    /// Writes the uses recorded in memory (see [`super::eviction`]).
    pub fn flush_used(&self) -> Result<()> {
        let pending = self.shared.uses.take();
        if pending.is_empty() {
            return Ok(());
        }
        self.db.write(move |conn| write_uses(conn, pending))
    }

    fn touch(&self, kind: BlockKind, key: &[u8; 32]) -> Result<()> {
        if kind == BlockKind::Block {
            return Ok(()); // never evicted: its use does not matter
        }
        if self.shared.uses.touch(kind, key) {
            self.flush_used()?;
        }
        Ok(())
    }
}

/// Tells the block cache the writer's `PRAGMA data_version` (on the writer:
/// it changes only when another connection commits).
fn note_outside_commits(db: &Database, writer: &Connection) -> Result<()> {
    let version: i64 = writer
        .prepare_cached("PRAGMA data_version")?
        .query_row([], |r| r.get(0))?;
    db.block_cache().note_data_version(version);
    Ok(())
}

//! Content-addressed blocks: names for content rows, by hash.
//!
//! The versioned filesystem already stores each distinct content once, keyed
//! by its SHA-256 (`hbf_fs_content`). A [`BlockStore`] gives such rows a
//! second kind of name, a *reference* (`hbf_block_ref`), of one of three
//! [`BlockKind`]s:
//!
//! * `block`: the Buddy Blocks API. The key is the content's SHA-256, computed
//!   here; 1 byte to [`MAX_BLOCK`]. Removed only by [`BlockStore::delete`].
//! * `cas`: Bazel's content-addressable store. The key is the content's
//!   SHA-256 as the client sent it, verified before anything is stored.
//! * `ac`: Bazel's action cache. The key is an action digest; the content is
//!   whatever the client stores (a later `put` replaces it).
//!
//! # The storage invariant
//!
//! A content row is deleted only in the transaction that removes its last
//! user: when a reference goes ([`BlockStore::delete`], an eviction, an `ac`
//! entry replaced) and neither another reference nor any file version
//! (`hbf_fs_version`, indexed by `content_id` for this one lookup) uses it.
//! The versioned filesystem never deletes content, so deleting a file never
//! removes a live block, and a block and a file with the same bytes share one
//! row. Every write goes through [`Database::write`] (group commit: one WAL
//! commit for many writers, `synchronous = NORMAL`), so a `put` that returned
//! survives `kill -9`.
//!
//! # Large entries
//!
//! A `cas`/`ac` entry up to the caller's limit (Bazel's outputs, 64 MiB by
//! default) is never held in memory whole, nor holds the writer while it
//! arrives: an [`Upload`] stores each piece in `hbf_block_upload` in its own
//! short transaction while the SHA-256 is computed as the bytes pass, then one
//! transaction makes the content row (`zeroblob(size)`), copies the pieces in
//! with incremental BLOB I/O (hashing them again: what is stored is what was
//! verified), links the reference and deletes the pieces. An upload that is
//! dropped unfinished deletes its pieces; [`BlockStore::start`] deletes any a
//! killed process left.
//!
//! # Eviction and "used"
//!
//! With a byte limit ([`BlockStore::start`]), the `cas` and `ac` entries
//! together are kept under it by deleting the least recently used ones in the
//! transaction that passed it (never `block` entries, and never one written
//! or replaced in that same transaction). A read must not become a write, so
//! [`BlockStore::open`]ing a cache entry only records its key and a tick of a
//! logical clock in memory; the recorded uses are written in one transaction
//! before each eviction, when [`TOUCHES_KEPT`] keys are waiting, or when
//! [`BlockStore::flush_used`] is called (the HTTP layer's writer thread does
//! so when idle). A crash loses at most those pending uses: some entries look
//! older than they are, which only changes what is evicted first.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};

use crate::database::lock;
use crate::vfs::{now_ms, to_hex};
use crate::{Database, Error, FileReader, FileVersion, Result};

/// The largest `block` entry (512 KiB, as Buddy Blocks).
pub const MAX_BLOCK: usize = 512 << 10;

/// A block key as the routes and `hbf:blob` spell it: 64 lowercase hex digits.
pub fn key_to_hex(key: &[u8; 32]) -> String {
    to_hex(key)
}

/// 64 hex digits (either case) as the 32 bytes they spell; `None` for any
/// other text.
pub fn key_from_hex(text: &str) -> Option<[u8; 32]> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut key = [0u8; 32];
    for (i, pair) in bytes.chunks(2).enumerate() {
        key[i] = (digit(pair[0])? << 4) | digit(pair[1])?;
    }
    Some(key)
}

/// Keys whose use is kept in memory before it is written.
pub const TOUCHES_KEPT: usize = 4096;

/// What a reference names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockKind {
    /// A block: key = SHA-256 of the content, never evicted.
    Block,
    /// A Bazel CAS entry: key = SHA-256 of the content (verified), evictable.
    Cas,
    /// A Bazel action-cache entry: key = the action digest, evictable.
    Ac,
}

impl BlockKind {
    /// The kind's name, as stored and as the HTTP routes spell it.
    pub fn name(self) -> &'static str {
        match self {
            BlockKind::Block => "block",
            BlockKind::Cas => "cas",
            BlockKind::Ac => "ac",
        }
    }

    /// True when the key must be the content's SHA-256.
    fn keyed_by_content(self) -> bool {
        !matches!(self, BlockKind::Ac)
    }
}

/// One entry to store with [`BlockStore::put_many`].
#[derive(Debug, Clone)]
pub struct BlockPut {
    pub kind: BlockKind,
    /// The key; `None` for a block (its SHA-256 is computed).
    pub key: Option<[u8; 32]>,
    pub data: Vec<u8>,
}

/// Counts and bytes of one kind ([`BlockStore::status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KindStatus {
    pub count: u64,
    /// The sum of the entries' sizes (shared content counted per entry).
    pub bytes: u64,
}

/// What the store holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlockStatus {
    pub block: KindStatus,
    pub cas: KindStatus,
    pub ac: KindStatus,
    /// The bound on `cas` + `ac` bytes, if any.
    pub max_bytes: Option<u64>,
}

/// Blocks and Bazel cache entries of one [`Database`]; cheap to clone.
#[derive(Clone)]
pub struct BlockStore {
    db: Database,
    shared: Arc<Shared>,
}

struct Shared {
    max_bytes: Option<u64>,
    /// Cache entries read since their use was last written: key -> tick.
    touched: Mutex<HashMap<(BlockKind, [u8; 32]), i64>>,
    next_upload: AtomicI64,
}

/// Ticks of the logical clock of `used`: milliseconds since the epoch, but
/// strictly increasing within the process, so that two uses in the same
/// millisecond are still ordered.
fn tick() -> i64 {
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = now_ms();
    let mut prev = LAST.load(Ordering::Relaxed);
    loop {
        let next = now.max(prev + 1);
        match LAST.compare_exchange_weak(prev, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(actual) => prev = actual,
        }
    }
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
                touched: Mutex::new(HashMap::new()),
                // Unique across restarts too (a killed upload's rows, if any
                // are left, never mix with a new one's).
                next_upload: AtomicI64::new(now_ms().saturating_mul(1000)),
            }),
        }
    }

    /// Stores a block (1 byte to [`MAX_BLOCK`]) and returns its SHA-256; a
    /// block already present is stored once.
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
        let outcomes = self.db.write(move |conn| {
            let mark = tick();
            let mut out = Vec::with_capacity(checked.len());
            let mut cache_written = false;
            for item in checked {
                out.push(match item {
                    Err(e) => Err(e),
                    Ok(c) => {
                        let id = insert_content(conn, &c.sha256, &c.data)?;
                        link(conn, c.kind, &c.key, id, c.data.len() as u64)?;
                        cache_written |= c.kind != BlockKind::Block;
                        Ok(c.key)
                    }
                });
            }
            if cache_written {
                evict(conn, &shared, mark)?;
            }
            Ok(out)
        })?;
        Ok(outcomes)
    }

    /// The whole content of an entry, or `None`. Records a cache entry's use.
    pub fn get(&self, kind: BlockKind, key: &[u8; 32]) -> Result<Option<Vec<u8>>> {
        let data = self.db.read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT (SELECT data FROM hbf_fs_content WHERE id = content_id)
                     FROM hbf_block_ref WHERE kind = ?1 AND key = ?2",
                )?
                .query_row(params![kind.name(), &key[..]], |r| {
                    r.get::<_, Option<Vec<u8>>>(0)
                })
                .optional()?)
        })?;
        match data {
            None => Ok(None),
            Some(None) => Err(missing_content(kind, key)),
            Some(Some(data)) => {
                self.touch(kind, key)?;
                Ok(Some(data))
            }
        }
    }

    /// An entry's content, to read whole or piece by piece ([`FileReader`],
    /// pinned to the content row), or `None`. Records a cache entry's use.
    pub fn open(&self, kind: BlockKind, key: &[u8; 32]) -> Result<Option<FileReader>> {
        let row = self.db.read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT content_id, size, used,
                       (SELECT sha256 FROM hbf_fs_content WHERE id = content_id)
                     FROM hbf_block_ref WHERE kind = ?1 AND key = ?2",
                )?
                .query_row(params![kind.name(), &key[..]], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, Option<Vec<u8>>>(3)?,
                    ))
                })
                .optional()?)
        })?;
        let Some((content_id, size, used, sha256)) = row else {
            return Ok(None);
        };
        let sha256 = sha256
            .and_then(|s| <[u8; 32]>::try_from(s.as_slice()).ok())
            .ok_or_else(|| missing_content(kind, key))?;
        self.touch(kind, key)?;
        let meta = FileVersion {
            path: format!("{}/{}", kind.name(), to_hex(key)),
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
        self.db.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT size FROM hbf_block_ref WHERE kind = ?1 AND key = ?2")?
                .query_row(params![kind.name(), &key[..]], |r| r.get::<_, i64>(0))
                .optional()?
                .map(|n| n as u64))
        })
    }

    /// True when the entry exists.
    pub fn has(&self, kind: BlockKind, key: &[u8; 32]) -> Result<bool> {
        Ok(self.size(kind, key)?.is_some())
    }

    /// Removes an entry; its content goes too unless a file version or another
    /// reference uses it (same transaction). `false` if there was none.
    pub fn delete(&self, kind: BlockKind, key: &[u8; 32]) -> Result<bool> {
        let key = *key;
        self.db.write(move |conn| unlink(conn, kind, &key))
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
                match kind.as_str() {
                    "block" => status.block = k,
                    "cas" => status.cas = k,
                    "ac" => status.ac = k,
                    _ => {}
                }
            }
            Ok(())
        })?;
        Ok(status)
    }

    /// Starts a streamed upload of a `kind` entry under `key` (a block's key
    /// is checked as a CAS key), at most `limit` bytes.
    pub fn begin_upload(&self, kind: BlockKind, key: [u8; 32], limit: u64) -> Upload {
        Upload {
            store: self.clone(),
            kind,
            key,
            id: self.shared.next_upload.fetch_add(1, Ordering::Relaxed),
            pieces: 0,
            size: 0,
            limit,
            hasher: Sha256::new(),
            finished: false,
        }
    }

    /// Writes the uses recorded in memory (see the module docs).
    pub fn flush_used(&self) -> Result<()> {
        let pending = std::mem::take(&mut *lock(&self.shared.touched));
        if pending.is_empty() {
            return Ok(());
        }
        self.db.write(move |conn| write_uses(conn, pending))
    }

    fn touch(&self, kind: BlockKind, key: &[u8; 32]) -> Result<()> {
        if kind == BlockKind::Block {
            return Ok(()); // never evicted: its use does not matter
        }
        let full = {
            let mut touched = lock(&self.shared.touched);
            touched.insert((kind, *key), tick());
            touched.len() >= TOUCHES_KEPT
        };
        if full {
            self.flush_used()?;
        }
        Ok(())
    }
}

/// A streamed upload ([`BlockStore::begin_upload`]): [`Upload::append`] the
/// pieces as they arrive, then [`Upload::finish`]. Dropped unfinished, it
/// deletes the pieces it stored (on a thread of its own: a drop must not
/// wait for the writer).
pub struct Upload {
    store: BlockStore,
    kind: BlockKind,
    key: [u8; 32],
    id: i64,
    pieces: i64,
    size: u64,
    limit: u64,
    hasher: Sha256,
    finished: bool,
}

impl Upload {
    /// Bytes received so far.
    pub fn len(&self) -> u64 {
        self.size
    }

    /// True before the first byte.
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// Stores the next piece (in its own short transaction).
    pub fn append(&mut self, piece: Vec<u8>) -> Result<()> {
        if piece.is_empty() {
            return Ok(());
        }
        let size = self.size + piece.len() as u64;
        if size > self.limit {
            return Err(Error::BlockTooLarge { limit: self.limit });
        }
        self.hasher.update(&piece);
        let (id, seq) = (self.id, self.pieces);
        self.store.db.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO hbf_block_upload (upload, seq, data) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![id, seq, piece])?;
            Ok(())
        })?;
        self.pieces += 1;
        self.size = size;
        Ok(())
    }

    /// Verifies the content (a `cas` or `block` key must be its SHA-256:
    /// [`Error::DigestMismatch`] otherwise, nothing stored) and stores the
    /// entry in one transaction.
    pub fn finish(mut self) -> Result<[u8; 32]> {
        let sha256: [u8; 32] = std::mem::take(&mut self.hasher).finalize().into();
        if self.kind == BlockKind::Block && self.size == 0 {
            return Err(Error::InvalidBlock("a block has at least one byte".into()));
        }
        if self.kind.keyed_by_content() && sha256 != self.key {
            return Err(Error::DigestMismatch {
                expected: to_hex(&self.key),
                actual: to_hex(&sha256),
            });
        }
        let (kind, key, id, size) = (self.kind, self.key, self.id, self.size);
        let shared = Arc::clone(&self.store.shared);
        self.store.db.write(move |conn| {
            let mark = tick();
            let content_id = copy_pieces(conn, id, &sha256, size)?;
            link(conn, kind, &key, content_id, size)?;
            conn.prepare_cached("DELETE FROM hbf_block_upload WHERE upload = ?1")?
                .execute([id])?;
            if kind != BlockKind::Block {
                evict(conn, &shared, mark)?;
            }
            Ok(())
        })?;
        self.finished = true;
        Ok(key)
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if self.finished || self.pieces == 0 {
            return;
        }
        let (db, id) = (self.store.db.clone(), self.id);
        let cleanup = move || {
            if let Err(e) = db.write(move |conn| {
                conn.execute("DELETE FROM hbf_block_upload WHERE upload = ?1", [id])?;
                Ok(())
            }) {
                tracing::warn!(
                    "cannot delete an abandoned upload's pieces (they go at the next start): {e}"
                );
            }
        };
        if let Err(e) = std::thread::Builder::new()
            .name("hbf-upload-cleanup".into())
            .spawn(cleanup)
        {
            tracing::warn!(
                "cannot delete an abandoned upload's pieces now (they go at the next start): {e}"
            );
        }
    }
}

/// A [`BlockPut`] checked and hashed.
struct Checked {
    kind: BlockKind,
    key: [u8; 32],
    sha256: [u8; 32],
    data: Vec<u8>,
}

fn check(put: BlockPut) -> Result<Checked> {
    let sha256: [u8; 32] = Sha256::digest(&put.data).into();
    if put.kind == BlockKind::Block {
        if put.data.is_empty() {
            return Err(Error::InvalidBlock("a block has at least one byte".into()));
        }
        if put.data.len() > MAX_BLOCK {
            return Err(Error::BlockTooLarge {
                limit: MAX_BLOCK as u64,
            });
        }
    }
    let key = match put.key {
        None if put.kind.keyed_by_content() => sha256,
        None => {
            return Err(Error::InvalidBlock(
                "an action-cache entry needs its key".into(),
            ))
        }
        Some(key) => key,
    };
    if put.kind.keyed_by_content() && key != sha256 {
        return Err(Error::DigestMismatch {
            expected: to_hex(&key),
            actual: to_hex(&sha256),
        });
    }
    Ok(Checked {
        kind: put.kind,
        key,
        sha256,
        data: put.data,
    })
}

fn missing_content(kind: BlockKind, key: &[u8; 32]) -> Error {
    Error::Internal(format!(
        "{} {} names a content row that is missing",
        kind.name(),
        to_hex(key)
    ))
}

/// The id of the content row with `sha256`, inserting `data` if there is none.
fn insert_content(conn: &Connection, sha256: &[u8; 32], data: &[u8]) -> Result<i64> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO hbf_fs_content (sha256, size, data) VALUES (?1, ?2, ?3)
             ON CONFLICT (sha256) DO NOTHING",
        )?
        .execute(params![&sha256[..], data.len() as i64, data])?;
    if inserted == 1 {
        return Ok(conn.last_insert_rowid());
    }
    Ok(conn
        .prepare_cached("SELECT id FROM hbf_fs_content WHERE sha256 = ?1")?
        .query_row([&sha256[..]], |r| r.get(0))?)
}

/// The content row of upload `id`'s pieces: an existing row with `sha256`,
/// or a new one of `size` bytes the pieces are copied into (and hashed again).
fn copy_pieces(conn: &Connection, id: i64, sha256: &[u8; 32], size: u64) -> Result<i64> {
    let existing: Option<i64> = conn
        .prepare_cached("SELECT id FROM hbf_fs_content WHERE sha256 = ?1")?
        .query_row([&sha256[..]], |r| r.get(0))
        .optional()?;
    if let Some(existing) = existing {
        return Ok(existing);
    }
    let size_sql = i64::try_from(size).map_err(|_| Error::BlockTooLarge {
        limit: i64::MAX as u64,
    })?;
    conn.prepare_cached(
        "INSERT INTO hbf_fs_content (sha256, size, data) VALUES (?1, ?2, zeroblob(?2))",
    )?
    .execute(params![&sha256[..], size_sql])?;
    let content_id = conn.last_insert_rowid();
    let mut copied = 0usize;
    let mut check = Sha256::new();
    if size > 0 {
        let mut blob = conn.blob_open(
            rusqlite::MAIN_DB,
            c"hbf_fs_content",
            c"data",
            content_id,
            false,
        )?;
        let mut stmt = conn
            .prepare_cached("SELECT data FROM hbf_block_upload WHERE upload = ?1 ORDER BY seq")?;
        let mut rows = stmt.query([id])?;
        while let Some(row) = rows.next()? {
            let piece = row.get_ref(0)?.as_blob().map_err(rusqlite::Error::from)?;
            if copied + piece.len() > size as usize {
                return Err(Error::Internal(format!(
                    "upload {id}: its pieces hold more than the {size} bytes received"
                )));
            }
            blob.write_at(piece, copied)?;
            check.update(piece);
            copied += piece.len();
        }
    }
    let stored: [u8; 32] = check.finalize().into();
    if copied as u64 != size || &stored != sha256 {
        return Err(Error::Internal(format!(
            "upload {id}: its stored pieces ({copied} bytes) are not the {size} bytes received"
        )));
    }
    Ok(content_id)
}

/// Points `kind`/`key` at content row `content_id` (new, replaced, or the
/// same: then only its use is updated) and keeps the kind's counts.
fn link(
    conn: &Connection,
    kind: BlockKind,
    key: &[u8; 32],
    content_id: i64,
    size: u64,
) -> Result<()> {
    let used = tick();
    let size = size as i64;
    let old: Option<(i64, i64)> = conn
        .prepare_cached("SELECT content_id, size FROM hbf_block_ref WHERE kind = ?1 AND key = ?2")?
        .query_row(params![kind.name(), &key[..]], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    match old {
        Some((old_id, _)) if old_id == content_id => {
            if kind != BlockKind::Block {
                conn.prepare_cached(
                    "UPDATE hbf_block_ref SET used = ?3 WHERE kind = ?1 AND key = ?2",
                )?
                .execute(params![kind.name(), &key[..], used])?;
            }
        }
        Some((old_id, old_size)) => {
            conn.prepare_cached(
                "UPDATE hbf_block_ref SET content_id = ?3, size = ?4, used = ?5
                 WHERE kind = ?1 AND key = ?2",
            )?
            .execute(params![kind.name(), &key[..], content_id, size, used])?;
            add_stat(conn, kind, 0, size - old_size)?;
            release(conn, old_id)?;
        }
        None => {
            conn.prepare_cached(
                "INSERT INTO hbf_block_ref (kind, key, content_id, size, used)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![kind.name(), &key[..], content_id, size, used])?;
            add_stat(conn, kind, 1, size)?;
        }
    }
    Ok(())
}

/// Removes a reference and, if nothing else uses it, its content.
fn unlink(conn: &Connection, kind: BlockKind, key: &[u8; 32]) -> Result<bool> {
    let old: Option<(i64, i64)> = conn
        .prepare_cached(
            "DELETE FROM hbf_block_ref WHERE kind = ?1 AND key = ?2 RETURNING content_id, size",
        )?
        .query_row(params![kind.name(), &key[..]], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let Some((content_id, size)) = old else {
        return Ok(false);
    };
    add_stat(conn, kind, -1, -size)?;
    release(conn, content_id)?;
    Ok(true)
}

fn add_stat(conn: &Connection, kind: BlockKind, count: i64, bytes: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE hbf_block_stat SET count = count + ?2, bytes = bytes + ?3 WHERE kind = ?1",
    )?
    .execute(params![kind.name(), count, bytes])?;
    Ok(())
}

/// Deletes content row `id` unless a reference or a file version uses it.
fn release(conn: &Connection, id: i64) -> Result<()> {
    let used: bool = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM hbf_block_ref WHERE content_id = ?1)
                 OR EXISTS (SELECT 1 FROM hbf_fs_version WHERE content_id = ?1)",
        )?
        .query_row([id], |r| r.get(0))?;
    if !used {
        conn.prepare_cached("DELETE FROM hbf_fs_content WHERE id = ?1")?
            .execute([id])?;
    }
    Ok(())
}

fn write_uses(conn: &Connection, uses: HashMap<(BlockKind, [u8; 32]), i64>) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "UPDATE hbf_block_ref SET used = max(used, ?3) WHERE kind = ?1 AND key = ?2",
    )?;
    for ((kind, key), used) in uses {
        stmt.execute(params![kind.name(), &key[..], used])?;
    }
    Ok(())
}

/// Deletes least recently used `cas`/`ac` entries while their bytes are over
/// the limit, sparing those used at or after `mark` (this transaction's).
fn evict(conn: &Connection, shared: &Shared, mark: i64) -> Result<()> {
    let Some(max) = shared.max_bytes else {
        return Ok(());
    };
    let cache_bytes = |conn: &Connection| -> Result<i64> {
        Ok(conn
            .prepare_cached("SELECT total(bytes) FROM hbf_block_stat WHERE kind IN ('cas', 'ac')")?
            .query_row([], |r| r.get::<_, f64>(0))? as i64)
    };
    if cache_bytes(conn)? as u64 <= max {
        return Ok(());
    }
    let pending = std::mem::take(&mut *lock(&shared.touched));
    write_uses(conn, pending)?;
    let mut evicted = 0u64;
    while cache_bytes(conn)? as u64 > max {
        let oldest: Option<(String, Vec<u8>)> = conn
            .prepare_cached(
                "SELECT kind, key FROM hbf_block_ref WHERE kind <> 'block' AND used < ?1
                 ORDER BY used LIMIT 1",
            )?
            .query_row([mark], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((kind, key)) = oldest else {
            break; // only this transaction's entries are left
        };
        let kind = if kind == "cas" {
            BlockKind::Cas
        } else {
            BlockKind::Ac
        };
        let key = <[u8; 32]>::try_from(key.as_slice())
            .map_err(|_| Error::Internal("a block key is not 32 bytes".into()))?;
        unlink(conn, kind, &key)?;
        evicted += 1;
    }
    if evicted > 0 {
        tracing::debug!("evicted {evicted} least recently used cache entries");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content_rows(db: &Database) -> i64 {
        db.read(|c| Ok(c.query_row("SELECT count(*) FROM hbf_fs_content", [], |r| r.get(0))?))
            .unwrap()
    }

    fn sha(data: &[u8]) -> [u8; 32] {
        Sha256::digest(data).into()
    }

    #[test]
    fn blocks_are_stored_once_and_shared_with_files() {
        let db = Database::memory().unwrap();
        let store = BlockStore::new(db.clone());
        let key = store.put_block(b"hello".to_vec()).unwrap();
        assert_eq!(key, sha(b"hello"));
        assert_eq!(store.put_block(b"hello".to_vec()).unwrap(), key);
        db.fs().write("static/hello.txt", "hello").unwrap();
        assert_eq!(content_rows(&db), 1);
        assert_eq!(
            store.status().unwrap().block,
            KindStatus { count: 1, bytes: 5 }
        );

        // Deleting the block keeps the file's content, and the reverse.
        assert!(store.delete(BlockKind::Block, &key).unwrap());
        assert!(!store.delete(BlockKind::Block, &key).unwrap());
        assert_eq!(db.fs().read("static/hello.txt").unwrap(), b"hello");
        store.put_block(b"hello".to_vec()).unwrap();
        db.fs().delete("static/hello.txt").unwrap();
        assert_eq!(
            store.get(BlockKind::Block, &key).unwrap().unwrap(),
            b"hello"
        );
        assert_eq!(store.status().unwrap().block.count, 1);

        // Content nobody else uses goes with its last reference.
        let other = store.put_block(b"only a block".to_vec()).unwrap();
        assert_eq!(content_rows(&db), 2);
        store.delete(BlockKind::Block, &other).unwrap();
        assert_eq!(content_rows(&db), 1);
        assert!(store.get(BlockKind::Block, &other).unwrap().is_none());
    }

    #[test]
    fn bad_entries_are_refused_alone() {
        let store = BlockStore::new(Database::memory().unwrap());
        let outcomes = store
            .put_many(vec![
                BlockPut {
                    kind: BlockKind::Block,
                    key: None,
                    data: vec![],
                },
                BlockPut {
                    kind: BlockKind::Block,
                    key: None,
                    data: vec![1; MAX_BLOCK + 1],
                },
                BlockPut {
                    kind: BlockKind::Cas,
                    key: Some([7; 32]),
                    data: b"x".to_vec(),
                },
                BlockPut {
                    kind: BlockKind::Block,
                    key: None,
                    data: vec![1; MAX_BLOCK],
                },
                BlockPut {
                    kind: BlockKind::Ac,
                    key: Some([7; 32]),
                    data: b"any".to_vec(),
                },
            ])
            .unwrap();
        assert!(matches!(outcomes[0], Err(Error::InvalidBlock(_))));
        assert!(matches!(outcomes[1], Err(Error::BlockTooLarge { .. })));
        assert!(matches!(outcomes[2], Err(Error::DigestMismatch { .. })));
        assert_eq!(outcomes[3].as_ref().unwrap(), &sha(&vec![1; MAX_BLOCK]));
        assert_eq!(outcomes[4].as_ref().unwrap(), &[7; 32]);
        assert!(!store.has(BlockKind::Cas, &[7; 32]).unwrap());
        assert_eq!(store.get(BlockKind::Ac, &[7; 32]).unwrap().unwrap(), b"any");
    }

    #[test]
    fn a_replaced_action_result_frees_its_old_content() {
        let db = Database::memory().unwrap();
        let store = BlockStore::new(db.clone());
        store
            .put(BlockKind::Ac, Some([1; 32]), b"first".to_vec())
            .unwrap();
        store
            .put(BlockKind::Ac, Some([1; 32]), b"second".to_vec())
            .unwrap();
        assert_eq!(content_rows(&db), 1);
        assert_eq!(
            store.get(BlockKind::Ac, &[1; 32]).unwrap().unwrap(),
            b"second"
        );
        assert_eq!(
            store.status().unwrap().ac,
            KindStatus { count: 1, bytes: 6 }
        );
    }

    #[test]
    fn streamed_uploads_are_verified_copied_and_cleaned_up() {
        let db = Database::memory().unwrap();
        let store = BlockStore::start(db.clone(), None).unwrap();
        let data: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
        let key = sha(&data);
        let mut upload = store.begin_upload(BlockKind::Cas, key, 1 << 20);
        for piece in data.chunks(100_000) {
            upload.append(piece.to_vec()).unwrap();
        }
        assert_eq!(upload.finish().unwrap(), key);
        let reader = store.open(BlockKind::Cas, &key).unwrap().unwrap();
        assert_eq!(reader.len(), data.len() as u64);
        assert_eq!(reader.read_all().unwrap(), data);
        assert_eq!(
            reader.read_at(600_000, 10).unwrap(),
            &data[600_000..600_010]
        );
        let pieces = |db: &Database| -> i64 {
            db.read(|c| Ok(c.query_row("SELECT count(*) FROM hbf_block_upload", [], |r| r.get(0))?))
                .unwrap()
        };
        assert_eq!(pieces(&db), 0);

        // A wrong digest stores nothing; the limit holds.
        let mut bad = store.begin_upload(BlockKind::Cas, [9; 32], 1 << 20);
        bad.append(b"abc".to_vec()).unwrap();
        assert!(matches!(bad.finish(), Err(Error::DigestMismatch { .. })));
        let mut big = store.begin_upload(BlockKind::Ac, [9; 32], 4);
        big.append(b"abcd".to_vec()).unwrap();
        assert!(matches!(
            big.append(b"e".to_vec()),
            Err(Error::BlockTooLarge { limit: 4 })
        ));
        drop(big);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while pieces(&db) > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "abandoned pieces stay"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(!store.has(BlockKind::Ac, &[9; 32]).unwrap());

        // Pieces a killed process left are deleted at open.
        db.write(|c| {
            c.execute(
                "INSERT INTO hbf_block_upload (upload, seq, data) VALUES (1, 0, x'00')",
                [],
            )?;
            Ok(())
        })
        .unwrap();
        BlockStore::start(db.clone(), None).unwrap();
        assert_eq!(pieces(&db), 0);
    }

    #[test]
    fn the_least_recently_used_cache_entries_are_evicted_never_blocks() {
        let db = Database::memory().unwrap();
        let store = BlockStore::start(db.clone(), Some(2500)).unwrap();
        let entry = |i: u8| vec![i; 1000];
        let block = store.put_block(vec![0; 3000]).unwrap();
        let a = store.put(BlockKind::Cas, None, entry(1)).unwrap();
        let b = store.put(BlockKind::Cas, None, entry(2)).unwrap();
        assert!(store.open(BlockKind::Cas, &a).unwrap().is_some()); // a is now newer than b
        let c = store.put(BlockKind::Ac, Some([3; 32]), entry(3)).unwrap();
        assert!(store.has(BlockKind::Cas, &a).unwrap());
        assert!(
            !store.has(BlockKind::Cas, &b).unwrap(),
            "b was the least recently used"
        );
        assert!(store.has(BlockKind::Ac, &c).unwrap());
        assert!(store.has(BlockKind::Block, &block).unwrap());
        let status = store.status().unwrap();
        assert_eq!(status.cas.bytes + status.ac.bytes, 2000);
        assert_eq!(status.block.bytes, 3000);
        assert_eq!(status.max_bytes, Some(2500));
        assert_eq!(content_rows(&db), 3);
    }

    mod model {
        use super::*;
        use proptest::prelude::*;
        use std::collections::{BTreeMap, BTreeSet};

        #[derive(Debug, Clone)]
        enum Op {
            PutBlock(u8),
            DeleteBlock(u8),
            WriteFile(u8, u8),
            DeleteFile(u8),
            PutAc(u8, u8),
            DeleteAc(u8),
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                (0..6u8).prop_map(Op::PutBlock),
                (0..6u8).prop_map(Op::DeleteBlock),
                (0..3u8, 0..6u8).prop_map(|(p, c)| Op::WriteFile(p, c)),
                (0..3u8).prop_map(Op::DeleteFile),
                (0..2u8, 0..6u8).prop_map(|(k, c)| Op::PutAc(k, c)),
                (0..2u8).prop_map(Op::DeleteAc),
            ]
        }

        fn content(c: u8) -> Vec<u8> {
            format!("content {c}").into_bytes()
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]
            /// References and file versions never lose content still in use,
            /// and content nobody uses does not stay.
            #[test]
            fn content_in_use_is_never_lost(ops in proptest::collection::vec(op(), 1..40)) {
                let db = Database::memory().unwrap();
                let store = BlockStore::new(db.clone());
                let fs = db.fs();
                let mut blocks = BTreeSet::new();
                let mut acs: BTreeMap<u8, u8> = BTreeMap::new();
                // Every version of every path keeps its content (history).
                let mut versions: Vec<(String, u64, u8)> = Vec::new();
                for op in ops {
                    match op {
                        Op::PutBlock(c) => { store.put_block(content(c)).unwrap(); blocks.insert(c); }
                        Op::DeleteBlock(c) => {
                            let gone = store.delete(BlockKind::Block, &sha(&content(c))).unwrap();
                            prop_assert_eq!(gone, blocks.remove(&c));
                        }
                        Op::WriteFile(p, c) => {
                            let v = fs.write(&format!("f/{p}"), content(c)).unwrap();
                            versions.push((v.path, v.version, c));
                        }
                        Op::DeleteFile(p) => { let _ = fs.delete(&format!("f/{p}")); }
                        Op::PutAc(k, c) => { store.put(BlockKind::Ac, Some([k; 32]), content(c)).unwrap(); acs.insert(k, c); }
                        Op::DeleteAc(k) => {
                            let gone = store.delete(BlockKind::Ac, &[k; 32]).unwrap();
                            prop_assert_eq!(gone, acs.remove(&k).is_some());
                        }
                    }
                    for &c in &blocks {
                        prop_assert_eq!(store.get(BlockKind::Block, &sha(&content(c))).unwrap(), Some(content(c)));
                    }
                    for (&k, &c) in &acs {
                        prop_assert_eq!(store.get(BlockKind::Ac, &[k; 32]).unwrap(), Some(content(c)));
                    }
                    for (path, version, c) in &versions {
                        prop_assert_eq!(fs.read_version(path, *version).unwrap().1, content(*c));
                    }
                    let live: BTreeSet<u8> = blocks.iter().copied()
                        .chain(acs.values().copied())
                        .chain(versions.iter().map(|v| v.2))
                        .collect();
                    prop_assert_eq!(content_rows(&db), live.len() as i64);
                }
            }
        }
    }
}

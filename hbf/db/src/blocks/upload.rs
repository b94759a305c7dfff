//! Streamed uploads of large cache entries: pieces in short transactions
//! while the bytes arrive, then one transaction that assembles the entry.

use std::sync::Arc;

use rusqlite::{params, Connection};
use sha2::{Digest, Sha256};

use super::eviction::evict;
use super::kind::BlockKind;
use super::rows::{content_id, link, tick, Counts};
use super::shared::Shared;
use crate::{Database, Error, Result};

/// A streamed upload ([`crate::BlockStore::begin_upload`]): [`Upload::append`] the
/// pieces as they arrive, then [`Upload::finish`]. Dropped unfinished, it
/// deletes the pieces it stored (on a thread of its own: a drop must not
/// wait for the writer).
pub struct Upload {
    db: Database,
    shared: Arc<Shared>,
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
    pub(super) fn new(
        db: Database,
        shared: Arc<Shared>,
        kind: BlockKind,
        key: [u8; 32],
        id: i64,
        limit: u64,
    ) -> Self {
        Self {
            db,
            shared,
            kind,
            key,
            id,
            pieces: 0,
            size: 0,
            limit,
            hasher: Sha256::new(),
            finished: false,
        }
    }

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
        self.db.write(move |conn| {
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
                expected: hex::encode(&self.key),
                actual: hex::encode(sha256),
            });
        }
        let (kind, key, id, size) = (self.kind, self.key, self.id, self.size);
        let shared = Arc::clone(&self.shared);
        self.db.write(move |conn| {
            let mark = tick();
            let content_id = copy_pieces(conn, id, &sha256, size)?;
            let mut counts = Counts::default();
            link(conn, &mut counts, kind, &key, content_id, size, false)?;
            counts.write(conn)?;
            conn.prepare_cached("DELETE FROM hbf_block_upload WHERE upload = ?1")?
                .execute([id])?;
            if kind != BlockKind::Block {
                evict(conn, &shared.uses, shared.max_bytes, mark)?;
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
        let (db, id) = (self.db.clone(), self.id);
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

/// The content row of upload `id`'s pieces: an existing row with `sha256`,
/// or a new one of `size` bytes the pieces are copied into (and hashed again).
fn copy_pieces(conn: &Connection, id: i64, sha256: &[u8; 32], size: u64) -> Result<i64> {
    if let Some(existing) = content_id(conn, sha256)? {
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

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use crate::{BlockKind, BlockStore, Database, Error};

    #[test]
    fn streamed_uploads_are_verified_copied_and_cleaned_up() {
        let db = Database::memory().unwrap();
        let store = BlockStore::start(db.clone(), None).unwrap();
        let data: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
        let key: [u8; 32] = Sha256::digest(&data).into();
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

        // A block streamed in is a block like one PUT whole.
        let block = b"a streamed block".to_vec();
        let block_key: [u8; 32] = Sha256::digest(&block).into();
        let mut upload = store.begin_upload(BlockKind::Block, block_key, 1 << 20);
        upload.append(block.clone()).unwrap();
        upload.finish().unwrap();
        assert_eq!(
            store.get(BlockKind::Block, &block_key).unwrap(),
            Some(block)
        );
        assert_eq!(store.status().unwrap().block.count, 1);

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
}

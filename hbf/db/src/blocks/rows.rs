//! The SQL of the store, run on the writer inside a transaction (or on a
//! reader for lookups): content rows, the names that point at them (a
//! `hbf_block` row for a block, a `hbf_block_ref` row for a cache entry), the
//! counts per kind, and the one rule that deletes content.

use std::sync::atomic::{AtomicI64, Ordering};

use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};

use super::kind::{BlockKind, BlockPut, MAX_BLOCK};
use crate::vfs::now_ms;
use crate::{Error, Result};

/// Ticks of the logical clock of `used`: milliseconds since the epoch, but
/// strictly increasing within the process, so that two uses in the same
/// millisecond are still ordered.
pub(super) fn tick() -> i64 {
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

/// A [`BlockPut`] checked and hashed (before the writer is taken).
pub(super) struct Checked {
    pub kind: BlockKind,
    pub key: [u8; 32],
    pub sha256: [u8; 32],
    pub data: Vec<u8>,
}

pub(super) fn check(put: BlockPut) -> Result<Checked> {
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
            expected: hex::encode(key),
            actual: hex::encode(sha256),
        });
    }
    Ok(Checked {
        kind: put.kind,
        key,
        sha256,
        data: put.data,
    })
}

pub(super) fn missing_content(kind: BlockKind, key: &[u8; 32]) -> Error {
    Error::Internal(format!(
        "{} {} names a content row that is missing",
        kind.name(),
        hex::encode(key)
    ))
}

/// Changes to `hbf_block_stat` made in one transaction, written together
/// ([`Counts::write`]): one `UPDATE` per kind per batch, not per entry.
#[derive(Default)]
pub(super) struct Counts {
    delta: [(i64, i64); 3],
}

impl Counts {
    pub fn add(&mut self, kind: BlockKind, count: i64, bytes: i64) {
        let d = &mut self.delta[kind.index()];
        d.0 += count;
        d.1 += bytes;
    }

    /// Writes the changes and forgets them.
    pub fn write(&mut self, conn: &Connection) -> Result<()> {
        for kind in BlockKind::ALL {
            let (count, bytes) = std::mem::take(&mut self.delta[kind.index()]);
            if count != 0 || bytes != 0 {
                conn.prepare_cached(
                    "UPDATE hbf_block_stat SET count = count + ?2, bytes = bytes + ?3
                     WHERE kind = ?1",
                )?
                .execute(params![kind.name(), count, bytes])?;
            }
        }
        Ok(())
    }
}

/// The id of the content row with `sha256`, inserting `data` if there is
/// none, and whether it was inserted now.
pub(super) fn insert_content(
    conn: &Connection,
    sha256: &[u8; 32],
    data: &[u8],
) -> Result<(i64, bool)> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO hbf_fs_content (sha256, size, data) VALUES (?1, ?2, ?3)
             ON CONFLICT (sha256) DO NOTHING",
        )?
        .execute(params![&sha256[..], data.len() as i64, data])?;
    if inserted == 1 {
        return Ok((conn.last_insert_rowid(), true));
    }
    Ok((
        content_id(conn, sha256)?
            .ok_or_else(|| Error::Internal("a content row vanished while it was stored".into()))?,
        false,
    ))
}

/// The id of the content row with `sha256`, if any.
pub(super) fn content_id(conn: &Connection, sha256: &[u8; 32]) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT id FROM hbf_fs_content WHERE sha256 = ?1")?
        .query_row([&sha256[..]], |r| r.get(0))
        .optional()?)
}

/// Names content row `content_id` (of `size` bytes) `kind`/`key`: a block
/// (the key is the content's hash), or a cache entry (new, replaced, or the
/// same: then only its use is updated). `new_content`: the row was inserted
/// in this transaction, so no name can point at it yet.
pub(super) fn link(
    conn: &Connection,
    counts: &mut Counts,
    kind: BlockKind,
    key: &[u8; 32],
    content_id: i64,
    size: u64,
    new_content: bool,
) -> Result<()> {
    let size = size as i64;
    if kind == BlockKind::Block {
        let added = conn
            .prepare_cached(
                "INSERT INTO hbf_block (content_id) VALUES (?1) ON CONFLICT DO NOTHING",
            )?
            .execute([content_id])?;
        if added == 1 {
            counts.add(kind, 1, size);
        }
        return Ok(());
    }
    let used = tick();
    let old: Option<(i64, i64)> = if new_content && kind.keyed_by_content() {
        None // the key is the new row's hash: nothing names it yet
    } else {
        conn.prepare_cached(
            "SELECT content_id, size FROM hbf_block_ref WHERE kind = ?1 AND key = ?2",
        )?
        .query_row(params![kind.name(), &key[..]], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?
    };
    match old {
        Some((old_id, _)) if old_id == content_id => {
            conn.prepare_cached("UPDATE hbf_block_ref SET used = ?3 WHERE kind = ?1 AND key = ?2")?
                .execute(params![kind.name(), &key[..], used])?;
        }
        Some((old_id, old_size)) => {
            conn.prepare_cached(
                "UPDATE hbf_block_ref SET content_id = ?3, size = ?4, used = ?5
                 WHERE kind = ?1 AND key = ?2",
            )?
            .execute(params![kind.name(), &key[..], content_id, size, used])?;
            counts.add(kind, 0, size - old_size);
            release(conn, old_id)?;
        }
        None => {
            conn.prepare_cached(
                "INSERT INTO hbf_block_ref (kind, key, content_id, size, used)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![kind.name(), &key[..], content_id, size, used])?;
            counts.add(kind, 1, size);
        }
    }
    Ok(())
}

/// Removes a name and, if nothing else uses its content, the content.
/// `false` if there was none.
pub(super) fn unlink(
    conn: &Connection,
    counts: &mut Counts,
    kind: BlockKind,
    key: &[u8; 32],
) -> Result<bool> {
    let old: Option<(i64, i64)> = if kind == BlockKind::Block {
        let block: Option<(i64, i64)> = conn
            .prepare_cached(
                "SELECT c.id, c.size FROM hbf_fs_content AS c
                 JOIN hbf_block AS b ON b.content_id = c.id WHERE c.sha256 = ?1",
            )?
            .query_row([&key[..]], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if let Some((id, _)) = block {
            conn.prepare_cached("DELETE FROM hbf_block WHERE content_id = ?1")?
                .execute([id])?;
        }
        block
    } else {
        conn.prepare_cached(
            "DELETE FROM hbf_block_ref WHERE kind = ?1 AND key = ?2 RETURNING content_id, size",
        )?
        .query_row(params![kind.name(), &key[..]], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?
    };
    let Some((content_id, size)) = old else {
        return Ok(false);
    };
    counts.add(kind, -1, -size);
    release(conn, content_id)?;
    Ok(true)
}

/// Deletes content row `id` unless a block, a reference or a file version
/// uses it.
fn release(conn: &Connection, id: i64) -> Result<()> {
    let used: bool = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM hbf_block WHERE content_id = ?1)
                 OR EXISTS (SELECT 1 FROM hbf_block_ref WHERE content_id = ?1)
                 OR EXISTS (SELECT 1 FROM hbf_fs_version WHERE content_id = ?1)",
        )?
        .query_row([id], |r| r.get(0))?;
    if !used {
        conn.prepare_cached("DELETE FROM hbf_fs_content WHERE id = ?1")?
            .execute([id])?;
    }
    Ok(())
}

/// What names `kind`/`key`: its content row, size, last use (0 for a block)
/// and the content's SHA-256 (`None` if the row is missing).
pub(super) type Entry = (i64, i64, i64, Option<Vec<u8>>);

pub(super) fn entry(conn: &Connection, kind: BlockKind, key: &[u8; 32]) -> Result<Option<Entry>> {
    let row = |r: &rusqlite::Row<'_>| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?));
    Ok(if kind == BlockKind::Block {
        conn.prepare_cached(
            "SELECT c.id, c.size, 0, c.sha256 FROM hbf_fs_content AS c
             JOIN hbf_block AS b ON b.content_id = c.id WHERE c.sha256 = ?1",
        )?
        .query_row([&key[..]], row)
        .optional()?
    } else {
        conn.prepare_cached(
            "SELECT content_id, size, used,
               (SELECT sha256 FROM hbf_fs_content WHERE id = content_id)
             FROM hbf_block_ref WHERE kind = ?1 AND key = ?2",
        )?
        .query_row(params![kind.name(), &key[..]], row)
        .optional()?
    })
}

/// The whole content of `kind`/`key`: `None` if there is no such entry,
/// `Some(None)` if its content row is missing.
pub(super) fn content(
    conn: &Connection,
    kind: BlockKind,
    key: &[u8; 32],
) -> Result<Option<Option<Vec<u8>>>> {
    Ok(if kind == BlockKind::Block {
        conn.prepare_cached(
            "SELECT c.data FROM hbf_fs_content AS c
             JOIN hbf_block AS b ON b.content_id = c.id WHERE c.sha256 = ?1",
        )?
        .query_row([&key[..]], |r| r.get::<_, Vec<u8>>(0))
        .optional()?
        .map(Some)
    } else {
        conn.prepare_cached(
            "SELECT (SELECT data FROM hbf_fs_content WHERE id = content_id)
             FROM hbf_block_ref WHERE kind = ?1 AND key = ?2",
        )?
        .query_row(params![kind.name(), &key[..]], |r| {
            r.get::<_, Option<Vec<u8>>>(0)
        })
        .optional()?
    })
}

/// The size of `kind`/`key`, if it exists.
pub(super) fn size(conn: &Connection, kind: BlockKind, key: &[u8; 32]) -> Result<Option<u64>> {
    let size: Option<i64> = if kind == BlockKind::Block {
        conn.prepare_cached(
            "SELECT c.size FROM hbf_fs_content AS c
             JOIN hbf_block AS b ON b.content_id = c.id WHERE c.sha256 = ?1",
        )?
        .query_row([&key[..]], |r| r.get(0))
        .optional()?
    } else {
        conn.prepare_cached("SELECT size FROM hbf_block_ref WHERE kind = ?1 AND key = ?2")?
            .query_row(params![kind.name(), &key[..]], |r| r.get(0))
            .optional()?
    };
    Ok(size.map(|n| n as u64))
}

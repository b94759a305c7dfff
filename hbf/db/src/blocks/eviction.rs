//! The byte limit on Bazel cache entries: when they were last used, and
//! deleting the least recently used ones.
//!
//! A read must not become a write, so a use is recorded in memory
//! ([`Uses::touch`]: the key and a tick of a logical clock) and written in
//! one transaction before each eviction, when [`TOUCHES_KEPT`] keys are
//! waiting, or when [`crate::BlockStore::flush_used`] is called.

use std::collections::HashMap;

use parking_lot::Mutex;
use rusqlite::{params, Connection, OptionalExtension};

use super::kind::BlockKind;
use super::rows::{tick, unlink, Counts};
use crate::{Error, Result};

/// Keys whose use is kept in memory before it is written.
pub(super) const TOUCHES_KEPT: usize = 4096;

/// Uses of cache entries not yet written: key -> tick.
#[derive(Default)]
pub(super) struct Uses {
    pending: Mutex<HashMap<(BlockKind, [u8; 32]), i64>>,
}

impl Uses {
    /// Records a use; true when [`TOUCHES_KEPT`] keys are waiting.
    pub fn touch(&self, kind: BlockKind, key: &[u8; 32]) -> bool {
        let mut pending = self.pending.lock();
        pending.insert((kind, *key), tick());
        pending.len() >= TOUCHES_KEPT
    }

    /// The uses recorded so far, forgotten here.
    pub fn take(&self) -> HashMap<(BlockKind, [u8; 32]), i64> {
        std::mem::take(&mut *self.pending.lock())
    }
}

pub(super) fn write_uses(
    conn: &Connection,
    uses: HashMap<(BlockKind, [u8; 32]), i64>,
) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "UPDATE hbf_block_ref SET used = max(used, ?3) WHERE kind = ?1 AND key = ?2",
    )?;
    for ((kind, key), used) in uses {
        stmt.execute(params![kind.name(), &key[..], used])?;
    }
    Ok(())
}

/// Deletes least recently used `cas`/`ac` entries while their bytes are over
/// `max`, sparing those used at or after `mark` (this transaction's). The
/// counts must be written ([`Counts::write`]) before.
pub(super) fn evict(conn: &Connection, uses: &Uses, max: Option<u64>, mark: i64) -> Result<()> {
    let Some(max) = max else {
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
    write_uses(conn, uses.take())?;
    let mut evicted = 0u64;
    let mut counts = Counts::default();
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
        let kind = BlockKind::from_name(&kind)
            .ok_or_else(|| Error::Internal(format!("a block reference of kind {kind:?}")))?;
        let key = <[u8; 32]>::try_from(key.as_slice())
            .map_err(|_| Error::Internal("a block key is not 32 bytes".into()))?;
        unlink(conn, &mut counts, kind, &key)?;
        counts.write(conn)?;
        evicted += 1;
    }
    if evicted > 0 {
        tracing::debug!("evicted {evicted} least recently used cache entries");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::{BlockKind, BlockStore, Database};

    fn content_rows(db: &Database) -> i64 {
        db.read(|c| Ok(c.query_row("SELECT count(*) FROM hbf_fs_content", [], |r| r.get(0))?))
            .unwrap()
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
}

//! An in-memory cache of small blocks, for reads.
//!
//! A block's content never changes (its key is its SHA-256), so a cached
//! block is current for as long as the block exists; only its deletion makes
//! it stale. The cache is one per [`crate::Database`], shared by every
//! [`crate::BlockStore`] of it (the HTTP routes' and `hbf:blob`'s), and:
//!
//! * a delete through any of them removes the key once it has committed, and
//!   bumps an *epoch*: a read that looked the block up in SQLite before the
//!   delete committed does not put it back (it compares the epoch it started
//!   with);
//! * a commit by another connection (another process on the same file; a
//!   pod's own SQL) clears the whole cache: the writer's `PRAGMA
//!   data_version` tells, read by every block write and, while no block is
//!   written, by a read at most every [`OUTSIDE_POLL`];
//! * it holds blocks of up to [`CACHED_BLOCK`] bytes and [`CACHE_BYTES`] in
//!   all, dropping the oldest not read since it was last passed over
//!   (CLOCK, second chance).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use parking_lot::Mutex;
use std::time::{Duration, Instant};

/// The most bytes of blocks kept in memory.
pub const CACHE_BYTES: usize = 32 << 20;
/// The largest block kept in memory: larger reads are bound by copying
/// bytes, not by the lookup a cache saves.
pub const CACHED_BLOCK: usize = 64 << 10;
/// How often a read checks for other connections' commits when no block
/// write does.
pub const OUTSIDE_POLL: Duration = Duration::from_millis(500);

/// See the module docs.
pub(crate) struct BlockCache {
    inner: Mutex<Inner>,
}

struct Inner {
    blocks: HashMap<[u8; 32], Slot>,
    /// Keys in the order of the CLOCK hand, with the `seq` of their slot (an
    /// entry whose slot has another `seq`, or none, is stale).
    ring: VecDeque<([u8; 32], u64)>,
    bytes: usize,
    next_seq: u64,
    /// Bumped by every removal.
    epoch: u64,
    /// The writer's `PRAGMA data_version` when last read.
    data_version: Option<i64>,
    polled: Instant,
}

struct Slot {
    data: Arc<[u8]>,
    seq: u64,
    referenced: bool,
}

impl BlockCache {
    /// An empty cache; `data_version` is the writer's, now.
    pub(crate) fn new(data_version: Option<i64>) -> Self {
        Self {
            inner: Mutex::new(Inner {
                blocks: HashMap::new(),
                ring: VecDeque::new(),
                bytes: 0,
                next_seq: 0,
                epoch: 0,
                data_version,
                polled: Instant::now(),
            }),
        }
    }

    /// The cached content of block `key`.
    pub(crate) fn get(&self, key: &[u8; 32]) -> Option<Arc<[u8]>> {
        let mut inner = self.inner.lock();
        let slot = inner.blocks.get_mut(key)?;
        slot.referenced = true;
        Some(Arc::clone(&slot.data))
    }

    /// The epoch to hand to [`BlockCache::insert`], read before the lookup
    /// in SQLite.
    pub(crate) fn epoch(&self) -> u64 {
        self.inner.lock().epoch
    }

    /// Keeps block `key`, read from SQLite since `epoch`, unless it is too
    /// large or something was removed meanwhile.
    pub(crate) fn insert(&self, key: [u8; 32], data: Arc<[u8]>, epoch: u64) {
        if data.len() > CACHED_BLOCK {
            return;
        }
        let mut inner = self.inner.lock();
        if inner.epoch != epoch || inner.blocks.contains_key(&key) {
            return;
        }
        let seq = inner.next_seq;
        inner.next_seq += 1;
        inner.bytes += data.len();
        inner.blocks.insert(
            key,
            Slot {
                data,
                seq,
                referenced: false,
            },
        );
        inner.ring.push_back((key, seq));
        inner.make_room();
    }

    /// Forgets block `key` (deleted).
    pub(crate) fn remove(&self, key: &[u8; 32]) {
        let mut inner = self.inner.lock();
        inner.epoch += 1;
        if let Some(slot) = inner.blocks.remove(key) {
            inner.bytes -= slot.data.len();
        }
        // Stale ring entries are dropped as the hand passes; keep them few.
        if inner.ring.len() > 2 * inner.blocks.len() + 64 {
            let Inner { ring, blocks, .. } = &mut *inner;
            ring.retain(|(k, seq)| blocks.get(k).is_some_and(|s| s.seq == *seq));
        }
    }

    /// Notes the writer's `PRAGMA data_version`: if another connection
    /// committed since it was last read, everything goes.
    pub(crate) fn note_data_version(&self, version: i64) {
        let mut inner = self.inner.lock();
        inner.polled = Instant::now();
        if inner.data_version.is_some_and(|seen| seen != version) {
            inner.epoch += 1;
            inner.blocks.clear();
            inner.ring.clear();
            inner.bytes = 0;
        }
        inner.data_version = Some(version);
    }

    /// True when a read should check the writer's `data_version` now.
    pub(crate) fn poll_due(&self) -> bool {
        self.inner.lock().polled.elapsed() >= OUTSIDE_POLL
    }

    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.inner.lock().bytes
    }
}

impl Inner {
    /// Drops blocks until the bytes fit: the hand gives a block read since
    /// it last passed one more turn.
    fn make_room(&mut self) {
        while self.bytes > CACHE_BYTES {
            let Some((key, seq)) = self.ring.pop_front() else {
                break;
            };
            let Some(slot) = self.blocks.get_mut(&key).filter(|s| s.seq == seq) else {
                continue; // stale
            };
            if slot.referenced {
                slot.referenced = false;
                self.ring.push_back((key, seq));
            } else if let Some(slot) = self.blocks.remove(&key) {
                self.bytes -= slot.data.len();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u32) -> [u8; 32] {
        let mut k = [0u8; 32];
        k[..4].copy_from_slice(&i.to_le_bytes());
        k
    }

    #[test]
    fn bounded_and_read_blocks_stay_longest() {
        let cache = BlockCache::new(None);
        let block: Arc<[u8]> = vec![1u8; CACHED_BLOCK].into();
        let fits = CACHE_BYTES / CACHED_BLOCK;
        for i in 0..fits as u32 {
            cache.insert(key(i), Arc::clone(&block), cache.epoch());
        }
        assert_eq!(cache.bytes(), CACHE_BYTES);
        assert!(cache.get(&key(0)).is_some()); // read: gets a second chance
        cache.insert(key(1_000_000), Arc::clone(&block), cache.epoch());
        assert_eq!(cache.bytes(), CACHE_BYTES);
        assert!(cache.get(&key(0)).is_some());
        assert!(cache.get(&key(1)).is_none(), "the oldest unread block went");
        assert!(cache.get(&key(1_000_000)).is_some());
        // Too large for the cache.
        cache.insert(
            key(7_000_000),
            vec![0u8; CACHED_BLOCK + 1].into(),
            cache.epoch(),
        );
        assert!(cache.get(&key(7_000_000)).is_none());
    }

    #[test]
    fn a_read_older_than_a_removal_is_not_kept() {
        let cache = BlockCache::new(None);
        let epoch = cache.epoch();
        cache.remove(&key(1)); // a delete committed while the read ran
        cache.insert(key(1), vec![1u8].into(), epoch);
        assert!(cache.get(&key(1)).is_none());
        cache.insert(key(1), vec![1u8].into(), cache.epoch());
        assert_eq!(&*cache.get(&key(1)).unwrap(), &[1u8]);
        cache.remove(&key(1));
        assert!(cache.get(&key(1)).is_none());
        assert_eq!(cache.bytes(), 0);
    }

    #[test]
    fn another_connections_commit_clears_it() {
        let cache = BlockCache::new(Some(5));
        cache.insert(key(1), vec![1u8].into(), cache.epoch());
        cache.note_data_version(5);
        assert!(cache.get(&key(1)).is_some());
        cache.note_data_version(6);
        assert!(cache.get(&key(1)).is_none());
        assert_eq!(cache.bytes(), 0);
    }

    #[test]
    fn removals_keep_the_ring_small() {
        let cache = BlockCache::new(None);
        for i in 0..10_000u32 {
            cache.insert(key(i % 3), vec![1u8].into(), cache.epoch());
            cache.remove(&key(i % 3));
        }
        assert!(cache.inner.lock().ring.len() <= 64 + 2 * 3);
    }
}

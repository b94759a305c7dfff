//! The in-memory cache of small static files (at most [`CACHE_TOTAL_LIMIT`]
//! bytes, dropped when the database's write generation moves).

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;

use super::{FileMeta, STREAM_THRESHOLD};

/// The cache holds at most this many bytes of file content; it is emptied when
/// a file would not fit.
pub const CACHE_TOTAL_LIMIT: usize = 64 << 20;

/// One small file, read whole.
pub struct StaticFile {
    pub(super) meta: FileMeta,
    pub(super) data: Bytes,
}

/// The in-memory cache of small static files.
#[derive(Default)]
pub struct StaticCache {
    state: Mutex<CacheState>,
}

#[derive(Default)]
struct CacheState {
    generation: u64,
    files: HashMap<String, Arc<StaticFile>>,
    /// The sum of the cached files' sizes; never above [`CACHE_TOTAL_LIMIT`].
    bytes: usize,
}

impl CacheState {
    fn clear(&mut self) {
        self.files.clear();
        self.bytes = 0;
    }
}

impl StaticCache {
    pub(super) fn get(&self, path: &str, generation: u64) -> Option<Arc<StaticFile>> {
        let mut state = self.state.lock();
        if state.generation != generation {
            // Only forward: a request that read the generation before a write
            // and got here late must not bring an older generation back.
            if generation > state.generation {
                state.clear();
                state.generation = generation;
            }
            return None;
        }
        state.files.get(path).cloned()
    }

    pub(super) fn put(&self, path: String, file: Arc<StaticFile>, generation: u64) {
        let len = file.data.len();
        if len as u64 > STREAM_THRESHOLD {
            return;
        }
        let mut state = self.state.lock();
        if state.generation != generation {
            return; // written meanwhile: this copy may be stale
        }
        // Two requests that missed at once both put: the second replaces the
        // first, whose bytes no longer count.
        if let Some(old) = state.files.remove(&path) {
            state.bytes -= old.data.len();
        }
        if state.bytes + len > CACHE_TOTAL_LIMIT {
            state.clear();
        }
        state.bytes += len;
        state.files.insert(path, file);
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(in super::super) fn small_file(data: &Bytes) -> Arc<StaticFile> {
        let version = hbf_db::FileVersion {
            path: "static/x".into(),
            version: 1,
            mtime_ms: 0,
            size: data.len() as u64,
            sha256: Some([0; 32]),
            deleted: false,
        };
        Arc::new(StaticFile {
            meta: FileMeta::new("static/x", &version),
            data: data.clone(),
        })
    }

    #[test]
    fn the_cache_holds_at_most_its_byte_limit_under_concurrent_misses() {
        let cache = Arc::new(StaticCache::default());
        // One allocation shared by every entry: the accounting counts each.
        let data = Bytes::from(vec![7u8; 900 << 10]);
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let (cache, data) = (Arc::clone(&cache), data.clone());
                std::thread::spawn(move || {
                    for i in 0..300 {
                        // Few paths, so threads often miss and put the same one.
                        let path = format!("static/{}", (i * 7 + t) % 40);
                        if cache.get(&path, 1).is_none() {
                            cache.put(path, small_file(&data), 1);
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let state = cache.state.lock();
        let held: usize = state.files.values().map(|f| f.data.len()).sum();
        assert_eq!(state.bytes, held);
        assert!(held <= CACHE_TOTAL_LIMIT, "{held}");
        assert!(!state.files.is_empty());
    }

    #[test]
    fn files_above_the_threshold_never_enter_the_cache() {
        let cache = StaticCache::default();
        assert!(cache.get("static/big", 1).is_none());
        let big = Bytes::from(vec![1u8; STREAM_THRESHOLD as usize + 1]);
        cache.put("static/big".into(), small_file(&big), 1);
        assert!(cache.get("static/big", 1).is_none());
        let fits = Bytes::from(vec![1u8; STREAM_THRESHOLD as usize]);
        cache.put("static/fits".into(), small_file(&fits), 1);
        assert!(cache.get("static/fits", 1).is_some());
        // An older generation seen late neither empties nor rewinds the cache.
        assert!(cache.get("static/fits", 0).is_none());
        assert!(cache.get("static/fits", 1).is_some());
    }
}

//! What every handle of one block store shares: its byte limit, the uses of
//! cache entries not yet written, the next upload's id. Apart from the store
//! so that an [`super::Upload`] holds it without holding the store.

use std::sync::atomic::AtomicI64;

use super::eviction::Uses;

pub(super) struct Shared {
    pub max_bytes: Option<u64>,
    /// Cache entries read since their use was last written.
    pub uses: Uses,
    /// Ids of streamed uploads.
    pub next_upload: AtomicI64,
}

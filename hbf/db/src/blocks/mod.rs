//! Content-addressed blocks: names for content rows, by hash.
//!
//! The versioned filesystem already stores each distinct content once, keyed
//! by its SHA-256 (`hbf_fs_content`). A [`BlockStore`] gives such rows a
//! second kind of name, of one of three [`BlockKind`]s:
//!
//! * `block`: the Buddy Blocks API. The key is the content's SHA-256, computed
//!   here; 1 byte to [`MAX_BLOCK`]. A row of `hbf_block` (the content row's
//!   id) makes a content row a block: the content's own index finds it by
//!   hash. Removed only by [`BlockStore::delete`].
//! * `cas`: Bazel's content-addressable store. The key is the content's
//!   SHA-256 as the client sent it, verified before anything is stored.
//! * `ac`: Bazel's action cache. The key is an action digest; the content is
//!   whatever the client stores (a later `put` replaces it).
//!
//! Cache entries are rows of `hbf_block_ref` (kind, key, content row, size,
//! last use).
//!
//! # The storage invariant
//!
//! A content row is deleted only in the transaction that removes its last
//! user: when a name goes ([`BlockStore::delete`], an eviction, an `ac` entry
//! replaced) and neither another name nor any file version (`hbf_fs_version`,
//! indexed by `content_id` for this one lookup) uses it. The versioned
//! filesystem never deletes content, so deleting a file never removes a live
//! block, and a block and a file with the same bytes share one row. Every
//! write goes through [`crate::Database::write`] (group commit: one WAL
//! commit for many writers, `synchronous = NORMAL`), so a `put` that returned
//! survives `kill -9`.
//!
//! # Parts
//!
//! * [`kind`]: the vocabulary (kinds, keys, what is stored and counted);
//! * [`store`]: [`BlockStore`], each operation a transaction or a read;
//! * [`rows`]: the SQL on content rows, names and counts, and the one rule
//!   that deletes content;
//! * [`cache`]: small blocks kept in memory for reads (a block never
//!   changes; a delete or another connection's commit invalidates);
//! * [`eviction`]: the byte limit on cache entries (uses recorded in memory,
//!   least recently used deleted first);
//! * [`upload`]: large entries streamed in pieces ([`Upload`]).

mod cache;
mod eviction;
mod kind;
mod rows;
mod shared;
mod store;
mod upload;

#[cfg(test)]
mod tests;

pub(crate) use cache::BlockCache;
pub use kind::{key_from_hex, key_to_hex, BlockKind, BlockPut, BlockStatus, KindStatus, MAX_BLOCK};
pub use store::BlockStore;
pub use upload::Upload;

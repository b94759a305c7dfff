//! The block store's vocabulary: kinds of entry, keys, what to store and
//! what is stored.

/// The largest `block` entry (512 KiB, as Buddy Blocks).
pub const MAX_BLOCK: usize = 512 << 10;

/// A block key as the routes and `hbf:blob` spell it: 64 lowercase hex digits
/// (by table: every `PUT` answer and `ETag` spells one).
pub fn key_to_hex(key: &[u8; 32]) -> String {
    hex::encode(key)
}

/// 64 hex digits (either case) as the 32 bytes they spell; `None` for any
/// other text.
pub fn key_from_hex(text: &str) -> Option<[u8; 32]> {
    let mut key = [0u8; 32];
    hex::decode_to_slice(text, &mut key).ok()?;
    Some(key)
}

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
    pub(super) fn keyed_by_content(self) -> bool {
        !matches!(self, BlockKind::Ac)
    }

    /// The kind named `name` in `hbf_block_ref` or `hbf_block_stat`.
    pub(super) fn from_name(name: &str) -> Option<Self> {
        match name {
            "block" => Some(BlockKind::Block),
            "cas" => Some(BlockKind::Cas),
            "ac" => Some(BlockKind::Ac),
            _ => None,
        }
    }

    /// An index for per-kind arrays.
    pub(super) fn index(self) -> usize {
        self as usize
    }

    pub(super) const ALL: [BlockKind; 3] = [BlockKind::Block, BlockKind::Cas, BlockKind::Ac];
}

/// One entry to store with [`crate::BlockStore::put_many`].
#[derive(Debug, Clone)]
pub struct BlockPut {
    pub kind: BlockKind,
    /// The key; `None` for a block (its SHA-256 is computed).
    pub key: Option<[u8; 32]>,
    pub data: Vec<u8>,
}

/// Counts and bytes of one kind ([`crate::BlockStore::status`]).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_spell_as_lowercase_hex_and_back() {
        let key: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(37) ^ 0xa5);
        let hex = key_to_hex(&key);
        assert_eq!(hex, hex::encode(key));
        assert_eq!(key_from_hex(&hex), Some(key));
        assert_eq!(key_from_hex(&hex.to_uppercase()), Some(key));
        assert_eq!(key_from_hex(&hex[1..]), None);
    }
}

//! What HBF's storage does differently while a replicator (Litestream) copies
//! the database's WAL elsewhere.
//!
//! Litestream keeps its own state in the database, in tables named
//! `_litestream_*` (`_litestream_seq`, `_litestream_lock`), and keeps a read
//! transaction open to pin the WAL until it has copied the frames. Both are
//! the platform's business: a pod that reads, writes or drops those tables
//! can break every later checkpoint of the replicator, so they are platform
//! names for the authorizer and the pod schema checks ([`is_replicator_name`]),
//! and, unlike `hbf_*`, a pod may not even read them.

/// The prefix of Litestream's tables.
pub const REPLICATOR_TABLE_PREFIX: &str = "_litestream_";

/// True for a name the replicator owns or may own: `_litestream_*`, compared
/// as SQLite compares names (ASCII case-insensitively).
pub(crate) fn is_replicator_name(name: &str) -> bool {
    let prefix = REPLICATOR_TABLE_PREFIX.as_bytes();
    let bytes = name.as_bytes();
    bytes.len() >= prefix.len() && bytes[..prefix.len()].eq_ignore_ascii_case(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicator_names_in_any_case() {
        for name in ["_litestream_seq", "_LITESTREAM_LOCK", "_Litestream_"] {
            assert!(is_replicator_name(name), "{name}");
        }
        for name in ["litestream_seq", "_litestream", "x_litestream_seq", ""] {
            assert!(!is_replicator_name(name), "{name}");
        }
    }
}

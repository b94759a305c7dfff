//! HBF's fuzz targets, as plain functions of the fuzzer's bytes.
//!
//! Each function decodes its input (with [`arbitrary::Unstructured`] where
//! structure helps), drives one part of HBF, and **panics on any violated
//! invariant**. The cargo-fuzz crate in `fuzz/` calls them from libFuzzer; the
//! test `tests/corpus.rs` replays every file of `fuzz/corpus/<target>/` and
//! `fuzz/regressions/<target>/` through them, so `cargo test` keeps every crash
//! ever found fixed. `DOCS/FUZZING.md` says how to run them.
//!
//! | target | what it drives | what must hold |
//! |---|---|---|
//! | [`vfs_ops`] | a sequence of versioned-fs operations on valid and invalid paths | every result equals an in-memory model's, after every step |
//! | [`vfs_concurrent`] | the same kind of operations split across threads on one database | versions contiguous, every acknowledged write present, latest = highest, read-your-writes |
//! | [`http_request`] | raw bytes as HTTP/1.1 on one connection of the real server (test pod) | well-formed responses or a clean close, no hang, no 503, `/health` answers after |
//! | [`js_bridge`] | an arbitrary request to the test pod's handlers (HBF and fetch style) | no panic, no engine failure, no hang past the time limit; `/echo` echoes exactly |
//! | [`sqlar_import`] | arbitrary `sqlar` rows (modes, sizes, compressed or not, corrupt zlib) imported | a clean error exactly when a model says the archive is bad, else a correct import |
//! | [`block_routes`] | up to 48 block-service requests (`/block`, `/cas/`, `/ac/`, `/blocks/status`, any method on any of its paths), with the token, none or a wrong one | every status and body equals a model's (hashes, bytes, counts); a deleted block never served again; no 500; all entries deleted at the end leave zero counts |
//! | [`pod_sql`] | hostile statements through a pod's SQL connection (platform names in every spelling, foreign keys, triggers, views, TEMP objects, statistics, endless CTEs, huge values) | each ends by its deadline; the platform's tables unchanged; the platform's writes afterwards do exactly what they say |

mod blocks;
mod http;
mod js;
mod pods;
mod sql;
mod sqlar;
mod vfs;

pub use blocks::block_routes;
pub use http::http_request;
pub use js::js_bridge;
pub use sql::pod_sql;
pub use sqlar::sqlar_import;
pub use vfs::{vfs_concurrent, vfs_ops};

/// A target: the bytes of one input in, a panic on any violated invariant.
pub type Target = fn(&[u8]);

/// Every target, by the name of its corpus directory.
pub const TARGETS: &[(&str, Target)] = &[
    ("vfs_ops", vfs_ops),
    ("vfs_concurrent", vfs_concurrent),
    ("http_request", http_request),
    ("js_bridge", js_bridge),
    ("sqlar_import", sqlar_import),
    ("pod_sql", pod_sql),
    ("block_routes", block_routes),
];

/// SHA-256 of `data`.
fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}

/// The paths the versioned filesystem lists as live, in order.
fn live_paths(fs: &hbf_db::VersionedFs) -> Vec<String> {
    fs.list("")
        .expect("list")
        .into_iter()
        .map(|m| m.path)
        .collect()
}

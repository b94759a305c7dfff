//! The versioned filesystem: every write appends a version, reads see the latest.
//!
//! A path's versions are numbered 1, 2, 3, ... with no gaps. A version records its
//! modification time (milliseconds since the Unix epoch), its size in bytes and the
//! SHA-256 of its content. Deleting a path appends a *tombstone* version, so the
//! history survives and a later write continues the numbering. Reverting to
//! version `n` appends a new version whose state is version `n`'s.
//!
//! Content is stored once per distinct SHA-256: a thousand versions of the same
//! bytes, or the same bytes under two paths, take the space of one copy.
//!
//! Tables: `hbf_fs_content` (content by hash), `hbf_fs_version` (every version),
//! `hbf_fs_file` (the latest version of each path, for one-lookup reads and
//! listings without touching content).
//!
//! | module | job |
//! |---|---|
//! | `version` | [`FileVersion`], [`Precondition`], and how a row reads as a version |
//! | `fs` | [`VersionedFs`]: writes, reads, listings, deletes and reverts |
//! | `reader` | [`FileReader`]: one version's content, whole or by offset |
//! | `import` | importing an SQLite Archive ([`ImportReport`]) |

mod fs;
mod import;
mod reader;
mod version;

#[cfg(test)]
mod tests;

pub use fs::VersionedFs;
pub use import::ImportReport;
pub use reader::FileReader;
pub(crate) use version::now_ms;
pub use version::{FileVersion, Precondition};

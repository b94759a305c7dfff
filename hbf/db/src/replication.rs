//! What HBF's storage does differently while a replicator (Litestream) copies
//! the database's WAL elsewhere.
//!
//! Litestream keeps its own state in the database, in tables named
//! `_litestream_*` (`_litestream_seq`, `_litestream_lock`), and keeps a read
//! transaction open to pin the WAL until it has copied the frames. Both are
//! the platform's business: a pod that reads, writes or drops those tables
//! can break every later checkpoint of the replicator, so they are platform
//! names for the authorizer and the pod schema checks ([`crate::pod_schema::is_replicator_name`]),
//! and, unlike `hbf_*`, a pod may not even read them.

use std::time::Duration;

use rusqlite::wal::CheckpointMode;
use rusqlite::MAIN_DB;

use crate::{Database, Result};

/// The WAL size past which [`Database::relieve_wal`] checkpoints while the
/// replicator is down: HBF's own hard bound (`checkpoint::HARD_PAGES`, 64 MiB
/// of 4 KiB pages).
pub const WAL_HARD_BOUND_BYTES: u64 = crate::checkpoint::HARD_PAGES as u64 * (4096 + 24) + 32;

/// What a checkpoint did: SQLite's three numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointOutcome {
    /// Another connection kept it from finishing (a reader, or a writer
    /// holding the lock past the wait).
    pub busy: bool,
    /// Frames in the WAL.
    pub wal_frames: i32,
    /// Frames copied into the database file.
    pub copied_frames: i32,
}

impl Database {
    /// The size of the WAL file now (0 when there is none, or for an
    /// in-memory database).
    pub fn wal_bytes(&self) -> u64 {
        let Some(path) = self.path() else { return 0 };
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        std::fs::metadata(wal).map_or(0, |m| m.len())
    }

    /// The safety valve while a replicator owns checkpoints but is down or
    /// stuck: a `PASSIVE` checkpoint, as HBF's own checkpointer would run,
    /// when the WAL has passed [`WAL_HARD_BOUND_BYTES`]. Returns what it did,
    /// or `None` below the bound. The replicator then finds the WAL started
    /// over and takes a full snapshot at its next sync: the caller logs that.
    pub fn relieve_wal(&self) -> Result<Option<CheckpointOutcome>> {
        if self.wal_bytes() < WAL_HARD_BOUND_BYTES {
            return Ok(None);
        }
        self.with_writer(|conn| {
            let (log, copied) = conn.wal_checkpoint_v2(Some(MAIN_DB), CheckpointMode::PASSIVE)?;
            Ok(Some(CheckpointOutcome {
                busy: copied < log,
                wal_frames: log,
                copied_frames: copied,
            }))
        })
    }

    /// The last checkpoint, at shutdown: `TRUNCATE` (the WAL's content into
    /// the database file, the WAL emptied), waiting at most `wait` for other
    /// connections instead of the usual busy timeout, so that a reader left
    /// over (a replicator that did not stop) costs `wait`, not 5 s. The
    /// outcome says whether it was kept from finishing: the caller logs it
    /// (nothing is lost then; the WAL is checkpointed at the next open).
    pub fn final_checkpoint(&self, wait: Duration) -> Result<CheckpointOutcome> {
        self.with_writer(|conn| {
            conn.busy_timeout(wait)?;
            let outcome = conn.query_row("PRAGMA main.wal_checkpoint(TRUNCATE)", [], |r| {
                Ok(CheckpointOutcome {
                    busy: r.get::<_, i64>(0)? != 0,
                    wal_frames: r.get(1)?,
                    copied_frames: r.get(2)?,
                })
            });
            conn.busy_timeout(crate::connection::BUSY_TIMEOUT)?;
            Ok(outcome?)
        })
    }
}

//! WAL checkpoints off the writer's path.
//!
//! SQLite's automatic checkpoint runs inside the commit that passes its
//! threshold (1000 pages), on the writing connection: that commit, and every
//! writer queued behind it, waits while the WAL is synced, its pages copied
//! into the database file and the file synced. Under a steady stream of writes
//! (the block service's PUTs) that is a stall every few thousand writes, and
//! small WALs copy the same hot pages (index leaves, the table's last page)
//! again at every checkpoint.
//!
//! A file database's writer instead gets a WAL hook (which replaces the
//! automatic checkpoint) that only looks at the WAL's size after each commit:
//!
//! * past [`CHECKPOINT_PAGES`] it wakes the *checkpointer*, a thread with its
//!   own connection, which runs `PASSIVE` checkpoints (they take no lock that
//!   the writer or readers wait for) until the pages left to copy are fewer
//!   than [`FINISH_PAGES`];
//! * then it asks the writer to copy that remainder itself, in the hook of its
//!   next commit (a `PASSIVE` checkpoint of a few pages). Only the writer can
//!   make the WAL start over (the next transaction after a complete
//!   checkpoint does), so this keeps the file from growing under a steady
//!   load, where the checkpointer alone would never catch the last frames;
//! * past [`HARD_PAGES`] (the checkpointer cannot keep up, or fails) the
//!   writer checkpoints in the hook as SQLite would, which bounds the WAL.
//!
//! Durability does not change: a commit is in the WAL before the writer's
//! call returns (`synchronous = NORMAL`: the WAL is synced before every
//! checkpoint, the database file after it).

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};
use std::thread::JoinHandle;

use rusqlite::wal::CheckpointMode;
use rusqlite::{Connection, MAIN_DB};

use crate::Result;

/// WAL pages (4 KiB each) after which the checkpointer starts: 16 MiB.
pub(crate) const CHECKPOINT_PAGES: i32 = 4096;
/// The checkpointer hands the rest to the writer below this many pages.
pub(crate) const FINISH_PAGES: i32 = 256;
/// The writer checkpoints itself past this many pages: 64 MiB.
pub(crate) const HARD_PAGES: i32 = 16384;

/// How long the checkpointer waits when a reader's snapshot keeps it from
/// copying more.
const STUCK_PAUSE: std::time::Duration = std::time::Duration::from_millis(10);

/// What the writer's hook and the checkpointer thread share.
#[derive(Default)]
struct State {
    /// Frames in the WAL after the writer's last commit.
    wal_pages: AtomicI32,
    /// The checkpointer asks the writer to copy the last frames.
    finish: AtomicBool,
    /// A replicator owns checkpoints ([`Checkpointer::hand_over`]): the hook
    /// and the thread do nothing.
    handed_over: AtomicBool,
    wake: Mutex<Wake>,
    ready: Condvar,
}

#[derive(Default)]
struct Wake {
    requested: bool,
    closed: bool,
}

/// The checkpointer thread of one file database; stops when dropped.
pub(crate) struct Checkpointer {
    state: Arc<State>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Installs the WAL hook on `writer` (turning SQLite's automatic
    /// checkpoint off) and starts the thread, which checkpoints through
    /// `conn`, a connection of its own to the same file.
    pub(crate) fn start(writer: &mut Connection, conn: Connection) -> Result<Self> {
        // A connection that has not read the file yet does not know it is in
        // WAL mode: its checkpoints would do nothing.
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(crate::Error::Internal(format!(
                "the checkpointer's connection is in {mode} mode, not WAL"
            )));
        }
        let state = Arc::new(State::default());
        let hook_state = Arc::clone(&state);
        writer.wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, pages| {
            hook_state.wal_pages.store(pages, Ordering::Relaxed);
            if hook_state.handed_over.load(Ordering::Relaxed) {
                return Ok(());
            }
            if hook_state.finish.swap(false, Ordering::Relaxed) || pages >= HARD_PAGES {
                // The remainder (or, past the bound, everything): copied here.
                if let Err(e) = wal.checkpoint_v2(CheckpointMode::PASSIVE) {
                    tracing::debug!("checkpoint in the writer: {e}");
                }
                return Ok(());
            }
            if pages >= CHECKPOINT_PAGES {
                hook_state.request();
            }
            Ok(())
        }))?;
        let thread_state = Arc::clone(&state);
        let thread = std::thread::Builder::new()
            .name("hbf-checkpoint".into())
            .spawn(move || run(&thread_state, &conn))
            .map_err(|e| crate::Error::Internal(format!("cannot start the checkpointer: {e}")))?;
        Ok(Self {
            state,
            thread: Some(thread),
        })
    }
}

impl Checkpointer {
    /// From now on a replicator (Litestream) checkpoints the WAL, after it
    /// has copied the frames: a checkpoint here would restart the WAL under
    /// it and force a full snapshot. The WAL's bound is then the
    /// replicator's, with [`crate::Database::relieve_wal`] as the safety valve.
    pub(crate) fn hand_over(&self) {
        self.state.handed_over.store(true, Ordering::Relaxed);
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.state.wake.lock().closed = true;
        self.state.ready.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl State {
    /// Wakes the checkpointer unless it is awake already.
    fn request(&self) {
        let mut wake = self.wake.lock();
        if !wake.requested {
            wake.requested = true;
            self.ready.notify_one();
        }
    }
}

fn run(state: &State, conn: &Connection) {
    loop {
        {
            let mut wake = state.wake.lock();
            while !wake.requested && !wake.closed {
                state.ready.wait(&mut wake);
            }
            if wake.closed {
                return;
            }
        }
        // Copy what is there, again while the writer keeps appending, until
        // the writer can finish in one small step.
        let mut before = -1;
        loop {
            match conn.wal_checkpoint_v2(Some(MAIN_DB), CheckpointMode::PASSIVE) {
                Ok((log, copied)) if log >= 0 => {
                    let now = state.wal_pages.load(Ordering::Relaxed);
                    if now < copied || now - copied < FINISH_PAGES {
                        state.finish.store(true, Ordering::Relaxed);
                        break;
                    }
                    if copied <= before {
                        // A reader still needs the frames: try again later.
                        std::thread::sleep(STUCK_PAUSE);
                        break;
                    }
                    before = copied;
                }
                Ok(_) => break, // not in WAL mode
                Err(e) => {
                    tracing::warn!("WAL checkpoint: {e}");
                    break;
                }
            }
            if state.wake.lock().closed {
                return;
            }
        }
        state.wake.lock().requested = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Database;

    /// The automatic checkpoint is off on the writer, so the database file
    /// grows only if the checkpointer (and the writer's finishing step) copy
    /// the WAL; the WAL stays under its bound.
    #[test]
    fn the_wal_is_checkpointed_off_the_writer_and_stays_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hbf.db");
        let db = Database::open(&path).unwrap();
        db.write(|c| Ok(c.execute_batch("CREATE TABLE test_rows (data BLOB)")?))
            .unwrap();
        let page_frame = 4096 + 24;
        let mut largest_wal = 0;
        // 3 × CHECKPOINT_PAGES pages of rows, 64 pages per transaction.
        for _ in 0..(3 * CHECKPOINT_PAGES / 64) {
            db.write(|c| {
                let mut insert = c.prepare_cached("INSERT INTO test_rows VALUES (?1)")?;
                for _ in 0..64 {
                    insert.execute([vec![7u8; 4000]])?;
                }
                Ok(())
            })
            .unwrap();
            let wal = std::fs::metadata(dir.path().join("hbf.db-wal"))
                .unwrap()
                .len();
            largest_wal = largest_wal.max(wal);
        }
        assert!(
            largest_wal <= (HARD_PAGES as u64 + 64) * page_frame,
            "the WAL grew to {largest_wal} bytes"
        );
        let copied = |db: &Database| -> i64 {
            db.read(|c| Ok(c.query_row("SELECT count(*) FROM test_rows", [], |r| r.get(0))?))
                .unwrap()
        };
        assert_eq!(copied(&db), 3 * CHECKPOINT_PAGES as i64);
        // The main file holds at least the first CHECKPOINT_PAGES pages of
        // rows: only a checkpoint writes it.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::fs::metadata(&path).unwrap().len() < CHECKPOINT_PAGES as u64 * 4096 {
            assert!(
                std::time::Instant::now() < deadline,
                "no checkpoint copied the WAL into the database file: {} bytes, WAL {largest_wal}",
                std::fs::metadata(&path).unwrap().len()
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        drop(db);
        let reopened = Database::open(&path).unwrap();
        assert_eq!(copied(&reopened), 3 * CHECKPOINT_PAGES as i64);
    }
}

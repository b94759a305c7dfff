//! Group commit: many threads' writes share one transaction on the one writer
//! connection.
//!
//! Writers line up in a queue. The writer at the front is the *leader*: it takes
//! the jobs at the front of the queue (its own first), runs them on the writer
//! connection in one transaction, each in its own savepoint so that a failing job
//! is rolled back alone, commits once, then hands every job its outcome and wakes
//! the next leader. Everyone else sleeps on their own condition variable until
//! their job is done or they reach the front. A lone writer leads at once and
//! pays for one transaction and no thread hand-off; under load, one commit (one
//! WAL append) serves up to [`MAX_BATCH`] writes. This is LevelDB's write queue.
//!
//! An outcome is handed out only after `COMMIT` returned: an acknowledged write is
//! in the WAL. If the commit fails, every job of the batch gets the error.

use std::any::Any;
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

use rusqlite::Connection;

use crate::{Error, Result};

/// Most jobs committed in one transaction.
const MAX_BATCH: usize = 1024;

/// What a job returns, type-erased (the caller downcasts it back).
pub(crate) type Output = Box<dyn Any + Send>;
/// The work of one write, run on the writer connection inside a transaction.
pub(crate) type Work = Box<dyn FnOnce(&Connection) -> Result<Output> + Send>;

struct Job {
    work: Mutex<Option<Work>>,
    outcome: Mutex<Option<Result<Output>>>,
    /// Signalled (under the queue's lock) when the job is done or at the front.
    ready: Condvar,
}

/// The queue of writers waiting for the writer connection.
#[derive(Default)]
pub(crate) struct WriteQueue {
    waiting: Mutex<VecDeque<Arc<Job>>>,
}

impl WriteQueue {
    /// Runs `work` on `writer` in a transaction (possibly shared with other
    /// threads' jobs) and returns its outcome once the transaction committed.
    pub(crate) fn submit(&self, writer: &Mutex<Connection>, work: Work) -> Result<Output> {
        let job = Arc::new(Job {
            work: Mutex::new(Some(work)),
            outcome: Mutex::new(None),
            ready: Condvar::new(),
        });
        let mut waiting = self.waiting.lock();
        waiting.push_back(Arc::clone(&job));
        loop {
            if let Some(outcome) = job.outcome.lock().take() {
                return outcome; // a leader ran it
            }
            if Arc::ptr_eq(waiting.front().expect("our job is queued"), &job) {
                break; // we lead
            }
            job.ready.wait(&mut waiting);
        }
        let batch: Vec<Arc<Job>> = waiting.iter().take(MAX_BATCH).cloned().collect();
        drop(waiting);

        let outcomes = {
            let conn = writer.lock();
            catch_unwind(AssertUnwindSafe(|| run_batch(&conn, &batch))).unwrap_or_else(|panic| {
                let _ = conn.execute_batch("ROLLBACK");
                batch
                    .iter()
                    .map(|_| {
                        Err(Error::Internal(format!(
                            "group commit panicked: {}",
                            panic_message(&*panic)
                        )))
                    })
                    .collect()
            })
        };

        let mut waiting = self.waiting.lock();
        for (done, outcome) in batch.iter().zip(outcomes) {
            let front = waiting.pop_front().expect("the batch is at the front");
            debug_assert!(Arc::ptr_eq(&front, done));
            *done.outcome.lock() = Some(outcome);
            if !Arc::ptr_eq(done, &job) {
                done.ready.notify_one(); // a syscall: skipped for our own job
            }
        }
        if let Some(next) = waiting.front() {
            next.ready.notify_one();
        }
        drop(waiting);
        let outcome = job.outcome.lock().take();
        outcome.expect("the leader's own job is in its batch")
    }
}

/// Runs a batch in one transaction; returns each job's outcome, in order.
fn run_batch(conn: &Connection, batch: &[Arc<Job>]) -> Vec<Result<Output>> {
    let single = batch.len() == 1;
    let mut outcomes: Vec<Result<Output>> = Vec::with_capacity(batch.len());
    if let Err(e) = execute(conn, "BEGIN IMMEDIATE") {
        let reason = e.to_string();
        return batch
            .iter()
            .map(|_| Err(Error::CommitFailed(reason.clone())))
            .collect();
    }
    for job in batch {
        let work = job.work.lock().take().expect("each job runs once");
        let outcome = if single {
            run_job(conn, work)
        } else {
            run_in_savepoint(conn, work)
        };
        if conn.is_autocommit() {
            // SQLite rolled the whole transaction back (a full disk, for example):
            // nothing done so far in this batch is stored. Start again for the rest.
            for earlier in &mut outcomes {
                if earlier.is_ok() {
                    *earlier = Err(Error::CommitFailed(
                        "the transaction was rolled back by a later error".into(),
                    ));
                }
            }
            outcomes.push(outcome.and_then(|_| {
                Err(Error::CommitFailed(
                    "the transaction was rolled back".into(),
                ))
            }));
            if let Err(e) = execute(conn, "BEGIN IMMEDIATE") {
                return fail_all(outcomes, batch.len(), &e.to_string());
            }
            continue;
        }
        outcomes.push(outcome);
    }
    let end = if single && outcomes[0].is_err() {
        "ROLLBACK"
    } else {
        "COMMIT"
    };
    match execute(conn, end) {
        Ok(()) => outcomes,
        Err(e) => {
            let _ = execute(conn, "ROLLBACK");
            fail_all(outcomes, batch.len(), &e.to_string())
        }
    }
}

/// Runs a short statement through the statement cache (no re-parse per batch).
fn execute(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

fn run_job(conn: &Connection, work: Work) -> Result<Output> {
    match catch_unwind(AssertUnwindSafe(|| work(conn))) {
        Ok(outcome) => outcome,
        Err(panic) => Err(Error::Internal(format!(
            "a write panicked: {}",
            panic_message(&*panic)
        ))),
    }
}

fn run_in_savepoint(conn: &Connection, work: Work) -> Result<Output> {
    execute(conn, "SAVEPOINT job")?;
    let outcome = run_job(conn, work);
    if !conn.is_autocommit() {
        if outcome.is_err() {
            execute(conn, "ROLLBACK TO job")?;
        }
        execute(conn, "RELEASE job")?;
    }
    outcome
}

/// Turns every outcome into a failure (successes become `CommitFailed`), padded to
/// `len` outcomes.
fn fail_all(outcomes: Vec<Result<Output>>, len: usize, reason: &str) -> Vec<Result<Output>> {
    let mut failed: Vec<Result<Output>> = outcomes
        .into_iter()
        .map(|o| o.and_then(|_| Err(Error::CommitFailed(reason.to_owned()))))
        .collect();
    failed.resize_with(len, || Err(Error::CommitFailed(reason.to_owned())));
    failed
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_owned()
    }
}

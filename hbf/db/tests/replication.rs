//! Issue 25: while a replicator (Litestream) copies the WAL, it owns the
//! checkpoints; HBF's only checkpoint is a safety valve past a hard bound, and
//! the one at shutdown waits a bounded time and says when it was kept busy.

use std::time::{Duration, Instant};

use hbf_db::rusqlite::{Connection, OpenFlags};
use hbf_db::{Database, Params, WAL_HARD_BOUND_BYTES};

fn rows(db: &Database, transactions: usize) {
    for _ in 0..transactions {
        db.write(|c| {
            let mut insert = c.prepare_cached("INSERT INTO test_rows VALUES (?1)")?;
            for _ in 0..64 {
                insert.execute([vec![7u8; 4000]])?;
            }
            Ok(())
        })
        .unwrap();
    }
}

/// Without a replicator the checkpointer copies the WAL into the file; with
/// one, nothing does (neither the writer nor a pod's connection), until the
/// valve at the hard bound.
#[test]
fn a_replicator_owns_checkpoints_and_the_valve_bounds_the_wal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hbf.db");
    let db = Database::open(&path).unwrap();
    db.hand_checkpoints_to_replicator();
    db.write(|c| Ok(c.execute_batch("CREATE TABLE test_rows (data BLOB)")?))
        .unwrap();
    let file_before = std::fs::metadata(&path).unwrap().len();
    // 8192 pages: twice what starts HBF's checkpointer.
    rows(&db, 128);
    // A pod's commit past SQLite's automatic threshold (1000 pages) neither.
    let pod = db.user_db().unwrap();
    pod.execute("CREATE TABLE mine (x)", &Params::Positional(vec![]))
        .unwrap();
    pod.execute(
        "INSERT INTO mine SELECT zeroblob(4000) FROM generate_series(1, 1500)",
        &Params::Positional(vec![]),
    )
    .or_else(|_| {
        // Without generate_series: a recursive CTE.
        pod.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500) INSERT INTO mine SELECT zeroblob(4000) FROM n",
            &Params::Positional(vec![]),
        )
    })
    .unwrap();
    pod.execute("INSERT INTO mine VALUES (1)", &Params::Positional(vec![]))
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        file_before,
        "something checkpointed while the replicator owns checkpoints"
    );
    assert_eq!(db.relieve_wal().unwrap(), None, "below the bound");
    // Past the hard bound the valve copies the WAL.
    while db.wal_bytes() < WAL_HARD_BOUND_BYTES {
        rows(&db, 16);
    }
    let done = db.relieve_wal().unwrap().expect("past the bound");
    assert!(
        !done.busy && done.copied_frames == done.wal_frames,
        "{done:?}"
    );
    assert!(std::fs::metadata(&path).unwrap().len() > file_before);
}

/// Issue 25, point 3: a reader holding the WAL (a replicator) made the
/// shutdown checkpoint wait out the 5 s busy timeout, then fail silently.
#[test]
fn the_final_checkpoint_waits_a_bounded_time_and_says_it_was_busy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hbf.db");
    let db = Database::open(&path).unwrap();
    db.write(|c| Ok(c.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")?))
        .unwrap();
    let reader = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    reader
        .execute_batch("BEGIN; SELECT count(*) FROM t;")
        .unwrap();
    db.write(|c| Ok(c.execute("INSERT INTO t VALUES (2)", [])?))
        .unwrap();
    let start = Instant::now();
    let outcome = db.final_checkpoint(Duration::from_millis(200)).unwrap();
    let took = start.elapsed();
    assert!(outcome.busy, "{outcome:?}");
    assert!(took < Duration::from_secs(1), "{took:?}");
    reader.execute_batch("COMMIT").unwrap();
    let outcome = db.final_checkpoint(Duration::from_millis(200)).unwrap();
    assert!(!outcome.busy, "{outcome:?}");
    assert_eq!(db.wal_bytes(), 0, "TRUNCATE empties the WAL");
}

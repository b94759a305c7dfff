//! A pod's own SQL ([`hbf_db::UserDb`]): what it may and may not do to the
//! platform's tables (issue 11, defects 1 and 2), its deadline and its limits.

use std::time::{Duration, Instant};

use hbf_db::rusqlite::types::Value;
use hbf_db::rusqlite::Connection;
use hbf_db::{CpuBudget, Database, Error, Executed, Params, SqlLimits, UserDb};

fn pos(values: Vec<Value>) -> Params {
    Params::Positional(values)
}

#[test]
fn a_pod_uses_its_own_tables() {
    let db = Database::memory().unwrap();
    let user = db.user_db().unwrap();
    user.execute(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, data BLOB)",
        &pos(vec![]),
    )
    .unwrap();
    let done = user
        .execute(
            "INSERT INTO items (name, data) VALUES (?, ?)",
            &pos(vec![Value::Text("a".into()), Value::Blob(vec![0, 1, 2])]),
        )
        .unwrap();
    assert_eq!(
        done,
        Executed {
            changes: 1,
            last_insert_rowid: 1
        }
    );
    let rows = user
        .query(
            "SELECT name, data FROM items WHERE id = :id",
            &Params::Named(vec![("id".into(), Value::Integer(1))]),
        )
        .unwrap();
    assert_eq!(
        rows,
        vec![vec![
            ("name".to_owned(), Value::Text("a".into())),
            ("data".to_owned(), Value::Blob(vec![0, 1, 2]))
        ]]
    );
    // Platform tables are readable.
    assert_eq!(
        user.query("SELECT count(*) AS n FROM hbf_fs_file", &pos(vec![]))
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn platform_tables_are_not_writable() {
    let db = Database::memory().unwrap();
    db.fs().write("static/a.txt", "x").unwrap();
    db.write_archive(vec![hbf_db::ArchiveEntry::file("a", 0, "x")])
        .unwrap();
    let user = db.user_db().unwrap();
    user.execute("CREATE TABLE mine (x)", &pos(vec![])).unwrap();
    for sql in [
        "DELETE FROM hbf_fs_version",
        "UPDATE hbf_fs_file SET size = 0",
        "INSERT INTO hbf_fs_content (sha256, size, data) VALUES (zeroblob(32), 0, x'')",
        "DROP TABLE hbf_fs_file",
        "CREATE TABLE hbf_mine (x)",
        "ALTER TABLE hbf_import ADD COLUMN y",
        "CREATE INDEX i ON hbf_fs_version (mtime)",
        "DELETE FROM sqlar",
        "ATTACH ':memory:' AS other",
        "PRAGMA user_version = 99",
        "PRAGMA writable_schema = ON",
        "BEGIN",
        "COMMIT",
        "SAVEPOINT s",
    ] {
        match user.execute(sql, &pos(vec![])) {
            Err(err) => assert!(err.to_string().contains("not allowed"), "{sql}: {err}"),
            Ok(done) => panic!("{sql} was allowed: {done:?}"),
        }
    }
    // A trigger body is checked again when it runs: the pod's connection
    // refuses the write even if such a trigger existed.
    assert_eq!(db.fs().read("static/a.txt").unwrap(), b"x");
    assert_eq!(db.fs().history("static/a.txt").unwrap().len(), 1);
}

fn refused(user: &UserDb, sql: &str) -> String {
    match user.execute(sql, &pos(vec![])) {
        Err(err) => {
            let text = err.to_string();
            assert!(text.contains("not allowed"), "{sql}: {text}");
            text
        }
        Ok(done) => panic!("{sql} was allowed: {done:?}"),
    }
}

/// Issue 11, defect 1: the probe's objects, and every way to the same end.
#[test]
fn pod_schema_objects_never_refer_to_platform_tables() {
    let db = Database::memory().unwrap();
    db.fs().write("static/a.txt", "x").unwrap();
    let user = db.user_db().unwrap();
    user.execute(
        "CREATE TABLE mine (id INTEGER PRIMARY KEY, x)",
        &pos(vec![]),
    )
    .unwrap();
    let text = refused(
        &user,
        "CREATE TABLE pwn(m,s,e, FOREIGN KEY(m,s,e) REFERENCES hbf_module_cache(module,source_sha256,engine) ON DELETE CASCADE)",
    );
    assert!(text.contains("hbf_module_cache"), "{text}");
    for sql in [
        "CREATE TRIGGER pwn_t AFTER DELETE ON mine BEGIN DELETE FROM hbf_fs_version WHERE path='static/b.txt'; END",
        "CREATE TRIGGER r AFTER INSERT ON mine BEGIN SELECT * FROM HBF_FS_FILE; END",
        "CREATE TABLE c (x REFERENCES 'hbf_fs_content'(id))",
        "CREATE TABLE c (x REFERENCES [Hbf_Fs_Content])",
        "ALTER TABLE mine ADD COLUMN y REFERENCES hbf_fs_content(id)",
        "CREATE VIEW v AS SELECT path FROM hbf_fs_file",
        "CREATE VIRTUAL TABLE f USING fts5(data, content='hbf_fs_content')",
        "CREATE TABLE HBF_X (x)",
        "CREATE TABLE Sqlar (x)",
        "CREATE INDEX hbf_i ON mine (x)",
        "CREATE TEMP TABLE t (x)",
        "CREATE TEMP TRIGGER tt AFTER INSERT ON main.hbf_fs_version BEGIN SELECT 1; END",
        "CREATE TEMP VIEW tv AS SELECT 1",
        "CREATE TABLE temp.t2 (x)",
        "CREATE VIRTUAL TABLE s USING dbstat",
        "SELECT load_extension('/tmp/x.so')",
        "PRAGMA journal_mode = DELETE",
        "PRAGMA optimize",
        "PRAGMA incremental_vacuum",
        "EXPLAIN CREATE TABLE e (x)",
    ] {
        refused(&user, sql);
    }
    // Nothing of it stayed, and the pod's own objects still work.
    let rows = user
        .query(
            "SELECT name FROM sqlite_schema WHERE name NOT LIKE 'hbf\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
            &pos(vec![]),
        )
        .unwrap();
    assert_eq!(
        rows,
        vec![vec![("name".to_owned(), Value::Text("mine".into()))]]
    );
    for sql in [
        "CREATE TABLE child (p REFERENCES mine(id) ON DELETE CASCADE)",
        "CREATE TRIGGER ok AFTER INSERT ON mine BEGIN INSERT INTO child VALUES (new.id); END",
        "CREATE VIEW ok_v AS SELECT * FROM mine",
        "CREATE INDEX ok_i ON mine (x)",
        "CREATE VIRTUAL TABLE ok_f USING fts5(body)",
        "INSERT INTO mine (x) VALUES (1)",
        "ANALYZE",
        "DROP VIEW ok_v",
    ] {
        user.execute(sql, &pos(vec![]))
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let n = user
        .query("SELECT count(*) AS n FROM child", &pos(vec![]))
        .unwrap();
    assert_eq!(n[0][0].1, Value::Integer(1));
    refused(
        &user,
        "INSERT INTO sqlite_stat1 VALUES ('hbf_fs_version', NULL, '1 1')",
    );
    refused(&user, "DELETE FROM sqlite_stat1");
    // ANALYZE described the pod's tables only.
    let stats = user
        .query(
            "SELECT DISTINCT tbl FROM sqlite_stat1 ORDER BY tbl",
            &pos(vec![]),
        )
        .unwrap();
    assert!(
        stats
            .iter()
            .all(|row| matches!(&row[0].1, Value::Text(t) if !t.starts_with("hbf_"))),
        "{stats:?}"
    );
    // Introspection pragmas are readable.
    assert!(!user
        .query("PRAGMA table_info(mine)", &pos(vec![]))
        .unwrap()
        .is_empty());
    assert_eq!(db.fs().read("static/a.txt").unwrap(), b"x");
}

/// A new HBF database file in `dir`, then `sql` run on it by a plain
/// connection (no authorizer: what another tool, or an older HBF, could do).
fn database_file_with(dir: &tempfile::TempDir, sql: &str) -> std::path::PathBuf {
    let path = dir.path().join("hbf.db");
    if !path.exists() {
        drop(Database::open(&path).unwrap());
    }
    Connection::open(&path).unwrap().execute_batch(sql).unwrap();
    path
}

/// The platform's writer runs no pod trigger, even one that got into the
/// file some other way.
#[test]
fn the_platform_never_fires_pod_triggers() {
    let dir = tempfile::tempdir().unwrap();
    let path = database_file_with(
        &dir,
        "CREATE TABLE t (x); CREATE TABLE log (x);
         CREATE TRIGGER t_ai AFTER INSERT ON t BEGIN INSERT INTO log VALUES (new.x); END;",
    );
    let db = Database::open(&path).unwrap();
    db.write(|c| Ok(c.execute("INSERT INTO t VALUES (1)", [])?))
        .unwrap();
    let logged: i64 = db
        .read(|c| Ok(c.query_row("SELECT count(*) FROM log", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(logged, 0, "the platform's writer ran a pod trigger");
    // The pod's own connection still runs its triggers.
    let user = db.user_db().unwrap();
    user.execute("INSERT INTO t VALUES (2)", &pos(vec![]))
        .unwrap();
    let rows = user.query("SELECT x FROM log", &pos(vec![])).unwrap();
    assert_eq!(rows, vec![vec![("x".to_owned(), Value::Integer(2))]]);
}

/// A database that already holds the probe's objects (made before this
/// check, or by another tool) is refused with a clear error, untouched.
#[test]
fn a_database_with_objects_that_reach_the_platform_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = database_file_with(
        &dir,
        "CREATE TABLE pwn(m,s,e, FOREIGN KEY(m,s,e) REFERENCES hbf_module_cache(module,source_sha256,engine) ON DELETE CASCADE);
         CREATE TRIGGER pwn_t AFTER DELETE ON pwn BEGIN DELETE FROM hbf_fs_version; END;",
    );
    let before = std::fs::read(&path).unwrap();
    let err = Database::open(&path).err().expect("refused");
    let text = err.to_string();
    assert!(matches!(err, Error::UnsafeSchema { .. }), "{text}");
    assert!(
        text.contains("pwn") && text.contains("hbf_module_cache"),
        "{text}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
    // Forged planner statistics of platform tables are dropped at open.
    database_file_with(
        &dir,
        "DROP TABLE pwn; CREATE TABLE mine (x); INSERT INTO mine VALUES (1); ANALYZE mine;
         INSERT INTO sqlite_stat1 VALUES ('hbf_fs_version', NULL, '1000000 1');",
    );
    let db = Database::open(&path).unwrap();
    let forged: i64 = db
        .read(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM sqlite_stat1 WHERE tbl LIKE 'hbf%'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(forged, 0);
}

/// Runs `f` on another thread; fails if it has not finished within a
/// minute (the bug: a statement that never ends).
fn finishes<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("the statement ignored its deadline")
}

const ENDLESS: &str = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) ";

/// Issue 11, defect 2: SQL stops at the deadline; a stopped write rolls back.
#[test]
fn statements_stop_at_the_deadline_and_roll_back() {
    let db = Database::memory().unwrap();
    let user = db.user_db().unwrap();
    user.execute("CREATE TABLE t (x)", &pos(vec![])).unwrap();
    user.execute("INSERT INTO t VALUES (0)", &pos(vec![]))
        .unwrap();
    let (user, errors) = finishes(move || {
        let soon = || Some(Instant::now() + Duration::from_millis(200));
        let mut errors = Vec::new();
        user.set_deadline(soon());
        errors.push(
            user.query(&format!("{ENDLESS}SELECT max(x) FROM c"), &pos(vec![]))
                .unwrap_err(),
        );
        user.set_deadline(soon());
        errors.push(
            user.execute(
                &format!("INSERT INTO t {ENDLESS}SELECT x FROM c"),
                &pos(vec![]),
            )
            .unwrap_err(),
        );
        user.set_deadline(soon());
        errors.push(
            user.transaction(|u| {
                u.execute("INSERT INTO t VALUES (1)", &pos(vec![]))?;
                u.execute(
                    &format!("INSERT INTO t {ENDLESS}SELECT x FROM c"),
                    &pos(vec![]),
                )
            })
            .unwrap_err(),
        );
        // Past the deadline, nothing more runs.
        errors.push(user.query("SELECT 1", &pos(vec![])).unwrap_err());
        user.set_deadline(None);
        (user, errors)
    });
    for e in errors {
        assert!(e.to_string().contains("interrupted"), "{e}");
    }
    let rows = user
        .query("SELECT count(*) AS n FROM t", &pos(vec![]))
        .unwrap();
    assert_eq!(rows[0][0].1, Value::Integer(1), "a stopped write left rows");
    // The connection is usable again.
    user.execute("INSERT INTO t VALUES (2)", &pos(vec![]))
        .unwrap();
}

/// A CPU clock for the test: a thread that has used 10 s.
fn spent() -> Duration {
    Duration::from_secs(10)
}

/// Issue 26, point 4: a statement stops when the request's CPU time is used
/// up (no wall-clock deadline set), the clock being read only from
/// `not_before` on.
#[test]
fn statements_stop_when_the_cpu_time_is_used_up() {
    let db = Database::memory().unwrap();
    let user = db.user_db().unwrap();
    let user = finishes(move || {
        user.set_cpu_budget(Some(CpuBudget {
            clock: spent,
            until: Duration::from_secs(5),
            not_before: Instant::now() + Duration::from_millis(100),
        }));
        let started = Instant::now();
        let e = user
            .query(&format!("{ENDLESS}SELECT max(x) FROM c"), &pos(vec![]))
            .unwrap_err();
        assert!(e.to_string().contains("interrupted"), "{e}");
        assert!(started.elapsed() >= Duration::from_millis(100));
        // Budget left: the same statement kind runs to its end.
        user.set_cpu_budget(Some(CpuBudget {
            clock: spent,
            until: Duration::from_secs(20),
            not_before: Instant::now(),
        }));
        user.query("SELECT count(*) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 100000) SELECT x FROM c)", &pos(vec![]))
            .unwrap();
        user.set_cpu_budget(None);
        user
    });
    user.query("SELECT 1", &pos(vec![])).unwrap();
}

/// Issue 11, defect 2: values and results are bounded before they are held.
#[test]
fn values_and_results_are_bounded() {
    let db = Database::memory().unwrap();
    let user = db.user_db().unwrap();
    let err = user
        .query("SELECT randomblob(999999999) AS b", &pos(vec![]))
        .unwrap_err();
    assert!(err.to_string().contains("too big"), "{err}");
    user.set_limits(SqlLimits {
        max_result_bytes: 1 << 20,
        ..SqlLimits::default()
    })
    .unwrap();
    let err = user
        .query(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 100000) SELECT randomblob(1000) FROM c",
            &pos(vec![]),
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("larger than 1048576 bytes"),
        "{err}"
    );
    let ok = user
        .query(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 100) SELECT randomblob(1000) FROM c",
            &pos(vec![]),
        )
        .unwrap();
    assert_eq!(ok.len(), 100);
    let err = user
        .query(&format!("SELECT '{}'", "x".repeat(2 << 20)), &pos(vec![]))
        .unwrap_err();
    assert!(err.to_string().contains("statement too long"), "{err}");
}

#[test]
fn transactions_commit_or_roll_back() {
    let db = Database::memory().unwrap();
    let user = db.user_db().unwrap();
    user.execute("CREATE TABLE t (x)", &pos(vec![])).unwrap();
    user.transaction(|u| u.execute("INSERT INTO t VALUES (1)", &pos(vec![])))
        .unwrap();
    let err: Error = user
        .transaction(|u| {
            u.execute("INSERT INTO t VALUES (2)", &pos(vec![]))?;
            Err::<(), _>(Error::Sql("no".into()))
        })
        .unwrap_err();
    assert_eq!(err.to_string(), "SQL: no");
    let rows = user.query("SELECT x FROM t", &pos(vec![])).unwrap();
    assert_eq!(rows.len(), 1);
    let nested = user.transaction(|u| u.transaction(|_| Ok::<_, Error>(())));
    assert!(nested.unwrap_err().to_string().contains("nested"));
}

#[test]
fn parameter_mistakes_are_clear() {
    let db = Database::memory().unwrap();
    let user = db.user_db().unwrap();
    let err = user
        .query("SELECT ?1 + ?2", &pos(vec![Value::Integer(1)]))
        .unwrap_err();
    assert!(
        err.to_string().contains("2 parameters, 1 were given"),
        "{err}"
    );
    let err = user
        .query(
            "SELECT :a",
            &Params::Named(vec![("b".into(), Value::Integer(1))]),
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("no parameter named \"b\""),
        "{err}"
    );
    let err = user.query("SELEC 1", &pos(vec![])).unwrap_err();
    assert!(err.to_string().contains("syntax error"), "{err}");
}

/// Litestream's tables, as `litestream replicate` creates them in the
/// database it copies.
const LITESTREAM_TABLES: &str =
    "CREATE TABLE _litestream_seq (id INTEGER PRIMARY KEY, seq INTEGER);
     INSERT INTO _litestream_seq VALUES (1, 7);
     CREATE TABLE _litestream_lock (id INTEGER);";

/// Issue 25, point 4: a pod that read, wrote or dropped Litestream's tables
/// made every later checkpoint of the replicator fail. They are platform
/// tables, and unlike `hbf_*` not even readable.
#[test]
fn pod_sql_cannot_touch_the_replicators_tables() {
    let dir = tempfile::tempdir().unwrap();
    let path = database_file_with(&dir, LITESTREAM_TABLES);
    let db = Database::open(&path).expect("the replicator's tables are the platform's");
    let user = db.user_db().unwrap();
    user.execute("CREATE TABLE mine (x)", &pos(vec![])).unwrap();
    for sql in [
        "SELECT * FROM _litestream_seq",
        "SELECT count(*) FROM _LITESTREAM_SEQ",
        "SELECT seq FROM main.\"_litestream_seq\"",
        "SELECT (SELECT max(id) FROM _litestream_lock)",
        "INSERT INTO mine SELECT seq FROM _litestream_seq",
        "WITH s AS (SELECT * FROM _litestream_seq) SELECT * FROM s",
        "DELETE FROM _litestream_seq",
        "UPDATE _litestream_seq SET seq = 0",
        "INSERT INTO _litestream_lock VALUES (1)",
        "DROP TABLE _litestream_seq",
        "DROP TABLE _litestream_lock",
        "ALTER TABLE _litestream_seq ADD COLUMN y",
        "ALTER TABLE _litestream_lock RENAME TO mine2",
        "CREATE TABLE _litestream_mine (x)",
        "CREATE INDEX i ON _litestream_seq (seq)",
        "CREATE TABLE ref (x REFERENCES _litestream_seq(id))",
        "CREATE VIEW v AS SELECT * FROM _litestream_seq",
        "CREATE VIEW v2 AS SELECT '_litestream_seq'",
        "CREATE TRIGGER t AFTER INSERT ON mine BEGIN DELETE FROM _litestream_seq; END",
        "CREATE TRIGGER t2 AFTER DELETE ON _litestream_seq BEGIN SELECT 1; END",
    ] {
        match user.execute(sql, &pos(vec![])) {
            // "not allowed" for a statement, "prohibited" for a column read.
            Err(err) => assert!(
                ["not allowed", "prohibited"]
                    .iter()
                    .any(|m| err.to_string().contains(m)),
                "{sql}: {err}"
            ),
            Ok(done) => panic!("{sql} was allowed: {done:?}"),
        }
    }
    // Describing the schema is still allowed; the data is not.
    let rows = user
        .query(
            "SELECT name FROM sqlite_schema WHERE name LIKE '\\_litestream%' ESCAPE '\\'",
            &pos(vec![]),
        )
        .unwrap();
    assert_eq!(rows.len(), 2);
    let seq: i64 = db
        .read(|c| Ok(c.query_row("SELECT seq FROM _litestream_seq", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(seq, 7, "the replicator's state is untouched");
    let objects: i64 = db
        .read(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name <> 'mine' AND name NOT LIKE 'hbf%' AND name <> 'sqlar' AND name NOT LIKE 'sqlite%'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(objects, 2, "no pod object was left behind");
}

/// Only plain tables may carry the replicator's names: a view, a trigger or a
/// table with a foreign key named `_litestream_*` got there some other way
/// and is refused at open, as a pod object reaching the platform would be.
#[test]
fn only_the_replicators_plain_tables_may_carry_its_names() {
    for hostile in [
        "CREATE VIEW _litestream_v AS SELECT * FROM hbf_fs_file;",
        "CREATE TABLE _litestream_x (id REFERENCES hbf_fs_content(id));",
        "CREATE TABLE mine (x); CREATE TRIGGER _litestream_t AFTER INSERT ON mine BEGIN SELECT 1; END;",
        "CREATE TABLE mine2 (x REFERENCES _litestream_seq(id));",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = database_file_with(&dir, &format!("{LITESTREAM_TABLES}{hostile}"));
        let err = Database::open(&path)
            .err()
            .unwrap_or_else(|| panic!("{hostile} was accepted"));
        assert!(matches!(err, Error::UnsafeSchema { .. }), "{hostile}: {err}");
    }
}

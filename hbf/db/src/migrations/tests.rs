use std::time::Duration;

use rusqlite::types::Value;

use crate::{Database, Error, MigrationState, Params};

const LIMIT: Duration = Duration::from_secs(10);

fn put(db: &Database, name: &str, sql: &str) {
    db.fs()
        .write(&format!("hbf/migrations/{name}"), sql.as_bytes())
        .unwrap();
}

fn rows(db: &Database, sql: &str) -> Vec<Vec<Value>> {
    let user = db.user_db().unwrap();
    let mut out = Vec::new();
    user.scan(sql, &Params::Positional(vec![]), true, |_, row| {
        out.push(row);
        Ok(true)
    })
    .unwrap();
    out
}

fn tables(db: &Database) -> Vec<Vec<Value>> {
    rows(
        db,
        "SELECT name FROM sqlite_schema WHERE tbl_name NOT LIKE 'hbf\\_%' ESCAPE '\\' AND tbl_name <> 'sqlar' ORDER BY name",
    )
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

#[test]
fn names_are_sql_files_directly_in_the_directory() {
    use super::migration_name;
    assert_eq!(
        migration_name("hbf/migrations/0001_a.sql"),
        Some("0001_a.sql")
    );
    assert_eq!(migration_name("hbf/migrations/sub/0001_a.sql"), None);
    assert_eq!(migration_name("hbf/migrations/0001_a.js"), None);
    assert_eq!(migration_name("hbf/migrations/.sql"), None);
    assert_eq!(migration_name("hbf/server.js"), None);
}

#[test]
fn pending_migrations_run_in_name_order_once() {
    let db = Database::memory().unwrap();
    // Written out of order: the second needs the first's table.
    put(
        &db,
        "0002_seed.sql",
        "INSERT INTO notes (body) VALUES ('hello');",
    );
    put(
        &db,
        "0001_notes.sql",
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);\n-- a comment\n",
    );
    let states: Vec<_> = db.migrations().unwrap().iter().map(|m| m.state).collect();
    assert_eq!(states, [MigrationState::Pending, MigrationState::Pending]);
    let ran: Vec<String> = db
        .migrate(LIMIT)
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(ran, ["0001_notes.sql", "0002_seed.sql"]);
    assert!(db.migrate(LIMIT).unwrap().is_empty(), "applied once");
    assert_eq!(rows(&db, "SELECT body FROM notes"), [[text("hello")]]);
    let all = db.migrations().unwrap();
    assert!(all.iter().all(|m| m.state == MigrationState::Applied));
    assert!(all[0].applied.as_ref().unwrap().applied_at_ms > 0);
    // A deleted file of an applied migration is only reported.
    db.fs().delete("hbf/migrations/0002_seed.sql").unwrap();
    assert_eq!(db.migrations().unwrap()[1].state, MigrationState::Missing);
    assert!(db.migrate(LIMIT).unwrap().is_empty());
}

#[test]
fn a_failing_migration_leaves_schema_and_data_as_they_were() {
    let db = Database::memory().unwrap();
    put(
        &db,
        "0001_t.sql",
        "CREATE TABLE t (x); INSERT INTO t VALUES (1);",
    );
    db.migrate(LIMIT).unwrap();
    put(
        &db,
        "0002_bad.sql",
        "INSERT INTO t VALUES (2); CREATE TABLE u (y); INSERT INTO nowhere VALUES (3);",
    );
    let err = db.migrate(LIMIT).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::MigrationFailed { .. }), "{message}");
    assert!(message.contains("hbf/migrations/0002_bad.sql"), "{message}");
    assert!(message.contains("no such table: nowhere"), "{message}");
    assert!(message.contains("rolled back"), "{message}");
    assert_eq!(rows(&db, "SELECT x FROM t"), [[Value::Integer(1)]]);
    assert_eq!(tables(&db), [[text("t")]]);
    assert_eq!(db.migrations().unwrap()[1].state, MigrationState::Pending);
    let last = db.last_migration_error().expect("remembered");
    assert_eq!(last.name, "0002_bad.sql");
    // Fixed: it runs, and the error is cleared.
    put(&db, "0002_bad.sql", "INSERT INTO t VALUES (2);");
    assert_eq!(db.migrate(LIMIT).unwrap().len(), 1);
    assert!(db.last_migration_error().is_none());
}

#[test]
fn a_changed_applied_migration_is_refused_with_both_hashes() {
    let db = Database::memory().unwrap();
    put(&db, "0001_t.sql", "CREATE TABLE t (x);");
    db.migrate(LIMIT).unwrap();
    let before = db.migrations().unwrap()[0].sha256.unwrap();
    put(&db, "0001_t.sql", "CREATE TABLE t (x, y);");
    put(&db, "0002_u.sql", "CREATE TABLE u (x);");
    let after = db.migrations().unwrap()[0].sha256.unwrap();
    assert_eq!(db.migrations().unwrap()[0].state, MigrationState::Changed);
    let message = db.migrate(LIMIT).unwrap_err().to_string();
    assert!(message.contains(&hex::encode(before)), "{message}");
    assert!(message.contains(&hex::encode(after)), "{message}");
    // Nothing else ran either.
    assert_eq!(db.migrations().unwrap()[1].state, MigrationState::Pending);
    // A live save of the changed content is refused the same way.
    let err = db
        .apply_migration("hbf/migrations/0001_t.sql", b"CREATE TABLE t (z);", LIMIT)
        .unwrap_err();
    assert!(matches!(err, Error::MigrationChanged { .. }), "{err}");
    // The original content is simply "already applied".
    db.fs()
        .write("hbf/migrations/0001_t.sql", &b"CREATE TABLE t (x);"[..])
        .unwrap();
    assert_eq!(
        db.apply_migration("hbf/migrations/0001_t.sql", b"CREATE TABLE t (x);", LIMIT)
            .unwrap(),
        None
    );
}

#[test]
fn migrations_are_pod_sql_under_the_pod_rules() {
    let refused = [
        "INSERT INTO hbf_fs_file (path, version, mtime, size, deleted) VALUES ('x', 1, 0, 0, 1);",
        "DELETE FROM hbf_migration;",
        "CREATE TABLE t (x); CREATE VIEW v AS SELECT * FROM hbf_fs_content;",
        "CREATE TABLE t (x); CREATE TRIGGER tr AFTER INSERT ON t BEGIN DELETE FROM hbf_fs_file; END;",
        "CREATE TABLE hbf_mine (x);",
        "DROP TABLE sqlar;",
        "BEGIN; CREATE TABLE t (x); COMMIT;",
        "PRAGMA foreign_keys = OFF;",
        "ATTACH ':memory:' AS other;",
    ];
    for sql in refused {
        let db = Database::memory().unwrap();
        let err = db
            .apply_migration("hbf/migrations/0001_x.sql", sql.as_bytes(), LIMIT)
            .unwrap_err();
        assert!(matches!(err, Error::MigrationFailed { .. }), "{sql}: {err}");
        assert!(tables(&db).is_empty(), "{sql}: nothing kept");
        assert!(db.migrations().unwrap().is_empty(), "{sql}: not recorded");
    }
}

#[test]
fn a_migration_stops_at_its_time_limit_and_keeps_nothing() {
    let db = Database::memory().unwrap();
    let sql = "CREATE TABLE t (x);
        WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c)
        INSERT INTO t SELECT n FROM c;";
    let started = std::time::Instant::now();
    let err = db
        .apply_migration(
            "hbf/migrations/0001_loop.sql",
            sql.as_bytes(),
            Duration::from_millis(200),
        )
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(err.to_string().contains("migration time limit"), "{err}");
    assert!(tables(&db).is_empty());
}

#[test]
fn two_processes_apply_each_migration_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hbf.db");
    let first = Database::open(&path).unwrap();
    put(&first, "0001_t.sql", "CREATE TABLE t (x);");
    put(&first, "0002_seed.sql", "INSERT INTO t VALUES (1);");
    put(
        &first,
        "0003_more.sql",
        "INSERT INTO t SELECT x + 1 FROM t;",
    );
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || {
                let db = Database::open(&path).unwrap();
                db.migrate(LIMIT).unwrap().len()
            })
        })
        .collect();
    let ran: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(ran, 3);
    assert_eq!(
        rows(&first, "SELECT x FROM t ORDER BY x"),
        [[Value::Integer(1)], [Value::Integer(2)]]
    );
}

#[test]
fn a_read_only_scan_refuses_writes() {
    let db = Database::memory().unwrap();
    put(
        &db,
        "0001_t.sql",
        "CREATE TABLE t (x); INSERT INTO t VALUES (1), (2), (3);",
    );
    db.migrate(LIMIT).unwrap();
    let user = db.user_db().unwrap();
    let none = Params::Positional(vec![]);
    for sql in [
        "DELETE FROM t",
        "INSERT INTO t VALUES (4)",
        "CREATE TABLE u (y)",
        "DROP TABLE t",
    ] {
        let err = user.scan(sql, &none, true, |_, _| Ok(true)).unwrap_err();
        assert!(err.to_string().contains("read-only"), "{sql}: {err}");
    }
    assert_eq!(rows(&db, "SELECT count(*) FROM t"), [[Value::Integer(3)]]);
    assert_eq!(tables(&db), [[text("t")]]);
    // A visitor can stop early.
    let mut seen = 0;
    let columns = user
        .scan("SELECT x FROM t", &none, true, |_, _| {
            seen += 1;
            Ok(seen < 2)
        })
        .unwrap();
    assert_eq!((columns, seen), (vec!["x".to_owned()], 2));
}

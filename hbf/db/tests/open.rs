//! Opening, creating from a template, refusing what is not ours, migrations.

use std::path::Path;

use hbf_db::{Database, Error, APPLICATION_ID, SCHEMA_VERSION};
use rusqlite::Connection;

/// Bytes of an HBF database holding one file, as the packer would produce.
fn template() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::memory().unwrap();
    db.fs()
        .write_at("hbf/server.js", "export default 1;", 0)
        .unwrap();
    let out = dir.path().join("t.db");
    db.vacuum_into(&out).unwrap();
    std::fs::read(out).unwrap()
}

fn assert_untouched(path: &Path, before: &[u8], result: Result<Database, Error>) -> Error {
    let err = match result {
        Ok(_) => panic!("opening {} should fail", path.display()),
        Err(e) => e,
    };
    assert_eq!(std::fs::read(path).unwrap(), before, "file was modified");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    err
}

#[test]
fn creates_a_new_file_with_wal_and_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    let db = Database::open(&path).unwrap();
    db.fs().write("a", "1").unwrap();
    let settings = db
        .read(|c| {
            let mode: String = c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
            let fk: i64 = c.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
            let app: i32 = c.query_row("PRAGMA application_id", [], |r| r.get(0))?;
            let ver: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            Ok((mode, fk, app, ver))
        })
        .unwrap();
    assert_eq!(settings, ("wal".into(), 1, APPLICATION_ID, SCHEMA_VERSION));
    let sync: i64 = db
        .write(|c| Ok(c.query_row("PRAGMA synchronous", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(sync, 1, "synchronous=NORMAL");
    drop(db);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains("creating"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let again = Database::open(&path).unwrap();
    assert_eq!(again.fs().read("a").unwrap(), b"1");
}

#[test]
fn fts5_and_json_are_compiled_in() {
    let db = Database::memory().unwrap();
    let out: (String, i64) = db
        .write(|c| {
            c.execute_batch(
                "CREATE VIRTUAL TABLE docs USING fts5(body);
                 INSERT INTO docs VALUES ('hello versioned world');",
            )?;
            let json = c.query_row("SELECT json_extract('{\"a\":[1,2]}', '$.a[1]')", [], |r| {
                r.get::<_, i64>(0)
            })?;
            let hit = c.query_row(
                "SELECT body FROM docs WHERE docs MATCH 'versioned'",
                [],
                |r| r.get(0),
            )?;
            Ok((hit, json))
        })
        .unwrap();
    assert_eq!(out, ("hello versioned world".into(), 2));
}

#[test]
fn created_from_a_template_once_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hbf.db");
    let bytes = template();
    let (db, created) = Database::open_or_create(&path, &bytes).unwrap();
    assert!(created);
    assert_eq!(db.fs().read("hbf/server.js").unwrap(), b"export default 1;");
    db.fs().write("hbf/server.js", "edited").unwrap();
    drop(db);
    let (db, created) = Database::open_or_create(&path, &bytes).unwrap();
    assert!(!created);
    assert_eq!(db.fs().read("hbf/server.js").unwrap(), b"edited");
}

#[test]
fn in_memory_from_a_template_is_independent() {
    let bytes = template();
    let a = Database::memory_from_template(&bytes).unwrap();
    let b = Database::memory_from_template(&bytes).unwrap();
    a.fs().write("hbf/server.js", "changed").unwrap();
    assert_eq!(b.fs().read("hbf/server.js").unwrap(), b"export default 1;");
    assert_eq!(a.fs().read("hbf/server.js").unwrap(), b"changed");
}

#[test]
fn a_bad_template_is_refused() {
    let err = Database::memory_from_template(b"not a database")
        .err()
        .unwrap();
    assert!(matches!(err, Error::BadTemplate(_)), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let foreign = dir.path().join("foreign.db");
    Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE t(x)")
        .unwrap();
    let err = Database::memory_from_template(&std::fs::read(&foreign).unwrap())
        .err()
        .unwrap();
    assert!(err.to_string().contains("application_id"), "{err}");
    let path = dir.path().join("new.db");
    assert!(Database::open_or_create(&path, b"junk junk junk").is_err());
    assert!(!path.exists(), "no partial file after a failed create");
}

#[test]
fn refuses_a_file_that_is_not_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    let before = b"these are my notes, not a database\n".repeat(10);
    std::fs::write(&path, &before).unwrap();
    let err = assert_untouched(&path, &before, Database::open(&path));
    assert!(matches!(err, Error::NotHbfDatabase { .. }), "{err}");
    assert!(err.to_string().contains("not an SQLite database"), "{err}");
}

#[test]
fn refuses_an_empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.db");
    std::fs::write(&path, b"").unwrap();
    let err = assert_untouched(&path, b"", Database::open(&path));
    assert!(err.to_string().contains("empty"), "{err}");
}

#[test]
fn refuses_another_applications_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(
        "PRAGMA application_id = 42; CREATE TABLE users(id); INSERT INTO users VALUES (1);",
    )
    .unwrap();
    drop(conn);
    let before = std::fs::read(&path).unwrap();
    let err = assert_untouched(&path, &before, Database::open(&path));
    assert!(matches!(err, Error::NotHbfDatabase { .. }), "{err}");
    assert!(err.to_string().contains("another application"), "{err}");
}

#[test]
fn refuses_a_corrupt_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hbf.db");
    let db = Database::open(&path).unwrap();
    let fs = db.fs();
    for i in 0..200 {
        fs.write(&format!("static/f{i}.txt"), vec![b'x'; 3000])
            .unwrap();
    }
    db.checkpoint().unwrap();
    drop((fs, db));
    let mut bytes = std::fs::read(&path).unwrap();
    let page = 4096;
    assert!(bytes.len() > 8 * page);
    // Scribble over the interior of the database, sparing the header page.
    for b in &mut bytes[2 * page..6 * page] {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes).unwrap();
    let err = assert_untouched(&path, &bytes, Database::open(&path));
    assert!(matches!(err, Error::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("corrupt"), "{err}");
}

#[test]
fn refuses_a_newer_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hbf.db");
    drop(Database::open(&path).unwrap());
    Connection::open(&path)
        .unwrap()
        .execute_batch(&format!("PRAGMA user_version = {}", SCHEMA_VERSION + 1))
        .unwrap();
    let before = std::fs::read(&path).unwrap();
    let err = assert_untouched(&path, &before, Database::open(&path));
    assert!(matches!(err, Error::SchemaTooNew { .. }), "{err}");
}

#[test]
fn a_failing_write_job_is_rolled_back_alone() {
    let db = Database::memory().unwrap();
    let err = db
        .write(|c| {
            c.execute_batch("CREATE TABLE kept(x); INSERT INTO kept VALUES (1);")?;
            Err::<(), _>(Error::Internal("changed my mind".into()))
        })
        .unwrap_err();
    assert!(matches!(err, Error::Internal(_)));
    let tables: i64 = db
        .read(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name = 'kept'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(tables, 0, "the failed job's changes were rolled back");
    let err = db
        .write(|_| -> hbf_db::Result<()> { panic!("boom") })
        .unwrap_err();
    assert!(err.to_string().contains("boom"), "{err}");
    db.fs().write("still/works", "yes").unwrap();
}

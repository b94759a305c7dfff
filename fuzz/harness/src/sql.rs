//! `pod_sql`: a hostile pod's SQL against the platform's tables.
//!
//! An input is a short sequence of statements, each assembled from pieces that
//! aim at the platform (its table names in every spelling, foreign keys,
//! triggers, views, TEMP objects, statistics, pragmas, endless recursive CTEs,
//! huge values) or taken raw from the fuzzer. They run through a pod's own
//! connection ([`hbf_db::UserDb`], the one behind `hbf:db`) under a request
//! deadline, on a database made from the test pod. Then the platform writes as
//! it does while serving (a file, a tombstone, a compiled module replaced: the
//! writes the probe's cascade rode on). What must hold:
//!
//! * every statement ends (with a result or an error) by its deadline, plus
//!   slack for a busy machine;
//! * the platform's tables, their schema rows and their planner statistics are
//!   exactly as before the pod's statements;
//! * the platform's own writes afterwards all succeed and do exactly what they
//!   say (no pod trigger, cascade or constraint joins in).

use std::time::{Duration, Instant};

use arbitrary::{Arbitrary, Unstructured};
use hbf_db::rusqlite::types::Value;
use hbf_db::{Database, Params};
use sha2::{Digest, Sha256};

/// The deadline of one statement.
pub const DEADLINE: Duration = Duration::from_millis(50);
/// How far past the deadline a statement may end (the machine may be busy).
const SLACK: Duration = Duration::from_millis(1950);

/// Names a statement may use: the pod's own, and the platform's in every
/// spelling SQLite accepts.
const NAMES: &[&str] = &[
    "t1",
    "t2",
    "v1",
    "hbf_fs_file",
    "hbf_fs_version",
    "hbf_fs_content",
    "hbf_module_cache",
    "hbf_import",
    "hbf_import_file",
    "sqlar",
    "HBF_FS_FILE",
    "\"hbf_fs_version\"",
    "[hbf_fs_content]",
    "`hbf_module_cache`",
    "'hbf_fs_file'",
    "main.hbf_fs_file",
    "temp.t3",
    "sqlite_stat1",
    "sqlite_schema",
    "sqlite_sequence",
    "sqlite_temp_schema",
    "hbf_new",
    "Sqlar",
];

/// Statement shapes; `{a}` and `{b}` are names, `{x}` a raw fragment.
const SHAPES: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS {a} (id INTEGER PRIMARY KEY, x, y)",
    "CREATE TABLE {a} (m, s, e, FOREIGN KEY(m, s, e) REFERENCES {b}(module, source_sha256, engine) ON DELETE CASCADE)",
    "CREATE TABLE {a} (x REFERENCES {b}(id) ON DELETE RESTRICT ON UPDATE CASCADE)",
    "CREATE TABLE {a} AS SELECT * FROM {b}",
    "ALTER TABLE {a} ADD COLUMN z REFERENCES {b}",
    "ALTER TABLE {a} RENAME TO {b}",
    "CREATE TRIGGER tr_{x} AFTER DELETE ON {a} BEGIN DELETE FROM {b}; END",
    "CREATE TRIGGER tr_{x} BEFORE INSERT ON {a} BEGIN UPDATE {b} SET data = x'00'; END",
    "CREATE TRIGGER tr_{x} AFTER UPDATE ON {a} BEGIN INSERT INTO {b} SELECT * FROM {b}; END",
    "CREATE TEMP TRIGGER tt_{x} AFTER INSERT ON {a} BEGIN SELECT 1; END",
    "CREATE VIEW IF NOT EXISTS v_{x} AS SELECT * FROM {a}",
    "CREATE TRIGGER ti_{x} INSTEAD OF INSERT ON {a} BEGIN DELETE FROM {b}; END",
    "CREATE INDEX IF NOT EXISTS i_{x} ON {a} (x)",
    "CREATE UNIQUE INDEX iu_{x} ON {a} (path)",
    "CREATE VIRTUAL TABLE f_{x} USING fts5(data, content={a})",
    "CREATE VIRTUAL TABLE d_{x} USING {x}",
    "DROP TABLE IF EXISTS {a}",
    "DROP TRIGGER IF EXISTS {a}",
    "DROP INDEX IF EXISTS {a}",
    "INSERT INTO {a} SELECT * FROM {b}",
    "INSERT INTO {a} (x) VALUES ({x})",
    "INSERT INTO {a} VALUES ('{b}', NULL, '{x}')",
    "UPDATE {a} SET x = {x}",
    "DELETE FROM {a}",
    "REPLACE INTO {a} SELECT * FROM {b}",
    "SELECT * FROM {a}",
    "ANALYZE",
    "ANALYZE {a}",
    "REINDEX {a}",
    "VACUUM",
    "PRAGMA {x}",
    "PRAGMA {x} = {x}",
    "PRAGMA foreign_keys = OFF",
    "PRAGMA writable_schema = ON",
    "PRAGMA table_info({a})",
    "ATTACH ':memory:' AS {x}",
    "BEGIN",
    "COMMIT",
    "SAVEPOINT {x}",
    "ROLLBACK",
    "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT max(n) FROM c",
    "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) INSERT INTO {a} (x) SELECT n FROM c",
    "SELECT randomblob(999999999)",
    "SELECT zeroblob(1 << {x})",
    "SELECT printf('%.*c', 1 << 30, 'x')",
    "SELECT load_extension('{x}')",
    "SELECT fts3_tokenizer('simple', x'0000000000000000')",
    "{x}",
];

#[derive(Debug, Arbitrary)]
enum Statement {
    Shape { shape: u8, a: u8, b: u8, x: String },
    Raw(String),
}

impl Statement {
    fn sql(&self) -> String {
        match self {
            Statement::Raw(sql) => sql.clone(),
            Statement::Shape { shape, a, b, x } => {
                let name = |i: &u8| NAMES[*i as usize % NAMES.len()];
                // Fragments go in raw: the fuzzer may close quotes and add clauses.
                let x: String = x.chars().take(64).collect();
                SHAPES[*shape as usize % SHAPES.len()]
                    .replace("{a}", name(a))
                    .replace("{b}", name(b))
                    .replace("{x}", &x)
            }
        }
    }
}

#[derive(Debug, Arbitrary)]
struct Input {
    statements: Vec<Statement>,
    /// Run the statements inside one `transaction(fn)`.
    in_transaction: bool,
}

/// `pod_sql`: see the module docs.
pub fn pod_sql(data: &[u8]) {
    let Ok(input) = Unstructured::new(data).arbitrary::<Input>() else {
        return;
    };
    let statements: Vec<String> = input
        .statements
        .iter()
        .take(12)
        .map(Statement::sql)
        .collect();
    check(&statements, input.in_transaction);
}

/// Runs `statements` as a pod would and checks what must hold.
fn check(statements: &[String], in_transaction: bool) {
    let db = Database::memory_from_template(crate::pods::test_pod()).expect("a pod database");
    let before = platform_state(&db);
    let user = db.user_db().expect("a pod connection");
    let run_all = |user: &hbf_db::UserDb| -> hbf_db::Result<()> {
        for sql in statements {
            user.set_deadline(Some(Instant::now() + DEADLINE));
            let started = Instant::now();
            let outcome = user.execute(sql, &Params::Positional(vec![]));
            let took = started.elapsed();
            assert!(
                took <= DEADLINE + SLACK,
                "took {took:?}, past the {DEADLINE:?} deadline: {sql:?} -> {outcome:?}"
            );
            user.set_deadline(None);
        }
        Ok(())
    };
    if in_transaction {
        let _ = user.transaction(run_all);
    } else {
        let _ = run_all(&user);
    }
    let after = platform_state(&db);
    if before != after {
        let changed: Vec<&String> = after
            .iter()
            .zip(&before)
            .filter(|(a, b)| a != b)
            .map(|(a, _)| &a.0)
            .collect();
        panic!("pod SQL changed the platform's {changed:?}\nstatements: {statements:#?}");
    }
    platform_writes_do_what_they_say(&db, statements);
}

/// The platform's writes while serving, each checked to have done exactly
/// its own change.
fn platform_writes_do_what_they_say(db: &Database, statements: &[String]) {
    let fs = db.fs();
    let ctx = || format!("after pod statements {statements:#?}");
    let versions = |db: &Database| -> i64 {
        db.read(|c| Ok(c.query_row("SELECT count(*) FROM hbf_fs_version", [], |r| r.get(0))?))
            .expect("count versions")
    };
    let start = versions(db);
    let paths = crate::live_paths(&fs);
    let untouched: Vec<(String, Vec<u8>)> = paths
        .iter()
        .map(|p| (p.clone(), fs.read(p).expect("read a live file")))
        .collect();
    fs.write("static/fuzz.txt", "one")
        .unwrap_or_else(|e| panic!("a platform write failed: {e} {}", ctx()));
    fs.write("static/fuzz.txt", "two")
        .unwrap_or_else(|e| panic!("a platform write failed: {e} {}", ctx()));
    fs.delete("static/fuzz.txt")
        .unwrap_or_else(|e| panic!("a platform delete failed: {e} {}", ctx()));
    assert_eq!(versions(db), start + 3, "{}", ctx());
    let cache = db.module_cache();
    // The packer's entries written again, as an import of a newer pod does:
    // each REPLACE deletes the old row first.
    type Entry = (String, Vec<u8>, Vec<u8>, Vec<u8>);
    let entries: Vec<Entry> = db
        .read(|c| {
            let mut stmt =
                c.prepare("SELECT module, source_sha256, engine, bytecode FROM hbf_module_cache")?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<hbf_db::rusqlite::Result<_>>()?;
            Ok(rows)
        })
        .expect("read the module cache");
    for (module, source, engine, bytecode) in entries {
        let source: [u8; 32] = source.try_into().expect("a SHA-256");
        cache
            .put(&module, source, &engine, bytecode.clone())
            .unwrap_or_else(|e| panic!("re-storing {module} failed: {e} {}", ctx()));
        assert_eq!(
            cache.get(&module, source, &engine).expect("read back"),
            Some(bytecode),
            "{module} {}",
            ctx()
        );
    }
    let (sha, engine) = ([9u8; 32], b"fuzz-engine".as_slice());
    for bytecode in [b"one".to_vec(), b"two".to_vec()] {
        // The second put replaces the row: a delete, where the probe's
        // cascade fired.
        cache
            .put("hbf/fuzz.js", sha, engine, bytecode.clone())
            .unwrap_or_else(|e| panic!("a module cache write failed: {e} {}", ctx()));
        assert_eq!(
            cache.get("hbf/fuzz.js", sha, engine).expect("read back"),
            Some(bytecode),
            "{}",
            ctx()
        );
    }
    for (path, content) in untouched {
        assert_eq!(
            fs.read(&path).expect("still readable"),
            content,
            "{path} {}",
            ctx()
        );
    }
}

/// Every row of every platform table, the platform's schema rows and the
/// planner statistics of platform tables, as (what, text) pairs.
fn platform_state(db: &Database) -> Vec<(String, String)> {
    db.read(|conn| {
        let mut out = Vec::new();
        let objects: Vec<(String, String, String)> = conn
            .prepare(
                "SELECT type, name, coalesce(sql, '') FROM sqlite_schema
                 WHERE name LIKE 'hbf\\_%' ESCAPE '\\' OR lower(name) = 'sqlar'
                    OR name LIKE 'sqlite\\_autoindex\\_hbf%' ESCAPE '\\'
                    OR lower(name) LIKE 'sqlite_autoindex_sqlar%'
                 ORDER BY type, name",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<hbf_db::rusqlite::Result<_>>()?;
        for (kind, name, sql) in &objects {
            out.push((format!("schema {kind} {name}"), sql.clone()));
            if kind == "table" {
                // Ordered by the first two columns (one, for a table of one).
                let width = conn
                    .prepare(&format!("SELECT * FROM \"{name}\""))?
                    .column_count();
                let order = if width > 1 { "1, 2" } else { "1" };
                let mut stmt =
                    conn.prepare(&format!("SELECT * FROM \"{name}\" ORDER BY {order}"))?;
                let columns = stmt.column_count();
                let mut rows = stmt.query([])?;
                // A digest of every value, typed and length-prefixed (the
                // module cache's bytecode is large: printing it is slow).
                let mut digest = Sha256::new();
                let mut count = 0u64;
                while let Some(row) = rows.next()? {
                    count += 1;
                    for i in 0..columns {
                        let (kind, bytes): (u8, Vec<u8>) = match row.get::<_, Value>(i)? {
                            Value::Null => (0, Vec::new()),
                            Value::Integer(n) => (1, n.to_le_bytes().to_vec()),
                            Value::Real(x) => (2, x.to_le_bytes().to_vec()),
                            Value::Text(t) => (3, t.into_bytes()),
                            Value::Blob(b) => (4, b),
                        };
                        digest.update([kind]);
                        digest.update((bytes.len() as u64).to_le_bytes());
                        digest.update(&bytes);
                    }
                }
                let digest: [u8; 32] = digest.finalize().into();
                out.push((format!("rows of {name}"), format!("{count} rows, {digest:02x?}")));
            }
        }
        for stat in ["sqlite_stat1", "sqlite_stat4"] {
            let exists = conn
                .prepare("SELECT 1 FROM sqlite_schema WHERE name = ?1")?
                .exists([stat])?;
            let rows = if exists {
                conn.prepare(&format!(
                    "SELECT count(*) FROM {stat} WHERE lower(tbl) LIKE 'hbf%' OR lower(tbl) = 'sqlar'"
                ))?
                .query_row([], |r| r.get::<_, i64>(0))?
            } else {
                0
            };
            out.push((format!("{stat} rows of platform tables"), rows.to_string()));
        }
        Ok(out)
    })
    .expect("read the platform's state")
}

#[cfg(test)]
mod tests {
    /// The probe of issue 11: a cascading foreign key to the module cache, a
    /// trigger on it that rewrites file contents, and the rows that arm it.
    #[test]
    fn the_probes_statements() {
        let statements: Vec<String> = [
            "CREATE TABLE pwn(m,s,e, FOREIGN KEY(m,s,e) REFERENCES hbf_module_cache(module,source_sha256,engine) ON DELETE CASCADE)",
            "INSERT INTO pwn SELECT module,source_sha256,engine FROM hbf_module_cache",
            // As the probe's, on files the test pod has.
            "CREATE TRIGGER pwn_t AFTER DELETE ON pwn BEGIN DELETE FROM hbf_fs_version WHERE path='static/favicon.ico'; UPDATE hbf_fs_content SET data=CAST('PWNED' AS BLOB) WHERE id=(SELECT content_id FROM hbf_fs_file WHERE path='static/style.css'); END",
            "CREATE TABLE ok (id INTEGER PRIMARY KEY, x)",
            "CREATE TRIGGER ok_t AFTER INSERT ON ok BEGIN DELETE FROM hbf_fs_version; END",
            "INSERT INTO ok (x) VALUES (1)",
            "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) INSERT INTO ok (x) SELECT n FROM c",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        super::check(&statements, false);
        super::check(&statements, true);
    }
}

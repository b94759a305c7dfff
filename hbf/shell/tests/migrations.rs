//! A pod's schema migrations (`hbf/migrations/*.sql`) through the real
//! binary: at start, by the packer, on a live save (dev API and `hbf fs
//! put`), `hbf db ...`, two processes at once and `kill -9` in the middle.

mod common;
use common::{Server, DEV_TOKEN};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// Answers with the pod's tables and the rows of `notes`, from whatever
/// schema the migrations made.
const SERVER: &str = r#"import { query } from 'hbf:db'
export default {
  fetch(request) {
    const tables = query("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'hbf\\_%' ESCAPE '\\' AND name <> 'sqlar' ORDER BY name", []).map((r) => r.name)
    const notes = tables.includes('notes') ? query('SELECT * FROM notes ORDER BY id', []) : null
    return Response.json({ code: 'v1', tables, notes })
  },
}
"#;

const NOTES: &str = "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);\nINSERT INTO notes (body) VALUES ('first');\n";

fn hbf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hbf"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("HBF_DB")
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn db_arg(db: &Path) -> &str {
    db.to_str().unwrap()
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex_of(&sha2::Sha256::digest(data))
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn auth() -> String {
    format!("Bearer {DEV_TOKEN}")
}

fn put(server: &Server, path: &str, body: &str) -> common::Reply {
    server.request(
        "PUT",
        &format!("/__dev/api/file?path={path}"),
        &[("Authorization", &auth())],
        Some(body.as_bytes()),
    )
}

fn api(server: &Server, method: &str, endpoint: &str, body: Option<&str>) -> common::Reply {
    server.request(
        method,
        &format!("/__dev/api/{endpoint}"),
        &[("Authorization", &auth())],
        body.map(str::as_bytes),
    )
}

#[test]
fn migrations_apply_at_start_and_on_live_saves_and_a_failing_one_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let pod = common::write_pod(
        dir.path(),
        "notes",
        &[
            ("hbf/server.js", SERVER),
            ("hbf/migrations/0001_notes.sql", NOTES),
        ],
    );
    let db = dir.path().join("hbf.db");
    let args = ["--db", db_arg(&db), "--pod", pod.to_str().unwrap(), "--dev"];
    let env = [("HBF_DEV_TOKEN", DEV_TOKEN)];
    {
        // A new database: made from the packed pod, whose migration the
        // packer applied.
        let server = Server::try_start_with_env(&args, &env).unwrap();
        let got = server.get("/").json();
        assert_eq!(got["tables"], serde_json::json!(["notes"]));
        assert_eq!(got["notes"][0]["body"], "first");
    }
    // A new migration in the pod directory: applied at the next start,
    // before the first request.
    std::fs::write(
        pod.join("hbf/migrations/0002_tags.sql"),
        "ALTER TABLE notes ADD COLUMN tag TEXT;\nUPDATE notes SET tag = 'old';\n",
    )
    .unwrap();
    let server = Server::try_start_with_env(&args, &env).unwrap();
    assert!(
        server
            .wait_for_log(
                &["applied the migration", "0002_tags.sql"],
                Duration::from_secs(1)
            )
            .is_some(),
        "{:?}",
        server.log()
    );
    assert_eq!(server.get("/").json()["notes"][0]["tag"], "old");

    // A live save through the dev API applies it before storing it.
    let saved = put(
        &server,
        "hbf/migrations/0003_more.sql",
        "INSERT INTO notes (body, tag) VALUES ('second', 'new');",
    );
    assert_eq!(saved.status, 201, "{}", saved.text());
    assert_eq!(server.get("/").json()["notes"][1]["body"], "second");

    // A failing one: 422, nothing stored, schema and data as before, the
    // old code serving, the error in the log and in the dev API.
    let before = server.get("/").json();
    let failing = put(
        &server,
        "hbf/migrations/0004_bad.sql",
        "CREATE TABLE extra (x);\nDELETE FROM notes;\nINSERT INTO nowhere VALUES (1);",
    );
    assert_eq!(failing.status, 422, "{}", failing.text());
    let message = failing.json()["message"].as_str().unwrap().to_owned();
    assert!(message.contains("no such table: nowhere"), "{message}");
    assert!(message.contains("0004_bad.sql"), "{message}");
    assert_eq!(server.get("/").json(), before);
    let stored = api(
        &server,
        "GET",
        "file?path=hbf/migrations/0004_bad.sql",
        None,
    );
    assert_eq!(stored.status, 404, "nothing stored");
    assert!(server
        .wait_for_log(
            &["refused", "no such table: nowhere"],
            Duration::from_secs(2)
        )
        .is_some());
    let status = api(&server, "GET", "db/migrations", None).json();
    assert_eq!(status["last_error"]["name"], "0004_bad.sql");
    let states: Vec<&str> = status["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["status"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["applied", "applied", "applied"]);

    // Editing an applied migration is refused with both hashes.
    let changed = put(
        &server,
        "hbf/migrations/0001_notes.sql",
        "CREATE TABLE notes (id);",
    );
    assert_eq!(changed.status, 409, "{}", changed.text());
    let applied = status["migrations"][0]["applied_sha256"].as_str().unwrap();
    let message = changed.json()["message"].as_str().unwrap().to_owned();
    assert!(message.contains(applied), "{message}");
    assert!(
        message.contains(&sha256_hex(b"CREATE TABLE notes (id);")),
        "{message}"
    );

    // A migration that touches a platform table is refused.
    let platform = put(
        &server,
        "hbf/migrations/0005_sneaky.sql",
        "DELETE FROM hbf_fs_file;",
    );
    assert_eq!(platform.status, 422, "{}", platform.text());
    assert!(
        platform.text().contains("not allowed"),
        "{}",
        platform.text()
    );
    assert_eq!(server.get("/").json(), before);

    // `hbf fs put` on the same database file, while it serves.
    let file = dir.path().join("0005.sql");
    std::fs::write(&file, "CREATE TABLE tags (name TEXT PRIMARY KEY);").unwrap();
    let out = hbf(&[
        "--db",
        db_arg(&db),
        "fs",
        "put",
        "hbf/migrations/0005_tags.sql",
        file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("applied 0005_tags.sql"),
        "{}",
        text(&out)
    );
    assert!(server.get("/").json()["tables"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!("tags")));
    std::fs::write(&file, "DROP TABLE notes; SELECT nonsense(;").unwrap();
    let out = hbf(&[
        "--db",
        db_arg(&db),
        "fs",
        "put",
        "hbf/migrations/0006_bad.sql",
        file.to_str().unwrap(),
    ]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("rolled back"), "{}", text(&out));
    assert!(server.get("/").json()["tables"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!("notes")));
    let out = hbf(&[
        "--db",
        db_arg(&db),
        "fs",
        "cat",
        "hbf/migrations/0006_bad.sql",
    ]);
    assert!(!out.status.success(), "not stored: {}", text(&out));
}

#[test]
fn a_pod_whose_migration_fails_does_not_start() {
    let dir = tempfile::tempdir().unwrap();
    let pod = common::write_pod(
        dir.path(),
        "broken",
        &[
            ("hbf/server.js", SERVER),
            ("hbf/migrations/0001_notes.sql", NOTES),
        ],
    );
    let db = dir.path().join("hbf.db");
    let pod_arg = pod.to_str().unwrap();
    drop(Server::start(&["--db", db_arg(&db), "--pod", pod_arg]));
    std::fs::write(
        pod.join("hbf/migrations/0002_bad.sql"),
        "INSERT INTO notes (body) VALUES ('x'); INSERT INTO notes (nope) VALUES (1);",
    )
    .unwrap();
    let out = hbf(&["--db", db_arg(&db), "--pod", pod_arg, "--port", "0"]);
    assert!(!out.status.success());
    let log = text(&out);
    assert!(log.contains("0002_bad.sql"), "{log}");
    assert!(log.contains("no column named nope"), "{log}");
    let out = hbf(&[
        "--db",
        db_arg(&db),
        "db",
        "query",
        "SELECT count(*) AS n FROM notes",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "n\n1\n",
        "{}",
        text(&out)
    );
    // The packer refuses the same pod on a new database.
    let fresh = dir.path().join("fresh.db");
    let out = hbf(&["--db", db_arg(&fresh), "--pod", pod_arg, "--port", "0"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("no column named nope"),
        "{}",
        text(&out)
    );
}

#[test]
fn hbf_db_reports_applies_queries_and_exports() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hbf.db");
    let d = db_arg(&db);
    drop(Server::start(&["--db", d]));
    let sql = dir.path().join("m.sql");
    std::fs::write(
        &sql,
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, data BLOB);
         INSERT INTO items (name, data) VALUES ('a,b', x'00ff'), ('say \"hi\"', NULL), ('tab\there', NULL);",
    )
    .unwrap();
    // Stored without applying: pending until `hbf db migrate`.
    let out = hbf(&["--db", d, "db", "status"]);
    assert!(text(&out).contains("no migrations"), "{}", text(&out));
    let conn = hbf_db::Database::open(&db).unwrap();
    // A first draft, then the real one.
    conn.fs()
        .write("hbf/migrations/0001_items.sql", &b"SELECT 1;"[..])
        .unwrap();
    conn.fs()
        .write(
            "hbf/migrations/0001_items.sql",
            std::fs::read(&sql).unwrap(),
        )
        .unwrap();
    drop(conn);
    let out = hbf(&["--db", d, "db", "status"]);
    assert!(
        text(&out).contains("0001_items.sql\tpending"),
        "{}",
        text(&out)
    );
    let out = hbf(&["--db", d, "db", "migrate"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("applied 0001_items.sql"),
        "{}",
        text(&out)
    );
    let out = hbf(&["--db", d, "db", "status"]);
    assert!(
        text(&out).contains("0001_items.sql\tapplied"),
        "{}",
        text(&out)
    );
    assert!(text(&hbf(&["--db", d, "db", "migrate"])).contains("no pending migrations"));
    // A revert to the draft would change the applied migration: refused.
    let out = hbf(&[
        "--db",
        d,
        "fs",
        "revert",
        "hbf/migrations/0001_items.sql",
        "1",
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("was applied with SHA-256"),
        "{}",
        text(&out)
    );
    assert!(text(&hbf(&["--db", d, "db", "status"])).contains("0001_items.sql\tapplied"));

    // Queries: read-only unless --write, through the pod's rules.
    let out = hbf(&[
        "--db",
        d,
        "db",
        "query",
        "SELECT id, name, data FROM items ORDER BY id",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "id\tname\tdata\n1\ta,b\tx'00ff'\n2\tsay \"hi\"\tNULL\n3\ttab\\there\tNULL\n"
    );
    let out = hbf(&["--db", d, "db", "query", "DELETE FROM items"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("read-only"), "{}", text(&out));
    let out = hbf(&[
        "--db",
        d,
        "db",
        "query",
        "--write",
        "DELETE FROM items WHERE id = 3",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let out = hbf(&[
        "--db",
        d,
        "db",
        "query",
        "--write",
        "DELETE FROM hbf_fs_file",
    ]);
    assert!(!out.status.success());
    assert!(text(&out).contains("not allowed"), "{}", text(&out));
    let out = hbf(&[
        "--db",
        d,
        "db",
        "query",
        "--write",
        "DROP TABLE hbf_migration",
    ]);
    assert!(!out.status.success());
    assert!(text(&out).contains("not allowed"), "{}", text(&out));
    let out = hbf(&[
        "--db",
        d,
        "db",
        "query",
        "--max-rows",
        "1",
        "SELECT * FROM items",
    ]);
    assert!(!out.status.success());
    assert!(text(&out).contains("more than 1 rows"), "{}", text(&out));
    let endless =
        "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT count(*) FROM c";
    let started = std::time::Instant::now();
    let out = hbf(&["--db", d, "db", "query", "--timeout", "300", endless]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("time limit of 300 ms"),
        "{}",
        text(&out)
    );
    assert!(started.elapsed() < Duration::from_secs(10));

    // Exports.
    let out = hbf(&["--db", d, "db", "export", "items"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "id,name,data\n1,\"a,b\",00ff\n2,\"say \"\"hi\"\"\",\n"
    );
    let out = hbf(&["--db", d, "db", "export", "--format", "json", "items"]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        rows,
        serde_json::json!([
            {"id": 1, "name": "a,b", "data": {"$blob": "AP8=", "size": 2}},
            {"id": 2, "name": "say \"hi\"", "data": null},
        ])
    );
    let out = hbf(&["--db", d, "db", "export", "nothing"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("no table or view named \"nothing\""),
        "{}",
        text(&out)
    );
}

#[test]
fn two_processes_apply_each_migration_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hbf.db");
    let d = db_arg(&db);
    drop(Server::start(&["--db", d]));
    let conn = hbf_db::Database::open(&db).unwrap();
    conn.fs()
        .write("hbf/migrations/0001_t.sql", &b"CREATE TABLE t (x);"[..])
        .unwrap();
    for i in 2..=20 {
        conn.fs()
            .write(
                format!("hbf/migrations/{i:04}_add.sql").as_str(),
                format!("INSERT INTO t VALUES ({i});").into_bytes(),
            )
            .unwrap();
    }
    drop(conn);
    let children: Vec<_> = (0..3)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_hbf"))
                .args(["--db", d, "db", "migrate"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut applied = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out));
        applied += String::from_utf8_lossy(&out.stdout)
            .matches("applied ")
            .count();
    }
    assert_eq!(applied, 20);
    let out = hbf(&[
        "--db",
        d,
        "db",
        "query",
        "SELECT count(*) AS n, sum(x) AS s FROM t",
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "n\ts\n19\t209\n");
}

#[test]
fn kill_9_in_a_long_migration_leaves_it_unapplied_and_the_database_intact() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hbf.db");
    let d = db_arg(&db);
    drop(Server::start(&["--db", d]));
    let conn = hbf_db::Database::open(&db).unwrap();
    conn.fs()
        .write(
            "hbf/migrations/0001_big.sql",
            &b"CREATE TABLE big (n INTEGER, pad TEXT);
               WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c LIMIT 100000000)
               INSERT INTO big SELECT n, hex(randomblob(64)) FROM c;"[..],
        )
        .unwrap();
    drop(conn);
    let mut child = Command::new(env!("CARGO_BIN_EXE_hbf"))
        .args(["--db", d, "db", "migrate"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Long enough for the migration to have written pages to the WAL.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(child.try_wait().unwrap().is_none(), "still running");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let out = hbf(&["--db", d, "db", "status"]);
    assert!(
        text(&out).contains("0001_big.sql\tpending"),
        "{}",
        text(&out)
    );
    let out = hbf(&[
        "--db",
        d,
        "db",
        "query",
        "SELECT count(*) AS n FROM sqlite_schema WHERE name = 'big'",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "n\n0\n",
        "{}",
        text(&out)
    );
    let db = hbf_db::Database::open(&db).unwrap();
    let check: String = db
        .read(|c| Ok(c.query_row("PRAGMA integrity_check", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(check, "ok");
}

#[test]
fn the_dev_api_lists_tables_and_pages_read_only_queries() {
    let dir = tempfile::tempdir().unwrap();
    let pod = common::write_pod(
        dir.path(),
        "data",
        &[
            ("hbf/server.js", SERVER),
            ("hbf/migrations/0001_notes.sql", NOTES),
            (
                "hbf/migrations/0002_many.sql",
                "WITH RECURSIVE c(n) AS (SELECT 2 UNION ALL SELECT n + 1 FROM c LIMIT 249)
                 INSERT INTO notes (id, body) SELECT n, 'note ' || n FROM c;
                 CREATE TABLE files (name TEXT PRIMARY KEY, data BLOB NOT NULL);
                 INSERT INTO files VALUES ('a', x'00ff10');
                 CREATE VIEW long_notes AS SELECT * FROM notes WHERE length(body) > 7;",
            ),
        ],
    );
    let server = Server::try_start_with_env(
        &["--inmem", "--pod", pod.to_str().unwrap(), "--dev"],
        &[("HBF_DEV_TOKEN", DEV_TOKEN)],
    )
    .unwrap();
    let tables = api(&server, "GET", "db/tables", None).json();
    assert_eq!(
        tables,
        serde_json::json!([
            {"name": "files", "type": "table", "rows": 1, "columns": [
                {"name": "name", "type": "TEXT", "notnull": false, "pk": 1},
                {"name": "data", "type": "BLOB", "notnull": true, "pk": 0}]},
            {"name": "long_notes", "type": "view", "rows": null, "columns": [
                {"name": "id", "type": "INTEGER", "notnull": false, "pk": 0},
                {"name": "body", "type": "TEXT", "notnull": false, "pk": 0}]},
            {"name": "notes", "type": "table", "rows": 250, "columns": [
                {"name": "id", "type": "INTEGER", "notnull": false, "pk": 1},
                {"name": "body", "type": "TEXT", "notnull": true, "pk": 0}]},
        ])
    );
    let page = |body: &str| api(&server, "POST", "db/query", Some(body));
    let first = page(r#"{"sql": "SELECT id, body FROM notes WHERE id > ? ORDER BY id", "params": [100], "limit": 100}"#).json();
    assert_eq!(first["columns"], serde_json::json!(["id", "body"]));
    assert_eq!(first["rows"].as_array().unwrap().len(), 100);
    assert_eq!(first["rows"][0], serde_json::json!([101, "note 101"]));
    assert_eq!(first["more"], true);
    let last = page(r#"{"sql": "SELECT id FROM notes WHERE id > ? ORDER BY id", "params": [100], "offset": 100, "limit": 100}"#).json();
    assert_eq!(last["rows"].as_array().unwrap().len(), 50);
    assert_eq!(last["more"], false);
    let blob = page(r#"{"sql": "SELECT data FROM files"}"#).json();
    assert_eq!(
        blob["rows"][0][0],
        serde_json::json!({"$blob": "AP8Q", "size": 3})
    );
    for (body, needle) in [
        (r#"{"sql": "DELETE FROM notes"}"#, "read-only"),
        (r#"{"sql": "DROP TABLE notes"}"#, "read-only"),
        (r#"{"sql": "SELECT * FROM nowhere"}"#, "no such table"),
        (r#"{"sql": "SELECT 1", "limit": 5000}"#, "from 1 to 1000"),
        (r#"{"sql": "SELECT 1", "limit": 0}"#, "from 1 to 1000"),
        (r#"{"sql": "SELECT ?", "params": [{"a": 1}]}"#, "params"),
        ("not json", "JSON"),
        (
            r#"{"sql": "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT count(*) FROM c"}"#,
            "5 s limit",
        ),
    ] {
        let answer = page(body);
        assert_eq!(answer.status, 400, "{body}: {}", answer.text());
        assert!(answer.text().contains(needle), "{body}: {}", answer.text());
    }
    assert_eq!(
        page(r#"{"sql": "SELECT count(*) FROM notes"}"#).json()["rows"][0][0],
        250
    );
    let unauthorized = server.request("GET", "/__dev/api/db/tables", &[], None);
    assert_eq!(unauthorized.status, 401);
}

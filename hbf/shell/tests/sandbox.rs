//! Issue 11, defects 1 and 2, end to end: a hostile pod's SQL cannot reach the
//! platform's tables (nor, through them, native code), and it stops at the
//! request's deadline and memory limit.

mod common;
use common::Server;
use std::time::{Duration, Instant};

use hbf_db::rusqlite::{self, params};
use sha2::{Digest, Sha256};

fn sql(server: &Server, sql: &str) -> common::Reply {
    let body = serde_json::json!({ "sql": sql }).to_string();
    server.post("/t/db/sql", body.as_bytes())
}

#[test]
fn pod_sql_cannot_plant_objects_that_reach_platform_tables() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hbf.db");
    let pod = common::test_pod();
    let args = ["--db", db.to_str().unwrap(), "--pod", pod.to_str().unwrap()];
    let server = Server::start(&args);
    let reply = sql(&server, "CREATE TABLE mine (x REFERENCES mine(x))");
    assert_eq!(reply.status, 200, "{}", reply.text());
    // The probe's three statements (issue 11): each is refused.
    for statement in [
        "CREATE TABLE pwn(m,s,e, FOREIGN KEY(m,s,e) REFERENCES hbf_module_cache(module,source_sha256,engine) ON DELETE CASCADE)",
        "CREATE TABLE pwn2(m REFERENCES HBF_FS_CONTENT(id))",
        "CREATE TRIGGER pwn_t AFTER INSERT ON mine BEGIN DELETE FROM hbf_fs_version WHERE path='static/b.txt'; UPDATE hbf_fs_content SET data=CAST('PWNED' AS BLOB); END",
        "CREATE TEMP TRIGGER pwn_tt AFTER INSERT ON main.hbf_fs_file BEGIN SELECT 1; END",
        "INSERT INTO hbf_module_cache SELECT * FROM hbf_module_cache",
    ] {
        let reply = sql(&server, statement);
        assert_eq!(reply.status, 400, "{statement}: {}", reply.text());
        assert!(reply.text().contains("not allowed"), "{statement}: {}", reply.text());
    }
    // The pod's own schema still works.
    let reply = sql(
        &server,
        "CREATE TRIGGER fine AFTER INSERT ON mine BEGIN SELECT 1; END",
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    drop(server);
    let objects: Vec<String> = rusqlite::Connection::open(&db)
        .unwrap()
        .prepare("SELECT name FROM sqlite_schema WHERE name LIKE 'pwn%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(objects.is_empty(), "{objects:?}");
}

/// Issue 25, point 4: a pod's SQL cannot read, write, drop or reference
/// Litestream's `_litestream_*` tables (a dropped one made every later
/// checkpoint of the replicator fail).
#[test]
fn pod_sql_cannot_touch_the_replicators_tables() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hbf.db");
    let pod = common::test_pod();
    let args = ["--db", db.to_str().unwrap(), "--pod", pod.to_str().unwrap()];
    drop(Server::start(&args));
    // What `litestream replicate` leaves in the file it copies.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
            "CREATE TABLE _litestream_seq (id INTEGER PRIMARY KEY, seq INTEGER);
             INSERT INTO _litestream_seq VALUES (1, 7);
             CREATE TABLE _litestream_lock (id INTEGER);",
        )
        .unwrap();
    let server = Server::start(&args);
    assert_eq!(sql(&server, "CREATE TABLE mine (x)").status, 200);
    for statement in [
        "SELECT * FROM _litestream_seq",
        "SELECT count(*) AS n FROM _Litestream_Lock",
        "INSERT INTO mine SELECT seq FROM _litestream_seq",
        "UPDATE _litestream_seq SET seq = 0",
        "DELETE FROM _litestream_lock",
        "DROP TABLE _litestream_seq",
        "CREATE TABLE r (x REFERENCES _litestream_seq(id))",
        "CREATE TRIGGER t AFTER INSERT ON mine BEGIN DELETE FROM _litestream_seq; END",
        "CREATE VIEW v AS SELECT * FROM _litestream_seq",
    ] {
        let reply = sql(&server, statement);
        assert_eq!(reply.status, 400, "{statement}: {}", reply.text());
    }
    drop(server);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let seq: i64 = conn
        .query_row("SELECT seq FROM _litestream_seq", [], |r| r.get(0))
        .unwrap();
    assert_eq!(seq, 7);
    let left: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name IN ('r', 't', 'v')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(left, 0);
}

#[test]
fn forged_bytecode_in_the_database_is_never_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hbf.db");
    let args = ["--db", db.to_str().unwrap()];
    let server = Server::start(&args);
    assert_eq!(server.get("/hello").status, 200);
    drop(server);
    // What the probe's trigger did: rewrite the server module's compiled code
    // with a matching hash.
    let forged: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect();
    let forged_sha: [u8; 32] = Sha256::digest(&forged).into();
    let changed = rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            "UPDATE hbf_module_cache SET bytecode = ?1, bytecode_sha256 = ?2",
            params![forged, &forged_sha[..]],
        )
        .unwrap();
    assert!(changed > 0);
    let server = Server::start(&args);
    let reply = server.get("/hello");
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.text(), r#"{"message":"Hello, World!"}"#);
    assert!(
        server
            .wait_for_log(&["ignored compiled code"], Duration::from_secs(5))
            .is_some(),
        "{:#?}",
        server.log()
    );
}

const ENDLESS: &str = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) ";

#[test]
fn endless_sql_stops_at_the_deadline_and_the_server_keeps_serving() {
    let mut server = Server::test_pod(&["--js-timeout", "800", "--workers", "2"]);
    assert_eq!(sql(&server, "CREATE TABLE big (x)").status, 200);
    // Two endless statements at once, one of them a write (holding the lock).
    // Without the fix these never return: give up after 30 s instead of hanging.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .build()
        .into();
    let run = |statement: String| {
        let agent = agent.clone();
        let url = server.url("/t/db/sql");
        std::thread::spawn(move || {
            let start = Instant::now();
            let body = serde_json::json!({ "sql": statement }).to_string();
            match agent.post(&url).send(body.as_bytes()) {
                Ok(mut response) => {
                    let text = response.body_mut().read_to_string().unwrap();
                    (response.status().as_u16(), text, start.elapsed())
                }
                Err(e) => (0, e.to_string(), start.elapsed()),
            }
        })
    };
    let reader = run(format!("{ENDLESS}SELECT max(x) FROM c"));
    let writer = run(format!("INSERT INTO big {ENDLESS}SELECT x FROM c"));
    for handle in [reader, writer] {
        let (status, text, elapsed) = handle.join().unwrap();
        assert!(
            status == 504 || (status == 400 && text.contains("interrupted")),
            "{status} {text}"
        );
        assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
    }
    // JS routes answer again, and the stopped write left nothing behind.
    assert_eq!(server.get("/hello").status, 200);
    let count = sql(&server, "SELECT count(*) AS n FROM big");
    assert_eq!(count.json()["result"][0]["n"], 0, "{}", count.text());
    // A request stuck in SQL does not stop a graceful shutdown.
    let _stuck = run(format!("{ENDLESS}SELECT max(x) FROM c"));
    std::thread::sleep(Duration::from_millis(200));
    assert!(server.terminate().success());
}

#[test]
fn sql_results_count_against_the_memory_limit() {
    // A long deadline: the memory limit must be what stops the query, even on
    // a loaded machine (under Bazel with other tests, 5 s was once too short).
    let server = Server::test_pod(&["--js-memory", "64", "--js-timeout", "60000"]);
    let reply = sql(&server, "SELECT randomblob(999999999) AS b");
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert!(reply.text().contains("too big"), "{}", reply.text());
    let reply = sql(
        &server,
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 200000) SELECT randomblob(1000) AS b FROM c",
    );
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert!(reply.text().contains("memory limit"), "{}", reply.text());
    assert_eq!(server.get("/hello").status, 200);
}

#[test]
fn sqlite_memory_is_bounded_for_the_whole_process() {
    // A 24 MB string built inside SQLite (below the 32 MB value limit of
    // --js-memory 64) against a 16 MB bound on all of SQLite.
    let server = Server::test_pod(&["--js-memory", "64", "--sql-memory", "16"]);
    let reply = sql(
        &server,
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 24000) SELECT length(group_concat(printf('%.1000c', 'x'), '')) AS n FROM c",
    );
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert!(reply.text().contains("out of memory"), "{}", reply.text());
    assert_eq!(server.get("/hello").status, 200);
    assert_eq!(server.get("/static/style.css").status, 200);
    // A bound high enough lets the same statement through.
    let server = Server::test_pod(&["--js-memory", "64", "--sql-memory", "512"]);
    let reply = sql(
        &server,
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 24000) SELECT length(group_concat(printf('%.1000c', 'x'), '')) AS n FROM c",
    );
    assert_eq!(
        reply.json()["result"][0]["n"],
        24_000_000,
        "{}",
        reply.text()
    );
}

#[test]
fn endless_sql_at_a_modules_top_level_stops_too() {
    // Top-level code runs at warm-up (before any request) and, with fresh
    // module instances, in every request: both under the deadline.
    let pod = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(pod.path().join("hbf")).unwrap();
    std::fs::write(
        pod.path().join("hbf/server.js"),
        format!(
            "import {{ query }} from 'hbf:db';\nquery(\"{ENDLESS}SELECT max(x) FROM c\");\nglobalThis.app = {{ handle(req, res) {{ res.send('unreachable') }} }};\n"
        ),
    )
    .unwrap();
    let server = Server::start(&[
        "--inmem",
        "--pod",
        pod.path().to_str().unwrap(),
        "--js-timeout",
        "300",
    ]);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .build()
        .into();
    let reply = agent
        .get(&server.url("/"))
        .call()
        .expect("an answer, not a hang");
    assert!(
        reply.status() == 500 || reply.status() == 504,
        "{}",
        reply.status()
    );
    assert_eq!(server.get("/health").status, 200);
}

//! Issue 25 end to end: `hbf --replicate` to a local S3 (moto on 127.0.0.1)
//! through Litestream, `kill -9` and `hbf restore`, a point-in-time restore,
//! Litestream down for 10 s, shutdown under 1 s, and bad input.
//!
//! Needs Litestream 0.5 and moto_server (tools/setup.sh installs both into
//! tools/replication/.venv); without them each test prints why it is
//! skipped and passes.

mod common;
use common::Server;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use hbf_db::rusqlite;

/// The interval the primary ships changes at.
const SYNC: &str = "100ms";
const SYNC_MS: u64 = 100;
/// Credentials moto accepts (any); only ever in the environment.
const ENV: &[(&str, &str)] = &[
    ("AWS_ACCESS_KEY_ID", "hbf-test-key"),
    ("AWS_SECRET_ACCESS_KEY", "hbf-test-secret-never-logged"),
];

/// A tool from tools/setup.sh's virtualenv, or PATH.
fn tool(name: &str, env: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env) {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let venv = common::repo()
        .join("tools/replication/.venv/bin")
        .join(name);
    if venv.is_file() {
        return Some(venv);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Litestream and moto_server, when both are installed and can run here.
///
/// `tools/test.sh` sets `HBF_REQUIRE_REPLICATION_TOOLS=1` for `cargo test`, so
/// in CI a missing or broken tool fails the tests instead of skipping them.
/// Under Bazel the tests run in a Debian chroot where tools/setup.sh's
/// virtualenv cannot start (its scripts name the host's Python interpreter),
/// so there they say so and pass; `cargo test` has run them already.
fn tools() -> Option<(PathBuf, PathBuf)> {
    let litestream = tool("litestream", "HBF_LITESTREAM").filter(|p| runs(p, "version"));
    let moto = tool("moto_server", "HBF_MOTO_SERVER").filter(|p| runs(p, "--help"));
    match (litestream, moto) {
        (Some(l), Some(m)) => Some((l, m)),
        (l, m) => {
            let why = format!(
                "the replication tests need litestream ({}) and moto_server ({}); run tools/setup.sh",
                if l.is_some() { "found" } else { "missing or cannot run here" },
                if m.is_some() { "found" } else { "missing or cannot run here" },
            );
            if std::env::var_os("HBF_REQUIRE_REPLICATION_TOOLS").is_some_and(|v| v == "1") {
                panic!("HBF_REQUIRE_REPLICATION_TOOLS=1, but {why}");
            }
            eprintln!("SKIPPED: {why}");
            None
        }
    }
}

/// Whether `program arg` starts and exits successfully.
fn runs(program: &Path, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// moto's S3 on 127.0.0.1, with one bucket; stopped when dropped.
struct S3 {
    child: Child,
    port: u16,
}

impl S3 {
    fn start(moto: &Path) -> S3 {
        S3::start_with_env(moto, &[])
    }

    /// An S3 that checks credentials, as a real one does: moto's IAM
    /// authentication, on from its second action (the first makes the
    /// bucket), knows no access key, so every signed request is refused.
    fn start_checking_credentials(moto: &Path) -> S3 {
        S3::start_with_env(moto, &[("INITIAL_NO_AUTH_ACTION_COUNT", "1")])
    }

    fn start_with_env(moto: &Path, env: &[(&str, &str)]) -> S3 {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(moto)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let s3 = S3 { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        loop {
            if let Ok(r) = agent
                .put(&format!("http://127.0.0.1:{port}/hbf-test"))
                .send_empty()
            {
                assert_eq!(r.status().as_u16(), 200, "creating the bucket");
                return s3;
            }
            assert!(Instant::now() < deadline, "moto_server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn url(&self, path: &str) -> String {
        format!(
            "s3://hbf-test/{path}?endpoint=http://127.0.0.1:{}&region=us-east-1&force-path-style=true",
            self.port
        )
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `hbf ARGS` to completion (restore, replicas ls).
fn hbf(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hbf"))
        .args(args)
        .envs(ENV.iter().copied())
        .env_remove("AWS_CA_BUNDLE")
        .env_remove("HBF_DB")
        .output()
        .unwrap()
}

/// `hbf restore --from url --db target --litestream litestream`, then `extra`.
fn restore(url: &str, target: &Path, litestream: &Path, extra: &[&str]) -> std::process::Output {
    let (target, litestream) = (target.to_str().unwrap(), litestream.to_str().unwrap());
    let mut args = vec![
        "restore",
        "--from",
        url,
        "--db",
        target,
        "--litestream",
        litestream,
    ];
    args.extend_from_slice(extra);
    hbf(&args)
}

fn sql(server: &Server, sql: &str, params: serde_json::Value) -> common::Reply {
    let body = serde_json::json!({ "sql": sql, "params": params }).to_string();
    server.post("/t/db/sql", body.as_bytes())
}

fn health(server: &Server) -> serde_json::Value {
    server.get("/health").json()["replication"].clone()
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The pids of `parent`'s children.
fn children(parent: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    let after = stat.rsplit_once(')')?.1;
                    after.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(parent)
        })
        .collect()
}

fn kill9(pid: u32) {
    // SAFETY: kill(2) with a valid signal on a pid this test found as a child.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
}

/// SIGTERM to exit, in milliseconds.
fn stop_ms(server: &mut Server) -> u128 {
    let start = Instant::now();
    assert!(server.terminate().success());
    start.elapsed().as_millis()
}

fn rfc3339(at: SystemTime) -> String {
    let d = at.duration_since(SystemTime::UNIX_EPOCH).unwrap();
    let out = Command::new("date")
        .args([
            "-u",
            "-d",
            &format!("@{}", d.as_secs()),
            "+%Y-%m-%dT%H:%M:%S",
        ])
        .output()
        .unwrap();
    format!(
        "{}.{:03}Z",
        String::from_utf8(out.stdout).unwrap().trim(),
        d.subsec_millis()
    )
}

/// The ids in a restored database's table `w`, after its integrity check.
fn restored_ids(path: &Path) -> Vec<i64> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let mut stmt = conn.prepare("SELECT i FROM w ORDER BY i").unwrap();
    let ids = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    ids
}

fn percentile(values: &mut [u64], p: f64) -> u64 {
    values.sort_unstable();
    values[((values.len() - 1) as f64 * p).round() as usize]
}

/// A Litestream that the test can keep from starting (to hold replication
/// down for a while): `replicate` fails while `pause` exists.
fn pausable_litestream(dir: &Path, real: &Path) -> (PathBuf, PathBuf) {
    let pause = dir.join("pause");
    let script = dir.join("litestream");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nif [ \"$1\" = replicate ] && [ -e '{}' ]; then echo 'Error: paused by the test' >&2; exit 1; fi\nexec '{}' \"$@\"\n",
            pause.display(),
            real.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (script, pause)
}

#[test]
fn replicate_survive_kill_9_and_restore() {
    let Some((litestream, moto)) = tools() else {
        return;
    };
    let s3 = S3::start(&moto);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("primary.db");
    let url = s3.url("primary");
    let (wrapper, pause) = pausable_litestream(dir.path(), &litestream);
    let pod = common::test_pod();
    let args = [
        "--db",
        db.to_str().unwrap(),
        "--pod",
        pod.to_str().unwrap(),
        "--replicate",
        &url,
        "--replicate-sync",
        SYNC,
        "--litestream",
        wrapper.to_str().unwrap(),
        "--dev",
    ];
    let env: Vec<(&str, &str)> = ENV
        .iter()
        .copied()
        .chain([("HBF_DEV_TOKEN", common::DEV_TOKEN)])
        .collect();
    let auth = format!("Bearer {}", common::DEV_TOKEN);
    let put = |server: &Server, n: usize| {
        let reply = server.request(
            "PUT",
            &format!("/__dev/api/file?path=static/rep/{n}.txt"),
            &[("authorization", &auth)],
            Some(format!("file {n}").as_bytes()),
        );
        assert!(matches!(reply.status, 200 | 201), "{}", reply.text());
    };
    let mut primary = Server::try_start_with_env(&args, &env).unwrap_or_else(|l| panic!("{l}"));
    wait_until("replication to start", Duration::from_secs(20), || {
        health(&primary)["state"] == "replicating"
    });
    let reply = sql(
        &primary,
        "CREATE TABLE w (i INTEGER PRIMARY KEY, pad BLOB)",
        serde_json::json!([]),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    let counter = std::cell::Cell::new(0i64);
    let write = |server: &Server, pad: i64| -> SystemTime {
        let i = counter.get();
        let reply = sql(
            server,
            "INSERT INTO w VALUES (?, zeroblob(?))",
            serde_json::json!([i, pad]),
        );
        assert_eq!(reply.status, 200, "{}", reply.text());
        counter.set(i + 1);
        SystemTime::now()
    };
    let next = || counter.get();

    // 1. Steady writes; /health's lag sampled meanwhile.
    let mut lags = Vec::new();
    let start = Instant::now();
    let mut files = 0;
    while start.elapsed() < Duration::from_secs(5) {
        for _ in 0..10 {
            write(&primary, 100);
        }
        put(&primary, files);
        files += 1;
        if let Some(lag) = health(&primary)["lag_ms"].as_u64() {
            lags.push(lag);
        }
    }
    let p50 = percentile(&mut lags, 0.5);
    let p99 = percentile(&mut lags, 0.99);
    println!(
        "{} writes in 5 s; /health lag_ms over {} samples: p50 {p50}, p99 {p99} (sync {SYNC})",
        next(),
        lags.len()
    );
    assert!(p99 < 1000, "replication lag p99 {p99} ms");
    assert!(
        health(&primary)["txid"].as_u64() > Some(1),
        "{}",
        health(&primary)
    );

    // 2. A moment for the point-in-time restore, with no write near it.
    std::thread::sleep(Duration::from_millis(1500));
    let mid = SystemTime::now();
    let before_mid = next();
    std::thread::sleep(Duration::from_millis(1500));

    // 3. Litestream killed and kept down for 10 s while 5 MB of writes
    // arrive (more than SQLite's 1000-page automatic checkpoint, which used
    // to restart the WAL under it and force a full re-upload).
    std::fs::write(&pause, "").unwrap();
    for pid in children(primary.child.id()) {
        kill9(pid);
    }
    let outage = Instant::now();
    let before_outage = next();
    let mut largest_wal = 0;
    let wal = dir.path().join("primary.db-wal");
    while outage.elapsed() < Duration::from_secs(10) {
        for _ in 0..8 {
            write(&primary, 8192);
        }
        largest_wal = largest_wal.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(health(&primary)["running"] == false, "{}", health(&primary));
    // Litestream's command line says why it gives up in an `Error: ...`
    // line with no level; /health gives that reason with the exit.
    wait_until(
        "/health to say why Litestream exited",
        Duration::from_secs(5),
        || {
            health(&primary)["last_error"].as_str().is_some_and(|e| {
                e.starts_with("litestream exited (") && e.ends_with(": Error: paused by the test")
            })
        },
    );
    std::fs::remove_file(&pause).unwrap();
    wait_until(
        "Litestream to be restarted",
        Duration::from_secs(20),
        || {
            let h = health(&primary);
            h["running"] == true
                && h["restarts"].as_u64() >= Some(1)
                && h["lag_ms"].as_u64() < Some(500)
        },
    );
    let log = primary.log().join("\n");
    let snapshots = log.matches("msg=\"snapshot complete\"").count();
    println!(
        "Litestream down {:.1} s; writes {}; largest WAL {} KiB; snapshots in Litestream's output: {snapshots}",
        outage.elapsed().as_secs_f64(),
        next(),
        largest_wal >> 10
    );
    for line in log
        .lines()
        .filter(|l| l.contains("litestream:") && !l.contains("compaction"))
    {
        println!("  {line}");
    }
    assert!(
        largest_wal < hbf_db::WAL_HARD_BOUND_BYTES,
        "WAL {largest_wal}"
    );
    // Nothing checkpointed under Litestream while it was down: the WAL held
    // every write of the outage (a checkpoint would have started it over).
    let outage_bytes = (next() - before_outage) as u64 * 8192;
    assert!(
        largest_wal >= outage_bytes,
        "the WAL was checkpointed while Litestream was down: {largest_wal} bytes < {outage_bytes} written"
    );
    assert_eq!(snapshots, 1, "a full re-upload after the outage:\n{log}");
    assert!(
        !log.contains("hbf-test-secret-never-logged"),
        "a credential in the log"
    );

    // 4. Shutdown with replication: under 1 s, everything synced.
    for _ in 0..50 {
        write(&primary, 100);
    }
    let took = stop_ms(&mut primary);
    println!("shutdown with replication: {took} ms");
    assert!(took < 1000, "shutdown took {took} ms");
    let synced_at_stop = next();

    // 5. kill -9 of both processes mid-write.
    let mut primary = Server::try_start_with_env(&args, ENV).unwrap_or_else(|l| panic!("{l}"));
    wait_until(
        "replication to start again",
        Duration::from_secs(20),
        || health(&primary)["state"] == "replicating",
    );
    let mut acks = Vec::new();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(3) {
        let i = next();
        acks.push((i, write(&primary, 100)));
    }
    let litestream_pids = children(primary.child.id());
    primary.child.kill().unwrap();
    for pid in litestream_pids {
        kill9(pid);
    }
    let killed = SystemTime::now();
    let _ = primary.child.wait();
    drop(primary);

    let restored = dir.path().join("restored.db");
    let out = restore(&url, &restored, &litestream, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ids = restored_ids(&restored);
    let present: std::collections::HashSet<i64> = ids.iter().copied().collect();
    let window = Duration::from_millis(SYNC_MS + 1000);
    let old_enough = |at: SystemTime| killed.duration_since(at).unwrap_or_default() > window;
    let missing_old: Vec<i64> = (0..synced_at_stop)
        .filter(|i| !present.contains(i))
        .chain(
            acks.iter()
                .filter(|(i, at)| old_enough(*at) && !present.contains(i))
                .map(|(i, _)| *i),
        )
        .collect();
    let missing_young = acks
        .iter()
        .filter(|(i, at)| !old_enough(*at) && !present.contains(i))
        .count();
    println!(
        "kill -9 after {} acknowledged writes: restored {}, missing {} of those acknowledged within {} ms of the kill",
        next(),
        ids.len(),
        missing_young,
        window.as_millis()
    );
    assert!(
        missing_old.is_empty(),
        "lost acknowledged writes: {missing_old:?}"
    );
    // The dev API's writes (the versioned filesystem) came along too.
    let conn = rusqlite::Connection::open(&restored).unwrap();
    for n in 0..files {
        let content: Vec<u8> = conn
            .query_row(
                "SELECT c.data FROM hbf_fs_file f JOIN hbf_fs_content c ON c.id = f.content_id WHERE f.path = ?1",
                [format!("static/rep/{n}.txt")],
                |r| r.get(0),
            )
            .unwrap_or_else(|e| panic!("static/rep/{n}.txt: {e}"));
        assert_eq!(content, format!("file {n}").as_bytes());
    }
    drop(conn);
    println!("{files} dev-API PUTs restored");

    // 6. Point in time: exactly the writes acknowledged before the moment.
    let pitr = dir.path().join("pitr.db");
    let out = restore(&url, &pitr, &litestream, &["--timestamp", &rfc3339(mid)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(restored_ids(&pitr), (0..before_mid).collect::<Vec<_>>());

    // 7. A restore never overwrites; a moment before the first restore point
    // is a clear error.
    let before = std::fs::read(&restored).unwrap();
    let out = restore(&url, &restored, &litestream, &[]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("never overwrites"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(&restored).unwrap(), before);
    let early = dir.path().join("early.db");
    let out = restore(
        &url,
        &early,
        &litestream,
        &["--timestamp", "2000-01-01T00:00:00Z"],
    );
    assert!(!out.status.success());
    println!(
        "restore before the first point: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    assert!(!early.exists());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no restore point at or before"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = hbf(&[
        "replicas",
        "ls",
        "--from",
        &url,
        "--litestream",
        litestream.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("min_txid"));

    // 8. A missing database with a replica is restored before serving.
    let fresh = dir.path().join("fresh.db");
    let mut args3 = args;
    args3[1] = fresh.to_str().unwrap();
    args3[9] = litestream.to_str().unwrap();
    let mut third = Server::try_start_with_env(&args3, ENV).unwrap_or_else(|l| panic!("{l}"));
    let count = sql(&third, "SELECT count(*) AS n FROM w", serde_json::json!([])).json();
    assert_eq!(
        count["result"][0]["n"].as_i64(),
        Some(ids.len() as i64),
        "{count}"
    );
    assert!(third
        .log()
        .iter()
        .any(|l| l.contains("restored the missing")));
    let took = stop_ms(&mut third);
    println!("shutdown with replication (restored database): {took} ms");
    assert!(took < 1000, "shutdown took {took} ms");

    // 9. And without replication.
    let mut plain = Server::start(&[
        "--db",
        restored.to_str().unwrap(),
        "--pod",
        pod.to_str().unwrap(),
    ]);
    for _ in 0..20 {
        assert_eq!(
            sql(
                &plain,
                "INSERT INTO w (pad) VALUES (1)",
                serde_json::json!([])
            )
            .status,
            200
        );
    }
    let took = stop_ms(&mut plain);
    println!("shutdown without replication: {took} ms");
    assert!(took < 1000, "shutdown took {took} ms");
}

/// Bad input gets a clear error and changes nothing; an unreachable bucket
/// at start does not stop an existing database from being served.
#[test]
fn bad_replication_input_is_a_clear_error() {
    let Some((litestream, moto)) = tools() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hbf.db");
    let db_arg = db.to_str().unwrap();
    let ls = litestream.to_str().unwrap();
    for (args, expect) in [
        (
            vec!["--db", db_arg, "--replicate", "bucket/path"],
            "not a replica URL",
        ),
        (
            vec!["--db", db_arg, "--replicate", "http://x/y"],
            "not supported",
        ),
        (
            vec!["--db", db_arg, "--replicate", "s3://bucket"],
            "needs a path",
        ),
        (
            vec!["--inmem", "--replicate", "file:///tmp/x"],
            "cannot be used with",
        ),
        (
            vec![
                "--db",
                db_arg,
                "--replicate",
                "file:///tmp/x",
                "--litestream",
                "/bin/true",
            ],
            "HBF needs 0.5.",
        ),
        (
            vec![
                "--db",
                db_arg,
                "--replicate",
                "file:///tmp/x",
                "--replicate-sync",
                "soon",
                "--litestream",
                ls,
            ],
            "not a duration",
        ),
    ] {
        let out = hbf(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr.contains(expect), "{args:?}: {stderr}");
        assert!(!db.exists(), "{args:?} created the database");
    }
    // An existing database and a bucket nobody answers for: served, and
    // /health says what is wrong.
    drop(Server::start(&["--db", db_arg]));
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!(
        "s3://nobody/db?endpoint=http://127.0.0.1:{closed}&region=us-east-1&force-path-style=true"
    );
    let mut server = Server::try_start_with_env(
        &["--db", db_arg, "--replicate", &url, "--litestream", ls],
        ENV,
    )
    .unwrap_or_else(|l| panic!("{l}"));
    assert_eq!(server.get("/").status, 200);
    wait_until(
        "/health to report the error",
        Duration::from_secs(30),
        || !health(&server)["last_error"].is_null(),
    );
    println!("unreachable bucket: {}", health(&server));
    let took = stop_ms(&mut server);
    println!("shutdown with an unreachable replica: {took} ms");
    assert!(took < 1000, "shutdown took {took} ms");

    // Wrong credentials: served, /health names the store's refusal, and
    // the secret is in no log line.
    let strict = S3::start_checking_credentials(&moto);
    let pod = common::test_pod();
    let mut server = Server::try_start_with_env(
        &[
            "--db",
            db_arg,
            "--pod",
            pod.to_str().unwrap(),
            "--replicate",
            &strict.url("refused"),
            "--replicate-sync",
            SYNC,
            "--litestream",
            ls,
        ],
        ENV,
    )
    .unwrap_or_else(|l| panic!("{l}"));
    let reply = sql(
        &server,
        "CREATE TABLE IF NOT EXISTS c (x)",
        serde_json::json!([]),
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    wait_until(
        "/health to name the refused credentials",
        Duration::from_secs(30),
        || {
            let reply = sql(&server, "INSERT INTO c VALUES (1)", serde_json::json!([]));
            assert_eq!(reply.status, 200, "{}", reply.text());
            health(&server)["last_error"]
                .as_str()
                .is_some_and(|e| e.contains("InvalidAccessKeyId"))
        },
    );
    println!("wrong credentials: {}", health(&server));
    let secret = ENV[1].1;
    assert!(
        !server.log().iter().any(|l| l.contains(secret)),
        "the secret key is in the log"
    );
    let took = stop_ms(&mut server);
    assert!(took < 1000, "shutdown took {took} ms");
    drop(strict);
}

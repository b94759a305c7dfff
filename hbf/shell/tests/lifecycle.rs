//! Starting, stopping and the database file: flags, bad files, shutdown.

mod common;
use common::{test_pod, Server};
use std::process::Command;
use std::time::Duration;

fn hbf(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hbf"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn a_corrupt_or_foreign_database_is_a_clear_error_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, b"definitely not sqlite ".repeat(100)).unwrap();
    let before = std::fs::read(&garbage).unwrap();
    let out = hbf(&["--db", garbage.to_str().unwrap(), "--port", "0"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not an HBF database"), "{stderr}");
    assert_eq!(
        stderr
            .trim()
            .lines()
            .filter(|l| l.starts_with("hbf:"))
            .count(),
        1,
        "{stderr}"
    );
    assert_eq!(std::fs::read(&garbage).unwrap(), before);

    // A real HBF database, then damaged in the middle.
    let db = dir.path().join("hbf.db");
    // (The server creates it; `hbf fs` refuses a missing database.)
    let mut server = Server::start(&["--db", db.to_str().unwrap()]);
    assert!(server.terminate().success());
    let mut bytes = std::fs::read(&db).unwrap();
    let len = bytes.len();
    for b in &mut bytes[4096..len.min(4096 * 8)] {
        *b = 0x5a;
    }
    std::fs::write(&db, &bytes).unwrap();
    let out = hbf(&["--db", db.to_str().unwrap(), "--port", "0"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("corrupt") || stderr.contains("not an HBF database"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(&db).unwrap(),
        bytes,
        "the damaged file was not modified"
    );
}

#[test]
fn bad_flags_and_unusable_ports_are_one_line_errors() {
    for args in [
        &["--log-level", "loud"][..],
        &["--port", "99999"],
        &["--js-memory", "0"],
        &["--workers", "0"],
        &["--isolation", "none"],
        &["--no-such-flag"],
    ] {
        let out = hbf(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("error:"),
            "{args:?}"
        );
    }
    // `--log_level` is accepted as an alias.
    let out = hbf(&["--log_level", "warn", "--inmem", "fs", "ls"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let taken = Server::test_pod(&[]);
    let port = taken.addr.rsplit(':').next().unwrap();
    let out = hbf(&["--inmem", "--port", port]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot listen"));
}

#[test]
fn graceful_shutdown_finishes_in_flight_requests_and_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hbf.db");
    let pod = test_pod();
    let mut server = Server::start(&[
        "--db",
        db.to_str().unwrap(),
        "--pod",
        pod.to_str().unwrap(),
        "--js-timeout",
        "1500",
    ]);
    assert_eq!(
        server
            .post("/t/fs/write?path=static/kept.txt&as=text", b"kept")
            .status,
        200
    );
    let in_flight = {
        let agent = server.agent.clone();
        let url = server.url("/t/loop");
        std::thread::spawn(move || agent.get(&url).call().map(|r| r.status().as_u16()))
    };
    std::thread::sleep(Duration::from_millis(300));
    let status = server.terminate();
    assert!(status.success(), "exit status {status:?}");
    assert_eq!(
        in_flight.join().unwrap().unwrap(),
        504,
        "the in-flight request was answered"
    );
    assert!(server.log().iter().any(|l| l.contains("SIGTERM")));
    let wal = dir.path().join("hbf.db-wal");
    assert!(
        !wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0,
        "WAL checkpointed"
    );
    let out = hbf(&["--db", db.to_str().unwrap(), "fs", "cat", "static/kept.txt"]);
    assert_eq!(out.stdout, b"kept");
}

#[test]
fn a_newer_pod_is_imported_without_overwriting_live_edits() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hbf.db");
    let pod = dir.path().join("pod");
    std::fs::create_dir_all(pod.join("hbf")).unwrap();
    std::fs::create_dir_all(pod.join("static")).unwrap();
    let write = |rel: &str, text: &str| std::fs::write(pod.join(rel), text).unwrap();
    write(
        "hbf/server.js",
        "globalThis.app = { handle(req, res) { res.json({ v: 1 }) } }",
    );
    write("static/a.txt", "a1");
    write("static/b.txt", "b1");
    let args = |extra: &[&str]| {
        let mut v = vec![
            "--db".to_owned(),
            db.to_str().unwrap().to_owned(),
            "--pod".to_owned(),
            pod.to_str().unwrap().to_owned(),
        ];
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let run = |extra: &[&str]| {
        let a = args(extra);
        hbf(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    // The first start creates the database from the pod.
    let mut first = Server::start(&args(&[]).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(first.terminate().success());
    assert!(run(&["fs", "ls"]).status.success());
    // A live edit of b.txt, then a newer pod that changes both files.
    let put = Command::new(env!("CARGO_BIN_EXE_hbf"))
        .args(["--db", db.to_str().unwrap(), "fs", "put", "static/b.txt"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(b"b-edited")?;
            c.wait()
        })
        .unwrap();
    assert!(put.success());
    write("static/a.txt", "a2");
    write("static/b.txt", "b2");
    // Operator commands leave the database as they find it...
    assert_eq!(run(&["fs", "cat", "static/a.txt"]).stdout, b"a1");
    // ...a server start imports the newer pod, keeping the live edit.
    let server = Server::start(&args(&[]).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(server.get("/static/a.txt").text(), "a2");
    assert_eq!(server.get("/static/b.txt").text(), "b-edited");
    assert!(server
        .wait_for_log(
            &["kept the live edit", "static/b.txt"],
            Duration::from_secs(5)
        )
        .is_some());
    drop(server);
    let log = String::from_utf8(run(&["fs", "log", "static/b.txt"]).stdout).unwrap();
    assert_eq!(log.lines().count(), 2, "{log}");
    let log = String::from_utf8(run(&["fs", "log", "static/a.txt"]).stdout).unwrap();
    assert_eq!(log.lines().count(), 2, "{log}");
}

#[test]
fn writes_by_another_process_are_served_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hbf.db");
    let pod = test_pod();
    let server = Server::start(&["--db", db.to_str().unwrap(), "--pod", pod.to_str().unwrap()]);
    assert_eq!(server.get("/static/style.css").status, 200); // cached now
    let put = |path: &str, content: &str| {
        let file = dir.path().join("content");
        std::fs::write(&file, content).unwrap();
        let out = hbf(&[
            "--db",
            db.to_str().unwrap(),
            "fs",
            "put",
            path,
            file.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    put("static/style.css", "body { color: green }");
    put(
        "hbf/server.js",
        "globalThis.app = { handle(req, res) { res.json({ from: 'another process' }) } }",
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    loop {
        let css = server.get("/static/style.css").text();
        let js = server.get("/hello").text();
        if css == "body { color: green }" && js == r#"{"from":"another process"}"# {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still stale: {css} / {js}\n{}",
            server.log().join("\n")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn fs_commands_on_a_missing_database_fail_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("missing.db");
    let db = db.to_str().unwrap();
    for command in [
        &["ls"][..],
        &["cat", "static/style.css"],
        &["put", "static/x.txt", "/dev/null"],
        &["rm", "static/style.css"],
        &["log", "static/style.css"],
        &["revert", "static/style.css", "1"],
    ] {
        let mut args = vec!["--db", db, "fs"];
        args.extend_from_slice(command);
        let out = hbf(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{command:?} succeeded: {stderr}");
        assert!(
            stderr.contains("missing.db") && stderr.contains("no such database file"),
            "{command:?}: {stderr}"
        );
        assert!(
            std::fs::read_dir(dir.path()).unwrap().next().is_none(),
            "{command:?} left a file behind"
        );
    }
}

#[test]
fn the_start_up_log_names_the_pod_directory_served() {
    let server = Server::test_pod(&[]);
    let created = server
        .wait_for_log(
            &["created the database from the pod"],
            Duration::from_secs(5),
        )
        .expect("a start-up line");
    assert!(created.contains("pod=test"), "{created}");
    let listening = server
        .wait_for_log(&["listening on"], Duration::from_secs(5))
        .unwrap();
    assert!(listening.contains("pod=test"), "{listening}");
}

/// SIGTERM is watched before the "listening" line is written: one sent as
/// soon as that line appears is a graceful shutdown (exit 0), not a kill by
/// the signal's default action (a race CI once lost).
#[test]
fn sigterm_right_after_the_listening_line_exits_cleanly() {
    for _ in 0..50 {
        let mut server = Server::start(&["--inmem"]);
        let status = server.terminate();
        assert!(status.success(), "{status:?}\n{:#?}", server.log());
    }
}

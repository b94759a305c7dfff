//! The dev API (`/__dev/api/**`, SPEC 6) through the real binary: the token,
//! every route, preconditions under races, the event stream, and durability of
//! acknowledged writes across `kill -9`.

mod common;
use common::{dev_server, test_pod, Reply, Server, DEV_TOKEN as TOKEN};

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// A dev API request with the token, `q` percent-encoded into the query.
fn api(
    server: &Server,
    method: &str,
    endpoint: &str,
    query: &[(&str, &str)],
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Reply {
    let auth = format!("Bearer {TOKEN}");
    let mut all = vec![("authorization", auth.as_str())];
    all.extend_from_slice(headers);
    server.request(method, &api_path(endpoint, query), &all, body)
}

fn api_path(endpoint: &str, query: &[(&str, &str)]) -> String {
    let query: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    format!("/__dev/api/{endpoint}?{}", query.join("&"))
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn put(server: &Server, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    api(
        server,
        "PUT",
        "file",
        &[("path", path)],
        headers,
        Some(body),
    )
}

fn get_file(server: &Server, path: &str) -> Reply {
    api(server, "GET", "file", &[("path", path)], &[], None)
}

#[test]
fn without_dev_every_dev_path_is_not_found() {
    let server = Server::try_start_with_env(
        &["--inmem", "--pod", test_pod().to_str().unwrap()],
        &[("HBF_DEV_TOKEN", TOKEN)],
    )
    .unwrap();
    for path in ["/__dev", "/__dev/", "/__dev/api/files", "/__dev/api/events"] {
        let auth = format!("Bearer {TOKEN}");
        let r = server.request("GET", path, &[("authorization", &auth)], None);
        assert_eq!(r.status, 404, "{path}");
    }
    let r = server.request(
        "PUT",
        "/__dev/api/file?path=hbf/x.js",
        &[],
        Some(b"export default 1"),
    );
    assert_eq!(r.status, 404);
}

#[test]
fn requests_without_the_token_are_unauthorized() {
    let server = dev_server(&[]);
    for headers in [
        vec![],
        vec![("authorization", "Bearer wrong-token-0123456789")],
        vec![("authorization", "Bearer test-token-012345678")], // a prefix
        vec![("authorization", "Basic dGVzdDp0ZXN0")],
    ] {
        for (method, endpoint) in [("GET", "files"), ("PUT", "file"), ("GET", "events")] {
            let r = server.request(
                method,
                &format!("/__dev/api/{endpoint}?path=a.txt"),
                &headers,
                Some(b"x"),
            );
            assert_eq!(r.status, 401, "{method} {endpoint} {headers:?}");
            assert_eq!(r.header("www-authenticate"), Some("Bearer"));
            assert!(r.json()["error"].is_string());
        }
    }
    // Nothing was written by the refused PUTs.
    assert_eq!(get_file(&server, "a.txt").status, 404);
    let r = api(&server, "GET", "files", &[("prefix", "")], &[], None);
    assert_eq!(r.status, 200);
}

#[test]
fn a_generated_token_works_and_stays_out_of_the_log() {
    let pod = test_pod();
    let server = Server::start(&[
        "--inmem",
        "--pod",
        pod.to_str().unwrap(),
        "--dev",
        "--log-level",
        "trace",
    ]);
    let line = server
        .wait_for_log(&["/__dev/#token="], Duration::from_secs(5))
        .expect("the start-up line with the editor's URL");
    let token = line
        .split("#token=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(token.len(), 64, "{line}");
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()), "{line}");
    assert!(line.contains(&format!("http://{}/__dev/#token=", server.addr)));
    let auth = format!("Bearer {token}");
    let r = server.request(
        "PUT",
        "/__dev/api/file?path=static/t.txt",
        &[("authorization", &auth)],
        Some(b"hi"),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let r = server.request("GET", "/__dev/api/files", &[("authorization", &auth)], None);
    assert_eq!(r.status, 200);
    let wrong = format!("Bearer {}", &token[..63]);
    let r = server.request(
        "GET",
        "/__dev/api/files",
        &[("authorization", &wrong)],
        None,
    );
    assert_eq!(r.status, 401);
    // Let the trace lines of those requests arrive, then look: the token is
    // in the one start-up line and nowhere else.
    server.wait_for_log(&["status=401"], Duration::from_secs(5));
    let with_token: Vec<String> = server
        .log()
        .into_iter()
        .filter(|l| l.contains(&token[..16]))
        .collect();
    assert_eq!(with_token, [line], "the token leaked into the log");
}

#[test]
fn a_chosen_token_is_checked_and_the_network_needs_one() {
    let pod = test_pod();
    let pod = pod.to_str().unwrap();
    let args = ["--inmem", "--pod", pod, "--dev"];
    let log = Server::try_start_with_env(&args, &[("HBF_DEV_TOKEN", "too-short")])
        .err()
        .expect("a short token must not start");
    assert!(log.contains("HBF_DEV_TOKEN") && log.contains("16"), "{log}");

    let network = ["--inmem", "--pod", pod, "--dev", "--host", "0.0.0.0"];
    let log = Server::try_start_with_env(&network, &[])
        .err()
        .expect("--dev on a non-loopback host without HBF_DEV_TOKEN must not start");
    assert!(
        log.contains("HBF_DEV_TOKEN") && log.contains("loopback"),
        "{log}"
    );

    let server = Server::try_start_with_env(&network, &[("HBF_DEV_TOKEN", TOKEN)]).unwrap();
    assert_eq!(
        api(&server, "GET", "files", &[], &[], None).status,
        200,
        "the chosen token opens the API"
    );
    assert!(
        !server.log().iter().any(|l| l.contains(TOKEN)),
        "a chosen token is never printed"
    );
}

#[test]
fn binary_content_round_trips() {
    let server = dev_server(&["--max-body", &(8 << 20).to_string()]);
    let every_byte: Vec<u8> = (0..=255u8).collect();
    let r = put(&server, "static/bytes.bin", &[], &every_byte);
    assert_eq!(r.status, 201, "{}", r.text());
    let body = r.json();
    assert_eq!(body["path"], "static/bytes.bin");
    assert_eq!(body["version"], 1);
    assert_eq!(body["size"], 256);
    assert_eq!(body["sha256"].as_str().unwrap().len(), 64);
    let r = get_file(&server, "static/bytes.bin");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, every_byte);
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    assert_eq!(r.header("etag"), Some("\"1\""));
    assert_eq!(r.header("x-hbf-version"), Some("1"));

    let mut big = Vec::with_capacity(5 << 20);
    let mut x: u32 = 0x1234_5678;
    while big.len() < 5 << 20 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        big.extend_from_slice(&x.to_le_bytes());
    }
    let r = put(&server, "static/big.png", &[], &big);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["size"], 5 << 20);
    let r = get_file(&server, "static/big.png");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("image/png"));
    assert!(r.body == big, "the 5 MB file came back different");

    // A second write of the same path is 200 and the version moves on.
    let r = put(&server, "static/bytes.bin", &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["version"], 2);
    assert_eq!(get_file(&server, "static/bytes.bin").body, b"");
    // Over --max-body: 413, nothing stored.
    // (A declared length over the limit is answered before the body is sent.)
    let head = format!(
        "PUT /__dev/api/file?path=static/huge.bin HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: {}\r\n\r\n",
        (8 << 20) + 1
    );
    let answer = server.raw(head.as_bytes(), Duration::from_secs(5));
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert_eq!(get_file(&server, "static/huge.bin").status, 404);
}

#[test]
fn preconditions_delete_history_revert_and_paths() {
    let server = dev_server(&[]);
    let p = "static/notes/a b.txt";
    // Create only.
    let r = put(&server, p, &[("if-none-match", "*")], b"one");
    assert_eq!(r.status, 201, "{}", r.text());
    let r = put(&server, p, &[("if-none-match", "*")], b"again");
    assert_eq!(r.status, 412);
    assert_eq!(r.json()["current_version"], 1);
    // If-Match, quoted or not.
    let r = put(&server, p, &[("if-match", "\"1\"")], b"two");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["version"], 2);
    let r = put(&server, p, &[("if-match", "1")], b"stale");
    assert_eq!(r.status, 412);
    let body = r.json();
    assert_eq!(body["current_version"], 2);
    assert!(body["error"].is_string());
    assert_eq!(get_file(&server, p).body, b"two");
    let r = put(&server, "static/never.txt", &[("if-match", "\"1\"")], b"x");
    assert_eq!(r.status, 412);
    assert!(r.json()["current_version"].is_null());
    // Old versions stay readable.
    let r = api(
        &server,
        "GET",
        "file",
        &[("path", p), ("version", "1")],
        &[],
        None,
    );
    assert_eq!((r.status, r.body.as_slice()), (200, &b"one"[..]));
    assert_eq!(r.header("etag"), Some("\"1\""));
    let r = api(
        &server,
        "GET",
        "file",
        &[("path", p), ("version", "9")],
        &[],
        None,
    );
    assert_eq!(r.status, 404);

    // Delete honours If-Match, then the path is gone but its history is kept.
    let r = api(
        &server,
        "DELETE",
        "file",
        &[("path", p)],
        &[("if-match", "\"1\"")],
        None,
    );
    assert_eq!(r.status, 412);
    let r = api(
        &server,
        "DELETE",
        "file",
        &[("path", p)],
        &[("if-match", "\"2\"")],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), serde_json::json!({"path": p, "version": 3}));
    assert_eq!(get_file(&server, p).status, 404);
    let r = api(&server, "DELETE", "file", &[("path", p)], &[], None);
    assert_eq!(r.status, 404);
    let listed = |deleted: bool| -> Vec<String> {
        let mut q = vec![("prefix", "static/notes/")];
        if deleted {
            q.push(("deleted", "1"));
        }
        let r = api(&server, "GET", "files", &q, &[], None);
        assert_eq!(r.status, 200);
        r.json()
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(listed(false).is_empty());
    assert_eq!(listed(true), [p]);

    let r = api(&server, "GET", "history", &[("path", p)], &[], None);
    assert_eq!(r.status, 200);
    let history = r.json();
    let versions: Vec<(u64, bool)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_u64().unwrap(),
                v["deleted"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(versions, [(1, false), (2, false), (3, true)]);
    assert_eq!(history[0]["size"], 3);
    assert!(history[2]["sha256"].is_null());

    // Revert to version 1 (If-Match honoured): a new version 4 with its content.
    let revert = |version: &str, if_match: &str| {
        api(
            &server,
            "POST",
            "revert",
            &[("path", p), ("version", version)],
            &[("if-match", if_match)],
            Some(b""),
        )
    };
    assert_eq!(revert("1", "\"2\"").status, 412);
    let r = revert("1", "\"3\"");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["version"], 4);
    assert_eq!(get_file(&server, p).body, b"one");
    assert_eq!(revert("7", "\"4\"").status, 404);

    // Listing: metadata of live files.
    let r = api(
        &server,
        "GET",
        "files",
        &[("prefix", "static/notes/")],
        &[],
        None,
    );
    let files = r.json();
    assert_eq!(files[0]["path"], p);
    assert_eq!(files[0]["version"], 4);
    assert_eq!(files[0]["size"], 3);
    assert!(files[0]["mtime"].as_i64().unwrap() > 1_600_000_000_000);

    // Invalid and traversal paths: 400 naming the rule, nothing written.
    for (bad, rule) in [
        ("../etc/passwd", "'..'"),
        ("static/../../x", "'..'"),
        ("/etc/passwd", "absolute"),
        ("a//b", "empty segments"),
        ("a\\b", "backslash"),
        ("a\nb", "control"),
        ("", "empty"),
    ] {
        let r = put(&server, bad, &[], b"x");
        assert_eq!(r.status, 400, "{bad:?}: {}", r.text());
        assert!(
            r.json()["message"].as_str().unwrap().contains(rule),
            "{bad:?}: {}",
            r.text()
        );
        assert_eq!(get_file(&server, bad).status, 400, "{bad:?}");
    }
    let r = api(&server, "GET", "file", &[], &[], None);
    assert_eq!(r.status, 400);
    let r = api(&server, "GET", "nothing-here", &[], &[], None);
    assert_eq!(r.status, 404);
    let r = api(&server, "POST", "file", &[("path", "a")], &[], Some(b""));
    assert_eq!(r.status, 405);
}

#[test]
fn a_module_that_does_not_compile_is_stored_with_warnings() {
    let server = dev_server(&[]);
    let broken = b"export function greet(name) {\n  return 'hi ' +\n}\n";
    let r = put(&server, "hbf/lib/greeting.js", &[], broken);
    assert_eq!(r.status, 200, "{}", r.text());
    let warnings = r.json()["warnings"].clone();
    assert_eq!(warnings.as_array().map(Vec::len), Some(1), "{warnings}");
    assert_eq!(warnings[0]["path"], "hbf/lib/greeting.js");
    assert_eq!(warnings[0]["line"], 3, "{warnings}");
    assert!(warnings[0]["column"].is_u64(), "{warnings}");
    assert!(warnings[0]["message"].is_string());
    assert_eq!(get_file(&server, "hbf/lib/greeting.js").body, broken);
    // A request that loads it: 500, the dev body names the file and line.
    let r = server.get("/t/import-bare");
    assert_eq!(r.status, 500);
    let text = r.text();
    assert!(text.contains("hbf/lib/greeting.js:3"), "{text}");
    // A valid module has no warnings; files outside hbf/ are not compiled.
    let r = put(
        &server,
        "hbf/lib/greeting.js",
        &[],
        b"export const greet = (n) => n;\n",
    );
    assert!(r.json().get("warnings").is_none(), "{}", r.text());
    let r = put(&server, "static/broken.js", &[], b"let = ;");
    assert!(r.json().get("warnings").is_none(), "{}", r.text());
}

/// An `/__dev/api/events` subscriber: the `data:` lines, as they arrive.
struct Events {
    lines: mpsc::Receiver<String>,
    _stream: TcpStream,
}

impl Events {
    fn open(server: &Server, token: &str) -> Events {
        let mut stream = TcpStream::connect(&server.addr).unwrap();
        write!(
            stream,
            "GET /__dev/api/events HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\n\r\n"
        )
        .unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in reader.lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let events = Events {
            lines,
            _stream: stream,
        };
        // The stream is open once its first comment arrives.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let line = events
                .lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("the event stream opens");
            if line.starts_with(": hbf dev events") {
                return events;
            }
            if line.starts_with("HTTP/1.1") {
                assert!(line.contains("200"), "{line}");
            }
        }
    }

    /// The next event whose JSON data matches `want`, within `timeout`.
    fn wait(
        &self,
        timeout: Duration,
        want: impl Fn(&serde_json::Value) -> bool,
    ) -> Option<serde_json::Value> {
        let deadline = Instant::now() + timeout;
        while let Ok(line) = self
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            let Some(data) = line.strip_prefix("data: ") else {
                continue;
            };
            let value: serde_json::Value = serde_json::from_str(data).unwrap();
            if want(&value) {
                return Some(value);
            }
        }
        None
    }
}

#[test]
fn events_arrive_for_other_processes_the_api_the_pod_and_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hbf.db");
    let pod = test_pod();
    let server = Server::try_start_with_env(
        &[
            "--db",
            db.to_str().unwrap(),
            "--pod",
            pod.to_str().unwrap(),
            "--dev",
        ],
        &[("HBF_DEV_TOKEN", TOKEN)],
    )
    .unwrap();
    let events = Events::open(&server, TOKEN);

    // `hbf fs put` from another process on the same database file.
    let source = dir.path().join("from-cli.txt");
    std::fs::write(&source, "written by the CLI").unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_hbf"))
        .args([
            "--db",
            db.to_str().unwrap(),
            "fs",
            "put",
            "static/from-cli.txt",
        ])
        .arg(&source)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let event = events
        .wait(Duration::from_secs(1), |e| {
            e["path"] == "static/from-cli.txt"
        })
        .expect("an event for hbf fs put within 1 s");
    assert_eq!(
        event,
        serde_json::json!({"path": "static/from-cli.txt", "version": 1, "deleted": false, "source": "cli"})
    );

    // The API's own writes and deletes.
    assert_eq!(put(&server, "static/from-api.txt", &[], b"x").status, 201);
    let event = events
        .wait(Duration::from_secs(1), |e| {
            e["path"] == "static/from-api.txt"
        })
        .expect("an event for an API write");
    assert_eq!(event["source"], "api");
    let r = api(
        &server,
        "DELETE",
        "file",
        &[("path", "static/from-api.txt")],
        &[],
        None,
    );
    assert_eq!(r.status, 200);
    let event = events
        .wait(Duration::from_secs(1), |e| {
            e["path"] == "static/from-api.txt"
        })
        .expect("an event for an API delete");
    assert_eq!(
        (&event["deleted"], &event["version"]),
        (&true.into(), &2.into())
    );

    // The pod's writes through hbf:fs.
    let r = server.post("/t/fs/write?path=static/from-js.txt&as=text", b"js");
    assert_eq!(r.status, 200, "{}", r.text());
    let event = events
        .wait(Duration::from_secs(1), |e| {
            e["path"] == "static/from-js.txt"
        })
        .expect("an event for an hbf:fs write");
    assert_eq!(event["source"], "js");

    // A request's console line, and its uncaught error.
    let marker = "dev-events-marker";
    assert_eq!(
        server.get(&format!("/t/console?marker={marker}")).status,
        200
    );
    let event = events
        .wait(Duration::from_secs(1), |e| {
            e["message"]
                .as_str()
                .is_some_and(|m| m.contains(&format!("{marker} console.warn")))
        })
        .expect("an event for console.warn within 1 s");
    assert_eq!(event["level"], "warn");
    assert!(event["request"].as_u64().is_some());
    assert_eq!(server.get("/t/throw?message=boom-for-events").status, 500);
    let event = events
        .wait(Duration::from_secs(1), |e| {
            e["message"]
                .as_str()
                .is_some_and(|m| m.contains("boom-for-events"))
        })
        .expect("an event for an uncaught error");
    assert_eq!(event["level"], "error");

    // Each change is announced once: no second event for the CLI's write.
    assert!(events
        .wait(Duration::from_millis(700), |e| e["path"]
            == "static/from-cli.txt"
            || e["path"] == "static/from-js.txt")
        .is_none());
}

#[test]
fn a_client_that_does_not_read_events_is_dropped_and_blocks_nothing() {
    let server = dev_server(&[]);
    // Subscribe and never read.
    let mut idle = TcpStream::connect(&server.addr).unwrap();
    write!(
        idle,
        "GET /__dev/api/events HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    // Enough large console lines (six per request) to fill its socket and its
    // buffer many times over.
    let marker = "x".repeat(50_000);
    let started = Instant::now();
    for _ in 0..150 {
        let r = server.get(&format!("/t/console?marker={marker}"));
        assert_eq!(r.status, 200);
    }
    let events = Events::open(&server, TOKEN);
    for i in 0..200 {
        put(&server, &format!("static/many/{i}.txt"), &[], b"x");
    }
    assert!(events
        .wait(Duration::from_secs(2), |e| e["path"]
            == "static/many/199.txt")
        .is_some());
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(
        server
            .wait_for_log(&["event client"], Duration::from_secs(5))
            .is_some(),
        "the idle client was dropped"
    );
}

#[test]
fn racing_puts_with_the_same_if_match_have_one_winner() {
    const CLIENTS: usize = 32;
    const ROUNDS: u64 = 10;
    let server = Arc::new(dev_server(&["--workers", "2"]));
    assert_eq!(put(&server, "static/race.txt", &[], b"start").status, 201);
    let barrier = Arc::new(Barrier::new(CLIENTS));
    let handles: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (server, barrier) = (Arc::clone(&server), Arc::clone(&barrier));
            std::thread::spawn(move || {
                let mut outcomes = Vec::new();
                for round in 1..=ROUNDS {
                    barrier.wait();
                    let tag = format!("\"{round}\"");
                    let body = format!("client {client} round {round}");
                    let r = put(
                        &server,
                        "static/race.txt",
                        &[("if-match", &tag)],
                        body.as_bytes(),
                    );
                    outcomes.push((round, r.status, body));
                    barrier.wait(); // everyone has an answer before the next round
                }
                outcomes
            })
        })
        .collect();
    let mut winners = vec![Vec::new(); ROUNDS as usize + 1];
    for handle in handles {
        for (round, status, body) in handle.join().unwrap() {
            match status {
                200 => winners[round as usize].push(body),
                412 => {}
                other => panic!("round {round}: status {other}"),
            }
        }
    }
    for round in 1..=ROUNDS {
        let won = &winners[round as usize];
        assert_eq!(won.len(), 1, "round {round}: {won:?}");
        // The winner's content is the version it made.
        let v = (round + 1).to_string();
        let r = api(
            &server,
            "GET",
            "file",
            &[("path", "static/race.txt"), ("version", &v)],
            &[],
            None,
        );
        assert_eq!(r.text(), won[0]);
    }
    let r = api(
        &server,
        "GET",
        "history",
        &[("path", "static/race.txt")],
        &[],
        None,
    );
    assert_eq!(r.json().as_array().unwrap().len() as u64, ROUNDS + 1);
}

#[test]
fn kill_9_during_acknowledged_puts_loses_none() {
    const WRITERS: usize = 8;
    let on_file = common::test_pod_on_file(&["--dev"]);
    let args = on_file.args();
    let env = [("HBF_DEV_TOKEN", TOKEN)];
    let mut server = Server::try_start_with_env(&args, &env).unwrap();
    let base = server.url("");
    let agent = server.agent.clone();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let handles: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (agent, base, stop) = (agent.clone(), base.clone(), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut acknowledged = Vec::new();
                let path = format!("static/durable/{writer}.txt");
                for i in 0.. {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    let body = format!("writer {writer} put {i}");
                    let request = ureq::http::Request::builder()
                        .method("PUT")
                        .uri(format!("{base}{}", api_path("file", &[("path", &path)])))
                        .header("authorization", format!("Bearer {TOKEN}"))
                        .body(body.clone().into_bytes())
                        .unwrap();
                    match agent.run(request) {
                        Ok(mut r) if r.status().is_success() => {
                            let reply: serde_json::Value =
                                serde_json::from_slice(&r.body_mut().read_to_vec().unwrap())
                                    .unwrap();
                            acknowledged.push((
                                path.clone(),
                                reply["version"].as_u64().unwrap(),
                                body,
                            ));
                        }
                        Ok(r) => panic!("status {}", r.status()),
                        Err(_) => break, // the server is gone
                    }
                }
                acknowledged
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let acknowledged: Vec<_> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    assert!(
        acknowledged.len() > 50,
        "only {} writes",
        acknowledged.len()
    );

    let server = Server::try_start_with_env(&args, &env).unwrap();
    for (path, version, body) in &acknowledged {
        let v = version.to_string();
        let r = api(
            &server,
            "GET",
            "file",
            &[("path", path), ("version", &v)],
            &[],
            None,
        );
        assert_eq!(
            r.status, 200,
            "{path} v{version} was acknowledged but is gone"
        );
        assert_eq!(&r.text(), body, "{path} v{version}");
    }
}

#[test]
fn shutdown_ends_open_event_streams() {
    let mut server = dev_server(&[]);
    let events = Events::open(&server, TOKEN);
    let started = Instant::now();
    assert!(server.terminate().success());
    // The drain timeout is 10 s: an open stream must not hold the exit.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "shutdown took {:?} with an event stream open",
        started.elapsed()
    );
    drop(events);
}

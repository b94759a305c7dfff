//! The JavaScript runtime through the real server: both handler styles, the host
//! modules, modules and imports, isolation and live reload.

mod common;
use common::{repo, Server};
use std::time::Duration;

#[test]
fn hbf_style_request_and_response_features() {
    let server = Server::test_pod(&[]);
    let headers = server.get("/t/headers?name=X-Chosen&value=v1");
    assert_eq!(headers.status, 200);
    assert_eq!(headers.header("x-test-one"), Some("1"));
    assert_eq!(headers.header("x-test-two"), Some("two"));
    assert_eq!(headers.header("x-chosen"), Some("v1"));
    let binary = server.get("/t/binary");
    assert_eq!(
        binary.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(binary.body, (0..=255u8).collect::<Vec<_>>());
    let payload: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 256) as u8).collect();
    let echoed = server.post("/t/binary", &payload);
    assert_eq!(echoed.body, payload, "binary bodies round-trip unchanged");
    let first = server.get("/t/first-send");
    assert_eq!(first.status, 201);
    assert_eq!(first.text(), r#"{"first":true}"#);
    assert!(first.header("x-too-late").is_none());
    assert_eq!(
        server.get("/t/async").json()["steps"],
        serde_json::json!(["await", "then", "promise"])
    );
    assert_eq!(
        server.get("/t/unicode").json()["text"],
        "héllo wörld ✓ 🚀 日本語"
    );
    let created = server.get("/t/status?code=418");
    assert_eq!(created.status, 418);
    let no_content = server.get("/t/status?code=204");
    assert_eq!((no_content.status, no_content.body.len()), (204, 0));
    assert_eq!(server.request("POST", "/hello", &[], Some(b"")).status, 405);
}

#[test]
fn errors_are_500_never_a_silent_200() {
    let server = Server::test_pod(&[]);
    for path in [
        "/t/throw",
        "/t/reject",
        "/t/reject-chain",
        "/t/status?code=99",
        "/t/status?code=abc",
    ] {
        let reply = server.get(path);
        assert_eq!(reply.status, 500, "{path}: {}", reply.text());
        let json = reply.json();
        assert_eq!(json["error"], "Internal Server Error", "{path}");
        assert!(
            json.get("stack").is_none(),
            "no stack outside dev mode: {path}"
        );
    }
    assert!(server
        .wait_for_log(&["uncaught JavaScript error"], Duration::from_secs(5))
        .is_some());
    // Dev mode shows the message and the stack.
    let dev = Server::test_pod(&["--dev"]);
    let reply = dev.get("/t/throw");
    assert_eq!(reply.status, 500);
    let json = reply.json();
    assert!(
        json["message"].as_str().unwrap().contains("Error"),
        "{json}"
    );
    assert!(
        json["stack"].as_str().unwrap().contains("test-routes.js"),
        "{json}"
    );
}

#[test]
fn header_values_from_js_cannot_split_headers() {
    let server = Server::test_pod(&[]);
    let reply = server.get("/t/headers?name=X-Ok&value=a%0D%0AX-Evil:%201");
    assert_eq!(reply.status, 500, "{}", reply.text());
    assert!(reply.header("x-evil").is_none());
    assert!(reply.header("x-ok").is_none());
    let reply = server.get("/t/headers?name=Bad%20Name&value=x");
    assert_ne!(reply.status, 200);
}

#[test]
fn hbf_db_round_trips_every_type_and_protects_platform_tables() {
    let server = Server::test_pod(&[]);
    let db = server.get("/t/db?name=first").json();
    assert_eq!(db["inserted"]["changes"], 1, "{db}");
    assert_eq!(
        db["blob"],
        serde_json::json!({"isUint8Array": true, "length": 256, "equal": true})
    );
    let again = server.get("/t/db?name=second").json();
    assert_eq!(
        again["count"], 2,
        "the pod's data persists between requests"
    );
    let types = server.get("/t/db/types").json();
    assert_eq!(types["row"]["aTrue"], 1, "{types}");
    assert_eq!(types["row"]["aFalse"], 0);
    assert_eq!(types["types"]["aBlob"], "Uint8Array");
    assert_eq!(types["types"]["aNull"], "null");
    assert_eq!(types["row"]["bigintType"], "integer");
    assert_eq!(types["row"]["aBigint"], "4611686018427387905");
    assert_eq!(types["bigintEqual"], true);
    let rollback = server.get("/t/db/rollback").json();
    assert_eq!(
        rollback,
        serde_json::json!({"doomed": 0, "rolledBack": true, "error": "roll back, please"})
    );
    let sql = |body: &str| server.post("/t/db/sql", body.as_bytes());
    let refused = sql(r#"{"sql":"DELETE FROM hbf_fs_version","params":[]}"#);
    assert_eq!(refused.status, 400, "{}", refused.text());
    assert!(refused.text().contains("not allowed"), "{}", refused.text());
    let readable = sql(r#"{"sql":"SELECT count(*) AS n FROM hbf_fs_file","params":[]}"#);
    assert_eq!(readable.status, 200, "{}", readable.text());
    assert_eq!(server.get("/hello").status, 200, "nothing was damaged");
}

#[test]
fn hbf_fs_and_live_reload() {
    let server = Server::test_pod(&[]);
    let write = server.post("/t/fs/write?path=static/note.txt&as=text", b"first");
    assert_eq!(write.status, 200, "{}", write.text());
    assert_eq!(write.json()["result"]["version"], 1);
    server.post("/t/fs/write?path=static/note.txt&as=text", b"second");
    let read = server.get("/t/fs/read?path=static/note.txt").json();
    assert_eq!(read["content"], "second");
    assert_eq!(
        server.get("/static/note.txt").text(),
        "second",
        "static files see writes at once"
    );
    let history = server.get("/t/fs/history?path=static/note.txt").json();
    assert_eq!(history["versions"].as_array().unwrap().len(), 2);
    let revert = server.post("/t/fs/revert?path=static/note.txt&version=1", b"");
    assert_eq!(revert.status, 200, "{}", revert.text());
    assert_eq!(server.get("/static/note.txt").text(), "first");
    let list = server.get("/t/fs/list?prefix=static/").json();
    assert!(list["entries"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["path"] == "static/note.txt"));
    assert_eq!(
        server
            .post("/t/fs/write?path=../escape&as=text", b"x")
            .status,
        400
    );
    assert_eq!(server.get("/t/fs/read?path=static/missing.txt").status, 404);

    // Live reload: a new hbf/server.js runs on the next request.
    assert_eq!(
        server.get("/hello").text(),
        r#"{"message":"Hello, World!"}"#
    );
    let code = r#"globalThis.app = { handle(req, res) { res.set('X-Powered-By', 'HBF').json({ reloaded: req.path }) } }"#;
    let write = server.post("/t/fs/write?path=hbf/server.js&as=text", code.as_bytes());
    assert_eq!(write.status, 200, "{}", write.text());
    assert_eq!(server.get("/hello").text(), r#"{"reloaded":"/hello"}"#);
    assert_eq!(
        server.get("/anything").text(),
        r#"{"reloaded":"/anything"}"#
    );
}

#[test]
fn console_lines_carry_the_request_id() {
    let server = Server::test_pod(&["--log-level", "debug"]);
    let reply = server.get("/t/console?marker=M4RK3R");
    assert_eq!(reply.json()["logged"], 6);
    let line = server
        .wait_for_log(&["M4RK3R", "request="], Duration::from_secs(5))
        .expect("a console line with the request id");
    assert!(line.contains("hbf::js"), "{line}");
    // The log is read by another thread: give the other five lines time.
    let count = || server.log().iter().filter(|l| l.contains("M4RK3R")).count();
    let start = std::time::Instant::now();
    while count() < 6 && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(count(), 6);
}

/// Issue 11, defect 7: console text cannot forge log lines. The marker (the
/// query, percent-decoded by the route) carries CR/LF, a tab and an ANSI
/// escape; every call stays one line, its breaks escaped.
#[test]
fn console_text_cannot_forge_log_lines() {
    let server = Server::test_pod(&[]);
    let forged = "F0RG3D%0D%0A2026-01-01T00:00:00.000000Z%20%20INFO%20hbf:%20N3W-L1NE%09%1B[31m";
    let reply = server.get(&format!("/t/console?marker={forged}"));
    assert_eq!(reply.status, 200);
    let line = server
        .wait_for_log(&["F0RG3D", "console.warn"], Duration::from_secs(5))
        .expect("the console line");
    assert!(
        line.contains(
            r"F0RG3D\r\n2026-01-01T00:00:00.000000Z  INFO hbf: N3W-L1NE\t\u{1b}[31m console.warn"
        ),
        "{line}"
    );
    std::thread::sleep(Duration::from_millis(200));
    let log = server.log();
    let forged_lines: Vec<_> = log
        .iter()
        .filter(|l| l.contains("N3W-L1NE") && !l.contains("F0RG3D"))
        .collect();
    assert!(forged_lines.is_empty(), "{forged_lines:#?}");
    assert!(!log.iter().any(|l| l.contains('\u{1b}')), "{log:#?}");
}

#[test]
fn uncaught_error_text_cannot_forge_log_lines() {
    let server = Server::test_pod(&[]);
    let forged = "TXT-F0RG3D%0A2026-01-01T00:00:00.000000Z%20%20INFO%20hbf:%20TXT-N3W-L1NE";
    assert_eq!(
        server.get(&format!("/t/throw?message={forged}")).status,
        500
    );
    let line = server
        .wait_for_log(
            &["uncaught JavaScript error", "TXT-F0RG3D"],
            Duration::from_secs(5),
        )
        .expect("the error's line");
    assert!(line.contains(r"TXT-F0RG3D\n2026-01-01"), "{line}");
    std::thread::sleep(Duration::from_millis(200));
    let forged_lines: Vec<_> = server
        .log()
        .into_iter()
        .filter(|l| l.contains("TXT-N3W-L1NE") && !l.contains("TXT-F0RG3D"))
        .collect();
    assert!(forged_lines.is_empty(), "{forged_lines:#?}");
}

#[test]
fn modules_resolve_relative_absolute_bare_and_third_party() {
    let server = Server::test_pod(&[]);
    assert_eq!(
        server.get("/t/import-bare").json(),
        serde_json::json!({"greeting": "Hello, importmap!", "value": 42, "findMyWay": "function"})
    );
    assert_eq!(server.get("/t/import-absolute").json()["value"], 42);
    assert_eq!(
        server.get("/t/import-relative").json()["fromParent"],
        "Hello, Static ESM!"
    );
    let user = server.get("/t/router/users/a%20b?x=1").json();
    assert_eq!(user["router"], "find-my-way");
    assert_eq!(user["params"]["id"], "a b");
    assert_eq!(server.get("/t/router/items/12").json()["id"], 12);
    assert_eq!(server.get("/t/router/items/abc").status, 404);
    assert_eq!(
        server.get("/t/router/files/a/b/c.txt").json()["path"],
        "a/b/c.txt"
    );
}

#[test]
fn snapshot_isolation_by_default_worker_reuse_on_request() {
    // Default: every request starts from the warm heap's snapshot; built-ins
    // are writable, and what a request writes is gone after it.
    let server = Server::test_pod(&["--workers", "1"]);
    for _ in 0..3 {
        assert_eq!(
            server.get("/t/global").json(),
            serde_json::json!({"module": 1, "global": 1, "polluted": false, "builtins": "writable"})
        );
    }
    // The two removed modes fail at start with a message naming `snapshot`.
    for removed in ["request", "context"] {
        let refused = Server::try_start(&["--inmem", "--isolation", removed])
            .err()
            .unwrap_or_else(|| panic!("--isolation {removed} started"));
        assert!(
            refused.contains(&format!(
                "isolation '{removed}' was removed: use 'snapshot'"
            )),
            "{refused}"
        );
    }
    let shared = Server::test_pod(&["--workers", "1", "--isolation", "worker"]);
    let first = shared.get("/t/global").json();
    let second = shared.get("/t/global").json();
    assert_eq!(first["module"], 1);
    assert_eq!(second["module"], 2, "worker isolation keeps module state");
    assert_eq!(second["polluted"], true, "and built-ins are not frozen");
}

/// A pod opts into sharing with `export const isolation = 'worker'` (SPEC 4),
/// from the next request after the edit; `--isolation` overrides the pod.
#[test]
fn a_pod_opts_into_sharing_unless_the_operator_chose() {
    let code = "export const isolation = 'worker'\nlet n = 0\n\
                globalThis.app = { handle(req, res) { res.json({ n: ++n }) } }";
    let counts = |server: &Server| -> Vec<u64> {
        (0..4)
            .map(|_| server.get("/count").json()["n"].as_u64().unwrap())
            .collect()
    };
    let pod_decides = Server::test_pod(&["--workers", "1"]);
    let operator = Server::test_pod(&["--workers", "1", "--isolation", "snapshot"]);
    for server in [&pod_decides, &operator] {
        let write = server.post("/t/fs/write?path=hbf/server.js&as=text", code.as_bytes());
        assert_eq!(write.status, 200, "{}", write.text());
    }
    // The request that loads the edit runs isolated; sharing starts after it.
    assert_eq!(counts(&pod_decides), [1, 1, 2, 3]);
    assert_eq!(counts(&operator), [1, 1, 1, 1]);
    assert!(pod_decides
        .wait_for_log(
            &["declares its isolation", "Worker"],
            Duration::from_secs(5)
        )
        .is_some());
}

/// The isolating mode against a pod that tries every way to leave state for
/// the next request, and uses built-ins as ordinary code does (Error
/// subclasses that set `name`, objects that override `toString`): the
/// default (`snapshot`), chosen by the pod's default and by the operator,
/// lets a request patch anything and puts it all back after.
#[test]
fn isolation_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let pod = dir.path().join("leaky");
    std::fs::create_dir_all(pod.join("hbf/lib")).unwrap();
    std::fs::write(
        pod.join("hbf/lib/state.js"),
        "export let hits = 0;\nexport const bump = () => ++hits;\n",
    )
    .unwrap();
    std::fs::write(
        pod.join("hbf/server.js"),
        r#"import { bump } from './lib/state.js'
import * as again from './lib/state.js'
class AppError extends Error {
  constructor(m) { super(m); this.name = 'AppError' }
}
function Legacy() {}
Legacy.prototype = Object.create(Error.prototype)
Legacy.prototype.constructor = Legacy
const attempts = {}
const attempt = (what, f) => {
  try { f(); attempts[what] = 'allowed' } catch (e) { attempts[what] = e.name }
}
export default {
  async fetch(request) {
    const seen = {
      hits: bump(),
      sameInstance: again.hits === 1,
      leakedGlobal: typeof globalThis.leak,
      leakedLater: typeof globalThis.later,
      leakedProto: 'leak' in Object.prototype,
      jsonPatched: JSON.parse('1') !== 1,
      mathReplaced: typeof Math.max !== 'function',
      consolePatched: typeof console.leak,
    }
    globalThis.leak = 1
    Promise.resolve().then(() => Promise.resolve()).then(() => { globalThis.later = 1 })
    attempt('objectPrototype', () => { Object.prototype.leak = 1 })
    attempt('jsonParse', () => { JSON.parse = () => 'x' })
    attempt('console', () => { console.leak = 1 })
    attempt('replaceGlobal', () => { globalThis.Math = {} })
    const e = new AppError('boom')
    const legacy = new Legacy()
    const custom = { toString() { return 'custom' } }
    const assigned = {}
    assigned.toString = () => 'assigned'
    return Response.json({
      seen, attempts,
      errorName: e.name, errorString: String(e), legacyIsLegacy: legacy.constructor === Legacy,
      custom: `${custom}`, assigned: `${assigned}`,
    })
  },
}
"#,
    )
    .unwrap();
    let pod = pod.to_str().unwrap();
    let flags = [
        "--inmem",
        "--pod",
        pod,
        "--workers",
        "1",
        "--isolation",
        "snapshot",
    ];
    for chosen in [&flags[..5], &flags[..]] {
        leaves_nothing_behind(&Server::start(chosen), "allowed");
    }
}

fn leaves_nothing_behind(server: &Server, refused: &str) {
    for round in 0..3 {
        let body = server.get("/").json();
        assert_eq!(
            body["seen"],
            serde_json::json!({
                "hits": 1, "sameInstance": true, "leakedGlobal": "undefined",
                "leakedLater": "undefined", "leakedProto": false,
                "jsonPatched": false, "mathReplaced": false, "consolePatched": "undefined",
            }),
            "round {round}: {body}"
        );
        assert_eq!(
            body["attempts"],
            serde_json::json!({
                "objectPrototype": refused, "jsonParse": refused,
                "console": refused, "replaceGlobal": refused,
            }),
            "{body}"
        );
        assert_eq!(body["errorName"], "AppError", "{body}");
        assert_eq!(body["errorString"], "AppError: boom", "{body}");
        assert_eq!(body["legacyIsLegacy"], true, "{body}");
        assert_eq!(body["custom"], "custom", "{body}");
        assert_eq!(body["assigned"], "assigned", "{body}");
    }
}

#[test]
fn fetch_style_pods() {
    let dir = tempfile::tempdir().unwrap();
    let pod = dir.path().join("fetchpod");
    std::fs::create_dir_all(pod.join("hbf/lib")).unwrap();
    std::fs::copy(
        repo().join("pods/test/hbf/fetch-style.js"),
        pod.join("hbf/server.js"),
    )
    .unwrap();
    std::fs::copy(
        repo().join("pods/base/hbf/lib/esm-test.js"),
        pod.join("hbf/lib/esm-test.js"),
    )
    .unwrap();
    let server = Server::start(&["--inmem", "--pod", pod.to_str().unwrap()]);
    let hello = server.get("/hello");
    assert_eq!(hello.text(), r#"{"message":"Hello, World!"}"#);
    assert_eq!(hello.header("x-powered-by"), Some("HBF"));
    assert_eq!(server.get("/user/7").text(), r#"{"userId":"7"}"#);
    let echo = server
        .request("POST", "/echo?q=1", &[("X-A", "b")], Some(b"body text"))
        .json();
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["body"], "body text");
    assert_eq!(echo["query"], "q=1");
    let headers = server.get("/headers?name=X-Chosen&value=v");
    assert_eq!(headers.header("x-chosen"), Some("v"));
    assert_eq!(headers.header("cache-control"), Some("no-store"));
    assert_eq!(server.get("/binary").body, (0..=255u8).collect::<Vec<_>>());
    assert_eq!(server.get("/esm-test").json()["value"], 42);
    assert_eq!(server.get("/reject").status, 500);
    assert_eq!(server.get("/nope").status, 404);
}

#[test]
fn import_map_edits_take_effect_and_a_broken_map_breaks_only_bare_imports() {
    let server = Server::test_pod(&[]);
    assert_eq!(server.get("/t/import-bare").status, 200);
    let broken = server.post(
        "/t/fs/write?path=static/importmap.json&as=text",
        b"{ not json",
    );
    assert_eq!(broken.status, 200);
    assert_eq!(
        server.get("/t/import-bare").status,
        500,
        "bare imports fail"
    );
    assert_eq!(server.get("/hello").status, 200, "everything else works");
    assert!(server
        .wait_for_log(&["importmap.json"], Duration::from_secs(5))
        .is_some());
    let original = std::fs::read(repo().join("pods/test/static/importmap.json")).unwrap();
    server.post("/t/fs/write?path=static/importmap.json&as=text", &original);
    assert_eq!(server.get("/t/import-bare").status, 200, "fixed again");
}

#[test]
fn too_many_response_headers_are_a_500_not_a_dropped_connection() {
    let server = Server::test_pod(&[]);
    // (The test client reads a hundred headers at most, the server sends more.)
    let reply = server.get("/t/many-headers?n=60");
    assert_eq!(reply.status, 200, "{}", reply.text());
    let many = reply.headers.iter().filter(|(n, _)| n == "x-many").count();
    assert_eq!(many, 60);
    let raw = server.raw(
        b"GET /t/many-headers?n=990 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        Duration::from_secs(10),
    );
    assert!(
        raw.starts_with("HTTP/1.1 200"),
        "{}",
        &raw[..raw.len().min(200)]
    );
    assert_eq!(raw.matches("\r\nx-many: ").count(), 990);
    for n in [1001, 40_000] {
        let reply = server.get(&format!("/t/many-headers?n={n}"));
        assert_eq!(reply.status, 500, "n={n}: {}", reply.text());
        let body = reply.json();
        assert_eq!(body["error"], "Internal Server Error");
        assert!(
            body["message"].as_str().unwrap().contains("at most 1000"),
            "{body}"
        );
        assert!(body["requestId"].is_u64(), "{body}");
        assert!(reply.header("x-many").is_none());
    }
    assert!(server
        .wait_for_log(&["at most 1000"], Duration::from_secs(5))
        .is_some());
    assert_eq!(server.get("/hello").status, 200);
}

/// The platform's small globals (issue 24) through real HTTP, in both
/// isolation modes: what nanoid/uuid-style code and fetch handlers use.
#[test]
fn platform_globals_work_through_http() {
    let dir = tempfile::tempdir().unwrap();
    let pod = dir.path().join("platform");
    std::fs::create_dir_all(pod.join("hbf")).unwrap();
    std::fs::write(
        pod.join("hbf/server.js"),
        r#"export default {
  fetch(request) {
    const controller = new AbortController()
    controller.abort()
    const copy = structuredClone({ when: new Date(0), tags: new Set(['a']) })
    return Response.json({
      uuid: crypto.randomUUID(),
      decoded: atob(btoa('hbf')),
      clone: [copy.when instanceof Date, copy.tags.has('a')],
      aborted: controller.signal.reason.name,
      ua: navigator.userAgent.startsWith('HBF/'),
    })
  },
}
"#,
    )
    .unwrap();
    let pod = pod.to_str().unwrap();
    for mode in ["snapshot", "worker"] {
        let server = Server::start(&["--inmem", "--pod", pod, "--isolation", mode]);
        let first = server.get("/").json();
        let second = server.get("/").json();
        assert_eq!(first["decoded"], "hbf", "{mode}: {first}");
        assert_eq!(first["clone"], serde_json::json!([true, true]), "{mode}");
        assert_eq!(first["aborted"], "AbortError", "{mode}");
        assert_eq!(first["ua"], true, "{mode}");
        assert_eq!(first["uuid"].as_str().unwrap().len(), 36, "{mode}");
        assert_ne!(first["uuid"], second["uuid"], "{mode}");
    }
}

/// Forms through real HTTP (issue 24 point 4), in both isolation modes: a
/// multipart upload read with `request.formData()`, a FormData answered as
/// multipart, a malformed upload the handler catches, and an upload past
/// `--max-body` refused before any JavaScript runs.
#[test]
fn forms_and_uploads_work_through_http() {
    let dir = tempfile::tempdir().unwrap();
    let pod = dir.path().join("forms");
    std::fs::create_dir_all(pod.join("hbf")).unwrap();
    std::fs::write(
        pod.join("hbf/server.js"),
        r#"export default {
  async fetch(request) {
    let form
    try {
      form = await request.formData()
    } catch (e) {
      return new Response(`${e.name}: ${e.message}`, { status: 400 })
    }
    const file = form.get('doc')
    const out = new FormData()
    out.append('title', form.get('title').toUpperCase())
    out.append('echo', new File([await file.bytes()], `copy-of-${file.name}`, { type: file.type }))
    return new Response(out)
  },
}
"#,
    )
    .unwrap();
    let pod = pod.to_str().unwrap();
    let upload = b"--B\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nreport\r\n\
--B\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"r.csv\"\r\nContent-Type: text/csv\r\n\r\na,b\r\n1,2\r\n--B--\r\n";
    let multipart = [("content-type", "multipart/form-data; boundary=B")];
    for mode in ["snapshot", "worker"] {
        let server = Server::start(&[
            "--inmem",
            "--pod",
            pod,
            "--isolation",
            mode,
            "--max-body",
            "1024",
        ]);
        let reply = server.request("POST", "/", &multipart, Some(upload));
        assert_eq!(reply.status, 200, "{mode}: {}", reply.text());
        let content_type = reply.header("content-type").unwrap().to_owned();
        let boundary = content_type
            .strip_prefix("multipart/form-data; boundary=")
            .unwrap_or_else(|| panic!("{mode}: {content_type}"));
        let text = reply.text();
        assert!(
            text.starts_with(&format!("--{boundary}\r\n")),
            "{mode}: {text}"
        );
        assert!(
            text.contains("name=\"title\"\r\n\r\nREPORT\r\n"),
            "{mode}: {text}"
        );
        assert!(
            text.contains("name=\"echo\"; filename=\"copy-of-r.csv\"\r\nContent-Type: text/csv\r\n\r\na,b\r\n1,2\r\n"),
            "{mode}: {text}"
        );
        assert!(
            text.ends_with(&format!("--{boundary}--\r\n")),
            "{mode}: {text}"
        );

        let cut = server.request("POST", "/", &multipart, Some(&upload[..40]));
        assert_eq!(cut.status, 400, "{mode}");
        assert!(
            cut.text()
                .starts_with("TypeError: malformed multipart/form-data body"),
            "{mode}: {}",
            cut.text()
        );

        let big = [
            b"--B\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n".as_slice(),
            &[b'x'; 2048],
            b"\r\n--B--\r\n",
        ]
        .concat();
        assert_eq!(
            server.request("POST", "/", &multipart, Some(&big)).status,
            413,
            "{mode}"
        );
        assert_eq!(
            server.request("POST", "/", &multipart, Some(upload)).status,
            200,
            "{mode}: serves on"
        );
    }
}

/// `crypto.subtle` through the real server, as jose and Hono use it: an HS256
/// JWT (the token Node makes for the same key and claims), an ES256
/// signature made and verified, Hono's etag (SHA-1), and a bad key's
/// DOMException answered as the handler chooses.
#[test]
fn web_crypto_works_through_http() {
    let dir = tempfile::tempdir().unwrap();
    let pod = dir.path().join("crypto");
    std::fs::create_dir_all(pod.join("hbf")).unwrap();
    std::fs::write(
        pod.join("hbf/server.js"),
        r#"const s = crypto.subtle
const enc = new TextEncoder()
const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')
const hex = (bytes) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('')
export default {
  async fetch(request) {
    const input = `${b64url(enc.encode('{"alg":"HS256","typ":"JWT"}'))}.${b64url(enc.encode('{"sub":"hbf"}'))}`
    const hmac = await s.importKey('raw', enc.encode('secret'), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify'])
    const jwt = `${input}.${b64url(await s.sign('HMAC', hmac, enc.encode(input)))}`
    const es = await s.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify'])
    const sig = await s.sign({ name: 'ECDSA', hash: 'SHA-256' }, es.privateKey, enc.encode(input))
    let badKey
    try {
      await s.importKey('raw', new Uint8Array(5), 'AES-GCM', false, ['encrypt'])
    } catch (e) {
      badKey = [e instanceof DOMException, e.name]
    }
    return Response.json({
      jwt,
      es256: await s.verify({ name: 'ECDSA', hash: 'SHA-256' }, es.publicKey, sig, enc.encode(input)),
      etag: hex(await s.digest('SHA-1', enc.encode('hello'))),
      badKey,
    })
  },
}
"#,
    )
    .unwrap();
    let pod = pod.to_str().unwrap();
    for mode in ["snapshot", "worker"] {
        let server = Server::start(&["--inmem", "--pod", pod, "--isolation", mode]);
        for _ in 0..2 {
            let found = server.get("/").json();
            assert_eq!(
                found["jwt"],
                "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJoYmYifQ.OYfpBoOAp_h39KGDPyV9zW36AbYann95jL_MOdldX8o",
                "{mode}"
            );
            assert_eq!(found["es256"], true, "{mode}");
            assert_eq!(
                found["etag"], "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d",
                "{mode}"
            );
            assert_eq!(
                found["badKey"],
                serde_json::json!([true, "DataError"]),
                "{mode}"
            );
        }
    }
}

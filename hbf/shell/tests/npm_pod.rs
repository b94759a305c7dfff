//! The npm pod (pods/npm): real npm packages, installed with `npm ci` into
//! the pod's `node_modules` and imported by bare specifiers without an import
//! map, served by the real binary in `snapshot` and `worker` modes; each
//! package's answers are compared with Bun's and Deno's on the same file
//! (tools/bench/peers). tools/setup.sh installs both node_modules; set
//! HBF_TEST_SKIP=peers to leave Bun and Deno out.
//!
//! One test per package (Hono's parts each on their own), so that a failure
//! names the package.

mod common;

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{repo, Reply, Server};
use serde_json::{json, Value};

fn pod() -> PathBuf {
    let pod = repo().join("pods/npm");
    assert!(
        pod.join("node_modules/hono/package.json").exists(),
        "pods/npm/node_modules is missing: run tools/setup.sh (npm ci --prefix pods/npm)"
    );
    pod
}

fn hbf(isolation: &str) -> Server {
    let pod = pod();
    Server::start(&[
        "--inmem",
        "--pod",
        pod.to_str().unwrap(),
        "--isolation",
        isolation,
    ])
}

/// A free port on 127.0.0.1 (taken back by the peer right after).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Bun or Deno serving pods/npm/hbf/server.tsx, or `None` with
/// HBF_TEST_SKIP=peers.
fn peer(name: &str) -> Option<Server> {
    if std::env::var("HBF_TEST_SKIP").is_ok_and(|s| s.split_whitespace().any(|w| w == "peers")) {
        return None;
    }
    let bin = repo()
        .join("tools/bench/peers/node_modules/.bin")
        .join(name);
    assert!(
        bin.exists(),
        "{} is missing: run tools/setup.sh (or HBF_TEST_SKIP=peers)",
        bin.display()
    );
    let server = pod().join("hbf/server.tsx");
    let port = free_port();
    let mut command = Command::new(&bin);
    match name {
        "bun" => command
            .arg("run")
            .arg(&server)
            .env("PORT", port.to_string()),
        _ => command
            .args([
                "serve",
                "--node-modules-dir=manual",
                "--port",
                &port.to_string(),
            ])
            .arg(&server)
            .env("DENO_NO_UPDATE_CHECK", "1"),
    };
    let child = command
        .current_dir(pod())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {name}: {e}"));
    let addr = format!("127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(&addr).is_err() {
        assert!(Instant::now() < deadline, "{name} did not start listening");
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(Server::external(child, addr))
}

/// Runs `answer` against HBF in both modes and against Bun and Deno, and
/// requires the same answer from all: what a package does is the same here
/// as there.
fn same_everywhere(answer: impl Fn(&Server) -> Value) {
    let ours = answer(&hbf("snapshot"));
    assert_eq!(
        answer(&hbf("worker")),
        ours,
        "worker mode differs from snapshot"
    );
    for name in ["bun", "deno"] {
        if let Some(server) = peer(name) {
            assert_eq!(answer(&server), ours, "{name} answers differently from HBF");
        }
    }
}

fn summary(reply: &Reply) -> Value {
    let body = match reply.header("content-type") {
        Some(t) if t.starts_with("application/json") => reply.json(),
        _ => Value::String(reply.text()),
    };
    json!({"status": reply.status, "body": body})
}

fn post_json(s: &Server, path: &str, body: &Value) -> Reply {
    s.request(
        "POST",
        path,
        &[("content-type", "application/json")],
        Some(body.to_string().as_bytes()),
    )
}

#[test]
fn hono_routing() {
    same_everywhere(|s| {
        let root = s.get("/");
        assert_eq!((root.status, root.text().as_str()), (200, "npm pod"));
        let hello = s.get("/hello/ann?q=1");
        assert_eq!(hello.json(), json!({"hello": "ann", "q": "1"}));
        let echo = post_json(s, "/api/echo", &json!({"x": [1, 2]}));
        assert_eq!(
            echo.json(),
            json!({"method": "POST", "body": {"x": [1, 2]}})
        );
        let missing = s.get("/nope");
        assert_eq!(missing.status, 404);
        // The packages are the pod's code, not its static files.
        let package = s.get("/node_modules/hono/package.json");
        assert_eq!(package.status, 404, "{}", package.text());
        json!([
            summary(&root),
            summary(&hello),
            summary(&s.get("/files/a/b.txt")),
            summary(&echo),
            summary(&missing)
        ])
    });
}

#[test]
fn hono_cors() {
    same_everywhere(|s| {
        let origin = [("origin", "https://example.com")];
        let get = s.request("GET", "/cors", &origin, None);
        assert_eq!(
            get.header("access-control-allow-origin"),
            Some("https://example.com")
        );
        let preflight = s.request(
            "OPTIONS",
            "/cors",
            &[
                ("origin", "https://example.com"),
                ("access-control-request-method", "POST"),
            ],
            None,
        );
        assert_eq!(preflight.status, 204);
        let headers = |r: &Reply| {
            [
                "access-control-allow-origin",
                "access-control-allow-methods",
                "access-control-max-age",
                "vary",
            ]
            .map(|h| r.header(h).map(str::to_owned))
        };
        json!([
            get.status,
            get.text(),
            headers(&get),
            preflight.status,
            headers(&preflight)
        ])
    });
}

#[test]
fn hono_parse_body() {
    same_everywhere(|s| {
        let form = s.request(
            "POST",
            "/form",
            &[("content-type", "application/x-www-form-urlencoded")],
            Some(b"a=1&a=2&b=x+y%21"),
        );
        assert_eq!(form.json(), json!({"a": ["1", "2"], "b": "x y!"}));
        // The part states its charset: Bun appends ";charset=utf-8" to a
        // bare text/plain File type, which the standard (and Deno, and HBF)
        // keep as sent.
        let boundary = "----hbfnpm";
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"field\"\r\n\r\nvalue\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"a.txt\"\r\n\
             Content-Type: text/plain;charset=utf-8\r\n\r\nfile body\r\n--{boundary}--\r\n"
        );
        let multipart = s.request(
            "POST",
            "/form",
            &[(
                "content-type",
                &format!("multipart/form-data; boundary={boundary}"),
            )],
            Some(body.as_bytes()),
        );
        let parsed = multipart.json();
        assert_eq!(parsed["field"], "value");
        assert_eq!(parsed["upload"]["name"], "a.txt");
        assert_eq!(parsed["upload"]["text"], "file body");
        json!([summary(&form), summary(&multipart)])
    });
}

#[test]
fn hono_jsx() {
    same_everywhere(|s| {
        let page = s.get("/jsx");
        assert_eq!(
            page.text(),
            "<html><body><h1>Hello &amp; &lt;escaped&gt;</h1><ul><li>a</li><li class=\"on\">b</li><li>c</li></ul></body></html>"
        );
        assert!(page
            .header("content-type")
            .unwrap()
            .starts_with("text/html"));
        summary(&page)
    });
}

#[test]
fn hono_etag() {
    same_everywhere(|s| {
        let first = s.get("/etag");
        let tag = first.header("etag").expect("an ETag header").to_owned();
        assert_eq!(tag, "\"270657a195a0473faf43ca315e857ab9ab624e97\"");
        let again = s.request("GET", "/etag", &[("if-none-match", &tag)], None);
        assert_eq!(again.status, 304);
        json!([first.status, tag, first.text(), again.status])
    });
}

#[test]
fn hono_basic_auth() {
    same_everywhere(|s| {
        // "user:secret pass" and "user:wrong" in base64.
        let ok = s.request(
            "GET",
            "/auth",
            &[("authorization", "Basic dXNlcjpzZWNyZXQgcGFzcw==")],
            None,
        );
        assert_eq!((ok.status, ok.text().as_str()), (200, "welcome, user"));
        let wrong = s.request(
            "GET",
            "/auth",
            &[("authorization", "Basic dXNlcjp3cm9uZw==")],
            None,
        );
        let none = s.get("/auth");
        assert_eq!((wrong.status, none.status), (401, 401));
        assert!(none.header("www-authenticate").is_some());
        json!([
            summary(&ok),
            wrong.status,
            none.status,
            none.header("www-authenticate")
        ])
    });
}

#[test]
fn hono_stream_sse() {
    same_everywhere(|s| {
        let events = s.get("/sse");
        assert_eq!(events.status, 200);
        assert!(events
            .header("content-type")
            .unwrap()
            .starts_with("text/event-stream"));
        let expected: String = (1..=3)
            .map(|i| format!("event: tick\ndata: message {i}\nid: {i}\n\n"))
            .collect();
        assert_eq!(events.text(), expected);
        json!(events.text())
    });
}

#[test]
fn nanoid() {
    same_everywhere(|s| {
        let ids = s.get("/nanoid");
        assert_eq!(
            ids.json(),
            json!({"length": 21, "urlSafe": true, "distinct": true, "custom": true})
        );
        summary(&ids)
    });
}

#[test]
fn uuid_v4_and_v7() {
    same_everywhere(|s| {
        let ids = s.get("/uuid");
        assert_eq!(
            ids.json(),
            json!({"v4": true, "v7": true, "v7Ordered": true, "distinct": true})
        );
        summary(&ids)
    });
}

#[test]
fn jose_hs256_es256_rs256_ps256() {
    same_everywhere(|s| {
        let claims = json!({"sub": "user-1", "role": "admin"});
        let hs = s.get("/jose/hs256");
        assert_eq!(hs.status, 200, "{}", hs.text());
        let hs = hs.json();
        // HMAC is deterministic: the very token Bun and Deno sign.
        assert_eq!(hs["token"], "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEiLCJyb2xlIjoiYWRtaW4iLCJpYXQiOjE3MDAwMDAwMDAsImlzcyI6ImhiZiJ9.QTKcXsKX_JSXPtQliUiIXc-kbncMDfKw-yLl3y79sqw");
        assert_eq!(hs["rejected"], "ERR_JWS_SIGNATURE_VERIFICATION_FAILED");
        let es = s.get("/jose/es256");
        assert_eq!(es.status, 200, "{}", es.text());
        let es = es.json();
        assert_eq!(es["payload"], claims);
        assert_eq!(es["alg"], "ES256");
        assert_eq!(es["rejected"], "ERR_JWS_SIGNATURE_VERIFICATION_FAILED");
        assert_eq!(es["jwk"], json!({"kty": "EC", "crv": "P-256"}));
        let rs = s.get("/jose/rs256");
        assert_eq!(rs.status, 200, "{}", rs.text());
        let rs = rs.json();
        // RSASSA-PKCS1-v1_5 is deterministic: the token Bun and Deno sign
        // with the same key (compared by `same_everywhere`).
        assert!(rs["token"]
            .as_str()
            .is_some_and(|t| t.starts_with("eyJhbGciOiJSUzI1NiJ9.")));
        assert_eq!(rs["payload"]["sub"], "user-1");
        assert_eq!(rs["psVerified"], "PS256");
        assert_eq!(rs["rejected"], "ERR_JWS_SIGNATURE_VERIFICATION_FAILED");
        assert_eq!(rs["e"], "AQAB");
        json!([hs, es, rs])
    });
}

#[test]
fn zod() {
    same_everywhere(|s| {
        let good = post_json(
            s,
            "/zod",
            &json!({"name": "Al", "age": 3, "email": "al@example.com"}),
        );
        assert_eq!(
            good.json(),
            json!({"ok": true, "user": {"name": "Al", "age": 3, "email": "al@example.com", "tags": []}})
        );
        let bad = post_json(
            s,
            "/zod",
            &json!({"name": "A", "age": -1.5, "email": "nope", "tags": ["c"]}),
        );
        assert_eq!(bad.status, 400);
        assert_eq!(bad.json()["ok"], false);
        json!([summary(&good), summary(&bad)])
    });
}

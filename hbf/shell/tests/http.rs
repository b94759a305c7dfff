//! HTTP behaviour: bad requests, limits, static files and path traversal.

mod common;
use common::Server;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(5);

#[test]
fn malformed_and_oversized_requests_get_clear_errors() {
    let server = Server::test_pod(&["--max-body", "1000", "--header-timeout", "400"]);
    let bad_line = server.raw(b"THIS IS NOT HTTP\r\n\r\n", WAIT);
    assert!(bad_line.starts_with("HTTP/1.1 400"), "{bad_line}");
    let bad_version = server.raw(b"GET / HTTP/9.9\r\nHost: x\r\n\r\n", WAIT);
    assert!(
        bad_version.starts_with("HTTP/1.1 400") || bad_version.starts_with("HTTP/1.1 505"),
        "{bad_version}"
    );
    let huge_header = format!(
        "GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(200_000)
    );
    let reply = server.raw(huge_header.as_bytes(), WAIT);
    assert!(
        reply.starts_with("HTTP/1.1 431"),
        "{}",
        &reply[..reply.len().min(200)]
    );
    let big_body = server.post("/echo", &vec![b'x'; 5000]);
    assert_eq!(big_body.status, 413, "{}", big_body.text());
    assert!(big_body.text().contains("1000-byte limit"));
    // A chunked body (no Content-Length) over the limit is cut off too.
    let mut long_chunked = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
    for _ in 0..3 {
        long_chunked.extend_from_slice(b"3E8\r\n");
        long_chunked.extend_from_slice(&[b'y'; 1000]);
        long_chunked.extend_from_slice(b"\r\n");
    }
    long_chunked.extend_from_slice(b"0\r\n\r\n");
    let reply = server.raw(&long_chunked, WAIT);
    assert!(
        reply.starts_with("HTTP/1.1 413"),
        "{}",
        &reply[..reply.len().min(200)]
    );
    // A client that starts a request and stalls gets 408.
    let slow = server.raw(
        b"GET /hello HTTP/1.1\r\nHost: x\r\n",
        Duration::from_secs(3),
    );
    assert!(slow.starts_with("HTTP/1.1 408"), "{slow}");
    // And the server is fine (on a new connection: the pooled ones may have been
    // closed by the 400 ms head timeout while idle).
    let hello = server.raw(
        b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        WAIT,
    );
    assert!(hello.starts_with("HTTP/1.1 200"), "{hello}");
}

#[test]
fn static_files_have_validators_ranges_and_methods() {
    let server = Server::test_pod(&[]);
    let css = server.get("/static/style.css");
    assert_eq!(css.status, 200);
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    assert_eq!(css.header("cache-control"), Some("no-cache"));
    assert!(css.header("last-modified").is_some());
    let etag = css.header("etag").unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.len() == 66, "{etag}");
    let again = server.request(
        "GET",
        "/static/style.css",
        &[("If-None-Match", &etag)],
        None,
    );
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    let other = server.request(
        "GET",
        "/static/style.css",
        &[("If-None-Match", "\"nope\"")],
        None,
    );
    assert_eq!(other.status, 200);
    let range = server.request("GET", "/static/style.css", &[("Range", "bytes=0-9")], None);
    assert_eq!(range.status, 206);
    assert_eq!(range.body, css.body[..10]);
    assert_eq!(
        range.header("content-range"),
        Some(format!("bytes 0-9/{}", css.body.len()).as_str())
    );
    let tail = server.request("GET", "/static/style.css", &[("Range", "bytes=-5")], None);
    assert_eq!(tail.body, css.body[css.body.len() - 5..]);
    let beyond = server.request(
        "GET",
        "/static/style.css",
        &[("Range", "bytes=999999-")],
        None,
    );
    assert_eq!(beyond.status, 416);
    let head = server.raw(
        b"HEAD /static/style.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        WAIT,
    );
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.contains(&format!("content-length: {}", css.body.len())),
        "{head}"
    );
    assert!(head.ends_with("\r\n\r\n"), "HEAD has no body: {head:?}");
    let post = server.post("/static/style.css", b"x");
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
    assert_eq!(
        server.get("/static/favicon.ico").header("content-type"),
        Some("image/x-icon")
    );
    assert_eq!(
        server.get("/static/importmap.json").header("content-type"),
        Some("application/json")
    );
}

#[test]
fn path_traversal_never_leaves_static() {
    let server = Server::test_pod(&[]);
    for target in [
        "/static/../hbf/server.js",
        "/static/%2e%2e/hbf/server.js",
        "/static/..%2fhbf/server.js",
        "/static/%2E%2E%2Fhbf%2Fserver.js",
        "/static//etc/passwd",
        "/static/./../../etc/passwd",
        "/static/%00",
        "/static/a%5c..%5c..%5chbf%5cserver.js",
    ] {
        let request = format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let reply = server.raw(request.as_bytes(), WAIT);
        let status = reply.split_whitespace().nth(1).unwrap_or("");
        assert!(status == "400" || status == "404", "{target}: {reply}");
        assert!(
            !reply.contains("globalThis.app"),
            "{target} leaked server code"
        );
    }
    // Encoded names that are valid still work.
    server.post("/t/fs/write?path=static/a%20b.txt&as=text", b"spaced");
    assert_eq!(server.get("/static/a%20b.txt").text(), "spaced");
}

#[test]
fn health_only_answers_get_and_head() {
    let server = Server::test_pod(&[]);
    assert_eq!(server.post("/health", b"").status, 405);
    assert_eq!(server.get("/__dev/api/files").status, 404);
}

/// Splits a raw response into its head and body, checking that `content-length`
/// is the body's real length.
fn framed(reply: &str) -> (&str, &str) {
    let (head, body) = reply
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no head: {reply:?}"));
    let declared: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .unwrap_or_else(|| panic!("no content-length: {head}"))
        .parse()
        .unwrap();
    assert_eq!(declared, body.len(), "content-length vs body: {reply:?}");
    (head, body)
}

#[test]
fn the_408_of_a_stalled_head_declares_its_real_length() {
    let server = Server::test_pod(&["--header-timeout", "400"]);
    let slow = server.raw(
        b"GET /hello HTTP/1.1\r\nHost: x\r\n",
        Duration::from_secs(5),
    );
    let (head, body) = framed(&slow);
    assert!(head.starts_with("HTTP/1.1 408 Request Timeout"), "{head}");
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["error"], "Request Timeout");
}

#[test]
fn request_heads_are_limited_in_total() {
    let request = |headers: &[usize]| {
        let mut r = "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n".to_owned();
        for (i, len) in headers.iter().enumerate() {
            r.push_str(&format!("X-Big-{i}: {}\r\n", "a".repeat(*len)));
        }
        r.push_str("\r\n");
        r
    };
    let status = |server: &Server, headers: &[usize]| {
        let reply = server.raw(request(headers).as_bytes(), WAIT);
        reply.get(..12).unwrap_or(&reply).to_owned()
    };
    // 64 KiB by default: one 100 KB header, or three of 30 KB, are too much.
    let server = Server::test_pod(&[]);
    assert_eq!(status(&server, &[100_000]), "HTTP/1.1 431");
    assert_eq!(status(&server, &[30_000, 30_000, 30_000]), "HTTP/1.1 431");
    assert_eq!(status(&server, &[30_000, 30_000]), "HTTP/1.1 200");
    // Configurable.
    let server = Server::test_pod(&["--max-header", "16384"]);
    assert_eq!(status(&server, &[20_000]), "HTTP/1.1 431");
    assert_eq!(status(&server, &[10_000]), "HTTP/1.1 200");
}

#[test]
fn http11_needs_exactly_one_host() {
    let server = Server::test_pod(&[]);
    for request in [
        &b"GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n"[..],
        b"GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: a\r\nHost: a\r\nConnection: close\r\n\r\n",
        b"GET /static/style.css HTTP/1.1\r\nConnection: close\r\n\r\n",
    ] {
        let reply = server.raw(request, WAIT);
        let (head, body) = framed(&reply);
        assert!(head.starts_with("HTTP/1.1 400"), "{head}");
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert!(body["message"].as_str().unwrap().contains("Host"), "{body}");
    }
    // HTTP/1.0 has no Host requirement (hyper answers in its version).
    let reply = server.raw(b"GET /hello HTTP/1.0\r\n\r\n", WAIT);
    assert!(reply.starts_with("HTTP/1.0 200"), "{reply}");
}

#[test]
fn http2_prior_knowledge_is_told_to_use_http11() {
    let server = Server::test_pod(&[]);
    let reply = server.raw(
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0",
        WAIT,
    );
    // An empty SETTINGS frame (the server's preface), then GOAWAY (type 7) on
    // stream 0 with error code HTTP_1_1_REQUIRED (0xd) and a readable reason.
    let reason = "HTTP/2 is not supported; use HTTP/1.1";
    let goaway = format!(
        "\0\0\0\x04\0\0\0\0\0\0\0{}\x07\0\0\0\0\0\0\0\0\0\0\0\0\x0d{reason}",
        char::from(8 + reason.len() as u8)
    );
    assert_eq!(reply, goaway);
    // The server is fine.
    assert_eq!(server.get("/health").status, 200);
}

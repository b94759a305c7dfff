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
    // The test pod is packed with modification time 0 (unknown): no
    // Last-Modified claiming 1970 (see `packed_files_claim_no_1970_date`).
    assert_eq!(css.header("last-modified"), None);
    let etag = css.header("etag").unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.len() == 66, "{etag}");
    let again = style_if_none_match(&server, &etag);
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    let other = style_if_none_match(&server, "\"nope\"");
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

/// Bytes that differ at every offset a wrong range or a mixed-up piece would show.
fn patterned(len: usize) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

/// Writes `data` to `path` of the database file `db` with `hbf fs put` (another
/// process, as an operator would), through a file beside the database.
fn put_with_cli(db: &std::path::Path, path: &str, data: &[u8]) {
    let file = db.with_extension("upload");
    std::fs::write(&file, data).unwrap();
    let put = std::process::Command::new(env!("CARGO_BIN_EXE_hbf"))
        .args(["--db", db.to_str().unwrap(), "fs", "put", path])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        put.status.success(),
        "{}",
        String::from_utf8_lossy(&put.stderr)
    );
    std::fs::remove_file(&file).unwrap();
}

/// The server's peak resident set so far (`VmHWM`), in bytes.
fn peak_rss(server: &Server) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

/// A GET on its own connection, read as a stream: returns status and headers
/// (lower-case names) once the head has arrived, then the body is checked
/// piece by piece against `expected` without holding it.
struct Download {
    stream: std::net::TcpStream,
    status: u16,
    headers: Vec<(String, String)>,
    /// Body bytes that arrived with the head.
    early: Vec<u8>,
}

impl Download {
    fn start(server: &Server, path: &str, extra: &str) -> Download {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(&server.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: x\r\n{extra}Connection: close\r\n\r\n"
        )
        .unwrap();
        let mut head = Vec::new();
        let mut buf = [0u8; 16 << 10];
        let end = loop {
            let n = stream.read(&mut buf).unwrap();
            assert!(
                n > 0,
                "closed before the head: {:?}",
                String::from_utf8_lossy(&head)
            );
            head.extend_from_slice(&buf[..n]);
            if let Some(i) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
        };
        let early = head.split_off(end + 4);
        let text = String::from_utf8(head).unwrap();
        let mut lines = text.lines();
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        Download {
            stream,
            status,
            headers,
            early,
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Reads the next `expected.len()` body bytes and checks them.
    fn expect(&mut self, expected: &[u8]) {
        use std::io::Read;
        let mut at = 0;
        let early = std::mem::take(&mut self.early);
        let take = early.len().min(expected.len());
        assert!(
            early[..take] == expected[..take],
            "body differs in the first bytes"
        );
        at += take;
        self.early = early[take..].to_vec();
        let mut buf = vec![0u8; 256 << 10];
        while at < expected.len() {
            let want = (expected.len() - at).min(buf.len());
            let n = self.stream.read(&mut buf[..want]).unwrap();
            assert!(n > 0, "body ended after {at} of {} bytes", expected.len());
            assert!(buf[..n] == expected[at..at + n], "body differs at {at}");
            at += n;
        }
    }

    /// Checks that the body has ended (the server closes: `Connection: close`).
    fn expect_end(mut self) {
        use std::io::Read;
        assert!(self.early.is_empty(), "more body than expected");
        let mut one = [0u8; 1];
        assert_eq!(
            self.stream.read(&mut one).unwrap(),
            0,
            "more body than expected"
        );
    }
}

/// A file far above the streaming threshold, served whole, by range and to
/// several slow clients at once. The memory check is about resources, not
/// speed: a file served whole per request (the defect) costs at least one copy
/// of it per client in flight, so 8 clients paused mid-body grew the server by
/// more than 8 x the size; streamed, it stays within a few pieces per client.
#[test]
fn large_static_files_stream_with_bounded_memory() {
    const SIZE: usize = 32 << 20;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hbf.db");
    let pod = common::test_pod();
    let server = Server::start(&["--db", db.to_str().unwrap(), "--pod", pod.to_str().unwrap()]);
    let data = patterned(SIZE);
    put_with_cli(&db, "static/big.bin", &data);

    let head = server.raw(
        b"HEAD /static/big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        WAIT,
    );
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.contains(&format!("content-length: {SIZE}\r\n")),
        "{head}"
    );
    assert!(head.ends_with("\r\n\r\n"), "HEAD has no body");
    let baseline = peak_rss(&server);

    // Whole, with its length and validators.
    let mut whole = Download::start(&server, "/static/big.bin", "");
    assert_eq!(whole.status, 200);
    assert_eq!(
        whole.header("content-length"),
        Some(SIZE.to_string().as_str())
    );
    assert_eq!(
        whole.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(whole.header("transfer-encoding"), None);
    let etag = whole.header("etag").unwrap().to_owned();
    // A file written by `hbf fs put` has a real modification time.
    let modified = whole.header("last-modified").unwrap().to_owned();
    assert!(!modified.contains("1970"), "{modified}");
    whole.expect(&data);
    whole.expect_end();

    // Ranges: inside, across piece boundaries, open-ended, suffix.
    for (range, first, last) in [
        ("bytes=0-0", 0, 0),
        ("bytes=1000-263143", 1000, 263_143),
        ("bytes=20000000-20999999", 20_000_000, 20_999_999),
        ("bytes=33000000-", 33_000_000, SIZE - 1),
        ("bytes=-300000", SIZE - 300_000, SIZE - 1),
    ] {
        let mut part = Download::start(&server, "/static/big.bin", &format!("Range: {range}\r\n"));
        assert_eq!(part.status, 206, "{range}");
        assert_eq!(
            part.header("content-range"),
            Some(format!("bytes {first}-{last}/{SIZE}").as_str()),
            "{range}"
        );
        assert_eq!(
            part.header("content-length"),
            Some((last - first + 1).to_string().as_str()),
            "{range}"
        );
        part.expect(&data[first..=last]);
        part.expect_end();
    }
    let not_modified = server.request("GET", "/static/big.bin", &[("If-None-Match", &etag)], None);
    assert_eq!(not_modified.status, 304);
    assert!(not_modified.body.is_empty());

    // A new version written mid-download changes nothing in flight: the
    // response keeps the version it started with; the next one sees the new.
    let mut before = Download::start(&server, "/static/big.bin", "");
    before.expect(&data[..1 << 20]);
    let newer: Vec<u8> = data.iter().map(|b| !b).collect();
    put_with_cli(&db, "static/big.bin", &newer);
    before.expect(&data[1 << 20..]);
    before.expect_end();
    let mut after = Download::start(&server, "/static/big.bin", "Range: bytes=0-99999\r\n");
    assert_eq!(after.status, 206);
    after.expect(&newer[..100_000]);
    after.expect_end();
    drop(newer);
    let put_back = std::process::Command::new(env!("CARGO_BIN_EXE_hbf"))
        .args([
            "--db",
            db.to_str().unwrap(),
            "fs",
            "revert",
            "static/big.bin",
            "1",
        ])
        .output()
        .unwrap();
    assert!(
        put_back.status.success(),
        "{}",
        String::from_utf8_lossy(&put_back.stderr)
    );

    // 8 clients at once, half of them by range; each takes its first MiB,
    // then all wait together mid-body (slow clients), then finish.
    const CLIENTS: usize = 8;
    let data = std::sync::Arc::new(data);
    let paused = std::sync::Arc::new(std::sync::Barrier::new(CLIENTS + 1));
    let resume = std::sync::Arc::new(std::sync::Barrier::new(CLIENTS + 1));
    let server = std::sync::Arc::new(server);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let (data, paused, resume, server) =
                (data.clone(), paused.clone(), resume.clone(), server.clone());
            std::thread::spawn(move || {
                let first = if i % 2 == 0 { 0 } else { 1_000_000 * i };
                let extra = if first == 0 {
                    String::new()
                } else {
                    format!("Range: bytes={first}-\r\n")
                };
                let mut d = Download::start(&server, "/static/big.bin", &extra);
                assert_eq!(d.status, if first == 0 { 200 } else { 206 });
                assert_eq!(
                    d.header("content-length"),
                    Some((SIZE - first).to_string().as_str())
                );
                let split = first + (1 << 20);
                d.expect(&data[first..split]);
                paused.wait();
                resume.wait();
                d.expect(&data[split..]);
                d.expect_end();
            })
        })
        .collect();
    paused.wait();
    // Every response is in flight; the server still answers at once-ish.
    std::thread::sleep(Duration::from_millis(300));
    let health = server.get("/health");
    assert_eq!(health.status, 200);
    let small = server.get("/static/style.css");
    assert_eq!(small.status, 200);
    let mid = peak_rss(&server);
    resume.wait();
    for c in clients {
        c.join().unwrap();
    }
    let health = server.get("/health");
    assert_eq!(health.status, 200);
    let peak = peak_rss(&server);
    let growth = peak.saturating_sub(baseline);
    eprintln!(
        "peak RSS: {} MiB at start, {} MiB with {CLIENTS} clients paused, {} MiB after; growth {} MiB for a {} MiB file",
        baseline >> 20,
        mid >> 20,
        peak >> 20,
        growth >> 20,
        SIZE >> 20
    );
    assert!(
        growth < 2 * SIZE as u64,
        "the server grew by {growth} bytes serving a {SIZE}-byte file to {CLIENTS} clients"
    );
}

/// Packed files carry modification time 0 (the packer's output is
/// reproducible): that means unknown, not 1 January 1970.
#[test]
fn packed_files_claim_no_1970_date() {
    let server = Server::start(&["--inmem"]); // the embedded pod, packed at build time
    let css = server.get("/static/style.css");
    assert_eq!(css.status, 200);
    let modified = css.header("last-modified");
    assert!(modified.is_none_or(|m| !m.contains("1970")), "{modified:?}");
    // Conditional requests still behave: the ETag validates; a date validates
    // only against a date the server has sent.
    let etag = css.header("etag").unwrap().to_owned();
    let again = style_if_none_match(&server, &etag);
    assert_eq!(again.status, 304);
    let since_1970 = server.request(
        "GET",
        "/static/style.css",
        &[("If-Modified-Since", "Thu, 01 Jan 1970 00:00:00 GMT")],
        None,
    );
    let recent = server.request(
        "GET",
        "/static/style.css",
        &[("If-Modified-Since", "Fri, 01 Jan 2100 00:00:00 GMT")],
        None,
    );
    match modified {
        None => {
            assert_eq!(since_1970.status, 200);
            assert_eq!(since_1970.body, css.body);
            assert_eq!(recent.status, 200);
        }
        Some(m) => {
            assert_eq!(since_1970.status, 200);
            assert_eq!(recent.status, 304);
            let at_the_date = server.request(
                "GET",
                "/static/style.css",
                &[("If-Modified-Since", m)],
                None,
            );
            assert_eq!(at_the_date.status, 304);
        }
    }
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

/// `GET /static/style.css` with `If-None-Match: etag`.
fn style_if_none_match(server: &Server, etag: &str) -> common::Reply {
    server.request("GET", "/static/style.css", &[("If-None-Match", etag)], None)
}

//! Streamed responses through real HTTP (issue 24 point 5), in both
//! isolation modes: a `ReadableStream` body reaches the client chunk by chunk
//! while the handler is still producing it (server-sent events), a client
//! that goes away cancels the stream, a handler that fails midway cuts the
//! response short, and the server serves on after each.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::Server;

const SERVER: &str = r#"
const enc = new TextEncoder()
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const routes = {
  // Two events, 1.5 s apart.
  '/events': () => new Response(new ReadableStream({
    async start(c) {
      c.enqueue(enc.encode('data: first\n\n'))
      await sleep(1500)
      c.enqueue(enc.encode('data: second\n\n'))
      c.close()
    },
  }), { headers: { 'content-type': 'text/event-stream' } }),
  // Never ends on its own; says when it is cancelled.
  '/endless': () => new Response(new ReadableStream({
    async pull(c) { await sleep(20); c.enqueue(enc.encode('tick\n')) },
    cancel(reason) { console.log(`stream cancelled: ${reason?.name}`) },
  })),
  // Fails after its first chunk.
  '/breaks': () => new Response(new ReadableStream({
    async start(c) { c.enqueue(enc.encode('partial ')); await sleep(50); c.error(new Error('the source broke')) },
  })),
  // Compressed as it streams.
  '/gzip': () => new Response(new Blob(['zipped '.repeat(1000)]).stream().pipeThrough(new CompressionStream('gzip')),
    { headers: { 'content-encoding': 'gzip' } }),
  '/plain': () => new Response('still serving'),
}
export default { fetch(request) { return routes[new URL(request.url).pathname]() } }
"#;

fn start(mode: &str) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let pod = dir.path().join("streams");
    std::fs::create_dir_all(pod.join("hbf")).unwrap();
    std::fs::write(pod.join("hbf/server.js"), SERVER).unwrap();
    let server = Server::start(&[
        "--inmem",
        "--pod",
        pod.to_str().unwrap(),
        "--isolation",
        mode,
        "--workers",
        "2",
        "--js-timeout",
        "10000",
    ]);
    (dir, server)
}

fn connect(server: &Server, path: &str) -> TcpStream {
    let addr = server.url("").trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    stream
}

/// Reads until `needle` has arrived (or `wait` passes); everything read.
fn read_until(stream: &mut TcpStream, needle: &str, wait: Duration) -> String {
    let deadline = Instant::now() + wait;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&out).contains(needle) && Instant::now() < deadline {
        stream
            .set_read_timeout(Some(
                deadline
                    .saturating_duration_since(Instant::now())
                    .max(Duration::from_millis(1)),
            ))
            .unwrap();
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn a_stream_body_reaches_the_client_as_it_is_produced() {
    for mode in ["snapshot", "worker"] {
        let (_dir, server) = start(mode);
        let mut stream = connect(&server, "/events");
        let first = read_until(&mut stream, "data: first", Duration::from_secs(5));
        assert!(first.starts_with("HTTP/1.1 200 OK\r\n"), "{mode}: {first}");
        assert!(
            first.contains("transfer-encoding: chunked"),
            "{mode}: {first}"
        );
        assert!(
            first.contains("content-type: text/event-stream"),
            "{mode}: {first}"
        );
        // The first event is here and the second, 1.5 s later, is not: the
        // body is sent as it is made, not when it is complete.
        assert!(first.contains("data: first"), "{mode}: {first}");
        assert!(!first.contains("data: second"), "{mode}: {first}");
        let rest = read_until(&mut stream, "0\r\n\r\n", Duration::from_secs(5));
        assert!(rest.contains("data: second"), "{mode}: {rest}");
        assert!(
            rest.ends_with("0\r\n\r\n"),
            "{mode}: the chunked body ends properly: {rest:?}"
        );
        assert_eq!(server.get("/plain").text(), "still serving", "{mode}");
    }
}

#[test]
fn a_client_that_goes_away_cancels_the_stream() {
    for mode in ["snapshot", "worker"] {
        let (_dir, server) = start(mode);
        let mut stream = connect(&server, "/endless");
        let got = read_until(&mut stream, "tick", Duration::from_secs(5));
        assert!(got.contains("tick"), "{mode}: {got}");
        drop(stream);
        assert!(
            server
                .wait_for_log(&["stream cancelled: AbortError"], Duration::from_secs(5))
                .is_some(),
            "{mode}: the stream was not cancelled:\n{}",
            server.log().join("\n")
        );
        assert_eq!(server.get("/plain").text(), "still serving", "{mode}");
    }
}

#[test]
fn a_stream_that_fails_midway_cuts_the_response_short() {
    for mode in ["snapshot", "worker"] {
        let (_dir, server) = start(mode);
        let mut stream = connect(&server, "/breaks");
        let all = read_until(&mut stream, "never", Duration::from_secs(5));
        assert!(all.contains("partial"), "{mode}: {all}");
        assert!(
            !all.ends_with("0\r\n\r\n"),
            "{mode}: a cut response must not end like a whole one: {all:?}"
        );
        assert!(
            server
                .wait_for_log(
                    &["a streamed response was cut short", "the source broke"],
                    Duration::from_secs(5)
                )
                .is_some(),
            "{mode}:\n{}",
            server.log().join("\n")
        );
        assert_eq!(server.get("/plain").text(), "still serving", "{mode}");
    }
}

#[test]
fn a_compressed_stream_decodes_to_its_text() {
    let (_dir, server) = start("snapshot");
    let reply = server.get("/gzip");
    assert_eq!(reply.header("content-encoding"), Some("gzip"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(&reply.body[..])
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(text, "zipped ".repeat(1000));
}

//! Streamed responses through real HTTP (issue 24 point 5), in both
//! isolation modes: a `ReadableStream` body reaches the client chunk by chunk
//! while the handler is still producing it (server-sent events), a client
//! that goes away cancels the stream and aborts `request.signal` (also while
//! the request waits on a timer, and then its worker is free again), a
//! handler that fails midway cuts the response short, and the server serves
//! on after each.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::Server;

const SERVER: &str = r#"
import { execute, query } from 'hbf:db'
execute('CREATE TABLE IF NOT EXISTS later (what TEXT)')
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
  '/endless': (ctx, request) => new Response(new ReadableStream({
    start() { request.signal.addEventListener('abort', () => console.log(`endless: request.signal ${request.signal.reason.name}`)) },
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
  // Issue 26's server-sent events: 100 events 10 ms apart, each logged as
  // it is produced.
  '/sse100': () => new Response(new ReadableStream({
    async start(c) {
      for (let i = 1; i <= 100; i++) {
        c.enqueue(enc.encode(`id: ${i}\ndata: event ${i}\n\n`))
        await sleep(10)
      }
      console.log('sse100: produced the last event')
      c.close()
    },
  }), { headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' } }),
  '/plain': () => new Response('still serving'),
  // Work after the response: the client has 'answered' long before the row.
  '/later': (ctx) => {
    ctx.waitUntil(sleep(2500).then(() => execute("INSERT INTO later VALUES ('done')")))
    ctx.waitUntil(Promise.reject(new Error('a background task failed')))
    ctx.passThroughOnException()
    return new Response('answered')
  },
  '/later-stream': (ctx) => {
    ctx.waitUntil(sleep(2500).then(() => execute("INSERT INTO later VALUES ('streamed')")))
    return new Response(ReadableStream.from([enc.encode('streamed answer')]))
  },
  // Waits 8 s unless the client goes away first (request.signal).
  '/waits': (ctx, request) => new Promise((resolve) => {
    const timer = setTimeout(() => resolve(new Response('waited')), 8000)
    request.signal.addEventListener('abort', () => {
      clearTimeout(timer)
      console.log(`waits: request.signal ${request.signal.reason.name}: ${request.signal.reason.message}`)
      resolve(new Response('nobody reads this'))
    })
  }),
  // Waits 8 s and never looks at request.signal.
  '/ignores': async () => { await sleep(8000); return new Response('waited') },
  '/rows': () => Response.json(query('SELECT what FROM later ORDER BY what').map((r) => r.what)),
}
export default { fetch(request, env, ctx) { return routes[new URL(request.url).pathname](ctx, request) } }
"#;

fn start(mode: &str) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let pod = common::write_pod(dir.path(), "streams", &[("hbf/server.js", SERVER)]);
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

/// Issue 26: an SSE route sends 100 events 10 ms apart; the client has the
/// first long before the last is produced, and all 100, in order.
#[test]
fn server_sent_events_arrive_as_they_are_produced() {
    for mode in ["snapshot", "worker"] {
        let (_dir, server) = start(mode);
        let started = Instant::now();
        let mut stream = connect(&server, "/sse100");
        let first = read_until(&mut stream, "data: event 1\n", Duration::from_secs(5));
        let first_at = started.elapsed();
        assert!(first.contains("data: event 1\n"), "{mode}: {first}");
        assert!(!first.contains("data: event 100"), "{mode}: {first}");
        let rest = read_until(&mut stream, "0\r\n\r\n", Duration::from_secs(10));
        let last_at = started.elapsed();
        let body = first + &rest;
        let ids: Vec<u32> = body
            .lines()
            .filter_map(|l| l.strip_prefix("id: "))
            .map(|n| n.trim().parse().unwrap())
            .collect();
        assert_eq!(ids, (1..=100).collect::<Vec<_>>(), "{mode}");
        // 99 waits of 10 ms (timers fire no sooner) come after the first.
        assert!(last_at >= first_at + Duration::from_millis(990), "{mode}");
        println!("{mode}: first event after {first_at:?}, the 100th after {last_at:?}");
        assert!(server
            .wait_for_log(&["sse100: produced the last event"], Duration::from_secs(2))
            .is_some());
    }
}

/// Issue 26: a client that disconnects ends the handler's stream soon (the
/// issue asks for 100 ms; the time is printed, and bounded here at 1 s so
/// that a loaded machine does not fail the build).
#[test]
fn a_disconnect_ends_the_stream_soon() {
    for mode in ["snapshot", "worker"] {
        let (_dir, server) = start(mode);
        let mut stream = connect(&server, "/endless");
        let got = read_until(&mut stream, "tick", Duration::from_secs(5));
        assert!(got.contains("tick"), "{mode}: {got}");
        stream.shutdown(std::net::Shutdown::Both).unwrap();
        drop(stream);
        let left = Instant::now();
        assert!(server
            .wait_for_log(&["stream cancelled: AbortError"], Duration::from_secs(5))
            .is_some());
        let took = left.elapsed();
        println!("{mode}: the stream ended {took:?} after the client left");
        assert!(took < Duration::from_secs(1), "{mode}: {took:?}");
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
        assert!(
            server
                .wait_for_log(
                    &["endless: request.signal AbortError"],
                    Duration::from_secs(5)
                )
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
                    &[
                        "the request failed after its response began",
                        "the source broke"
                    ],
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

/// `ctx.waitUntil`: the response reaches the client whole while the work it
/// names still runs (under the request's deadline), and a failed task is
/// logged, not the request's failure.
#[test]
fn wait_until_work_runs_after_the_response() {
    for mode in ["snapshot", "worker"] {
        let (_dir, server) = start(mode);
        for (path, answer, row) in [
            ("/later", "answered", "done"),
            ("/later-stream", "streamed answer", "streamed"),
        ] {
            let reply = server.get(path);
            assert_eq!(reply.status, 200, "{mode} {path}");
            assert_eq!(reply.text(), answer, "{mode} {path}");
            // The work sleeps 2.5 s before it writes: the answer came first.
            let rows = server.get("/rows").json();
            assert!(
                !rows.as_array().unwrap().iter().any(|r| r == row),
                "{mode} {path}: {rows}"
            );
            let deadline = Instant::now() + Duration::from_secs(8);
            while !server
                .get("/rows")
                .json()
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r == row)
            {
                assert!(
                    Instant::now() < deadline,
                    "{mode} {path}: the work after the response never ran"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        assert!(
            server
                .wait_for_log(
                    &["Uncaught (in ctx.waitUntil)", "a background task failed"],
                    Duration::from_secs(5)
                )
                .is_some(),
            "{mode}:\n{}",
            server.log().join("\n")
        );
    }
}

/// A client that goes away while its request waits (on a timer) aborts
/// `request.signal`: the handler hears it at once, not when its 8 s wait
/// ends.
#[test]
fn a_client_that_goes_away_aborts_request_signal() {
    for mode in ["snapshot", "worker"] {
        let (_dir, server) = start(mode);
        let stream = connect(&server, "/waits");
        std::thread::sleep(Duration::from_millis(300));
        drop(stream);
        assert!(
            server
                .wait_for_log(
                    &["waits: request.signal AbortError: The client went away"],
                    Duration::from_secs(4)
                )
                .is_some(),
            "{mode}: request.signal did not abort:\n{}",
            server.log().join("\n")
        );
        assert_eq!(server.get("/plain").text(), "still serving", "{mode}");
    }
}

/// Requests whose clients went away free their workers even when the
/// handler never looks at `request.signal`: with both workers waiting 8 s
/// for clients that left, the next request is served at once.
#[test]
fn a_request_whose_client_left_frees_its_worker() {
    for mode in ["snapshot", "worker"] {
        let (_dir, server) = start(mode);
        let waiting: Vec<_> = (0..2).map(|_| connect(&server, "/ignores")).collect();
        std::thread::sleep(Duration::from_millis(300));
        drop(waiting);
        let started = Instant::now();
        assert_eq!(server.get("/plain").text(), "still serving", "{mode}");
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{mode}: the next request waited {:?} for workers held by clients that left",
            started.elapsed()
        );
        assert!(
            server
                .wait_for_log(
                    &["the client went away before the response"],
                    Duration::from_secs(4)
                )
                .is_some(),
            "{mode}:\n{}",
            server.log().join("\n")
        );
    }
}

const LONG_STREAMS: &str = r#"
const enc = new TextEncoder()
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const routes = {
  // 25 events 100 ms apart: 2.5 s, past the 1 s wall-clock limit.
  '/flows': () => new Response(new ReadableStream({
    async start(c) {
      for (let i = 0; i < 25; i++) { c.enqueue(enc.encode(`data: ${i}\n\n`)); await sleep(100) }
      c.enqueue(enc.encode('data: last\n\n'))
      c.close()
    },
  })),
  // One event, then nothing for 10 s.
  '/stalls': () => new Response(new ReadableStream({
    async start(c) { c.enqueue(enc.encode('data: only\n\n')); await sleep(10000); c.close() },
  })),
  '/plain': () => new Response('still serving'),
}
export default { fetch(request) { return routes[new URL(request.url).pathname]() } }
"#;

/// Issue 26 point 4: a streamed response goes on past `--js-wall-timeout`
/// while it flows, and one that stalls for `--js-stream-idle-timeout` is cut
/// short (a truncated body and a log line), in both modes.
#[test]
fn a_flowing_stream_outlives_the_wall_clock_limit_and_a_stalled_one_does_not() {
    for mode in ["snapshot", "worker"] {
        let dir = tempfile::tempdir().unwrap();
        let pod = common::write_pod(dir.path(), "long", &[("hbf/server.js", LONG_STREAMS)]);
        let server = Server::start(&[
            "--inmem",
            "--pod",
            pod.to_str().unwrap(),
            "--isolation",
            mode,
            "--js-wall-timeout",
            "1000",
            "--js-stream-idle-timeout",
            "600",
        ]);
        let started = Instant::now();
        let mut stream = connect(&server, "/flows");
        let all = read_until(&mut stream, "0\r\n\r\n", Duration::from_secs(15));
        assert!(started.elapsed() >= Duration::from_millis(2400));
        assert!(
            all.contains("data: 24") && all.contains("data: last"),
            "{mode}: {all}"
        );
        assert!(all.ends_with("0\r\n\r\n"), "{mode}: ended whole: {all:?}");

        let started = Instant::now();
        let mut stream = connect(&server, "/stalls");
        let all = read_until(&mut stream, "never", Duration::from_secs(15));
        let took = started.elapsed();
        assert!(all.contains("data: only"), "{mode}: {all}");
        assert!(!all.ends_with("0\r\n\r\n"), "{mode}: cut short: {all:?}");
        assert!(took < Duration::from_secs(8), "{mode}: {took:?}");
        assert!(
            server
                .wait_for_log(&["wall-clock time limit"], Duration::from_secs(5))
                .is_some(),
            "{mode}:\n{}",
            server.log().join("\n")
        );
        assert_eq!(server.get("/plain").text(), "still serving", "{mode}");
    }
}

//! Limits: a request that loops, allocates without bound or recurses without end
//! fails alone with a clear status, and the server keeps serving.

mod common;
use common::Server;
use std::time::{Duration, Instant};

const WAITS: &str = r#"
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
export default {
  async fetch(request) {
    const url = new URL(request.url)
    if (url.pathname === '/sleep') {
      for (let left = Number(url.searchParams.get('ms')); left > 0; left -= 100) await sleep(100)
      return new Response('slept')
    }
    if (url.pathname === '/spin') for (;;) {}
    return new Response('ok')
  },
}
"#;

/// `--js-timeout` bounds the CPU time a request uses (as Workers' CPU
/// limit), `--js-wall-timeout` the whole request, waits included: a request
/// that sleeps three times its CPU limit is served, one that sleeps on past
/// the wall-clock limit and one that spins both get a 504 that says which
/// limit, and the server serves on.
#[test]
fn waiting_is_bounded_by_the_wall_clock_and_work_by_cpu_time() {
    let dir = tempfile::tempdir().unwrap();
    let pod = common::write_pod(dir.path(), "waits", &[("hbf/server.js", WAITS)]);
    let server = Server::start(&[
        "--inmem",
        "--pod",
        pod.to_str().unwrap(),
        "--js-timeout",
        "200",
        "--js-wall-timeout",
        "1500",
    ]);
    let reply = server.get("/sleep?ms=600");
    assert_eq!((reply.status, reply.text()), (200, "slept".to_owned()));

    let started = Instant::now();
    let reply = server.get("/sleep?ms=60000");
    let waited = started.elapsed();
    assert_eq!(reply.status, 504, "{}", reply.text());
    assert!(
        reply.text().contains("wall-clock time limit"),
        "{}",
        reply.text()
    );
    assert!(
        waited >= Duration::from_millis(1400) && waited < Duration::from_secs(10),
        "{waited:?}"
    );

    let reply = server.get("/spin");
    assert_eq!(reply.status, 504, "{}", reply.text());
    assert!(reply.text().contains("CPU time limit"), "{}", reply.text());
    assert_eq!(server.get("/").text(), "ok");
}

#[test]
fn an_infinite_loop_times_out_while_others_keep_answering() {
    let server = Server::test_pod(&["--js-timeout", "1500", "--workers", "2"]);
    let looping = {
        let agent = server.agent.clone();
        let url = server.url("/t/loop");
        std::thread::spawn(move || {
            let start = Instant::now();
            let mut response = agent.get(&url).call().unwrap();
            let body = response.body_mut().read_to_string().unwrap();
            (response.status().as_u16(), body, start.elapsed())
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    // While one worker is stuck, health and another JS route answer.
    for _ in 0..5 {
        assert_eq!(server.get("/health").status, 200);
        assert_eq!(server.get("/hello").status, 200);
    }
    let (status, body, elapsed) = looping.join().unwrap();
    assert_eq!(status, 504, "{body}");
    assert!(body.contains("time limit"), "{body}");
    assert!(
        elapsed >= Duration::from_millis(1400) && elapsed < Duration::from_secs(6),
        "{elapsed:?}"
    );
    // The async variant (loop after an await) too, then the worker serves again.
    assert_eq!(server.get("/t/loop?async=1").status, 504);
    assert_eq!(
        server.get("/hello").text(),
        r#"{"message":"Hello, World!"}"#
    );
}

#[test]
fn memory_and_stack_limits_fail_the_request_not_the_server() {
    let server = Server::test_pod(&["--js-memory", "64"]);
    for kind in ["bytes", "string", "single"] {
        let reply = server.get(&format!("/t/alloc?mb=200&kind={kind}"));
        assert_eq!(reply.status, 500, "{kind}: {}", reply.text());
        assert_eq!(server.get("/hello").status, 200, "after alloc {kind}");
    }
    assert_eq!(server.get("/t/alloc?mb=2").json()["allocatedMB"], 2);
    let reply = server.get("/t/recurse");
    assert_eq!(reply.status, 500, "{}", reply.text());
    assert_eq!(server.get("/hello").status, 200, "after recursion");
    assert!(server
        .log()
        .iter()
        .any(|l| l.contains("out of memory") || l.contains("memory")));
}

/// Reads what has arrived on a non-blocking socket; true once the server closed it.
fn read_some(stream: &mut std::net::TcpStream, into: &mut Vec<u8>) -> bool {
    use std::io::Read;
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(n) => into.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return false,
            Err(_) => return true,
        }
    }
}

fn status_of(reply: &[u8]) -> u16 {
    let text = String::from_utf8_lossy(reply);
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// One client of the flood: a POST to a JavaScript route whose body trickles.
struct Trickler {
    stream: std::net::TcpStream,
    sent_head: Instant,
    reply: Vec<u8>,
    answered: Option<Instant>,
    closed: bool,
}

#[test]
fn stalled_request_bodies_get_408_and_leave_health_answering() {
    use std::io::Write;
    const BODY_TIMEOUT: Duration = Duration::from_secs(10);
    let server = Server::test_pod(&[
        "--max-connections",
        "200",
        "--body-idle-timeout",
        "3000",
        "--body-timeout",
        "10000",
        "--header-timeout",
        "60000",
    ]);
    // 250 clients that send a head, then a body byte now and then (never pausing
    // long enough for the idle timeout): more than the JavaScript share of the
    // connections (150 of 200).
    let flood: Vec<Trickler> = (0..250)
        .map(|_| {
            let mut stream = std::net::TcpStream::connect(&server.addr).unwrap();
            stream
                .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
                .unwrap();
            stream.set_nonblocking(true).unwrap();
            Trickler {
                stream,
                sent_head: Instant::now(),
                reply: Vec::new(),
                answered: None,
                closed: false,
            }
        })
        .collect();
    // A thread keeps every body trickling (4 bytes a second, far under the idle
    // timeout whatever the main thread does) and collects the answers.
    let flood = std::sync::Arc::new(std::sync::Mutex::new(flood));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let trickler = {
        let (flood, stop) = (flood.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for t in flood.lock().unwrap().iter_mut().filter(|t| !t.closed) {
                    let _ = t.stream.write(b"x");
                    let before = t.reply.len();
                    t.closed = read_some(&mut t.stream, &mut t.reply);
                    if before == 0 && !t.reply.is_empty() {
                        t.answered = Some(Instant::now());
                    }
                }
                std::thread::sleep(Duration::from_millis(250));
            }
        })
    };
    let answered = || {
        flood
            .lock()
            .unwrap()
            .iter()
            .filter(|t| t.answered.is_some())
            .count()
    };
    // Those over the share are refused at once, with Retry-After.
    let deadline = Instant::now() + Duration::from_secs(8);
    while answered() < 100 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    {
        let flood = flood.lock().unwrap();
        let refused: Vec<&Trickler> = flood.iter().filter(|t| t.answered.is_some()).collect();
        assert_eq!(refused.len(), 100, "refused at once");
        for t in &refused {
            let text = String::from_utf8_lossy(&t.reply).to_ascii_lowercase();
            assert_eq!(status_of(&t.reply), 503, "{text}");
            assert!(text.contains("\r\nretry-after: 1\r\n"), "{text}");
        }
    }
    // While 150 bodies stall, /health and static files answer, and a new
    // JavaScript request is refused (were it left waiting for a slot, it would
    // get its 200 after the stalled ones' 408).
    assert_eq!(server.get("/health").status, 200);
    assert_eq!(server.get("/static/style.css").status, 200);
    let hello = server.get("/hello");
    assert_eq!(hello.status, 503, "{}", hello.text());
    assert_eq!(hello.header("retry-after"), Some("1"));
    assert_eq!(answered(), 100, "the stalled bodies were answered early");
    // The stalled bodies end with 408 once the overall body timeout passes.
    let deadline = Instant::now() + BODY_TIMEOUT + Duration::from_secs(30);
    while answered() < 250 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    trickler.join().unwrap();
    for t in flood
        .lock()
        .unwrap()
        .iter()
        .filter(|t| status_of(&t.reply) != 503)
    {
        let text = String::from_utf8_lossy(&t.reply);
        assert_eq!(status_of(&t.reply), 408, "{text}");
        assert!(text.contains("did not arrive within 10000 ms"), "{text}");
        let took = t.answered.unwrap() - t.sent_head;
        assert!(took >= BODY_TIMEOUT, "408 after {took:?}");
    }
    assert_eq!(server.get("/hello").status, 200);
}

#[test]
fn a_body_that_stops_arriving_gets_408_after_the_idle_timeout() {
    let server = Server::test_pod(&["--body-idle-timeout", "1000"]);
    let start = Instant::now();
    let reply = server.raw(
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc",
        Duration::from_secs(20),
    );
    let took = start.elapsed();
    assert!(reply.starts_with("HTTP/1.1 408 Request Timeout"), "{reply}");
    assert!(reply.contains("nothing arrived for 1000 ms"), "{reply}");
    assert!(
        reply.to_ascii_lowercase().contains("connection: close"),
        "{reply}"
    );
    assert!(took >= Duration::from_secs(1), "{took:?}");
}

#[test]
fn a_full_server_answers_503_with_retry_after_at_once() {
    use std::io::Write;
    let server = Server::test_pod(&["--max-connections", "20", "--header-timeout", "60000"]);
    // 20 connections that send nothing hold every slot.
    let idle: Vec<std::net::TcpStream> = (0..20)
        .map(|_| std::net::TcpStream::connect(&server.addr).unwrap())
        .collect();
    // Give the server a moment to accept them all (not an assertion of speed:
    // the check below retries until then).
    let deadline = Instant::now() + Duration::from_secs(20);
    let reply = loop {
        let reply = server.raw(
            b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            Duration::from_secs(10),
        );
        if reply.starts_with("HTTP/1.1 503") || Instant::now() > deadline {
            break reply;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_refused(&reply, "too many connections");
    // Closing them gives the slots back.
    for mut stream in idle {
        let _ = stream.flush();
        drop(stream);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let reply = server.raw(
            b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            Duration::from_secs(10),
        );
        if reply.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "{reply}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_full_js_queue_answers_503_with_retry_after() {
    // One worker and one place in the queue: of four looping requests sent
    // together, at most two fit (one running, one waiting) until the first
    // times out.
    let server = Server::test_pod(&["--workers", "1", "--js-queue", "1", "--js-timeout", "5000"]);
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let agent = server.agent.clone();
            let url = server.url("/t/loop");
            std::thread::spawn(move || {
                let mut response = agent.get(&url).call().unwrap();
                let retry = response
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap().to_owned());
                let body = response.body_mut().read_to_string().unwrap();
                (response.status().as_u16(), retry, body)
            })
        })
        .collect();
    let replies: Vec<_> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    let busy: Vec<_> = replies.iter().filter(|(s, _, _)| *s == 503).collect();
    assert!(busy.len() >= 2, "{replies:?}");
    for (_, retry, body) in busy {
        assert_eq!(retry.as_deref(), Some("1"), "{body}");
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["error"], "Service Unavailable");
        assert_eq!(body["message"], "all JavaScript workers are busy");
    }
}

/// Opens a connection to `addr` from the local address `source`: on Linux every
/// address of 127/8 is the loopback interface, so 127.0.0.2 is a second client
/// address on the same machine.
fn connect_from(source: &str, addr: &str) -> std::net::TcpStream {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
        let stream = socket.connect(addr.parse().unwrap()).await.unwrap();
        let stream = stream.into_std().unwrap();
        stream.set_nonblocking(false).unwrap();
        stream
    })
}

/// Asserts that `reply` is a refusal over a connection limit: `503` with
/// `Retry-After: 1`, its text saying `why`.
fn assert_refused(reply: &str, why: &str) {
    assert!(
        reply.starts_with("HTTP/1.1 503 Service Unavailable"),
        "{reply}"
    );
    assert!(
        reply
            .to_ascii_lowercase()
            .contains("\r\nretry-after: 1\r\n"),
        "{reply}"
    );
    assert!(reply.contains(why), "{reply}");
}

/// Sends `GET /health` (closing after it) on `stream` and returns what the
/// server answers before it closes.
fn health_on(stream: &mut std::net::TcpStream) -> String {
    use std::io::Write;
    // The write may fail on a connection the server refused and closed already:
    // its answer is still there to read.
    let _ = stream.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    common::read_answer(stream, Duration::from_secs(10))
}

#[test]
fn one_address_cannot_hold_every_connection() {
    let server = Server::test_pod(&[
        "--max-connections-per-address",
        "4",
        "--header-timeout",
        "60000",
    ]);
    // Five connections from 127.0.0.1, sending nothing yet. One accept loop
    // takes them in order, so the first four are counted before the fifth.
    let mut held: Vec<std::net::TcpStream> = (0..5)
        .map(|_| std::net::TcpStream::connect(&server.addr).unwrap())
        .collect();
    let reply = health_on(&mut held[4]);
    assert_refused(&reply, "this address has too many connections open");
    held.pop();
    // Another address is served meanwhile.
    let reply = health_on(&mut connect_from("127.0.0.2", &server.addr));
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    // Closing one of the four gives its slot back once the server has seen it.
    drop(held.pop());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let reply = health_on(&mut std::net::TcpStream::connect(&server.addr).unwrap());
        if reply.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(reply.contains("this address has too many"), "{reply}");
        assert!(Instant::now() < deadline, "the slot was not given back");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The connections held all along are served.
    for stream in &mut held {
        let reply = health_on(stream);
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    }
}

#[test]
fn five_connections_from_one_address_are_served_by_default_and_with_0() {
    for extra in [&[][..], &["--max-connections-per-address", "0"][..]] {
        let mut args = vec!["--header-timeout", "60000"];
        args.extend_from_slice(extra);
        let server = Server::test_pod(&args);
        let mut held: Vec<std::net::TcpStream> = (0..5)
            .map(|_| std::net::TcpStream::connect(&server.addr).unwrap())
            .collect();
        for stream in held.iter_mut().rev() {
            let reply = health_on(stream);
            assert!(reply.starts_with("HTTP/1.1 200"), "{extra:?}: {reply}");
        }
    }
}

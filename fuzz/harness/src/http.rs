//! `http_request`: raw bytes into one connection of the real server.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hbf_db::Database;
use hbf_http::{App, ServerConfig};
use hbf_qjs::{EngineConfig, JsPool};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::Runtime;

/// A connection that sends nothing for this long is hung (the JavaScript time
/// limit is far shorter).
const SILENCE: Duration = Duration::from_secs(10);
/// The request body limit of the fuzzed server (small, so 413 is reachable).
const MAX_BODY: usize = 4096;

/// Nanoseconds this process's threads have spent waiting for a CPU, summed
/// (`/proc/self/task/*/schedstat`, second field); 0 where unavailable.
fn runqueue_wait() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|stat| stat.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum()
}

/// True if the process waited for a CPU for more than half of the last
/// silence window (and starts the next window).
fn starved(waited_before: &mut u64) -> bool {
    let now = runqueue_wait();
    let waited = now.saturating_sub(*waited_before);
    *waited_before = now;
    u128::from(waited) > SILENCE.as_nanos() / 2
}

struct Server {
    runtime: Runtime,
    app: Arc<App>,
    db: Database,
    /// The pod's files as packed, restored after an input changed them.
    pristine: BTreeMap<String, Vec<u8>>,
}

/// The test pod in memory, served by `workers` JavaScript workers with short
/// limits (a hungry or endless input fails fast), and a one-thread tokio
/// runtime to serve it on: the fuzzed server of the HTTP targets.
pub(crate) fn test_pod_app(workers: usize, config: ServerConfig) -> (Database, App, Runtime) {
    let db =
        Database::memory_from_template(crate::pods::test_pod()).expect("the test pod's database");
    let engine = EngineConfig {
        memory_limit_bytes: 32 << 20,
        timeout: Duration::from_millis(150),
        wall_timeout: Duration::from_millis(150),
        ..EngineConfig::default()
    };
    let js = JsPool::start(db.clone(), workers, engine).expect("the JavaScript workers");
    let app = App::new(db.clone(), js, config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    (db, app, runtime)
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let config = ServerConfig {
            max_body_bytes: MAX_BODY,
            header_timeout: Duration::from_secs(5),
            ..ServerConfig::default()
        };
        let (db, app, runtime) = test_pod_app(2, config);
        let app = Arc::new(app);
        let fs = db.fs();
        let pristine = fs
            .list("")
            .expect("list the pod")
            .into_iter()
            .map(|m| {
                let data = fs.read(&m.path).expect("read the pod");
                (m.path, data)
            })
            .collect();
        Server {
            runtime,
            app,
            db,
            pristine,
        }
    })
}

impl Server {
    /// Sends `input` on a new connection, half-closes, and returns everything
    /// the server wrote until it closed. Panics if the server goes silent.
    fn exchange(&self, input: &[u8]) -> Vec<u8> {
        exchange(&self.runtime, &self.app, input)
    }

    /// Puts back any pod file an input changed (`POST /t/fs/write` can rewrite
    /// `hbf/server.js`), so that every input meets the same pod.
    fn restore(&self) {
        let fs = self.db.fs();
        let now = fs.list("").expect("list");
        for meta in &now {
            if !self.pristine.contains_key(&meta.path) {
                fs.delete(&meta.path).expect("delete an added file");
            }
        }
        for (path, data) in &self.pristine {
            let same = now
                .iter()
                .any(|m| &m.path == path && m.sha256 == Some(crate::sha256(data)));
            if !same {
                fs.write(path, data.clone()).expect("restore a pod file");
            }
        }
    }
}

/// Sends `input` to `app` on a new connection, half-closes, and returns
/// everything the server wrote until it closed. Panics if the server goes
/// silent.
pub(crate) fn exchange(runtime: &Runtime, app: &Arc<App>, input: &[u8]) -> Vec<u8> {
    let app = Arc::clone(app);
    let input = input.to_vec();
    runtime.block_on(async move {
        let (client, server_side) = tokio::io::duplex(64 << 10);
        let (mut from_server, mut to_server) = tokio::io::split(client);
        // The connection runs in this task: a panic in routing or a handler
        // unwinds through here instead of being swallowed by a spawned task.
        let connection = hbf_http::serve_connection(server_side, app);
        let send = async move {
            // The server may close early (a malformed head): ignore errors.
            let _ = to_server.write_all(&input).await;
            let _ = to_server.shutdown().await;
        };
        let receive = async move {
            let mut out = Vec::new();
            let mut buf = vec![0u8; 16 << 10];
            let mut waited_before = runqueue_wait();
            loop {
                match tokio::time::timeout(SILENCE, from_server.read(&mut buf)).await {
                    // A process starved of CPU (a busy machine, a niced
                    // fuzzer) is silent without hanging: wait again.
                    Err(_) if starved(&mut waited_before) => continue,
                    Err(_) => panic!(
                        "hang: the server wrote nothing for {SILENCE:?} (after {} bytes)",
                        out.len()
                    ),
                    Ok(Ok(0)) | Ok(Err(_)) => break,
                    Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
                }
            }
            out
        };
        let (_, (), out) = tokio::join!(connection, send, receive);
        out
    })
}

/// One parsed response head.
struct Head {
    status: u16,
    content_length: Option<usize>,
    chunked: bool,
    len: usize,
}

fn parse_head(bytes: &[u8]) -> Result<Head, String> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    let len = match response.parse(bytes) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Err("a truncated response head".into()),
        Err(e) => return Err(format!("a malformed response head: {e}")),
    };
    if !matches!(response.version, Some(0 | 1)) {
        return Err(format!("response version {:?}", response.version));
    }
    let status = response.code.ok_or("no status")?;
    if !(100..=599).contains(&status) {
        return Err(format!("status {status}"));
    }
    let reason = response.reason.unwrap_or("");
    if let Some(canonical) = hyper::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
    {
        if reason != canonical {
            return Err(format!("status {status} with reason {reason:?}"));
        }
    }
    let mut content_length = None;
    let mut chunked = false;
    let mut date = false;
    for h in response.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            if content_length.is_some() {
                return Err("two Content-Length headers".into());
            }
            let text = std::str::from_utf8(h.value).map_err(|_| "Content-Length not text")?;
            content_length = Some(text.parse::<usize>().map_err(|_| "bad Content-Length")?);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = h.value.eq_ignore_ascii_case(b"chunked");
        } else if h.name.eq_ignore_ascii_case("date") {
            date = true;
        }
    }
    if !date && status >= 200 {
        return Err(format!("status {status} without a Date header"));
    }
    if content_length.is_some() && chunked {
        return Err("both Content-Length and chunked".into());
    }
    Ok(Head {
        status,
        content_length,
        chunked,
        len,
    })
}

/// The length of a chunked body at the start of `bytes`.
fn chunked_len(bytes: &[u8]) -> Result<usize, String> {
    let mut at = 0;
    loop {
        match httparse::parse_chunk_size(&bytes[at..]) {
            Ok(httparse::Status::Complete((used, size))) => {
                at += used;
                if size == 0 {
                    // No trailers from this server: the final CRLF.
                    if bytes[at..].starts_with(b"\r\n") {
                        return Ok(at + 2);
                    }
                    return Err("a chunked body without its final CRLF".into());
                }
                let size = usize::try_from(size).map_err(|_| "a huge chunk")?;
                at = at.checked_add(size).ok_or("a huge chunk")?;
                if !bytes.get(at..).is_some_and(|b| b.starts_with(b"\r\n")) {
                    return Err("a chunk without its CRLF".into());
                }
                at += 2;
            }
            Ok(httparse::Status::Partial) => return Err("a truncated chunked body".into()),
            Err(_) => return Err("a malformed chunk size".into()),
        }
    }
}

/// Checks that `bytes` is a sequence of well-formed responses. A response to
/// `HEAD` has a `Content-Length` and no body, and the requests are not known
/// here, so both readings are tried. Returns the statuses and bodies.
pub(crate) fn responses(bytes: &[u8], budget: &mut u32) -> Result<Vec<(u16, Vec<u8>)>, String> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    *budget = budget.saturating_sub(1);
    if *budget == 0 {
        return Ok(Vec::new()); // too ambiguous to follow further: accept
    }
    let head = parse_head(bytes)?;
    let after = &bytes[head.len..];
    let bodiless = head.status < 200 || head.status == 204 || head.status == 304;
    let mut readings: Vec<usize> = Vec::new();
    if head.chunked {
        readings.push(chunked_len(after)?);
    } else if let Some(n) = head.content_length {
        if n > 0 && !bodiless && n <= after.len() {
            readings.push(n);
        }
        readings.push(0); // HEAD, or an empty body
    } else if bodiless {
        readings.push(0);
    } else {
        readings.push(after.len()); // read to the end of the connection
    }
    let mut last = String::new();
    for body_len in readings {
        match responses(&after[body_len..], budget) {
            Ok(mut rest) => {
                rest.insert(0, (head.status, after[..body_len].to_vec()));
                return Ok(rest);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// `http_request`: `data` is sent as is, as HTTP/1.1 requests, on one connection
/// of the server (the test pod, in memory, two JavaScript workers with a 150 ms
/// limit, a 4 KiB body limit), which is driven in process over an in-memory pipe
/// until it closes. Everything it writes must be well-formed responses (status
/// line with its standard reason, `Date`, consistent framing), with no `503`
/// (all workers busy, on one connection), no `500` for an engine failure and no
/// `500` for an invalid response from JavaScript; it must never go silent; afterwards `GET /health` answers on
/// a new connection.
pub fn http_request(data: &[u8]) {
    let server = server();
    let out = server.exchange(data);
    let mut budget = 10_000;
    let parsed = responses(&out, &mut budget).unwrap_or_else(|e| {
        panic!(
            "{e}\nrequest: {:?}\nresponse: {:?}",
            String::from_utf8_lossy(data),
            String::from_utf8_lossy(&out)
        )
    });
    for (status, body) in &parsed {
        let text = String::from_utf8_lossy(body);
        assert!(
            *status != 503,
            "503 (the JavaScript workers busy): {text}\nrequest: {:?}",
            String::from_utf8_lossy(data)
        );
        assert!(
            !(*status == 500 && text.contains("the JavaScript engine failed")),
            "a JavaScript worker or engine failure: {text}\nrequest: {:?}",
            String::from_utf8_lossy(data)
        );
        assert!(
            !(*status == 500 && text.contains("invalid response from JavaScript")),
            "the bridge could not read JavaScript's response: {text}\nrequest: {:?}",
            String::from_utf8_lossy(data)
        );
    }
    server.restore();
    let health = server.exchange(b"GET /health HTTP/1.1\r\nHost: fuzz\r\n\r\n");
    let mut budget = 10;
    let parsed =
        responses(&health, &mut budget).unwrap_or_else(|e| panic!("/health after the input: {e}"));
    assert_eq!(
        parsed.first().map(|(s, b)| (*s, b.as_slice())),
        Some((200, &b"{\"status\":\"ok\"}"[..])),
        "/health after the input: {:?}",
        String::from_utf8_lossy(&health)
    );
}

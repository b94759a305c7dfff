//! `js_bridge`: arbitrary requests to the test pod's handlers, both styles.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use arbitrary::{Arbitrary, Unstructured};
use hbf_db::Database;
use hbf_qjs::{EngineConfig, JsAnswer, JsError, JsPool, JsRequest};

/// The engine's time limit for one request.
pub const TIMEOUT: Duration = Duration::from_millis(300);
/// How far past the limit a request may end (the machine may be busy).
const SLACK: Duration = Duration::from_millis(1700);

/// Routes of the two pods, so that inputs reach handlers.
const ROUTES: &[&str] = &[
    "/",
    "/hello",
    "/echo",
    "/user/42",
    "/esm-test",
    "/esm-test-static",
    "/headers",
    "/binary",
    "/reject",
    "/t/db",
    "/t/db/types",
    "/t/db/rollback",
    "/t/db/sql",
    "/t/fs/read",
    "/t/fs/list",
    "/t/fs/history",
    "/t/throw",
    "/t/reject",
    "/t/reject-chain",
    "/t/loop",
    "/t/alloc",
    "/t/recurse",
    "/t/headers",
    "/t/binary",
    "/t/status",
    "/t/first-send",
    "/t/async",
    "/t/unicode",
    "/t/global",
    "/t/console",
    "/t/import-bare",
    "/t/import-absolute",
    "/t/import-relative",
    "/t/router",
    "/t/router/users/1",
    "/t/router/items/12",
    "/t/router/range/3-9",
    "/t/router/files/a/b",
    "/t/router/versioned",
];

const METHODS: &[&str] = &[
    "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT", "TRACE", "get",
];

/// Header names as the HTTP layer passes them (lower-case), including names
/// that mean something to JavaScript objects.
const HEADER_NAMES: &[&str] = &[
    "host",
    "content-type",
    "accept",
    "accept-version",
    "cookie",
    "x-a",
    "__proto__",
    "constructor",
    "length",
    "0",
    "content-length",
    "if-none-match",
];

/// Query strings the test routes read.
const QUERIES: &[&str] = &[
    "name=x&value=y",
    "code=204",
    "code=99",
    "code=1000",
    "mb=2",
    "mb=1000&kind=string",
    "async=1",
    "path=hbf/server.js",
    "path=../x",
    "prefix=hbf/",
    "marker=m",
];

#[derive(Debug, Arbitrary)]
enum Choice {
    Known(u8),
    Raw(String),
}

#[derive(Debug, Arbitrary)]
enum HeaderName {
    Known(u8),
    /// A token, lower-cased, as hyper parses it.
    Token(Vec<u8>),
}

#[derive(Debug, Arbitrary)]
struct Input {
    fetch_style: bool,
    method: Choice,
    route: Choice,
    /// Appended to the route.
    suffix: String,
    query: Choice,
    headers: Vec<(HeaderName, String)>,
    body: Vec<u8>,
}

fn pick(choice: &Choice, table: &[&str]) -> String {
    match choice {
        Choice::Known(i) => table[*i as usize % table.len()].to_owned(),
        Choice::Raw(s) => s.clone(),
    }
}

fn header_name(name: &HeaderName) -> String {
    const TCHAR: &[u8] = b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz";
    match name {
        HeaderName::Known(i) => HEADER_NAMES[*i as usize % HEADER_NAMES.len()].to_owned(),
        HeaderName::Token(bytes) if bytes.is_empty() => "x".to_owned(),
        HeaderName::Token(bytes) => bytes
            .iter()
            .map(|b| TCHAR[*b as usize % TCHAR.len()] as char)
            .collect(),
    }
}

/// Percent-encodes what may not appear raw in a URL path or query.
fn encode(text: &str, keep: &[u8]) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || keep.contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

struct Pools {
    hbf: JsPool,
    fetch: JsPool,
}

fn pools() -> &'static Pools {
    static POOLS: OnceLock<Pools> = OnceLock::new();
    POOLS.get_or_init(|| {
        let config = EngineConfig {
            memory_limit_bytes: 32 << 20,
            timeout: TIMEOUT,
            wall_timeout: TIMEOUT,
            ..EngineConfig::default()
        };
        let start = |template: &[u8]| {
            let db = Database::memory_from_template(template).expect("a pod database");
            JsPool::start(db, 1, config.clone()).expect("a JavaScript worker")
        };
        Pools {
            hbf: start(crate::pods::test_pod()),
            fetch: start(crate::pods::fetch_pod()),
        }
    })
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a tokio runtime")
    })
}

/// `js_bridge`: an arbitrary method, path, query, headers and body become a
/// `JsRequest` for the test pod (HBF style) or the fetch-style pod, through a
/// `JsPool` with a 300 ms limit. The request must end within the limit (plus
/// slack for a busy machine) with a response or a JavaScript failure (an
/// exception, the time or memory limit, a stack overflow), never an engine
/// failure or an unreadable response. `/echo` on the HBF-style pod must echo
/// method, path, query, headers (values of a repeated name joined by `, `) and
/// body exactly.
pub fn js_bridge(data: &[u8]) {
    static NEXT_ID: AtomicU64 = AtomicU64::new(1);
    let Ok(input) = Unstructured::new(data).arbitrary::<Input>() else {
        return;
    };
    let method = pick(&input.method, METHODS);
    let path = format!("{}{}", pick(&input.route, ROUTES), input.suffix);
    let query = pick(&input.query, QUERIES);
    let headers: Vec<(String, String)> = input
        .headers
        .iter()
        .take(16)
        .map(|(n, v)| (header_name(n), v.clone()))
        .collect();
    let raw_query = encode(&query, b"-._~!$&'()*+,;=:@/?%");
    let url = format!(
        "http://fuzz.test{}{}{}",
        encode(&path, b"-._~!$&'()*+,;=:@/%"),
        if raw_query.is_empty() { "" } else { "?" },
        raw_query
    );
    let request = JsRequest {
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        method: method.clone(),
        url,
        path: path.clone(),
        query: query.clone(),
        headers: headers.clone(),
        body: input.body.clone(),
    };
    let pools = pools();
    let pool = if input.fetch_style {
        &pools.fetch
    } else {
        &pools.hbf
    };
    let started = Instant::now();
    let outcome = runtime().block_on(pool.handle(request.clone()));
    let took = started.elapsed();
    assert!(
        took <= TIMEOUT + SLACK,
        "took {took:?}, past the {TIMEOUT:?} limit: {request:?} -> {outcome:?}"
    );
    let response = match outcome {
        Ok(JsAnswer::Whole(response)) => response,
        // A streamed body is checked by the HTTP tests, not here.
        Ok(JsAnswer::Streamed(..)) => return,
        Err(
            JsError::Exception { .. }
            | JsError::Timeout(_)
            | JsError::WallTimeout(_)
            | JsError::OutOfMemory(_)
            | JsError::StackOverflow
            | JsError::NeverSettled,
        ) => return,
        // ClientGone too: this caller waits for every answer.
        Err(
            e @ (JsError::Busy
            | JsError::Internal(_)
            | JsError::BadResponse(_)
            | JsError::ClientGone),
        ) => {
            panic!("engine failure: {e}\nrequest: {request:?}")
        }
    };
    // A number that is no HTTP status is the server's 500 (hbf_http checks).
    if !(response.status.fract() == 0.0 && (100.0..=999.0).contains(&response.status)) {
        return;
    }
    if !input.fetch_style && path == "/echo" && response.status == 200.0 && method != "HEAD" {
        check_echo(&request, &response.body);
    }
}

fn check_echo(request: &JsRequest, body: &[u8]) {
    let echo: serde_json::Value = serde_json::from_slice(body).unwrap_or_else(|e| {
        panic!(
            "/echo is not JSON ({e}): {:?}",
            String::from_utf8_lossy(body)
        )
    });
    let field = |name: &str| echo.get(name).and_then(|v| v.as_str()).map(str::to_owned);
    assert_eq!(
        field("method").as_deref(),
        Some(request.method.as_str()),
        "echoed method"
    );
    assert_eq!(
        field("path").as_deref(),
        Some(request.path.as_str()),
        "echoed path"
    );
    assert_eq!(
        field("query").as_deref(),
        Some(request.query.as_str()),
        "echoed query"
    );
    assert_eq!(
        field("body"),
        Some(String::from_utf8_lossy(&request.body).into_owned()),
        "echoed body"
    );
    let mut want: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in &request.headers {
        want.entry(name.clone())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(value);
            })
            .or_insert_with(|| value.clone());
    }
    let got: BTreeMap<String, String> = echo
        .get("headers")
        .and_then(|h| h.as_object())
        .unwrap_or_else(|| panic!("/echo without headers: {echo}"))
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect();
    assert_eq!(got, want, "echoed headers");
}

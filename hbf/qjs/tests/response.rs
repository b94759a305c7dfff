//! The `res` object of HBF-style handlers (SPEC 4): chainable, first send wins,
//! headers case-insensitive, in every isolation mode; its shared methods cannot
//! carry anything from one request to the next.

mod common;

use common::get;
use hbf_db::Database;
use hbf_qjs::{Engine, EngineConfig, Isolation, JsError, JsResponse, PodCode};

const SERVER: &str = r#"
const routes = {
  '/chain': (req, res) => res.status(201).set('X-A', '1').set('x-a', '2').append('X-B', '1').append('X-B', '2').json({ a: res.get('X-A') }),
  '/first-wins': (req, res) => { res.send('one'); res.status(500).set('X-Late', '1').send('two') },
  '/object': (req, res) => res.send({ sent: 'as json' }),
  '/nothing': (req, res) => res.send(),
  '/bytes': (req, res) => res.send(new Uint16Array([0x4241])),
  '/status-only': (req, res) => { res.statusCode = 204 },
  '/type-kept': (req, res) => res.set('content-type', 'text/csv').send('a,b'),
  '/state': (req, res) => {
    const seen = [res.statusCode, res.headersSent]
    res.status(202)
    seen.push(res.statusCode, res.headersSent)
    res.send(JSON.stringify(seen))
    if (!res.headersSent || res.statusCode !== 202) throw new Error('headersSent after send')
  },
  '/async': async (req, res) => { await null; res.json({ late: true }) },
  '/async-throw': async (req, res) => { await null; throw new Error('after await') },
  '/no-send': () => {},
  '/status-string': (req, res) => res.status('404').send('not here'),
  '/status-code-string': (req, res) => { res.statusCode = ' 201 '; res.send('made') },
  '/status-garbage': (req, res) => res.status('4o4').send('never'),
  '/status-fraction': (req, res) => res.status(200.5).send('never'),
  '/override': (req, res) => { res.json = function () { return this.send('overridden') }; res.json({}) },
  '/tamper': (req, res) => {
    const tries = []
    for (const f of [() => { res.json.leak = 1 }, () => { Object.getPrototypeOf(res).leak = 1 }]) {
      try { f(); tries.push('changed') } catch (e) { tries.push(e.name) }
    }
    res.json({ tries, leak: res.json.leak ?? Object.getPrototypeOf(res).leak ?? null })
  },
}
globalThis.app = { handle: (req, res) => routes[req.path](req, res) }
"#;

fn engine(isolation: Isolation) -> Engine {
    let db = Database::memory().unwrap();
    db.fs().write("hbf/server.js", SERVER).unwrap();
    let modules = PodCode::new(db.clone());
    let config = EngineConfig {
        isolation,
        ..EngineConfig::default()
    };
    let mut engine = Engine::new(db, modules, config).unwrap();
    engine.warm_up();
    engine
}

fn call(engine: &mut Engine, path: &str) -> Result<JsResponse, JsError> {
    engine.handle(&get(path))
}

fn ok(engine: &mut Engine, path: &str) -> JsResponse {
    call(engine, path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn header<'a>(response: &'a JsResponse, name: &str) -> Vec<&'a str> {
    response
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

fn body(response: &JsResponse) -> &str {
    std::str::from_utf8(&response.body).unwrap()
}

#[test]
fn res_behaves_the_same_in_every_isolation_mode() {
    for isolation in [Isolation::Snapshot, Isolation::Worker] {
        let mut e = engine(isolation);
        let r = ok(&mut e, "/chain");
        assert_eq!(
            (r.status, body(&r)),
            (201.0, r#"{"a":"2"}"#),
            "{isolation:?}"
        );
        assert_eq!(header(&r, "x-a"), ["2"], "set replaces whatever the case");
        assert_eq!(header(&r, "x-b"), ["1", "2"], "append keeps both");
        assert_eq!(header(&r, "content-type"), ["application/json"]);

        let r = ok(&mut e, "/first-wins");
        assert_eq!((r.status, body(&r)), (200.0, "one"));
        assert!(header(&r, "x-late").is_empty());

        let r = ok(&mut e, "/object");
        assert_eq!(body(&r), r#"{"sent":"as json"}"#);
        assert_eq!(header(&r, "content-type"), ["application/json"]);

        let r = ok(&mut e, "/nothing");
        assert_eq!(
            (body(&r), header(&r, "content-type")),
            ("", vec!["text/plain; charset=utf-8"])
        );

        let r = ok(&mut e, "/bytes");
        assert_eq!(r.body, b"AB");
        assert_eq!(header(&r, "content-type"), ["application/octet-stream"]);

        let r = ok(&mut e, "/status-only");
        assert_eq!((r.status, r.body.len()), (204.0, 0));

        let r = ok(&mut e, "/type-kept");
        assert_eq!(header(&r, "content-type"), ["text/csv"]);

        let r = ok(&mut e, "/state");
        assert_eq!(r.status, 202.0);
        assert_eq!(body(&r), "[200,false,202,false]");

        let r = ok(&mut e, "/async");
        assert_eq!(body(&r), r#"{"late":true}"#);

        match call(&mut e, "/async-throw") {
            Err(JsError::Exception { message, .. }) => assert!(message.contains("after await")),
            other => panic!("{isolation:?}: {other:?}"),
        }
        match call(&mut e, "/no-send") {
            Err(JsError::Exception { message, .. }) => {
                assert!(message.contains("without sending a response"), "{message}")
            }
            other => panic!("{isolation:?}: {other:?}"),
        }

        let r = ok(&mut e, "/override");
        assert_eq!(
            body(&r),
            "overridden",
            "a handler may replace a method on its own res"
        );
        let r = ok(&mut e, "/chain");
        assert_eq!(
            body(&r),
            r#"{"a":"2"}"#,
            "and the next request's res is unchanged"
        );

        let r = ok(&mut e, "/tamper");
        assert_eq!(
            body(&r),
            r#"{"tries":["TypeError","TypeError"],"leak":null}"#,
            "{isolation:?}: the shared methods and prototype are frozen"
        );
    }
}

/// Issue 11, defect 7: a status given as a string of digits is accepted
/// (`res.status('404')`), garbage is a clear error.
#[test]
fn res_status_takes_numeric_strings_and_rejects_garbage() {
    for isolation in [Isolation::Snapshot, Isolation::Worker] {
        let mut e = engine(isolation);
        let r = ok(&mut e, "/status-string");
        assert_eq!((r.status, body(&r)), (404.0, "not here"), "{isolation:?}");
        let r = ok(&mut e, "/status-code-string");
        assert_eq!((r.status, body(&r)), (201.0, "made"), "{isolation:?}");
        for (path, shown) in [
            (
                "/status-garbage",
                r#"res.status: "4o4" is not an HTTP status"#,
            ),
            (
                "/status-fraction",
                "res.status: 200.5 is not an HTTP status",
            ),
        ] {
            match call(&mut e, path) {
                Err(JsError::Exception { message, .. }) => {
                    assert!(message.starts_with("RangeError: "), "{message}");
                    assert!(message.contains(shown), "{message}");
                }
                other => panic!("{isolation:?} {path}: {other:?}"),
            }
        }
    }
}

/// The Fetch standard's `Response` takes its status as a WebIDL `unsigned
/// short` (ToNumber, truncated, modulo 2^16) and throws a RangeError outside
/// 200..=599; `Response.redirect` converts the same way.
#[test]
fn fetch_response_status_converts_as_webidl_says() {
    const FETCH: &str = r#"
const cases = {
  '/string': () => new Response('x', { status: '404' }),
  '/fraction': () => new Response('x', { status: 404.9 }),
  '/exponent': () => new Response('x', { status: '2.01e2' }),
  '/wrapped': () => new Response('x', { status: 65536 + 201 }),
  '/object': () => new Response('x', { status: { valueOf: () => 202 } }),
  '/redirect': () => Response.redirect('http://localhost/elsewhere', '301'),
  '/garbage': () => new Response('x', { status: 'abc' }),
  '/null': () => new Response('x', { status: null }),
  '/too-big': () => new Response('x', { status: 600 }),
  '/redirect-garbage': () => Response.redirect('http://localhost/', '200'),
}
export default { fetch: (request) => cases[new URL(request.url).pathname]() }
"#;
    let db = Database::memory().unwrap();
    db.fs().write("hbf/server.js", FETCH).unwrap();
    let modules = PodCode::new(db.clone());
    let mut e = Engine::new(db, modules, EngineConfig::default()).unwrap();
    e.warm_up();
    for (path, status) in [
        ("/string", 404),
        ("/fraction", 404),
        ("/exponent", 201),
        ("/wrapped", 201),
        ("/object", 202),
        ("/redirect", 301),
    ] {
        assert_eq!(ok(&mut e, path).status, f64::from(status), "{path}");
    }
    for path in ["/garbage", "/null", "/too-big", "/redirect-garbage"] {
        match call(&mut e, path) {
            Err(JsError::Exception { message, .. }) => {
                assert!(message.starts_with("RangeError: "), "{path}: {message}")
            }
            other => panic!("{path}: {other:?}"),
        }
    }
}

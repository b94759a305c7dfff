//! Request -> JavaScript -> response round trips of arbitrary header values and
//! binary bodies, through both handler styles (issue 6).

use hbf_db::Database;
use hbf_qjs::{Engine, EngineConfig, JsRequest, JsResponse, PodCode};
use proptest::prelude::*;

/// HBF style: every request header comes back as `x-r-<name>` (from
/// `req.headers`, where repeated names are joined), the body as bytes, and the
/// body as text in `x-body-text`.
const HBF_ECHO: &str = r#"
globalThis.app = {
  handle(req, res) {
    for (const name of Object.keys(req.headers)) res.append('x-r-' + name, req.headers[name])
    res.set('x-body-text', req.body)
    res.status(200).send(req.bodyBytes)
  },
}
"#;

/// Fetch style: the same through Request, Headers and Response.
const FETCH_ECHO: &str = r#"
export default {
  async fetch(request) {
    const headers = new Headers()
    for (const [name, value] of request.headers) headers.append('x-r-' + name, value)
    headers.set('x-body-text', await request.clone().text())
    return new Response(new Uint8Array(await request.arrayBuffer()), { status: 200, headers })
  },
}
"#;

fn engine(server_js: &str) -> Engine {
    engine_for(server_js)
}

fn engine_for(server_js: &str) -> Engine {
    let db = Database::memory().unwrap();
    db.fs().write("hbf/server.js", server_js).unwrap();
    let modules = PodCode::new(db.clone());
    Engine::new(db, modules, EngineConfig::default()).unwrap()
}

fn request(headers: &[(String, String)], body: &[u8]) -> JsRequest {
    JsRequest {
        id: 1,
        method: "POST".into(),
        url: "http://localhost/echo".into(),
        path: "/echo".into(),
        query: String::new(),
        headers: headers.to_vec(),
        body: body.to_vec(),
    }
}

/// What `req.headers` holds: values of a repeated name joined by `, `, in
/// first-arrival order.
fn joined(headers: &[(String, String)], trim: bool) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (name, value) in headers {
        let value = if trim {
            value.trim_matches([' ', '\t', '\r', '\n']).to_owned()
        } else {
            value.clone()
        };
        match out.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => {
                v.push_str(", ");
                v.push_str(&value);
            }
            None => out.push((name.clone(), value)),
        }
    }
    out
}

fn echoed(response: &JsResponse) -> (Vec<(String, String)>, Option<&str>) {
    let headers = response
        .headers
        .iter()
        .filter_map(|(n, v)| Some((n.strip_prefix("x-r-")?.to_owned(), v.clone())))
        .collect();
    let text = response
        .headers
        .iter()
        .find(|(n, _)| n == "x-body-text")
        .map(|(_, v)| v.as_str());
    (headers, text)
}

/// Header values as the HTTP layer hands them over: no control characters but
/// tab (hyper refuses them), any other character (bytes 0x80-0xFF arrive as
/// U+FFFD after lossy UTF-8 decoding).
fn header_value() -> impl Strategy<Value = String> {
    "[\t\\x20-\\x7e\u{a0}-\u{24f}\u{fffd}\u{1f600}]{0,40}"
}

fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec(
        (
            prop::sample::select(vec![
                "a",
                "x-b",
                "accept",
                "x-long-name-1",
                "cookie",
                "constructor",
                "__proto__",
            ]),
            header_value(),
        ),
        0..8,
    )
    .prop_map(|list| list.into_iter().map(|(n, v)| (n.to_owned(), v)).collect())
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..2048),
        "\\PC{0,200}".prop_map(String::into_bytes),
    ]
}

#[test]
fn headers_named_like_object_properties() {
    // Found by the js_bridge fuzz target (fuzz/regressions/js_bridge/): a
    // `constructor` header failed the request with "engine unavailable" (503),
    // and a `__proto__` header vanished.
    let headers: Vec<(String, String)> = [
        ("constructor", "c"),
        ("__proto__", "p1"),
        ("tostring", "t"),
        ("__proto__", "p2"),
        ("hasownproperty", "h"),
    ]
    .iter()
    .map(|(n, v)| (n.to_string(), v.to_string()))
    .collect();
    let mut engine = engine(HBF_ECHO);
    let response = engine.handle(&request(&headers, b"")).unwrap();
    assert_eq!(echoed(&response).0, joined(&headers, false));
    // req.headers keeps Object's methods.
    let mut engine = engine_for(
        "globalThis.app = { handle(req, res) { res.json([req.headers.hasOwnProperty('constructor'), Object.getPrototypeOf(req.headers) === Object.prototype, req.headers.__proto__]) } }",
    );
    let response = engine.handle(&request(&headers, b"")).unwrap();
    assert_eq!(
        String::from_utf8(response.body).unwrap(),
        r#"[true,true,"p1, p2"]"#
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn hbf_style_round_trip(headers in headers(), body in body()) {
        let mut engine = engine(HBF_ECHO);
        let response = engine.handle(&request(&headers, &body)).unwrap();
        prop_assert_eq!(response.status, 200.0);
        prop_assert_eq!(&response.body, &body);
        let (got, text) = echoed(&response);
        prop_assert_eq!(got, joined(&headers, false));
        let want_text = String::from_utf8_lossy(&body);
        prop_assert_eq!(text, Some(want_text.as_ref()));
    }

    #[test]
    fn fetch_style_round_trip(headers in headers(), body in body()) {
        let mut engine = engine(FETCH_ECHO);
        let response = engine.handle(&request(&headers, &body)).unwrap();
        prop_assert_eq!(response.status, 200.0);
        prop_assert_eq!(&response.body, &body);
        let (mut got, text) = echoed(&response);
        got.sort();
        // The echo appends each joined value to new Headers, which trims it again.
        let mut want: Vec<(String, String)> = joined(&headers, true)
            .into_iter()
            .map(|(n, v)| (n, v.trim_matches([' ', '\t']).to_owned()))
            .collect();
        want.sort();
        prop_assert_eq!(got, want);
        // The text travels as a header value, which Headers trims.
        let want_text = String::from_utf8_lossy(&body);
        prop_assert_eq!(text, Some(want_text.trim_matches([' ', '\t', '\r', '\n'])));
    }
}

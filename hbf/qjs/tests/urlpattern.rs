//! `URLPattern` (`js/urlpattern.js`, `host/urlpattern.rs`): its API's shape,
//! its TypeErrors for bad input, and its bounds against a hostile pattern,
//! in both isolation modes. The standard's own cases: `urlpattern_wpt.rs`.

mod common;

use std::time::{Duration, Instant};

use common::json;
use hbf_qjs::{EngineConfig, Isolation};
use serde_json::json;

const SERVER: &str = r#"
const threw = (f) => {
  try { return { returned: f() } } catch (e) { return { name: e.name, message: e.message, isTypeError: e instanceof TypeError } }
}
// Made by the module, outside any request: every request may use it.
const user = new URLPattern({ pathname: '/users/:id(\\d+)' })
const routes = {
  '/shape': () => {
    const p = new URLPattern('https://:sub.example.com/books/:id?{.:format}?#*')
    const exec = p.exec('https://shop.example.com/books/42.json#top')
    const getters = ['protocol', 'username', 'password', 'hostname', 'port', 'pathname', 'search', 'hash']
    return {
      type: typeof URLPattern, tag: Object.prototype.toString.call(p),
      getters: getters.map((g) => p[g]),
      hasRegExpGroups: [p.hasRegExpGroups, user.hasRegExpGroups],
      test: [p.test('https://shop.example.com/books'), p.test('https://example.org/books/1'), p.test('not a url')],
      execNull: p.exec('https://shop.example.com/films/1'),
      inputs: exec.inputs,
      groups: [exec.hostname.groups, exec.pathname, exec.hash],
      ordered: Object.keys(new URLPattern({ pathname: '/:b/:a/:c?' }).exec({ pathname: '/x/y' }).pathname.groups),
      unmatched: 'c' in new URLPattern({ pathname: '/:b/:a/:c?' }).exec({ pathname: '/x/y' }).pathname.groups,
      withBase: [new URLPattern('/api/*', 'https://example.com').test('https://example.com/api/v1'),
        new URLPattern({ pathname: '/api/*' }).test('/api/v1', 'https://anywhere.test'),
        new URLPattern({ pathname: '/api/*' }).exec('/api/v1', 'https://a.test').inputs],
      ignoreCase: [new URLPattern({ pathname: '/Books/:id' }, { ignoreCase: true }).test({ pathname: '/BOOKS/1' }),
        new URLPattern({ pathname: '/Books/(\\d+)' }, { ignoreCase: true }).test({ pathname: '/bOoKs/1' }),
        new URLPattern({ pathname: '/Books/:id' }).test({ pathname: '/BOOKS/1' }),
        new URLPattern('/Books', 'https://a.test', { ignoreCase: true }).test('https://a.test/books')],
      empty: [new URLPattern().pathname, new URLPattern().test('https://any.test/x?y#z'), new URLPattern().test()],
      user: [user.test({ pathname: '/users/7' }), user.test({ pathname: '/users/me' })],
    }
  },
  '/errors': () => ({
    noBase: threw(() => new URLPattern('/relative')),
    badPattern: threw(() => new URLPattern({ pathname: '/:' })),
    badRegex: threw(() => new URLPattern({ pathname: '/(\\d+' })),
    lookahead: threw(() => new URLPattern({ pathname: '/((?=a)a)' })),
    backreference: threw(() => new URLPattern({ pathname: '/(a\\1)' })),
    initWithBase: threw(() => new URLPattern({ pathname: '/a' }, 'https://example.com', {})),
    badBase: threw(() => new URLPattern('/a', 'not a url')),
    testInitWithBase: threw(() => user.test({ pathname: '/users/1' }, 'https://example.com')),
    execInitWithBase: threw(() => user.exec({ pathname: '/users/1' }, 'https://example.com')),
    symbol: threw(() => new URLPattern(Symbol('x'))),
    longPattern: threw(() => new URLPattern({ pathname: '/' + 'a'.repeat(9000) })),
    longInput: threw(() => user.test({ pathname: '/users/' + '1'.repeat(70000) })),
    huge: threw(() => new URLPattern({ pathname: '/((a{1000}){1000})' })),
    // Patterns and inputs are strings as WebIDL makes them.
    coerced: threw(() => new URLPattern({ pathname: { toString: () => '/x' } }).test({ pathname: '/x' })),
  }),
  // A hostile pattern against the largest input: linear-time regexes.
  '/hostile': () => {
    const p = new URLPattern({ pathname: '/((?:a+)+b)', search: '((?:a|aa)+c)', hash: '((?:.*)*x)' })
    const a = 'a'.repeat(60 * 1024)
    return [
      p.test({ pathname: '/' + a }), p.test({ pathname: '/ab', search: a }),
      p.test({ pathname: '/ab', search: 'ac', hash: a }), p.test({ pathname: '/ab', search: 'ac', hash: 'x' }),
    ]
  },
}
globalThis.app = { handle(req, res) { res.json(routes[req.path]()) } }
"#;

fn each_mode(check: impl Fn(&mut hbf_qjs::Engine)) {
    for isolation in [Isolation::Snapshot, Isolation::Worker] {
        let config = EngineConfig {
            isolation,
            isolation_from_pod: false,
            ..EngineConfig::default()
        };
        let mut engine = common::engine(&[("hbf/server.js", SERVER)], config);
        check(&mut engine);
    }
}

#[test]
fn url_pattern_has_the_standards_shape() {
    each_mode(|e| {
        // Twice: the module's pattern and the cache serve every request.
        for _ in 0..2 {
            let found = json(e, "/shape");
            assert_eq!(found["type"], "function");
            assert_eq!(found["tag"], "[object URLPattern]");
            assert_eq!(
                found["getters"],
                json!([
                    "https",
                    "*",
                    "*",
                    ":sub.example.com",
                    "",
                    "/books/:id?{.:format}?",
                    "",
                    "*"
                ])
            );
            assert_eq!(found["hasRegExpGroups"], json!([false, true]));
            assert_eq!(found["test"], json!([true, false, false]));
            assert_eq!(found["execNull"], json!(null));
            assert_eq!(
                found["inputs"],
                json!(["https://shop.example.com/books/42.json#top"])
            );
            assert_eq!(
                found["groups"],
                json!([{"sub": "shop"}, {"input": "/books/42.json", "groups": {"id": "42", "format": "json"}}, {"input": "top", "groups": {"0": "top"}}])
            );
            assert_eq!(found["ordered"], json!(["b", "a", "c"]));
            assert_eq!(
                found["unmatched"], true,
                "an unmatched group is there, undefined"
            );
            assert_eq!(
                found["withBase"],
                json!([true, true, ["/api/v1", "https://a.test"]])
            );
            assert_eq!(found["ignoreCase"], json!([true, true, false, true]));
            assert_eq!(found["empty"], json!(["*", true, true]));
            assert_eq!(found["user"], json!([true, false]));
        }
    });
}

#[test]
fn bad_patterns_and_inputs_are_type_errors() {
    each_mode(|e| {
        let found = json(e, "/errors");
        for case in [
            "noBase",
            "badPattern",
            "badRegex",
            "lookahead",
            "backreference",
            "initWithBase",
            "badBase",
            "testInitWithBase",
            "execInitWithBase",
            "symbol",
            "longPattern",
            "longInput",
            "huge",
        ] {
            assert_eq!(found[case]["isTypeError"], true, "{case}: {}", found[case]);
            assert!(
                found[case]["message"]
                    .as_str()
                    .unwrap()
                    .contains("URLPattern")
                    || case == "symbol",
                "{case}: {}",
                found[case]
            );
        }
        assert!(found["longPattern"]["message"]
            .as_str()
            .unwrap()
            .contains("8192 bytes"));
        assert_eq!(found["coerced"], json!({"returned": true}));
    });
}

#[test]
fn a_hostile_pattern_cannot_hold_the_worker() {
    each_mode(|e| {
        let started = Instant::now();
        assert_eq!(json(e, "/hostile"), json!([false, false, false, true]));
        // Backtracking would take longer than the universe; the regex crate is
        // linear (a debug build: well under a second here).
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    });
}

//! The isolating mode (`Isolation::Snapshot`, the default: the heap put back
//! after each request) against pods that try to leave state behind, break
//! the restore, or fail; and what a pod may declare.

mod common;

use common::{engine, get, json};
use hbf_db::Database;
use hbf_qjs::{Engine, EngineConfig, Isolation, JsError, PodCode};

/// Each route does something to the shared context; `/look` reports what a
/// request sees.
const SERVER: &str = r#"
import { count } from './lib/counter.js'
const routes = {
  '/look': () => ({
    count: count(),
    extensible: Object.isExtensible(globalThis),
    protoIsObject: Object.getPrototypeOf(globalThis) === Object.prototype,
    leftovers: ['added', 'permanent', 'fromJob', 'fromThrow'].filter((k) => k in globalThis),
  }),
  '/add': () => { globalThis.added = 1 },
  '/permanent': () => { Object.defineProperty(globalThis, 'permanent', { value: 1, configurable: false }) },
  '/seal': () => { Object.preventExtensions(globalThis) },
  '/reproto': () => { Object.setPrototypeOf(globalThis, { sneaky: 1 }) },
  '/job': () => { Promise.resolve().then(() => null).then(() => { globalThis.fromJob = 1 }) },
  '/throw': () => { globalThis.fromThrow = 1; throw new Error('failed on purpose') },
  '/spin': () => { for (;;) {} },
}
export default {
  fetch(request) {
    const path = new URL(request.url).pathname
    return Response.json(routes[path]() ?? { ok: true })
  },
}
"#;

const COUNTER: &str = "let n = 0;\nexport const count = () => ++n;\n";

/// The isolating modes under test here.
const KEPT: [Isolation; 1] = [Isolation::Snapshot];

fn in_mode(isolation: Isolation) -> EngineConfig {
    EngineConfig {
        isolation,
        ..EngineConfig::default()
    }
}

fn pod(isolation: Isolation) -> Engine {
    engine(
        &[("hbf/server.js", SERVER), ("hbf/lib/counter.js", COUNTER)],
        EngineConfig {
            // Room for an unoptimized QuickJS on a busy machine (Bazel runs
            // the tests in parallel): a warm-up can take a few hundred ms.
            timeout: common::deadline(2000),
            ..in_mode(isolation)
        },
    )
}

fn clean() -> serde_json::Value {
    serde_json::json!({"count": 1, "extensible": true, "protoIsObject": true, "leftovers": []})
}

#[test]
fn nothing_a_request_does_to_the_global_object_reaches_the_next() {
    for mode in KEPT {
        nothing_reaches_the_next(mode);
    }
}

fn nothing_reaches_the_next(mode: Isolation) {
    let mut e = pod(mode);
    assert_eq!(e.isolation(), mode);
    assert_eq!(json(&mut e, "/look"), clean());
    for path in ["/add", "/permanent", "/seal", "/reproto", "/job"] {
        e.handle(&get(path)).unwrap();
        assert_eq!(json(&mut e, "/look"), clean(), "after {path}");
    }
    let failed = e.handle(&get("/throw")).unwrap_err();
    assert!(
        matches!(&failed, JsError::Exception { message, .. } if message.contains("failed on purpose")),
        "{failed:?}"
    );
    assert_eq!(json(&mut e, "/look"), clean(), "after /throw");
    let spun = e.handle(&get("/spin")).unwrap_err();
    assert!(matches!(spun, JsError::Timeout(_)), "{spun:?}");
    assert_eq!(json(&mut e, "/look"), clean(), "after /spin");
}

#[test]
fn every_request_of_many_stays_isolated() {
    for mode in KEPT {
        let mut e = pod(mode);
        for i in 0..407 {
            if i % 3 == 0 {
                e.handle(&get("/add")).unwrap();
            }
            assert_eq!(json(&mut e, "/look"), clean(), "{mode:?}: request {i}");
        }
    }
}

#[test]
fn error_messages_and_stacks_name_the_users_files() {
    for mode in KEPT {
        stacks_name_the_users_files(mode);
    }
}

fn stacks_name_the_users_files(mode: Isolation) {
    let mut e = engine(
        &[
            (
                "hbf/server.js",
                "import { fail } from './lib/fail.js'\nglobalThis.app = { handle() { fail() } }\n",
            ),
            (
                "hbf/lib/fail.js",
                "export const fail = () => {\n  throw new TypeError('nope')\n}\n",
            ),
        ],
        in_mode(mode),
    );
    for _ in 0..2 {
        match e.handle(&get("/")).unwrap_err() {
            JsError::Exception { message, stack } => {
                assert_eq!(message, "TypeError: nope");
                assert!(stack.contains("hbf/lib/fail.js:2"), "{stack}");
                assert!(!stack.contains('#'), "{stack}");
            }
            other => panic!("{other:?}"),
        }
    }
    let mut missing = engine(
        &[("hbf/server.js", "import './lib/gone.js'\n")],
        in_mode(mode),
    );
    match missing.handle(&get("/")).unwrap_err() {
        JsError::Exception { message, .. } => {
            assert!(message.contains("hbf/lib/gone.js"), "{message}");
            assert!(!message.contains('#'), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_pod_with_large_modules_never_runs_out_of_memory() {
    // ~1 MB of module code with a 32 MB limit: loaded once, never
    // accumulated by the requests.
    let big = format!(
        "export const data = [{}];\n",
        (0..60_000)
            .map(|i| format!("'s{i}'"))
            .collect::<Vec<_>>()
            .join(",")
    );
    for mode in KEPT {
        let mut e = engine(
            &[
                ("hbf/server.js", "import { data } from './lib/big.js'\nglobalThis.app = { handle(req, res) { res.json({ n: data.length }) } }\n"),
                ("hbf/lib/big.js", &big),
            ],
            EngineConfig {
                memory_limit_bytes: 32 << 20,
                ..in_mode(mode)
            },
        );
        for i in 0..40 {
            let r = e
                .handle(&get("/"))
                .unwrap_or_else(|err| panic!("{mode:?}: request {i}: {err}"));
            assert_eq!(r.body, br#"{"n":60000}"#);
        }
    }
}

/// A counter in module state, and the isolation the pod declares (if any).
fn counting_pod(declaration: &str) -> String {
    format!(
        "{declaration}\nimport {{ count }} from './lib/counter.js'\n\
         globalThis.app = {{ handle(req, res) {{ res.json({{ count: count() }}) }} }}\n"
    )
}

fn counts(engine: &mut Engine, n: usize) -> Vec<u64> {
    (0..n)
        .map(|_| json(engine, "/")["count"].as_u64().unwrap())
        .collect()
}

#[test]
fn a_pod_may_opt_into_sharing_unless_the_operator_chose() {
    let sharing = counting_pod("export const isolation = 'worker'");
    let files = [
        ("hbf/server.js", sharing.as_str()),
        ("hbf/lib/counter.js", COUNTER),
    ];

    let mut declared = engine(&files, EngineConfig::default());
    assert_eq!(
        declared.isolation(),
        Isolation::Worker,
        "switched at warm-up"
    );
    assert_eq!(
        counts(&mut declared, 3),
        [1, 2, 3],
        "module state is shared"
    );

    let operator = EngineConfig {
        isolation_from_pod: false,
        ..EngineConfig::default()
    };
    let mut chosen = engine(&files, operator);
    assert_eq!(chosen.isolation(), Isolation::Snapshot);
    assert_eq!(
        counts(&mut chosen, 3),
        [1, 1, 1],
        "the operator's choice wins"
    );

    // No declaration (the second only mentions the word, so the warm-up
    // looks, then locks down): isolated.
    for plain in [
        counting_pod(""),
        counting_pod("// isolation: none declared"),
    ] {
        let mut undeclared = engine(
            &[
                ("hbf/server.js", plain.as_str()),
                ("hbf/lib/counter.js", COUNTER),
            ],
            EngineConfig::default(),
        );
        assert_eq!(undeclared.isolation(), Isolation::Snapshot);
        assert_eq!(
            counts(&mut undeclared, 3),
            [1, 1, 1],
            "no declaration: isolated"
        );
    }
}

#[test]
fn an_edit_to_the_declaration_takes_effect_on_the_next_request() {
    let db = Database::memory().unwrap();
    db.fs().write("hbf/lib/counter.js", COUNTER).unwrap();
    db.fs()
        .write(
            "hbf/server.js",
            counting_pod("export const isolation = 'worker'"),
        )
        .unwrap();
    let modules = PodCode::new(db.clone());
    let mut e = Engine::new(db.clone(), modules, EngineConfig::default()).unwrap();
    e.warm_up();
    assert_eq!(counts(&mut e, 2), [1, 2]);

    // Sharing dropped: the request that loads the new code starts from fresh
    // state, and the ones after it are isolated.
    db.fs().write("hbf/server.js", counting_pod("")).unwrap();
    assert_eq!(counts(&mut e, 3), [1, 1, 1]);
    assert_eq!(e.isolation(), Isolation::Snapshot);

    // And back: the request that loads the new code is still isolated; the
    // shared context starts after it.
    db.fs()
        .write(
            "hbf/server.js",
            counting_pod("export const isolation = 'worker'"),
        )
        .unwrap();
    assert_eq!(counts(&mut e, 4), [1, 1, 2, 3]);
    assert_eq!(e.isolation(), Isolation::Worker);
}

#[test]
fn an_unknown_isolation_is_a_clear_error() {
    for (declaration, found) in [
        (
            "export const isolation = 'shared'",
            "unknown isolation 'shared': use 'snapshot' (the default) or 'worker'",
        ),
        (
            "export const isolation = 1",
            "it must be 'snapshot' or 'worker', not a value of type int",
        ),
        // The removed modes name what replaces them.
        (
            "export const isolation = 'request'",
            "isolation 'request' was removed: use 'snapshot' (the default)",
        ),
        (
            "export const isolation = 'context'",
            "isolation 'context' was removed: use 'snapshot' (the default)",
        ),
    ] {
        let server = counting_pod(declaration);
        let mut e = engine(
            &[
                ("hbf/server.js", server.as_str()),
                ("hbf/lib/counter.js", COUNTER),
            ],
            EngineConfig::default(),
        );
        match e.handle(&get("/")) {
            Err(JsError::Exception { message, .. }) => {
                assert!(
                    message.contains("hbf/server.js: `export const isolation`: ")
                        && message.contains(found),
                    "{message}"
                )
            }
            other => panic!("{declaration}: {other:?}"),
        }
    }
}

//! `Isolation::Snapshot` (the default): every request starts from the heap the
//! warm-up saved, whatever the last request patched, replaced, queued,
//! exhausted or interrupted; an edit of the pod's code takes a new snapshot.

mod common;

use common::{engine, get, json};
use hbf_db::Database;
use hbf_qjs::{Engine, EngineConfig, Isolation, JsError, PodCode};

/// Each route breaks something a later request would see; `/look` reports
/// what a request sees.
const SERVER: &str = r#"
import { count } from './lib/counter.js'
import { query } from 'hbf:db'
const routes = {
  '/look': (req, res) => res.json({
    count: count(),
    push: [].push(1),
    polluted: 'polluted' in {},
    math: typeof Math?.max,
    random: Math.random.name,
    json: JSON.stringify({ a: 1 }),
    extensible: Object.isExtensible(Object.prototype),
    leftovers: ['added', 'fromJob', 'fromTimeout'].filter((k) => k in globalThis),
    queried: query('select 1 as one')[0].one,
  }),
  '/patch': (req, res) => {
    count(); count()
    Array.prototype.push = () => -1
    Object.prototype.polluted = 1
    Math.random = function patched() { return 4 }
    JSON.stringify = () => 'patched'
    globalThis.added = 1
    Object.preventExtensions(Object.prototype)
    globalThis.Math = null
    res.send('patched')
  },
  '/job': (req, res) => {
    Promise.resolve().then(() => null).then(() => { globalThis.fromJob = 1 })
    res.send('queued')
  },
  '/endless': (req, res) => {
    const spin = () => Promise.resolve().then(spin)
    spin()
    res.send('spinning')
  },
  '/oom': () => {
    const all = []
    for (;;) all.push(new Array(100000).fill(all.length))
  },
  '/spin': () => { globalThis.added = 1; for (;;) {} },
  '/throw': () => { globalThis.added = 1; throw new Error('failed on purpose') },
}
globalThis.app = { handle(req, res) { return routes[req.path](req, res) } }
"#;

const COUNTER: &str = "let n = 0;\nexport const count = () => ++n;\n";

fn pod() -> Engine {
    engine(
        &[("hbf/server.js", SERVER), ("hbf/lib/counter.js", COUNTER)],
        EngineConfig {
            // Room for an unoptimized QuickJS on a busy machine (Bazel runs
            // the tests in parallel): a warm-up can take a few hundred ms.
            timeout: common::deadline(2000),
            memory_limit_bytes: 16 << 20,
            ..EngineConfig::default()
        },
    )
}

fn pristine() -> serde_json::Value {
    serde_json::json!({
        "count": 1, "push": 1, "polluted": false, "math": "function", "random": "random",
        "json": "{\"a\":1}", "extensible": true, "leftovers": [], "queried": 1,
    })
}

#[test]
fn the_default_isolation_is_the_snapshot() {
    let e = pod();
    assert_eq!(e.isolation(), Isolation::Snapshot);
    let bytes = e.snapshot_bytes().expect("taken at warm-up");
    assert!(bytes > 64 << 10, "a warm heap: {bytes} bytes");
}

#[test]
fn every_request_starts_from_the_pristine_snapshot() {
    let mut e = pod();
    assert_eq!(json(&mut e, "/look"), pristine());
    let taken = e.snapshot_bytes();
    // What /patch breaks breaks its own response too (the prelude uses the
    // built-ins): the request may fail; the next one must not notice.
    let _ = e.handle(&get("/patch"));
    assert_eq!(json(&mut e, "/look"), pristine(), "after /patch");
    for path in ["/job", "/endless"] {
        let done = e.handle(&get(path)).unwrap();
        assert_eq!(done.status, 200.0, "{path}");
        assert_eq!(json(&mut e, "/look"), pristine(), "after {path}");
    }
    let failed = e.handle(&get("/throw")).unwrap_err();
    assert!(
        matches!(&failed, JsError::Exception { message, .. } if message.contains("failed on purpose")),
        "{failed:?}"
    );
    assert_eq!(json(&mut e, "/look"), pristine(), "after /throw");
    let spun = e.handle(&get("/spin")).unwrap_err();
    assert!(matches!(spun, JsError::Timeout(_)), "{spun:?}");
    assert_eq!(json(&mut e, "/look"), pristine(), "after /spin");
    let exhausted = e.handle(&get("/oom")).unwrap_err();
    assert!(
        matches!(exhausted, JsError::OutOfMemory(_)),
        "{exhausted:?}"
    );
    assert_eq!(json(&mut e, "/look"), pristine(), "after /oom");
    // Put back, not rebuilt: the same snapshot serves on.
    assert_eq!(e.snapshot_bytes(), taken);
    assert_eq!(e.isolation(), Isolation::Snapshot);
    for i in 0..500 {
        let path = ["/patch", "/look", "/job"][i % 3];
        let answer = e.handle(&get(path));
        if path == "/look" {
            let seen: serde_json::Value = serde_json::from_slice(&answer.unwrap().body).unwrap();
            assert_eq!(seen, pristine(), "request {i}");
        }
    }
}

#[test]
fn an_edit_of_the_pods_code_takes_effect_on_the_next_request() {
    let db = Database::memory().unwrap();
    db.fs().write("hbf/server.js", SERVER).unwrap();
    db.fs().write("hbf/lib/counter.js", COUNTER).unwrap();
    let modules = PodCode::new(db.clone());
    let mut e = Engine::new(db.clone(), modules, EngineConfig::default()).unwrap();
    e.warm_up();
    assert_eq!(json(&mut e, "/look")["count"], 1);
    db.fs()
        .write(
            "hbf/lib/counter.js",
            "let n = 41;\nexport const count = () => ++n;\n",
        )
        .unwrap();
    for _ in 0..3 {
        assert_eq!(json(&mut e, "/look")["count"], 42);
    }
    // A module the pod had not loaded before the edit, imported by the new code.
    db.fs()
        .write("hbf/lib/extra.js", "export const extra = 'new module';\n")
        .unwrap();
    db.fs()
        .write(
            "hbf/server.js",
            "import { extra } from './lib/extra.js'\nglobalThis.app = { handle(req, res) { globalThis.seen = (globalThis.seen ?? 0) + 1; res.json({ extra, seen: globalThis.seen }) } }\n",
        )
        .unwrap();
    for _ in 0..3 {
        assert_eq!(
            json(&mut e, "/"),
            serde_json::json!({"extra": "new module", "seen": 1})
        );
    }
    assert_eq!(e.isolation(), Isolation::Snapshot);
}

#[test]
fn a_dynamic_import_in_a_request_is_forgotten_after_it() {
    let mut e = engine(
        &[
            (
                "hbf/server.js",
                "globalThis.app = { async handle(req, res) { const m = await import('./lib/lazy.js'); res.json({ n: m.bump() }) } }\n",
            ),
            ("hbf/lib/lazy.js", "let n = 0;\nexport const bump = () => ++n;\n"),
        ],
        EngineConfig::default(),
    );
    for _ in 0..5 {
        assert_eq!(json(&mut e, "/"), serde_json::json!({"n": 1}));
    }
}

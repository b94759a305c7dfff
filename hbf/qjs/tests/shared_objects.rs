//! What a request can change in the objects the next request shares (the
//! snapshot's context: every built-in, hidden intrinsic, Web API object, the
//! prelude's `res` methods and the host modules' objects), and that the
//! restore after it puts all of it back. The walk here enumerates all of it,
//! so that the next kind of shared state is caught by this test rather than
//! by a user.

mod common;

use common::json;
use hbf_qjs::{Engine, EngineConfig, Isolation};

/// The isolating mode, whatever the pod declares.
fn engine(server: &str) -> Engine {
    engine_in(
        server,
        EngineConfig {
            isolation: Isolation::Snapshot,
            isolation_from_pod: false,
            ..EngineConfig::default()
        },
    )
}

fn engine_in(server: &str, config: EngineConfig) -> Engine {
    common::engine(&[("hbf/server.js", server)], config)
}

/// Walks everything a request can reach that the next request shares.
///
/// Roots: the global object (minus `app`, this pod's own global), the
/// intrinsics that only syntax or a built-in's result leads to, `res` (its
/// prototype and methods), and the host modules (`hbf:db`, `hbf:fs`,
/// `hbf:console`). From each object: its prototype, every own property
/// (string and symbol keys), the getter and setter functions of accessors,
/// and what a getter returns for the object itself (when it returns the same
/// object twice).
///
/// `/mark` changes every one it can: a mark property on each object, every
/// writable function-valued property (but the global object's own, which
/// the response path needs) replaced with a probe, and every setter called
/// with the probe on the object and on an heir. `/marked` looks for any of
/// it.
const WALK: &str = r#"
import * as db from 'hbf:db'
import * as fs from 'hbf:fs'
import * as hbfConsole from 'hbf:console'

const { getPrototypeOf: proto, getOwnPropertyDescriptor: describe, isExtensible } = Object
const { ownKeys, apply } = Reflect
const name = (key) => (typeof key === 'symbol' ? `[${key.description}]` : String(key))
const isObject = (v) => (typeof v === 'object' && v !== null) || typeof v === 'function'

const sharedRoots = (res) => {
  const roots = [
    ['globalThis', globalThis],
    ['%GeneratorFunction.prototype%', proto(function* () {})],
    ['%GeneratorPrototype%', proto(proto((function* () {})()))],
    ['%AsyncFunction.prototype%', proto(async function () {})],
    ['%AsyncGeneratorFunction.prototype%', proto(async function* () {})],
    ['%AsyncGeneratorPrototype%', proto(proto((async function* () {})()))],
    ['%ArrayIteratorPrototype%', proto([][Symbol.iterator]())],
    ['%MapIteratorPrototype%', proto(new Map()[Symbol.iterator]())],
    ['%SetIteratorPrototype%', proto(new Set()[Symbol.iterator]())],
    ['%StringIteratorPrototype%', proto(''[Symbol.iterator]())],
    ['%RegExpStringIteratorPrototype%', proto(/a/g[Symbol.matchAll](''))],
    ['%TypedArray%', proto(Uint8Array)],
    ['%ThrowTypeError%', (function () { 'use strict'; return describe(arguments, 'callee').get })()],
    ['%Promise.prototype% of an async function', proto((async () => {})())],
    ['res.__proto__', proto(res)],
  ]
  for (const key of ownKeys(res)) {
    if (typeof res[key] === 'function') roots.push([`res.${name(key)}`, res[key]])
  }
  if (typeof Iterator === 'function') {
    roots.push(['%IteratorHelperPrototype%', proto([].values().map((x) => x))])
    roots.push(['%WrapForValidIteratorPrototype%', proto(Iterator.from({ next: () => ({ done: true }) }))])
  }
  return roots
}

// Every object reachable from `roots`, with the first path that reached it.
const reachable = (roots, skip = () => false) => {
  const seen = new Map()
  const queue = []
  const reach = (v, path) => {
    if (isObject(v) && !seen.has(v)) {
      seen.set(v, path)
      queue.push(v)
    }
  }
  for (const [path, v] of roots) reach(v, path)
  for (let i = 0; i < queue.length; i++) {
    const object = queue[i]
    const path = seen.get(object)
    reach(proto(object), `${path}.__proto__`)
    for (const key of ownKeys(object)) {
      if (skip(object, key)) continue
      const d = describe(object, key)
      const at = `${path}.${name(key)}`
      if ('value' in d) {
        reach(d.value, at)
      } else {
        reach(d.get, `${at} (getter)`)
        reach(d.set, `${at} (setter)`)
        if (d.get) {
          try {
            const first = apply(d.get, object, [])
            if (first === apply(d.get, object, [])) reach(first, `${at} (got)`)
          } catch {}
        }
      }
    }
  }
  return seen
}

const PROBE = function probe() {}
const MARK = Symbol.for('hbf isolation test mark')
const { defineProperty } = Reflect
const { create } = Object
const stringify = JSON.stringify
const hostRoots = () => [['hbf:db', db], ['hbf:fs', fs], ['hbf:console', hbfConsole]]
const skip = (object, key) => object === globalThis && key === 'app'
const everything = (res) => [...reachable([...sharedRoots(res), ...hostRoots()], skip)]

const mark = (res) => {
  const list = everything(res)
  let marked = 0
  let replaced = 0
  let set = 0
  for (let i = 0; i < list.length; i++) {
    const object = list[i][0]
    try {
      if (defineProperty(object, MARK, { value: 1 })) marked++
    } catch {}
    const keys = ownKeys(object)
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k]
      if (skip(object, key) || key === MARK) continue
      const d = describe(object, key)
      if (!d) continue
      if ('value' in d) {
        if (d.writable && typeof d.value === 'function' && object !== globalThis) {
          try {
            object[key] = PROBE
            replaced++
          } catch {}
        }
      } else if (d.set) {
        try {
          apply(d.set, object, [PROBE])
          set++
        } catch {}
        try {
          apply(d.set, create(object), [PROBE])
        } catch {}
      }
    }
  }
  return stringify({ objects: list.length, marked, replaced, set })
}

const marked = (res) => {
  const found = []
  for (const [object, path] of everything(res)) {
    if (Object.hasOwn(object, MARK)) found.push(`${path}: marked`)
    for (const key of ownKeys(object)) {
      if (skip(object, key)) continue
      const d = describe(object, key)
      if ('value' in d) {
        if (d.value === PROBE) found.push(`${path}.${name(key)}: replaced`)
      } else if (d.get) {
        try {
          if (apply(d.get, object, []) === PROBE) found.push(`${path}.${name(key)}: set`)
        } catch {}
      }
    }
  }
  return found
}

globalThis.app = {
  handle(req, res) {
    if (req.path === '/mark') {
      res.set('content-type', 'application/json')
      res.send(mark(res))
    } else if (req.path === '/marked') res.json({ objects: everything(res).length, found: marked(res) })
  },
}
"#;

#[test]
fn nothing_a_request_changes_in_shared_objects_reaches_the_next() {
    let mut e = engine(WALK);
    let before = json(&mut e, "/marked");
    assert_eq!(before["found"], serde_json::json!([]), "{before:#}");
    let marked = json(&mut e, "/mark");
    // The walk reaches the whole library, not a corner of it, and changed it.
    assert!(marked["objects"].as_u64().unwrap() > 750, "{marked}");
    assert!(marked["marked"].as_u64().unwrap() > 750, "{marked}");
    assert!(marked["replaced"].as_u64().unwrap() > 500, "{marked}");
    // `__proto__`, `Error.stackTraceLimit`, `Error.prepareStackTrace`.
    assert!(marked["set"].as_u64().unwrap() >= 3, "{marked}");
    for _ in 0..2 {
        let after = json(&mut e, "/marked");
        assert_eq!(after["found"], serde_json::json!([]), "{after:#}");
        assert_eq!(after["objects"], before["objects"], "{after}");
    }
}

/// Issue 11, defect 4: `Error.prepareStackTrace` and `Error.stackTraceLimit`
/// are the context's, not a request's.
const ERRORS: &str = r#"
const capture = (e) => {
  (globalThis.captured ??= []).push(String(e.message))
  return 'forged'
}
const routes = {
  // Within its request a pod may use them (libraries read call sites so).
  '/prepare': () => {
    Error.prepareStackTrace = capture
    return { own: new Error('mine').stack }
  },
  '/limit': () => {
    Error.stackTraceLimit = 0
    return { own: new Error('mine').stack }
  },
  '/limit-object': () => {
    Error.stackTraceLimit = { valueOf() { (globalThis.captured ??= []).push('limit read'); return 0 } }
    return {}
  },
  '/subclass': () => {
    // The setter is inherited: any Error subclass, or any object, reaches it.
    TypeError.prepareStackTrace = capture
    Object.getOwnPropertyDescriptor(Error, 'stackTraceLimit').set.call({}, 0)
    return {}
  },
  '/look': () => {
    const inner = () => new Error('secret of a later request')
    const made = inner()
    let thrown
    try { null.x } catch (e) { thrown = e }
    return {
      captured: globalThis.captured ?? null,
      made: made.stack.includes('inner'),
      thrown: thrown.stack.includes('/look'),
      prepare: typeof Error.prepareStackTrace,
      limit: Error.stackTraceLimit,
    }
  },
}
globalThis.app = { handle(req, res) { res.json(routes[req.path]()) } }
"#;

#[test]
fn error_stack_settings_of_one_request_do_not_reach_the_next() {
    let mut e = engine(ERRORS);
    let normal = serde_json::json!({
        "captured": null, "made": true, "thrown": true, "prepare": "undefined", "limit": 10,
    });
    assert_eq!(json(&mut e, "/look"), normal);
    assert_eq!(
        json(&mut e, "/prepare"),
        serde_json::json!({"own": "forged"})
    );
    assert_eq!(json(&mut e, "/look"), normal, "after /prepare");
    assert_eq!(json(&mut e, "/limit"), serde_json::json!({"own": ""}));
    assert_eq!(json(&mut e, "/look"), normal, "after /limit");
    for path in ["/limit-object", "/subclass"] {
        json(&mut e, path);
        assert_eq!(json(&mut e, "/look"), normal, "after {path}");
    }
}

/// QuickJS-NG's own `stackTraceLimit` setter never released the value it
/// replaced, and freeing a runtime that still holds an object aborts the
/// process (an assertion): this test binary died here before the prelude
/// passed only numbers on.
#[test]
fn an_object_as_stack_trace_limit_does_not_abort_the_process() {
    for isolation in [Isolation::Snapshot, Isolation::Worker] {
        let config = EngineConfig {
            isolation,
            isolation_from_pod: false,
            ..EngineConfig::default()
        };
        let mut e = engine_in(ERRORS, config);
        for _ in 0..2 {
            json(&mut e, "/limit-object");
        }
        drop(e);
    }
}

/// A FinalizationRegistry made by one request: its callback used to run
/// whenever the collector found the target, during a later request, with
/// that request's globals in reach.
#[test]
fn a_finalization_callback_runs_only_in_its_own_request() {
    const SERVER: &str = r#"
let registry
const routes = {
  '/plant': () => {
    registry = new FinalizationRegistry((held) => {
      globalThis.seen = `${held}'s callback saw ${globalThis.secretOfLater}`
    })
    let cycle = {}
    cycle.self = cycle
    registry.register(cycle, 'request 1')
    cycle = null
    // The wrapper is all there is: no way back to the native constructor.
    const hidden = Object.getPrototypeOf(FinalizationRegistry) === Function.prototype &&
      FinalizationRegistry.prototype.constructor === FinalizationRegistry
    return { planted: registry instanceof FinalizationRegistry, hidden }
  },
  '/own': async () => {
    // Within its own request a callback still runs.
    let result = null
    const own = new FinalizationRegistry((held) => { result = held })
    own.register({}, 'own target')
    for (let i = 0; i < 5 && result === null; i++) await null
    return { result }
  },
  '/later': async () => {
    globalThis.secretOfLater = 'a later secret'
    // Enough garbage for a collection (the threshold is half the limit).
    let junk = []
    for (let i = 0; i < 150000; i++) junk.push({ i, s: 'x' + i })
    junk = null
    for (let i = 0; i < 5; i++) await null
    return { seen: globalThis.seen ?? null }
  },
}
export default { async fetch(request) { return Response.json(await routes[new URL(request.url).pathname]()) } }
"#;
    let mut e = engine_in(
        SERVER,
        EngineConfig {
            memory_limit_bytes: 32 << 20,
            ..EngineConfig::default()
        },
    );
    assert_eq!(
        json(&mut e, "/own"),
        serde_json::json!({"result": "own target"})
    );
    assert_eq!(
        json(&mut e, "/plant"),
        serde_json::json!({"planted": true, "hidden": true})
    );
    for _ in 0..3 {
        assert_eq!(json(&mut e, "/later"), serde_json::json!({"seen": null}));
    }
}

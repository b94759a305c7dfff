//! What the requests of one locked-down context share (`Isolation::Request`):
//! every built-in, hidden intrinsic, Web API object and the prelude's `res`
//! methods must be frozen, or be state that the reset after each request puts
//! back. The walk here enumerates all of it, so that the next mutable property
//! is caught by this test rather than by a user.

mod common;

use common::json;
use hbf_qjs::{Engine, EngineConfig, Isolation};

/// The locked-down context is `Isolation::Request`'s.
fn engine(server: &str) -> Engine {
    engine_in(
        server,
        EngineConfig {
            isolation: Isolation::Request,
            ..EngineConfig::default()
        },
    )
}

fn engine_in(server: &str, config: EngineConfig) -> Engine {
    common::engine(&[("hbf/server.js", server)], config)
}

/// Walks everything a request can reach that the next request shares, and
/// reports each way to change it.
///
/// Roots: the global object (minus `app`, this pod's own global, deleted by
/// the reset like every added global: `isolation.rs`), the intrinsics that only
/// syntax or a built-in's result leads to, and `res` (its prototype and
/// methods are shared; its state object is made per request and not walked).
/// From each object: its prototype, every own property (string and symbol
/// keys), the getter and setter functions of accessors, and what a getter
/// returns for the object itself (when it returns the same object twice).
///
/// Reported: an extensible object (but the global object, whose added keys
/// the reset deletes), a writable or configurable data property, a
/// configurable accessor, and a setter that changes what its getter returns
/// for the shared object, whether called on that object or on one inheriting
/// from it (state behind an accessor, which freezing does not lock), unless
/// the property is in `RESET` (state the reset puts back; the next request
/// checks that it did). A setter without a getter cannot be checked and is
/// reported too.
///
/// `/walk?probe` also calls the setters (the probe); `/walk` only reads.
/// `/mark` and `/marked` do the same for the objects of the host modules
/// (`hbf:db`, `hbf:fs`, `hbf:console`), which are not frozen but made anew
/// for every request (each request imports its own instances): the first
/// marks every one it can change, the second looks for the marks.
const WALK: &str = r#"
import * as db from 'hbf:db'
import * as fs from 'hbf:fs'
import * as hbfConsole from 'hbf:console'

const { getPrototypeOf: proto, getOwnPropertyDescriptor: describe, isExtensible } = Object
const { ownKeys, apply } = Reflect
const name = (key) => (typeof key === 'symbol' ? `[${key.description}]` : String(key))
const isObject = (v) => (typeof v === 'object' && v !== null) || typeof v === 'function'

// State behind accessors that the reset after each request puts back.
const RESET = new Map([
  [Error, ['prepareStackTrace', 'stackTraceLimit']],
])
const isReset = (object, key) => RESET.get(object)?.includes(key) ?? false

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
const THREW = Symbol('the getter threw')

const audit = (res, probe) => {
  const skip = (object, key) => object === globalThis && key === 'app'
  const objects = reachable(sharedRoots(res), skip)
  const problems = []
  let accessors = 0
  const reset = {}
  for (const [object, path] of objects) {
    if (object !== globalThis && isExtensible(object)) problems.push(`${path}: extensible`)
    for (const key of ownKeys(object)) {
      if (skip(object, key)) continue
      const d = describe(object, key)
      const at = `${path}.${name(key)}`
      if (d.configurable) problems.push(`${at}: configurable`)
      if ('value' in d) {
        if (d.writable) problems.push(`${at}: writable`)
        continue
      }
      if (!d.set) continue
      accessors++
      if (!d.get) {
        problems.push(`${at}: a setter without a getter`)
        continue
      }
      // What the getter returns for the shared object (or that it throws).
      const read = () => {
        try {
          return apply(d.get, object, [])
        } catch (e) {
          return THREW
        }
      }
      if (isReset(object, key)) reset[at] = String(read())
      if (!probe) continue
      const before = read()
      for (const target of [object, Object.create(object)]) {
        try {
          apply(d.set, target, [PROBE])
        } catch {}
        const now = read()
        if (now !== before && !isReset(object, key)) {
          problems.push(`${at}: its setter changes shared state (on ${target === object ? 'the object' : 'an heir'})`)
        }
      }
    }
  }
  return { objects: objects.size, accessors, problems, reset }
}

// The host modules' objects: made anew for each request.
const hostRoots = () => [['hbf:db', db], ['hbf:fs', fs], ['hbf:console', hbfConsole]]
const MARK = Symbol.for('hbf lockdown test mark')
const shared = reachable(sharedRoots({}))
const hostObjects = () => [...reachable(hostRoots())].filter(([object]) => !shared.has(object))
const mark = () => {
  let marked = 0
  for (const [object] of hostObjects()) {
    try {
      if (Reflect.defineProperty(object, MARK, { value: 1 })) marked++
    } catch {}
    for (const key of ownKeys(object)) {
      const d = describe(object, key)
      if ('value' in d && d.writable && typeof d.value === 'function') {
        try {
          object[key] = PROBE
        } catch {}
      }
    }
  }
  return marked
}
const marked = () =>
  hostObjects()
    .filter(([object]) => Object.hasOwn(object, MARK) || ownKeys(object).some((k) => describe(object, k).value === PROBE))
    .map(([, path]) => path)

globalThis.app = {
  handle(req, res) {
    if (req.path.startsWith('/walk')) res.json(audit(res, req.path.endsWith('?probe')))
    else if (req.path === '/mark') res.json({ marked: mark() })
    else if (req.path === '/marked') res.json({ objects: hostObjects().length, marked: marked() })
  },
}
"#;

#[test]
fn every_shared_object_is_frozen_or_reset() {
    let mut e = engine(WALK);
    let probed = json(&mut e, "/walk?probe");
    assert_eq!(probed["problems"], serde_json::json!([]), "{probed:#}");
    // The walk reaches the whole library, not a corner of it.
    assert!(probed["objects"].as_u64().unwrap() > 800, "{probed}");
    assert!(probed["accessors"].as_u64().unwrap() > 40, "{probed}");
    // The probe set the reset's accessors; the next request finds them back.
    let after = json(&mut e, "/walk");
    assert_eq!(after["problems"], serde_json::json!([]), "{after:#}");
    assert_eq!(
        after["reset"],
        serde_json::json!({
            "globalThis.Error.prepareStackTrace": "undefined",
            "globalThis.Error.stackTraceLimit": "10",
        }),
        "{after}"
    );
}

#[test]
fn the_host_modules_objects_are_new_for_every_request() {
    let mut e = engine(WALK);
    let marked = json(&mut e, "/mark");
    assert!(marked["marked"].as_u64().unwrap() >= 6, "{marked}");
    let seen = json(&mut e, "/marked");
    assert!(seen["objects"].as_u64().unwrap() >= 6, "{seen}");
    assert_eq!(seen["marked"], serde_json::json!([]), "{seen}");
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
    for isolation in [
        Isolation::Snapshot,
        Isolation::Request,
        Isolation::Context,
        Isolation::Worker,
    ] {
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

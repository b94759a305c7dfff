//! The platform's small globals (`js/platform.js`): what each does, and its
//! errors for bad input, in both isolation modes.

mod common;

use common::json;
use hbf_qjs::{EngineConfig, Isolation};

/// Each route returns what it found; a thrown error is reported as
/// `{threw: name, message}` by the route runner.
const SERVER: &str = r#"
const threw = (f) => {
  try { f(); return null } catch (e) { return { name: e.name, message: e.message, isDOMException: e instanceof DOMException, code: e.code } }
}
const routes = {
  '/globals': () => ({
    self: self === globalThis,
    ua: navigator.userAgent,
    types: ['DOMException', 'Event', 'EventTarget', 'CustomEvent', 'AbortController', 'AbortSignal',
      'reportError', 'structuredClone', 'atob', 'btoa', 'crypto', 'queueMicrotask', 'performance']
      .filter((n) => typeof globalThis[n] === 'undefined'),
  }),
  '/dom-exception': () => {
    const e = new DOMException('gone', 'AbortError')
    const plain = new DOMException()
    return {
      name: e.name, message: e.message, code: e.code, isError: e instanceof Error,
      string: String(e), plain: [plain.name, plain.message, plain.code],
      constant: DOMException.ABORT_ERR, withCause: new DOMException('m', { name: 'DataError', cause: 7 }).cause,
    }
  },
  '/events': () => {
    const target = new EventTarget()
    const seen = []
    const once = () => seen.push('once')
    target.addEventListener('ping', (e) => seen.push(['fn', e.type, e.target === target, e.eventPhase]))
    target.addEventListener('ping', once, { once: true })
    target.addEventListener('ping', { handleEvent: (e) => seen.push('object') })
    target.addEventListener('ping', () => { throw new Error('a listener failed') })
    const first = target.dispatchEvent(new Event('ping'))
    const second = target.dispatchEvent(new CustomEvent('ping', { detail: 3, cancelable: true }))
    const cancel = new Event('stop', { cancelable: true })
    target.addEventListener('stop', (e) => { e.preventDefault(); e.stopImmediatePropagation() })
    target.addEventListener('stop', () => seen.push('never'))
    const notCanceled = target.dispatchEvent(cancel)
    return {
      seen, first, second, notCanceled, defaultPrevented: cancel.defaultPrevented,
      detail: new CustomEvent('x', { detail: { a: 1 } }).detail,
      noType: threw(() => new Event()),
      notAnEvent: threw(() => target.dispatchEvent({ type: 'ping' })),
    }
  },
  '/abort': () => {
    const controller = new AbortController()
    const { signal } = controller
    const seen = []
    signal.addEventListener('abort', () => seen.push(['listener', signal.aborted]))
    signal.onabort = (e) => seen.push(['onabort', e.type])
    const before = signal.aborted
    controller.abort()
    controller.abort('again') // no second event
    const any = AbortSignal.any([new AbortController().signal, signal])
    const pre = AbortSignal.abort('why')
    const removedBySignal = new EventTarget()
    const gone = new AbortController()
    let heard = 0
    removedBySignal.addEventListener('x', () => heard++, { signal: gone.signal })
    removedBySignal.dispatchEvent(new Event('x'))
    gone.abort()
    removedBySignal.dispatchEvent(new Event('x'))
    return {
      before, aborted: signal.aborted, reason: [signal.reason.name, signal.reason instanceof DOMException],
      seen, any: [any.aborted, any.reason.name], pre: [pre.aborted, pre.reason],
      throwIfAborted: threw(() => signal.throwIfAborted()), heard,
      illegal: threw(() => new AbortSignal()),
      anyBad: threw(() => AbortSignal.any([{}])),
    }
  },
  '/request-signal': () => {
    const plain = new Request('http://x/')
    const controller = new AbortController()
    const followed = new Request('http://x/', { signal: controller.signal })
    const derived = new Request(followed)
    const cloned = followed.clone()
    const unlinked = new Request(followed, { signal: null })
    const heard = []
    followed.signal.addEventListener('abort', () => heard.push('followed'))
    cloned.signal.addEventListener('abort', () => heard.push('cloned'))
    const before = [followed.signal.aborted, derived.signal.aborted, cloned.signal.aborted]
    controller.abort('stop')
    return {
      plain: [plain.signal instanceof AbortSignal, plain.signal.aborted, plain.signal === plain.signal],
      own: followed.signal !== controller.signal,
      before,
      after: [followed.signal.aborted, followed.signal.reason, derived.signal.aborted, cloned.signal.reason, unlinked.signal.aborted],
      heard,
      already: new Request('http://x/', { signal: AbortSignal.abort('early') }).signal.reason,
      bad: threw(() => new Request('http://x/', { signal: {} })),
    }
  },
  '/clone': () => {
    const cyclic = { name: 'root', list: [1, 'two', 3n, null, undefined] }
    cyclic.self = cyclic
    cyclic.list.push(cyclic)
    const buffer = new Uint8Array([1, 2, 3, 4]).buffer
    const source = {
      cyclic,
      map: new Map([[1, { a: 1 }], ['k', new Set([1, 2])]]),
      date: new Date(86400000),
      regexp: /a+b/giu,
      view: new Uint16Array(buffer, 2, 1),
      bytes: new Uint8Array(buffer),
      error: Object.assign(new RangeError('out'), { cause: 'c' }),
      boxed: Object(5),
    }
    const c = structuredClone(source)
    return {
      distinct: c !== source && c.cyclic !== cyclic && c.map !== source.map,
      cycle: c.cyclic.self === c.cyclic && c.cyclic.list[5] === c.cyclic,
      list: [c.cyclic.list.length, c.cyclic.list[1], typeof c.cyclic.list[2], c.cyclic.list[4] === undefined],
      map: [c.map.get(1).a, c.map.get('k').has(2), c.map.get('k') instanceof Set],
      date: c.date instanceof Date && c.date.getTime() === 86400000,
      regexp: [c.regexp.source, c.regexp.flags],
      sharedBuffer: c.view.buffer === c.bytes.buffer && c.bytes.buffer !== buffer,
      view: [c.view.constructor.name, c.view.byteOffset, c.view[0] === new Uint16Array(buffer, 2, 1)[0]],
      error: [c.error instanceof RangeError, c.error.message, c.error.cause],
      boxed: typeof c.boxed === 'object' && c.boxed.valueOf() === 5,
      fn: threw(() => structuredClone({ f() {} })),
      symbol: threw(() => structuredClone(Symbol('s'))),
      weak: threw(() => structuredClone(new WeakMap())),
      none: threw(() => structuredClone()),
    }
  },
  '/base64': () => ({
    btoa: [btoa(''), btoa('f'), btoa('fo'), btoa('foo'), btoa('\u00ff\u00fe'), btoa(null)],
    atob: [atob('Zm9v'), atob(' Zm 9v\n'), atob('Zg'), atob('Zg=='), atob('')],
    wide: threw(() => btoa('✓')),
    bad: [threw(() => atob('Zg=')), threw(() => atob('Z')), threw(() => atob('Zm9v!')), threw(() => atob('Zg==='))],
  }),
  '/crypto': () => {
    const bytes = crypto.getRandomValues(new Uint8Array(32))
    const words = crypto.getRandomValues(new Uint32Array(4))
    const uuids = new Set(Array.from({ length: 100 }, () => crypto.randomUUID()))
    return {
      same: bytes instanceof Uint8Array && bytes.length === 32 && bytes.some((b) => b !== 0),
      words: words.some((w) => w !== 0),
      uuid: [...uuids][0].match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/) !== null,
      unique: uuids.size,
      float: threw(() => crypto.getRandomValues(new Float32Array(4))),
      big: threw(() => crypto.getRandomValues(new Uint8Array(65537))),
      notArray: threw(() => crypto.getRandomValues([1, 2])),
      max: crypto.getRandomValues(new Uint8Array(65536)).length,
      illegal: threw(() => new Crypto()),
    }
  },
}
routes['/console'] = () => {
  const methods = ['log', 'info', 'warn', 'error', 'debug', 'trace', 'assert', 'count', 'countReset',
    'time', 'timeLog', 'timeEnd', 'group', 'groupCollapsed', 'groupEnd', 'table', 'dir', 'dirxml']
  console.count(); console.count(); console.count('x'); console.countReset()
  console.group('g'); console.log('inside'); console.groupEnd()
  console.time('t'); console.timeLog('t', 'more'); console.timeEnd('t'); console.timeEnd('t')
  console.assert(true, 'never'); console.assert(false, 'shown')
  console.table([{ a: 1 }]); console.dir({ b: 2 })
  return { missing: methods.filter((m) => typeof console[m] !== 'function') }
}
routes['/text-decoder'] = () => {
  const euro = new TextEncoder().encode('a€b') // 61 e2 82 ac 62
  const d = new TextDecoder()
  const streamed = [d.decode(euro.subarray(0, 2), { stream: true }), d.decode(euro.subarray(2, 3), { stream: true }), d.decode(euro.subarray(3))]
  const bom = new Uint8Array([0xef, 0xbb, 0xbf, 0x68, 0x69])
  const splitBom = new TextDecoder()
  const bomStreamed = [splitBom.decode(bom.subarray(0, 1), { stream: true }), splitBom.decode(bom.subarray(1), { stream: true }), splitBom.decode()]
  const utf16 = new TextDecoder('utf-16le')
  const pile = new Uint8Array([0xff, 0xfe, 0x3d, 0xd8, 0x00, 0xde, 0x21, 0x00]) // BOM, U+1F600, '!'
  const utf16Streamed = [utf16.decode(pile.subarray(0, 3), { stream: true }), utf16.decode(pile.subarray(3, 5), { stream: true }), utf16.decode(pile.subarray(5))]
  return {
    streamed,
    cut: new TextDecoder().decode(euro.subarray(0, 3)),
    bomStreamed,
    kept: new TextDecoder('utf-8', { ignoreBOM: true }).decode(bom).length,
    utf16Streamed,
    latin1: [new TextDecoder('latin1').encoding, new TextDecoder('latin1').decode(new Uint8Array([0x80, 0xe9]))],
    labels: [new TextDecoder(' UTF8 ').encoding, new TextDecoder('utf-16').encoding, new TextDecoder('utf-16be').decode(new Uint8Array([0, 0x41]))],
    fatal: threw(() => new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array([0xff]))),
    fatalStreamOk: new TextDecoder('utf-8', { fatal: true }).decode(euro.subarray(0, 2), { stream: true }),
    unknown: threw(() => new TextDecoder('klingon')),
    replacement: threw(() => new TextDecoder('iso-2022-kr')),
  }
}
routes['/performance'] = () => ({
  origin: Math.abs(performance.timeOrigin + performance.now() - Date.now()) < 1000,
  epoch: performance.timeOrigin > 1.6e12,
  json: Object.keys(performance.toJSON()),
})
routes['/marks'] = () => {
  const before = performance.getEntries().length // a request sees none of another's
  const a = performance.mark('a', { startTime: 10, detail: { k: [1] } })
  performance.mark('b', { startTime: 25 })
  performance.mark('a', { startTime: 12 }) // measure() takes the latest of a name
  const ab = performance.measure('ab', 'a', 'b')
  const withDuration = performance.measure('d', { start: 'b', duration: 5, detail: 'x' })
  const toNow = performance.measure('now', 'b')
  const tryIt = (f) => { try { f(); return null } catch (e) { return e.name } }
  return {
    before, mark: [a.name, a.entryType, a.startTime, a.duration, a.detail],
    ab: [ab.startTime, ab.duration], withDuration: withDuration.toJSON(), toNowEnds: Math.abs(toNow.startTime + toNow.duration - performance.now()) < 1000,
    names: performance.getEntries().map((e) => e.name),
    byType: performance.getEntriesByType('measure').length, byName: performance.getEntriesByName('a', 'mark').length,
    errors: [tryIt(() => performance.measure('x', 'nope')), tryIt(() => performance.mark('x', { startTime: -1 })),
      tryIt(() => performance.measure('x', { duration: 1 }))],
    cleared: (performance.clearMarks('a'), performance.clearMeasures(), performance.getEntries().map((e) => e.name)),
  }
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
fn the_globals_exist() {
    each_mode(|e| {
        let found = json(e, "/globals");
        assert_eq!(found["self"], true);
        assert_eq!(found["types"], serde_json::json!([]), "missing");
        assert_eq!(
            found["ua"],
            format!("HBF/{}", env!("CARGO_PKG_VERSION")).as_str()
        );
    });
}

#[test]
fn dom_exception_has_its_standard_shape() {
    each_mode(|e| {
        assert_eq!(
            json(e, "/dom-exception"),
            serde_json::json!({
                "name": "AbortError", "message": "gone", "code": 20, "isError": true,
                "string": "AbortError: gone", "plain": ["Error", "", 0], "constant": 20, "withCause": 7,
            })
        );
    });
}

#[test]
fn event_targets_dispatch_as_the_dom_says() {
    each_mode(|e| {
        let found = json(e, "/events");
        assert_eq!(
            found["seen"],
            serde_json::json!([
                ["fn", "ping", true, 2],
                "once",
                "object",
                ["fn", "ping", true, 2],
                "object"
            ])
        );
        assert_eq!(
            (&found["first"], &found["second"], &found["notCanceled"]),
            (
                &serde_json::json!(true),
                &serde_json::json!(true),
                &serde_json::json!(false)
            )
        );
        assert_eq!(found["defaultPrevented"], true);
        assert_eq!(found["detail"], serde_json::json!({"a": 1}));
        assert_eq!(found["noType"]["name"], "TypeError");
        assert_eq!(found["notAnEvent"]["name"], "TypeError");
    });
}

#[test]
fn abort_controllers_and_signals() {
    each_mode(|e| {
        let found = json(e, "/abort");
        assert_eq!(found["before"], false);
        assert_eq!(found["aborted"], true);
        assert_eq!(found["reason"], serde_json::json!(["AbortError", true]));
        assert_eq!(
            found["seen"],
            serde_json::json!([["listener", true], ["onabort", "abort"]])
        );
        assert_eq!(found["any"], serde_json::json!([true, "AbortError"]));
        assert_eq!(found["pre"], serde_json::json!([true, "why"]));
        assert_eq!(found["throwIfAborted"]["name"], "AbortError");
        assert_eq!(found["heard"], 1);
        assert_eq!(found["illegal"]["name"], "TypeError");
        assert_eq!(found["anyBad"]["name"], "TypeError");
    });
}

/// A Request's signal follows the one it was made with (Fetch's dependent
/// signal), through `new Request(request)` and `clone()`; `signal: null`
/// unlinks it.
#[test]
fn a_request_signal_follows_its_source() {
    each_mode(|e| {
        let found = json(e, "/request-signal");
        assert_eq!(found["plain"], (serde_json::json!([true, false, true])));
        assert_eq!(found["own"], true);
        assert_eq!(found["before"], (serde_json::json!([false, false, false])));
        assert_eq!(
            found["after"],
            (serde_json::json!([true, "stop", true, "stop", false]))
        );
        assert_eq!(found["heard"], (serde_json::json!(["followed", "cloned"])));
        assert_eq!(found["already"], "early");
        assert_eq!(found["bad"]["name"], "TypeError");
    });
}

#[test]
fn structured_clone_copies_what_html_says_and_refuses_the_rest() {
    each_mode(|e| {
        let found = json(e, "/clone");
        for key in ["distinct", "cycle", "date", "sharedBuffer", "boxed"] {
            assert_eq!(found[key], true, "{key}: {found:#}");
        }
        assert_eq!(found["list"], serde_json::json!([6, "two", "bigint", true]));
        assert_eq!(found["map"], serde_json::json!([1, true, true]));
        assert_eq!(found["regexp"], serde_json::json!(["a+b", "giu"]));
        assert_eq!(found["view"], serde_json::json!(["Uint16Array", 2, true]));
        assert_eq!(found["error"], serde_json::json!([true, "out", "c"]));
        for key in ["fn", "symbol", "weak"] {
            assert_eq!(found[key]["name"], "DataCloneError", "{key}: {found:#}");
            assert_eq!(found[key]["isDOMException"], true);
            assert_eq!(found[key]["code"], 25);
        }
        assert_eq!(found["none"]["name"], "TypeError");
    });
}

#[test]
fn base64_is_exact() {
    each_mode(|e| {
        let found = json(e, "/base64");
        assert_eq!(
            found["btoa"],
            serde_json::json!(["", "Zg==", "Zm8=", "Zm9v", "//4=", "bnVsbA=="])
        );
        assert_eq!(
            found["atob"],
            serde_json::json!(["foo", "foo", "f", "f", ""])
        );
        assert_eq!(found["wide"]["name"], "InvalidCharacterError");
        for bad in found["bad"].as_array().unwrap() {
            assert_eq!(bad["name"], "InvalidCharacterError", "{found:#}");
        }
    });
}

#[test]
fn crypto_gives_random_values_and_uuids() {
    each_mode(|e| {
        let found = json(e, "/crypto");
        for key in ["same", "words", "uuid"] {
            assert_eq!(found[key], true, "{key}: {found:#}");
        }
        assert_eq!(found["unique"], 100);
        assert_eq!(found["float"]["name"], "TypeMismatchError");
        assert_eq!(found["notArray"]["name"], "TypeMismatchError");
        assert_eq!(found["big"]["name"], "QuotaExceededError");
        assert_eq!(found["max"], 65536);
        assert_eq!(found["illegal"]["name"], "TypeError");
    });
}

/// In snapshot mode every request starts from the same heap: the random
/// values must still differ between requests (they come from the system,
/// not from a generator whose state the snapshot would put back).
#[test]
fn randomness_differs_between_snapshot_requests() {
    let mut e = common::engine(
        &[(
            "hbf/server.js",
            "globalThis.app = { handle(req, res) { res.json(crypto.randomUUID()) } }",
        )],
        EngineConfig::default(),
    );
    let a = json(&mut e, "/");
    let b = json(&mut e, "/");
    assert_ne!(a, b);
}

#[test]
fn console_has_every_method_and_performance_counts_from_the_epoch() {
    each_mode(|e| {
        assert_eq!(json(e, "/console"), serde_json::json!({"missing": []}));
        assert_eq!(
            json(e, "/performance"),
            serde_json::json!({"origin": true, "epoch": true, "json": ["timeOrigin"]})
        );
        for _ in 0..2 {
            assert_eq!(
                json(e, "/marks"),
                serde_json::json!({
                    "before": 0, "mark": ["a", "mark", 10, 0, {"k": [1]}],
                    "ab": [12, 13], "withDuration": {"name": "d", "entryType": "measure", "startTime": 25, "duration": 5, "detail": "x"},
                    "toNowEnds": true,
                    "names": ["a", "a", "ab", "b", "d", "now"],
                    "byType": 3, "byName": 2,
                    "errors": ["SyntaxError", "TypeError", "TypeError"],
                    "cleared": ["b"],
                })
            );
        }
    });
}

#[test]
fn text_decoder_streams_and_knows_the_encoding_standards_labels() {
    each_mode(|e| {
        let found = json(e, "/text-decoder");
        assert_eq!(found["streamed"], serde_json::json!(["a", "", "€b"]));
        assert_eq!(found["cut"], "a\u{fffd}");
        assert_eq!(found["bomStreamed"], serde_json::json!(["", "hi", ""]));
        assert_eq!(found["kept"], 3);
        assert_eq!(found["utf16Streamed"], serde_json::json!(["", "", "😀!"]));
        assert_eq!(found["latin1"], serde_json::json!(["windows-1252", "€é"]));
        assert_eq!(
            found["labels"],
            serde_json::json!(["utf-8", "utf-16le", "A"])
        );
        assert_eq!(found["fatal"]["name"], "TypeError");
        assert_eq!(found["fatalStreamOk"], "a");
        assert_eq!(found["unknown"]["name"], "RangeError");
        assert_eq!(found["replacement"]["name"], "RangeError");
    });
}

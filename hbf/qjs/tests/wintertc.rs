//! WinterTC's Minimum Common Web Platform API (the index of 64 names at
//! https://min-common-api.proposal.wintertc.org/, issue 24): for each name, a
//! route checks that it exists and does one real thing, in both isolation
//! modes. The test prints the count and fails if any name outside the list of
//! those not built yet stops working, or if one of those starts working
//! (then it belongs in the count: update `NOT_YET`).

mod common;

use hbf_qjs::{EngineConfig, Isolation};

/// Names of the index not built yet, and why.
const NOT_YET: &[(&str, &str)] = &[
    (
        "WebAssembly.Global",
        "no WebAssembly engine yet (issue 24 point 8)",
    ),
    ("WebAssembly.Instance", "no WebAssembly engine yet"),
    ("WebAssembly.Memory", "no WebAssembly engine yet"),
    ("WebAssembly.Module", "no WebAssembly engine yet"),
    ("WebAssembly.Table", "no WebAssembly engine yet"),
    ("WebAssembly.compile", "no WebAssembly engine yet"),
    ("WebAssembly.compileStreaming", "no WebAssembly engine yet"),
    ("WebAssembly.instantiate", "no WebAssembly engine yet"),
    (
        "WebAssembly.instantiateStreaming",
        "no WebAssembly engine yet",
    ),
    ("WebAssembly.validate", "no WebAssembly engine yet"),
];

const SERVER: &str = r#"
const enc = new TextEncoder()
const text = (stream) => new Response(stream).text()
// The smallest valid module: the magic number and version 1.
const wasm = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0])
const checks = {
  AbortController: () => { const c = new AbortController(); c.abort(); return c.signal.aborted },
  AbortSignal: () => AbortSignal.abort('x').reason === 'x',
  Blob: async () => (await new Blob(['a', 'b']).text()) === 'ab',
  ByteLengthQueuingStrategy: () => new ByteLengthQueuingStrategy({ highWaterMark: 1 }).size(new Uint8Array(4)) === 4,
  CompressionStream: async () => (await new Response(new Blob(['x']).stream().pipeThrough(new CompressionStream('gzip'))).bytes())[0] === 0x1f,
  CountQueuingStrategy: () => new CountQueuingStrategy({ highWaterMark: 3 }).highWaterMark === 3,
  Crypto: () => crypto instanceof Crypto,
  CryptoKey: async () => (await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])) instanceof CryptoKey,
  CustomEvent: () => new CustomEvent('e', { detail: 7 }).detail === 7,
  DecompressionStream: async () => {
    const packed = new Blob(['hello']).stream().pipeThrough(new CompressionStream('deflate'))
    return (await text(packed.pipeThrough(new DecompressionStream('deflate')))) === 'hello'
  },
  DOMException: () => new DOMException('m', 'AbortError').code === 20,
  Event: () => new Event('e', { cancelable: true }).cancelable,
  EventTarget: () => { const t = new EventTarget(); let n = 0; t.addEventListener('e', () => n++); t.dispatchEvent(new Event('e')); return n === 1 },
  File: () => new File(['abc'], 'a.txt').name === 'a.txt',
  FormData: () => { const f = new FormData(); f.append('a', '1'); return f.get('a') === '1' },
  Headers: () => new Headers({ A: '1' }).get('a') === '1',
  ReadableByteStreamController: () => { let c; new ReadableStream({ type: 'bytes', start(x) { c = x } }); return c instanceof ReadableByteStreamController },
  ReadableStream: async () => (await text(ReadableStream.from([enc.encode('r')]))) === 'r',
  ReadableStreamBYOBReader: () => new ReadableStream({ type: 'bytes' }).getReader({ mode: 'byob' }) instanceof ReadableStreamBYOBReader,
  ReadableStreamBYOBRequest: async () => {
    let seen = false
    const s = new ReadableStream({ type: 'bytes', pull(c) { seen = c.byobRequest instanceof ReadableStreamBYOBRequest; c.byobRequest.view[0] = 9; c.byobRequest.respond(1) } })
    const { value } = await s.getReader({ mode: 'byob' }).read(new Uint8Array(1))
    return seen && value[0] === 9
  },
  ReadableStreamDefaultController: () => { let c; new ReadableStream({ start(x) { c = x } }); return c instanceof ReadableStreamDefaultController },
  ReadableStreamDefaultReader: () => new ReadableStream().getReader() instanceof ReadableStreamDefaultReader,
  Request: () => new Request('http://x/a?b', { method: 'POST' }).method === 'POST',
  Response: async () => (await Response.json({ a: 1 }).json()).a === 1,
  SubtleCrypto: async () => crypto.subtle instanceof SubtleCrypto && (await crypto.subtle.digest('SHA-256', new Uint8Array())).byteLength === 32,
  TextDecoder: () => new TextDecoder().decode(new Uint8Array([0xe2, 0x82, 0xac])) === '€',
  TextDecoderStream: async () => {
    const d = new TextDecoderStream()
    const out = text(d.readable.pipeThrough(new TextEncoderStream()))
    const w = d.writable.getWriter(); w.write(new Uint8Array([0xe2, 0x82])); w.write(new Uint8Array([0xac])); w.close()
    return (await out) === '€'
  },
  TextEncoder: () => new TextEncoder().encode('€').length === 3,
  TextEncoderStream: async () => (await text(ReadableStream.from(['a', 'b']).pipeThrough(new TextEncoderStream()))) === 'ab',
  TransformStream: async () => (await text(ReadableStream.from([enc.encode('t')]).pipeThrough(new TransformStream()))) === 't',
  TransformStreamDefaultController: () => { let c; new TransformStream({ start(x) { c = x } }); return c instanceof TransformStreamDefaultController },
  URL: () => new URL('../b', 'http://h/a/c').href === 'http://h/b',
  URLPattern: () => new URLPattern({ pathname: '/u/:id' }).exec('http://h/u/7').pathname.groups.id === '7',
  URLSearchParams: () => new URLSearchParams('a=1&a=2').getAll('a').length === 2,
  'WebAssembly.Global': () => new WebAssembly.Global({ value: 'i32', mutable: true }, 4).value === 4,
  'WebAssembly.Instance': () => new WebAssembly.Instance(new WebAssembly.Module(wasm)).exports !== undefined,
  'WebAssembly.Memory': () => new WebAssembly.Memory({ initial: 1 }).buffer.byteLength === 65536,
  'WebAssembly.Module': () => WebAssembly.Module.exports(new WebAssembly.Module(wasm)).length === 0,
  'WebAssembly.Table': () => new WebAssembly.Table({ element: 'anyfunc', initial: 2 }).length === 2,
  WritableStream: async () => { const got = []; await ReadableStream.from([1, 2]).pipeTo(new WritableStream({ write(c) { got.push(c) } })); return got.length === 2 },
  WritableStreamDefaultController: () => { let c; new WritableStream({ start(x) { c = x } }); return c instanceof WritableStreamDefaultController },
  WritableStreamDefaultWriter: () => new WritableStream().getWriter() instanceof WritableStreamDefaultWriter,
  globalThis: () => globalThis.globalThis === globalThis,
  atob: () => atob('aGk=') === 'hi',
  btoa: () => btoa('hi') === 'aGk=',
  console: () => { console.log('wintertc'); return typeof console.table === 'function' },
  crypto: () => crypto.getRandomValues(new Uint8Array(4)).length === 4,
  // No --allow-net here: the fetch is refused, with the flag to use.
  fetch: async () => {
    try { await fetch('http://example.com/'); return false } catch (e) { return e instanceof TypeError && e.message.includes('--allow-net') }
  },
  'navigator.userAgent': () => navigator.userAgent.startsWith('HBF/'),
  'performance.now': () => performance.now() >= 0,
  'performance.timeOrigin': () => performance.timeOrigin > 1.6e12,
  queueMicrotask: async () => { let ran = false; queueMicrotask(() => { ran = true }); await null; return ran },
  reportError: () => { reportError(new Error('reported, not thrown')); return true },
  self: () => self === globalThis,
  setTimeout: async () => (await new Promise((r) => setTimeout(r, 1, 'fired'))) === 'fired',
  clearTimeout: async () => { let ran = false; clearTimeout(setTimeout(() => { ran = true }, 1)); await new Promise((r) => setTimeout(r, 5)); return !ran },
  setInterval: async () => { let n = 0; await new Promise((r) => { const i = setInterval(() => { if (++n === 2) { clearInterval(i); r() } }, 1) }); return n === 2 },
  clearInterval: async () => { let n = 0; clearInterval(setInterval(() => n++, 1)); await new Promise((r) => setTimeout(r, 5)); return n === 0 },
  structuredClone: () => structuredClone(new Map([[1, 2]])).get(1) === 2,
  'WebAssembly.compile': async () => (await WebAssembly.compile(wasm)) instanceof WebAssembly.Module,
  'WebAssembly.compileStreaming': async () => (await WebAssembly.compileStreaming(new Response(wasm, { headers: { 'content-type': 'application/wasm' } }))) instanceof WebAssembly.Module,
  'WebAssembly.instantiate': async () => (await WebAssembly.instantiate(wasm)).instance instanceof WebAssembly.Instance,
  'WebAssembly.instantiateStreaming': async () => (await WebAssembly.instantiateStreaming(new Response(wasm, { headers: { 'content-type': 'application/wasm' } }))).instance instanceof WebAssembly.Instance,
  'WebAssembly.validate': () => WebAssembly.validate(wasm) && !WebAssembly.validate(new Uint8Array([1, 2])),
}
export default {
  async fetch() {
    const results = {}
    for (const [name, check] of Object.entries(checks)) {
      try { results[name] = (await check()) === true ? 'works' : 'wrong answer' } catch (e) { results[name] = `${e.name}: ${e.message}` }
    }
    return Response.json(results)
  },
}
"#;

#[test]
fn the_minimum_common_api_index() {
    for isolation in [Isolation::Snapshot, Isolation::Worker] {
        let config = EngineConfig {
            isolation,
            isolation_from_pod: false,
            ..EngineConfig::default()
        };
        let mut engine = common::engine(&[("hbf/server.js", SERVER)], config);
        let results = common::json(&mut engine, "/");
        let results = results.as_object().unwrap();
        assert_eq!(results.len(), 64, "the index has 64 names");
        let working: Vec<&String> = results.keys().filter(|k| results[*k] == "works").collect();
        let failing: Vec<String> = results
            .iter()
            .filter(|(_, v)| *v != "works")
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        println!(
            "{isolation:?}: WinterTC Minimum Common API: {} of 64 names work; not yet:\n  {}",
            working.len(),
            failing.join("\n  ")
        );
        for (name, outcome) in results {
            let expected_missing = NOT_YET.iter().any(|(n, _)| n == name);
            match (outcome == "works", expected_missing) {
                (true, true) => panic!("{isolation:?}: {name} works now: remove it from NOT_YET"),
                (false, false) => panic!("{isolation:?}: {name}: {outcome}"),
                _ => {}
            }
        }
        assert_eq!(working.len(), 64 - NOT_YET.len(), "{isolation:?}");
    }
}

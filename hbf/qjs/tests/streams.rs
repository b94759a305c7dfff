//! Streams (issue 24 point 5): the Streams standard's classes
//! (`js/vendor/web-streams-polyfill.mjs`), bodies as streams, the encoding
//! and compression streams (`js/streams.js`, `host/compression.rs`), in both
//! isolation modes, with bad input for each.

mod common;

use std::io::Write;

use hbf_qjs::{EngineConfig, Isolation, JsError, JsRequest};
use serde_json::json;

const SERVER: &str = r#"
const threw = async (f) => {
  try { await f(); return null } catch (e) { return { name: e.name, message: e.message } }
}
const collect = async (stream) => { const out = []; for await (const chunk of stream) out.push(chunk); return out }
const bytesOf = async (stream) => new Uint8Array(await new Response(stream).arrayBuffer())
const routes = {
  '/readable': async () => {
    const source = new ReadableStream({
      start(c) { c.enqueue('a'); c.enqueue('b') },
      pull(c) { c.enqueue('c'); c.close() },
    }, new CountQueuingStrategy({ highWaterMark: 2 }))
    const [left, right] = source.tee()
    const upper = left.pipeThrough(new TransformStream({ transform(chunk, c) { c.enqueue(chunk.toUpperCase()) } }))
    const written = []
    await right.pipeTo(new WritableStream({ write(chunk) { written.push(chunk) } }))
    async function* gen() { yield 1; yield 2 }
    const bytes = new ReadableStream({
      type: 'bytes',
      start(c) { c.enqueue(new Uint8Array([1, 2, 3, 4, 5])); c.close() },
    })
    const byob = bytes.getReader({ mode: 'byob' })
    const first = await byob.read(new Uint8Array(2))
    const locked = new ReadableStream()
    locked.getReader()
    return {
      upper: await collect(upper), written,
      from: await collect(ReadableStream.from([1, 2, 3])), fromGen: await collect(ReadableStream.from(gen())),
      byob: [...first.value], strategy: new ByteLengthQueuingStrategy({ highWaterMark: 8 }).size(new Uint8Array(3)),
      lockedRead: await threw(() => locked.getReader()),
      errored: await threw(() => collect(new ReadableStream({ start(c) { c.error(new RangeError('source broke')) } }))),
      classes: ['ReadableStreamDefaultReader', 'ReadableStreamBYOBReader', 'ReadableStreamDefaultController',
        'ReadableByteStreamController', 'ReadableStreamBYOBRequest', 'WritableStreamDefaultWriter',
        'WritableStreamDefaultController', 'TransformStreamDefaultController'].filter((n) => typeof globalThis[n] !== 'function'),
    }
  },
  '/bodies': async (request) => {
    const incoming = request.body instanceof ReadableStream
    const received = new TextDecoder().decode(await bytesOf(request.body))
    const enc = new TextEncoder()
    const streamed = new Response(new ReadableStream({
      start(c) { c.enqueue(enc.encode('one ')); c.enqueue(enc.encode('two')); c.close() },
    }))
    const copy = streamed.clone()
    const plain = new Response('text body')
    const reader = plain.body.getReader()
    const part = await reader.read()
    const used = new Response('x')
    await used.text()
    const wrongChunk = new Response(new ReadableStream({ start(c) { c.enqueue('a string'); c.close() } }))
    const held = new Response(new ReadableStream())
    held.body.getReader()
    return {
      incoming, received, bodyUsed: request.bodyUsed,
      streamed: await streamed.text(), copy: await copy.text(), streamedUsed: streamed.bodyUsed,
      plain: [new TextDecoder().decode(part.value), plain.bodyUsed],
      nullBody: new Response(null).body, usedAgain: await threw(() => used.text()),
      wrongChunk: await threw(() => wrongChunk.text()), locked: await threw(() => held.text()),
      noDuplex: await threw(() => new Request('http://x/', { method: 'POST', body: new ReadableStream() })),
      duplex: new Request('http://x/', { method: 'POST', body: new ReadableStream({ start(c) { c.close() } }), duplex: 'half' }).duplex,
      blobStream: new TextDecoder().decode(await bytesOf(new Blob(['from a blob']).stream())),
    }
  },
  '/text-streams': async () => {
    const encoder = new TextEncoderStream()
    const writer = encoder.writable.getWriter()
    const out = collect(encoder.readable)
    writer.write('a\ud83d'); writer.write('\ude00b'); writer.write('\ud800'); writer.close()
    const encoded = (await out).flatMap((c) => [...c])
    const decoder = new TextDecoderStream()
    const w2 = decoder.writable.getWriter()
    const out2 = collect(decoder.readable)
    const euro = new TextEncoder().encode('€!')
    w2.write(euro.subarray(0, 1)); w2.write(euro.subarray(1, 3)); w2.write(euro.subarray(3)); w2.close()
    const fatal = new TextDecoderStream('utf-8', { fatal: true })
    const w3 = fatal.writable.getWriter()
    w3.write(new Uint8Array([0xff])).catch(() => {}); w3.close().catch(() => {})
    return {
      encoded, decoded: (await out2).join(''), labels: [decoder.encoding, new TextDecoderStream('latin1').encoding, fatal.fatal],
      fatal: await threw(() => collect(fatal.readable)),
      notBytes: await threw(async () => { const d = new TextDecoderStream(); const w = d.writable.getWriter(); w.write('text').catch(() => {}); await collect(d.readable) }),
    }
  },
  '/compression': async () => {
    const text = 'compress me, compress me, compress me! '.repeat(200)
    const results = {}
    for (const format of ['gzip', 'deflate', 'deflate-raw']) {
      const packed = await bytesOf(new Blob([text]).stream().pipeThrough(new CompressionStream(format)))
      const unpacked = await new Response(new Blob([packed]).stream().pipeThrough(new DecompressionStream(format))).text()
      results[format] = [packed.length < text.length / 4, unpacked === text]
    }
    return results
  },
  // The request body is compressed data in the format named by the query.
  '/inflate': async (request) => {
    const format = new URL(request.url).search.slice(1)
    const chunks = await collect(request.body.pipeThrough(new DecompressionStream(format)))
    return { chunks: chunks.length, largest: Math.max(0, ...chunks.map((c) => c.length)), total: chunks.reduce((n, c) => n + c.length, 0) }
  },
  '/inflate-caught': async (request) => threw(() => collect(request.body.pipeThrough(new DecompressionStream(new URL(request.url).search.slice(1))))),
  '/bad-format': async () => [await threw(() => new CompressionStream('brotli')), await threw(() => new DecompressionStream())],
  '/keep': async () => { globalThis.kept = new CompressionStream('gzip'); return {} },
  '/use-kept': async () => threw(async () => {
    const w = globalThis.kept.writable.getWriter()
    w.write(new Uint8Array([1])).catch(() => {})
    await collect(globalThis.kept.readable)
  }),
  '/endless': async () => new Response(new ReadableStream({ pull(c) { return new Promise((r) => setTimeout(r, 10)).then(() => c.enqueue(new Uint8Array(1))) } })),
}
export default {
  async fetch(request) {
    const result = await routes[new URL(request.url).pathname](request)
    return result instanceof Response ? result : Response.json(result)
  },
}
"#;

fn each_mode(check: impl Fn(&mut hbf_qjs::Engine, Isolation)) {
    for isolation in [Isolation::Snapshot, Isolation::Worker] {
        let config = EngineConfig {
            isolation,
            isolation_from_pod: false,
            timeout: common::deadline(2000),
            wall_timeout: common::deadline(2000),
            ..EngineConfig::default()
        };
        let mut engine = common::engine(&[("hbf/server.js", SERVER)], config);
        check(&mut engine, isolation);
    }
}

fn post(path: &str, body: &[u8]) -> JsRequest {
    JsRequest {
        method: "POST".into(),
        url: format!("http://localhost{path}"),
        body: body.to_vec(),
        ..common::get(path.split('?').next().unwrap())
    }
}

fn answer(engine: &mut hbf_qjs::Engine, request: &JsRequest) -> serde_json::Value {
    let response = engine.handle(request).unwrap();
    assert_eq!(
        response.status,
        200.0,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    serde_json::from_slice(&response.body).unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn readable_writable_and_transform_streams_work_as_the_standard_says() {
    each_mode(|e, mode| {
        assert_eq!(
            common::json(e, "/readable"),
            json!({
                "upper": ["A", "B", "C"], "written": ["a", "b", "c"],
                "from": [1, 2, 3], "fromGen": [1, 2], "byob": [1, 2], "strategy": 3,
                "lockedRead": {"name": "TypeError", "message": "This stream has already been locked for exclusive reading by another reader"},
                "errored": {"name": "RangeError", "message": "source broke"},
                "classes": [],
            }),
            "{mode:?}"
        );
    });
}

#[test]
fn request_and_response_bodies_are_streams() {
    each_mode(|e, mode| {
        let found = answer(e, &post("/bodies", b"uploaded bytes"));
        assert_eq!(
            found,
            json!({
                "incoming": true, "received": "uploaded bytes", "bodyUsed": true,
                "streamed": "one two", "copy": "one two", "streamedUsed": true,
                "plain": ["text body", true], "nullBody": null,
                "usedAgain": {"name": "TypeError", "message": "body has already been read"},
                "wrongChunk": {"name": "TypeError", "message": "a body stream must give Uint8Array chunks"},
                "locked": {"name": "TypeError", "message": "the body stream is locked by a reader"},
                "noDuplex": {"name": "TypeError", "message": "a request with a stream body needs duplex: 'half'"},
                "duplex": "half",
                "blobStream": "from a blob",
            }),
            "{mode:?}"
        );
    });
}

#[test]
fn text_encoder_and_decoder_streams_keep_characters_whole() {
    each_mode(|e, mode| {
        let found = common::json(e, "/text-streams");
        assert_eq!(
            found["encoded"],
            json!([0x61, 0xf0, 0x9f, 0x98, 0x80, 0x62, 0xef, 0xbf, 0xbd]),
            "{mode:?}"
        );
        assert_eq!(found["decoded"], "€!", "{mode:?}");
        assert_eq!(
            found["labels"],
            json!(["utf-8", "windows-1252", true]),
            "{mode:?}"
        );
        assert_eq!(found["fatal"]["name"], "TypeError", "{mode:?}: {found}");
        assert_eq!(found["notBytes"]["name"], "TypeError", "{mode:?}: {found}");
    });
}

#[test]
fn compression_streams_round_trip_and_refuse_bad_data() {
    let text = b"HBF inflates this. ".repeat(1000);
    let packed = gzip(&text);
    let bomb = gzip(&vec![0u8; 8 << 20]); // 8 MiB of zeros in about 8 KB
    each_mode(|e, mode| {
        assert_eq!(
            common::json(e, "/compression"),
            json!({"gzip": [true, true], "deflate": [true, true], "deflate-raw": [true, true]}),
            "{mode:?}"
        );
        let inflated = answer(e, &post("/inflate?gzip", &packed));
        assert_eq!(inflated["total"], text.len(), "{mode:?}");
        // A small chunk that inflates a lot comes out in pieces of at most 64 KiB.
        let bomb_out = answer(e, &post("/inflate?gzip", &bomb));
        assert_eq!(bomb_out["total"], 8 << 20, "{mode:?}");
        assert!(
            bomb_out["largest"].as_u64().unwrap() <= 64 * 1024 + 1024,
            "{mode:?}: {bomb_out}"
        );
        let corrupt = [&packed[..20], b"garbage garbage garbage", &packed[20..]].concat();
        let truncated = &packed[..packed.len() - 4];
        let junk = [packed.as_slice(), b"trailing junk"].concat();
        for (what, body) in [
            ("corrupt", &corrupt[..]),
            ("truncated", truncated),
            ("junk", &junk[..]),
            ("not gzip", b"plain text"),
        ] {
            let caught = answer(e, &post("/inflate-caught?gzip", body));
            assert_eq!(caught["name"], "TypeError", "{mode:?} {what}: {caught}");
        }
        assert_eq!(
            common::json(e, "/bad-format"),
            json!([
                {"name": "TypeError", "message": "CompressionStream: 'brotli' is not a supported format (gzip, deflate, deflate-raw)"},
                {"name": "TypeError", "message": "DecompressionStream needs a format"},
            ]),
            "{mode:?}"
        );
    });
}

#[test]
fn a_compression_stream_ends_with_its_request() {
    let config = EngineConfig {
        isolation: Isolation::Worker,
        isolation_from_pod: false,
        ..EngineConfig::default()
    };
    let mut e = common::engine(&[("hbf/server.js", SERVER)], config);
    common::json(&mut e, "/keep");
    let caught = common::json(&mut e, "/use-kept");
    assert_eq!(
        caught,
        json!({"name": "TypeError", "message": "this compression stream ended with the request that made it"})
    );
}

#[test]
fn a_stream_that_never_ends_is_the_deadline_and_the_worker_serves_on() {
    each_mode(|e, mode| {
        let error = e.handle(&common::get("/endless")).unwrap_err();
        // It waits on a timer between chunks: the wall-clock limit ends it.
        assert!(
            matches!(error, JsError::WallTimeout(_)),
            "{mode:?}: {error}"
        );
        assert_eq!(
            common::json(e, "/bad-format")[0]["name"],
            "TypeError",
            "{mode:?}"
        );
    });
}

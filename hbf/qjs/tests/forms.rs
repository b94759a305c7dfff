//! Blob, File, FormData and form bodies (`js/forms.js`, the multipart parser
//! in `host/multipart.rs`), in both isolation modes: what each does as the
//! File API and Fetch say, and the TypeError a handler can catch for bad input.

mod common;

use hbf_qjs::{EngineConfig, Isolation, JsRequest};
use serde_json::json;

/// A fetch-style pod: each route answers JSON with what it found.
const SERVER: &str = r#"
const threw = async (f) => {
  try { await f(); return null } catch (e) { return { name: e.name, message: e.message } }
}
const routes = {
  '/blob': async () => {
    const blob = new Blob(['héllo ', new Uint8Array([0x77, 0x6f]), new Blob(['rld'])], { type: 'Text/Plain' })
    const file = new File(['abc'], 'a.txt', { type: 'text/plain', lastModified: 42 })
    const native = new Blob(['a\r\nb\rc\n'], { endings: 'native' })
    const slice = blob.slice(-5, -1, 'x/y')
    const bytes = await blob.bytes()
    bytes[0] = 0 // a copy: the blob keeps its bytes
    return {
      size: blob.size, type: blob.type, text: await blob.text(), again: await blob.text(),
      slice: [await slice.text(), slice.type, slice.size], emptySlice: blob.slice(5, 2).size,
      buffer: (await blob.arrayBuffer()).byteLength,
      file: [file.name, file.size, file.type, file.lastModified, file instanceof Blob, String(file)],
      native: await native.text(), badType: new Blob([], { type: 'a\u00e9' }).type,
      notSequence: await threw(() => new Blob('abc')),
      badEndings: await threw(() => new Blob([], { endings: 'dos' })),
      noName: await threw(() => new File(['x'])),
    }
  },
  '/form-data': async () => {
    const form = new FormData()
    form.append('a', '1')
    form.append('a', '2')
    form.append('f', new Blob(['xyz'], { type: 'text/csv' }))
    form.append('g', new File(['q'], 'q.bin'), 'renamed.bin')
    form.set('b', 'only')
    form.set('a', '3')
    const f = form.get('f')
    return {
      entries: [...form].map(([k, v]) => [k, typeof v === 'string' ? v : [v.constructor.name, v.name, v.type]]),
      getAll: form.getAll('a'), has: [form.has('b'), form.has('zz')], missing: form.get('zz'),
      fileText: await f.text(),
      afterDelete: (form.delete('a'), [...form.keys()]),
      fileNameOnString: await threw(() => form.append('s', 'v', 'name.txt')),
      fromForm: await threw(() => new FormData({})),
    }
  },
  // A FormData body goes out as multipart and comes back the same.
  '/round-trip': async () => {
    const form = new FormData()
    form.append('name', 'Ada "the" Lovelace\nline')
    form.append('upload', new File([new Uint8Array([0, 1, 2, 255])], 'data.bin', { type: 'application/octet-stream' }))
    const response = new Response(form)
    const type = response.headers.get('content-type')
    const back = await response.formData()
    const upload = back.get('upload')
    const params = new Request('http://x/', { method: 'POST', body: new URLSearchParams('a=1&b=%C3%A9+x') })
    const blobBody = new Response(new Blob(['{"k":1}'], { type: 'application/json' }))
    return {
      multipart: type.startsWith('multipart/form-data; boundary='),
      name: back.get('name'), upload: [upload.name, upload.type, [...(await upload.bytes())]],
      urlencoded: [...(await params.formData())],
      blobBody: [blobBody.headers.get('content-type'), await blobBody.json()],
      asBlob: await (async () => { const b = await new Response('hi', { headers: { 'content-type': 'text/x' } }).blob(); return [b.type, await b.text()] })(),
      wrongType: await threw(() => new Response('a=1').formData()),
      noBoundary: await threw(() => new Response('x', { headers: { 'content-type': 'multipart/form-data' } }).formData()),
      error: [Response.error().status, Response.error().type, Response.error().clone().type],
    }
  },
  // The request's own body, as a form (multipart or urlencoded).
  '/upload': async (request) => {
    const form = await request.formData()
    const out = []
    for (const [k, v] of form) out.push([k, typeof v === 'string' ? v : [v.name, v.type, await v.text()]])
    return out
  },
  '/upload-caught': async (request) => threw(() => request.formData()),
}
export default {
  async fetch(request) {
    const path = new URL(request.url).pathname
    return Response.json(await routes[path](request))
  },
}
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

fn post(path: &str, content_type: &str, body: &[u8]) -> JsRequest {
    JsRequest {
        method: "POST".into(),
        headers: vec![("content-type".into(), content_type.into())],
        body: body.to_vec(),
        ..common::get(path)
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

#[test]
fn blobs_and_files_hold_their_bytes() {
    each_mode(|e| {
        assert_eq!(
            common::json(e, "/blob"),
            json!({
                "size": 12, "type": "text/plain", "text": "héllo world", "again": "héllo world",
                "slice": ["worl", "x/y", 4], "emptySlice": 0, "buffer": 12,
                "file": ["a.txt", 3, "text/plain", 42, true, "[object File]"],
                "native": "a\nb\nc\n", "badType": "",
                "notSequence": {"name": "TypeError", "message": "Blob: the parts must be a sequence (an array or another iterable)"},
                "badEndings": {"name": "TypeError", "message": "Blob: endings must be 'transparent' or 'native', got 'dos'"},
                "noName": {"name": "TypeError", "message": "File: a file needs its bits and a name"},
            })
        );
    });
}

#[test]
fn form_data_keeps_entries_in_order() {
    each_mode(|e| {
        assert_eq!(
            common::json(e, "/form-data"),
            json!({
                "entries": [["a", "3"], ["f", ["File", "blob", "text/csv"]], ["g", ["File", "renamed.bin", ""]], ["b", "only"]],
                "getAll": ["3"], "has": [true, false], "missing": null, "fileText": "xyz",
                "afterDelete": ["f", "g", "b"],
                "fileNameOnString": {"name": "TypeError", "message": "FormData: a file name is only for a Blob value"},
                "fromForm": {"name": "TypeError", "message": "FormData: there are no HTML forms here; construct it empty"},
            })
        );
    });
}

#[test]
fn bodies_are_blobs_and_forms_both_ways() {
    each_mode(|e| {
        assert_eq!(
            common::json(e, "/round-trip"),
            json!({
                "multipart": true,
                "name": "Ada \"the\" Lovelace\r\nline",
                "upload": ["data.bin", "application/octet-stream", [0, 1, 2, 255]],
                "urlencoded": [["a", "1"], ["b", "é x"]],
                "blobBody": ["application/json", {"k": 1}],
                "asBlob": ["text/x", "hi"],
                "wrongType": {"name": "TypeError", "message": "formData(): the body's Content-Type must be multipart/form-data or application/x-www-form-urlencoded, not 'text/plain'"},
                "noBoundary": {"name": "TypeError", "message": "formData(): the multipart/form-data Content-Type has no boundary"},
                "error": [0, "error", "error"],
            })
        );
    });
}

#[test]
fn a_request_body_parses_as_a_form() {
    let multipart = b"--b0undary\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nh\xc3\xa9llo\r\n\
--b0undary\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"notes.txt\"\r\nContent-Type: text/plain\r\n\r\nline 1\r\nline 2\r\n--b0undary--\r\n";
    each_mode(|e| {
        assert_eq!(
            answer(
                e,
                &post(
                    "/upload",
                    "multipart/form-data; boundary=b0undary",
                    multipart
                )
            ),
            json!([
                ["title", "héllo"],
                ["doc", ["notes.txt", "text/plain", "line 1\r\nline 2"]]
            ])
        );
        assert_eq!(
            answer(
                e,
                &post(
                    "/upload",
                    "multipart/form-data; boundary=\"b0undary\"",
                    multipart
                )
            ),
            json!([
                ["title", "héllo"],
                ["doc", ["notes.txt", "text/plain", "line 1\r\nline 2"]]
            ])
        );
        assert_eq!(
            answer(
                e,
                &post(
                    "/upload",
                    "application/x-www-form-urlencoded",
                    b"q=a+b&q=%E2%82%AC&empty="
                )
            ),
            json!([["q", "a b"], ["q", "€"], ["empty", ""]])
        );
    });
}

#[test]
fn a_malformed_multipart_body_is_a_type_error_the_handler_catches() {
    let cut = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end";
    let nameless = b"--XyZ\r\nContent-Type: text/plain\r\n\r\none\r\n--XyZ--\r\n";
    let garbage = b"\x00\xff not multipart at all";
    each_mode(|e| {
        for body in [&cut[..], &nameless[..], &garbage[..]] {
            let caught = answer(
                e,
                &post("/upload-caught", "multipart/form-data; boundary=XyZ", body),
            );
            assert_eq!(caught["name"], "TypeError", "{caught}");
            assert!(
                caught["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("malformed multipart/form-data body: "),
                "{caught}"
            );
        }
        // Uncaught, it is the request's error, and the worker serves on.
        let response = e
            .handle(&post("/upload", "multipart/form-data; boundary=XyZ", cut))
            .unwrap_err();
        assert!(
            response
                .to_string()
                .contains("malformed multipart/form-data body"),
            "{response}"
        );
        assert_eq!(common::json(e, "/form-data")["has"], json!([true, false]));
    });
}

//! A restored snapshot forgets everything a request made in the JavaScript
//! heap without running a finalizer, so nothing a request makes may own Rust
//! memory (an `ArrayBuffer` over a `Vec`, a host function's closure): it
//! would never be freed. This counts the live bytes of the Rust heap around
//! thousands of requests that move binary data both ways. (Its own test
//! binary: the count is process-wide.)

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use common::engine;
use hbf_qjs::{EngineConfig, Isolation, JsRequest};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is passed on to the system allocator unchanged; the
// counter is only arithmetic.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's layout, passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const SERVER: &str = r#"
import { query, execute } from 'hbf:db'
import { read, readBytes, write } from 'hbf:fs'
execute('create table if not exists t (b blob)')
globalThis.app = {
  handle(req, res) {
    const body = req.bodyBytes ?? new Uint8Array(0)
    const encoded = new TextEncoder().encode('x'.repeat(2048))
    const blob = query('select zeroblob(4096) as b')[0].b
    const file = readBytes('static/data.bin')
    globalThis.keep = [body, encoded, blob, file]
    res.json({ sizes: [body.length, encoded.length, blob.length, file.length] })
  },
}
"#;

fn post(body: Vec<u8>) -> JsRequest {
    JsRequest {
        id: 1,
        method: "POST".into(),
        url: "http://localhost/".into(),
        path: "/".into(),
        query: String::new(),
        headers: vec![("content-type".into(), "application/octet-stream".into())],
        body,
    }
}

#[test]
fn requests_leave_nothing_on_the_rust_heap() {
    let data = "d".repeat(8192);
    let mut e = engine(
        &[
            ("hbf/server.js", SERVER),
            ("static/data.bin", data.as_str()),
        ],
        EngineConfig::default(),
    );
    assert_eq!(e.isolation(), Isolation::Snapshot);
    let mut serve = |n: usize| {
        for _ in 0..n {
            let answer = e.handle(&post(vec![7; 4096])).unwrap();
            assert_eq!(answer.body, br#"{"sizes":[4096,2048,4096,8192]}"#);
        }
    };
    // Caches fill (statements, compiled modules) before the count starts.
    serve(200);
    let before = LIVE.load(Ordering::Relaxed);
    serve(2000);
    let grown = LIVE.load(Ordering::Relaxed) - before;
    // 2,000 requests of ~18 KB of binary data each: a leak would be ~36 MB.
    assert!(grown < 256 << 10, "the Rust heap grew by {grown} bytes");
}

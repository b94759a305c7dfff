//! `GET`/`HEAD /static/**`: the latest version of `static/**` files from the
//! versioned filesystem.
//!
//! Responses carry a content type from the file's extension, an `ETag` (the
//! content's SHA-256, so it changes exactly when the content does),
//! `Last-Modified` (when the modification time is known: files packed without
//! `SOURCE_DATE_EPOCH` are stored with time 0, which would claim 1970), and
//! `Cache-Control: no-cache`: browsers may keep a copy but must revalidate it,
//! which costs a `304 Not Modified` when nothing changed and shows a live edit
//! at once. `If-None-Match`, `If-Modified-Since`, single-range `Range` requests
//! (with `If-Range`) and `HEAD` are supported; other methods get `405`.
//!
//! Memory stays bounded whatever the files' sizes and the number of clients:
//!
//! * Files up to [`STREAM_THRESHOLD`] are read whole and may be kept in the
//!   in-memory cache (`cache`), which holds at most [`CACHE_TOTAL_LIMIT`]
//!   bytes. The cache is dropped whenever the database's write generation
//!   moves, so a write is visible on the next request.
//! * Larger files are never read whole nor cached: they are streamed
//!   ([`crate::stored`]). A `Range` reads only its bytes.
//!
//! TypeScript and JSX (`.ts`, `.mts`, `.tsx`, `.jsx`) are served two ways, told
//! apart by `Sec-Fetch-Dest`, which browsers send with every request: to a
//! module script or a worker (`script`, `worker`, `sharedworker`,
//! `serviceworker`) as JavaScript (`text/javascript`), transformed as the server
//! transforms its own modules (with `hbf/tsconfig.json`'s settings), so a page
//! and the server can share code as with Deno's and Bun's dev servers; to
//! anything else (a `fetch`, a tab, curl) as the source, `text/plain`. Both
//! answers say `Vary: Sec-Fetch-Dest`, and the JavaScript has its own `ETag`.
//! The transform is kept per source and settings, so it runs once per edit
//! (`script`). A
//! file that does not transform is a `500` whose text names file, line and
//! column. The browser resolves its imports itself: name them with their
//! extension (`./lib.ts`), or as the compiled file TypeScript's rule expects
//! (`./lib.js`: a module script asking for a `.js`, `.mjs` or `.jsx` file
//! that does not exist gets its TypeScript source, transformed, as the
//! server's loader does), and give JSX an import source the page's import
//! map maps (`hbf:jsx` is the server's).

//!
//! | module | job |
//! |---|---|
//! | here | [`serve`]: the path, which answer, the response with its validators and range |
//! | `cache` | [`StaticCache`]: small files in memory |
//! | `script` | TypeScript and JSX for module scripts |

mod cache;
mod script;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hbf_db::FileReader;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use percent_encoding::percent_decode_str;

use crate::conditional::{self, RangeRequest};
use crate::respond::{Body, HttpError, HttpResponse};
use crate::App;

use cache::StaticFile;
pub use cache::{StaticCache, CACHE_TOTAL_LIMIT};

/// Files up to this size are read whole (and may be cached); larger ones are
/// streamed.
pub const STREAM_THRESHOLD: u64 = 1 << 20;

/// What a response says about a file, whatever holds its bytes.
struct FileMeta {
    len: u64,
    etag: HeaderValue,
    /// `None` when the modification time is unknown (stored as 0).
    last_modified: Option<HeaderValue>,
    mtime: Option<SystemTime>,
    content_type: &'static str,
    /// The answer depends on `Sec-Fetch-Dest` (TypeScript and JSX files).
    vary: bool,
}

impl FileMeta {
    fn new(path: &str, meta: &hbf_db::FileVersion) -> Self {
        let hash = meta.sha256_hex().unwrap_or_default();
        let mtime =
            (meta.mtime_ms > 0).then(|| UNIX_EPOCH + Duration::from_millis(meta.mtime_ms as u64));
        Self {
            len: meta.size,
            etag: HeaderValue::from_str(&format!("\"{hash}\"")).expect("hex is a valid header"),
            last_modified: mtime.map(|t| {
                HeaderValue::from_str(&httpdate::fmt_http_date(t))
                    .expect("an HTTP date is a valid header")
            }),
            mtime,
            content_type: crate::mime::content_type(path),
            vary: hbf_qjs::ts::is_transformed(path),
        }
    }
}

/// Serves `/static/<raw_rest>`.
pub fn serve<B>(
    app: &App,
    request: &Request<B>,
    raw_rest: &str,
) -> Result<HttpResponse, HttpError> {
    let method = request.method();
    if method != Method::GET && method != Method::HEAD {
        return Err(HttpError::MethodNotAllowed {
            allow: "GET, HEAD",
            message: "static files allow GET and HEAD",
        });
    }
    let Ok(decoded) = percent_decode_str(raw_rest).decode_utf8() else {
        return Err(HttpError::BadRequest("the path is not valid UTF-8".into()));
    };
    let path = match hbf_db::path::normalize(&format!("static/{decoded}")) {
        Ok(path) if path.starts_with("static/") => path,
        _ => return Err(HttpError::BadRequest("invalid static file path".into())),
    };
    if hbf_qjs::ts::is_transformed(&path) && runs_as_script(request.headers()) {
        return script::serve(app, &path, request.headers());
    }
    let generation = app.db.generation();
    if let Some(file) = app.static_cache.get(&path, generation) {
        return respond_with(&file.meta, Content::Memory(&file.data), request.headers());
    }
    let reader = match app.db.fs().open(&path) {
        Ok(reader) => reader,
        Err(e) if e.is_not_found() && runs_as_script(request.headers()) => {
            // A module script named as its compiled file (`./util.js`) whose
            // TypeScript source is what the pod holds: TypeScript's own rule,
            // as the server's loader follows it.
            for source in hbf_qjs::typescript_source_candidates(&path) {
                match script::serve(app, &source, request.headers()) {
                    Err(HttpError::NoSuchFile(_)) => continue,
                    answer => return answer,
                }
            }
            return Err(e.into());
        }
        Err(e) => return Err(e.into()),
    };
    let meta = FileMeta::new(&path, reader.meta());
    if meta.len > STREAM_THRESHOLD {
        let content = Content::Stored {
            reader,
            reads: &app.stored_reads,
        };
        return respond_with(&meta, content, request.headers());
    }
    let file = match reader.read_all() {
        Ok(data) => Arc::new(StaticFile {
            meta,
            data: Bytes::from(data),
        }),
        Err(e) => return Err(e.into()),
    };
    app.static_cache
        .put(path.clone(), Arc::clone(&file), generation);
    respond_with(&file.meta, Content::Memory(&file.data), request.headers())
}

/// True when the request loads a script: the destinations a browser executes
/// as JavaScript.
fn runs_as_script(headers: &HeaderMap) -> bool {
    matches!(
        headers.get("sec-fetch-dest").and_then(|v| v.to_str().ok()),
        Some("script" | "worker" | "sharedworker" | "serviceworker")
    )
}

/// Where a response's bytes come from.
enum Content<'a> {
    Memory(&'a Bytes),
    /// Streamed from the database, piece by piece.
    Stored {
        reader: FileReader,
        reads: &'a crate::stored::Reads,
    },
}

impl Content<'_> {
    /// The body for bytes `start..end`.
    fn body(self, start: u64, end: u64) -> Body {
        match self {
            Content::Memory(data) => Body::full(data.slice(start as usize..end as usize)),
            Content::Stored { reader, reads } => reads.body(reader, start, end),
        }
    }
}

/// The answer for `file`: `304`, `206` for a range, `416`, or the whole file.
fn respond_with(
    file: &FileMeta,
    content: Content<'_>,
    headers: &HeaderMap,
) -> Result<HttpResponse, HttpError> {
    let base = |status: StatusCode, body: Body| {
        let mut r = Response::new(body);
        *r.status_mut() = status;
        let h = r.headers_mut();
        h.insert(header::ETAG, file.etag.clone());
        if let Some(last_modified) = &file.last_modified {
            h.insert(header::LAST_MODIFIED, last_modified.clone());
        }
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        if file.vary {
            h.insert(header::VARY, HeaderValue::from_static("Sec-Fetch-Dest"));
        }
        r
    };
    if conditional::not_modified(headers, &file.etag, file.mtime) {
        return Ok(base(StatusCode::NOT_MODIFIED, Body::full(Bytes::new())));
    }
    let len = file.len;
    let (status, (start, end), content_range) = match conditional::range(headers, len, &file.etag) {
        RangeRequest::Whole => (StatusCode::OK, (0, len), None),
        RangeRequest::Satisfiable(first, last) => (
            StatusCode::PARTIAL_CONTENT,
            (first, last + 1),
            Some(format!("bytes {first}-{last}/{len}")),
        ),
        RangeRequest::Unsatisfiable => return Err(HttpError::RangeNotSatisfiable { len }),
    };
    let mut r = base(status, content.body(start, end));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(file.content_type),
    );
    if let Some(cr) = content_range {
        r.headers_mut().insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&cr).expect("valid header"),
        );
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_modification_time_sends_no_last_modified_and_ignores_if_modified_since() {
        let file = cache::tests::small_file(&Bytes::from_static(b"x"));
        assert!(file.meta.last_modified.is_none());
        let mut headers = HeaderMap::new();
        headers.insert(
            header::IF_MODIFIED_SINCE,
            HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"),
        );
        let r = respond_with(&file.meta, Content::Memory(&file.data), &headers).unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(!r.headers().contains_key(header::LAST_MODIFIED));
    }
}

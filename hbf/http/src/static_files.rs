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
//!   in-memory cache, which holds at most [`CACHE_TOTAL_LIMIT`] bytes. The cache
//!   is dropped whenever the database's write generation moves, so a write is
//!   visible on the next request.
//! * Larger files are never read whole nor cached: they are streamed in
//!   [`CHUNK`]-sized pieces read by offset (SQLite incremental BLOB I/O), each on
//!   a blocking thread, one piece ahead of what the client has taken (so a
//!   response holds at most three pieces: the one hyper is writing, one waiting,
//!   one being read; the kernel's socket buffers hold more, outside the
//!   process), at most [`STREAM_READS_AT_ONCE`] pieces
//!   being read at once across all responses, and no more once the client has
//!   gone. A `Range` reads only its bytes. The response is pinned to the version
//!   it started with (see [`hbf_db::FileReader`]).
//!
//! TypeScript and JSX (`.ts`, `.mts`, `.tsx`, `.jsx`) are served two ways, told
//! apart by `Sec-Fetch-Dest`, which browsers send with every request: to a
//! module script or a worker (`script`, `worker`, `sharedworker`,
//! `serviceworker`) as JavaScript (`text/javascript`), transformed as the server
//! transforms its own modules (with `hbf/tsconfig.json`'s settings), so a page
//! and the server can share code as with Deno's and Bun's dev servers; to
//! anything else (a `fetch`, a tab, curl) as the source, `text/plain`. Both
//! answers say `Vary: Sec-Fetch-Dest`, and the JavaScript has its own `ETag`.
//! The transform is kept per source and settings, so it runs once per edit. A
//! file that does not transform is a `500` whose text names file, line and
//! column. The browser resolves its imports itself: name them with their
//! extension (`./lib.ts`), or as the compiled file TypeScript's rule expects
//! (`./lib.js`: a module script asking for a `.js`, `.mjs` or `.jsx` file
//! that does not exist gets its TypeScript source, transformed, as the
//! server's loader does), and give JSX an import source the page's import
//! map maps (`hbf:jsx` is the server's).

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hbf_db::FileReader;
use hyper::body::{Frame, SizeHint};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use percent_encoding::percent_decode_str;
use tokio::sync::{mpsc, Semaphore};

use crate::respond::{Body, HttpError, HttpResponse};
use crate::App;

/// Files up to this size are read whole (and may be cached); larger ones are
/// streamed.
pub const STREAM_THRESHOLD: u64 = 1 << 20;
/// The cache holds at most this many bytes of file content; it is emptied when
/// a file would not fit.
pub const CACHE_TOTAL_LIMIT: usize = 64 << 20;
/// The size of one piece of a streamed file.
pub const CHUNK: usize = 256 << 10;
/// Pieces of streamed files read at once, across all responses: each read takes
/// a blocking thread and a reader connection, so many slow downloads cannot
/// occupy every one of them.
pub const STREAM_READS_AT_ONCE: usize = 4;

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
            content_type: content_type(path),
            vary: hbf_qjs::ts::is_transformed(path),
        }
    }
}

/// One small file, read whole.
pub struct StaticFile {
    meta: FileMeta,
    data: Bytes,
}

/// A TypeScript or JSX file's JavaScript, and the key it was made for.
type Transformed = ([u8; 32], Arc<StaticFile>);

/// The in-memory cache of small static files, and the bound on streamed reads.
pub struct StaticCache {
    state: Mutex<CacheState>,
    stream_reads: Arc<Semaphore>,
    /// TypeScript and JSX files as JavaScript, by path: the latest transform
    /// and its key ([`hbf_qjs::module_key`]).
    transformed: Mutex<HashMap<String, Transformed>>,
    /// `hbf/tsconfig.json`'s settings, and the hash of the text they came from.
    ts_options: Mutex<Option<(Option<[u8; 32]>, hbf_qjs::ts::Options)>>,
}

impl Default for StaticCache {
    fn default() -> Self {
        Self {
            state: Mutex::default(),
            stream_reads: Arc::new(Semaphore::new(STREAM_READS_AT_ONCE)),
            transformed: Mutex::default(),
            ts_options: Mutex::default(),
        }
    }
}

#[derive(Default)]
struct CacheState {
    generation: u64,
    files: HashMap<String, Arc<StaticFile>>,
    /// The sum of the cached files' sizes; never above [`CACHE_TOTAL_LIMIT`].
    bytes: usize,
}

impl CacheState {
    fn clear(&mut self) {
        self.files.clear();
        self.bytes = 0;
    }
}

impl StaticCache {
    fn get(&self, path: &str, generation: u64) -> Option<Arc<StaticFile>> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.generation != generation {
            // Only forward: a request that read the generation before a write
            // and got here late must not bring an older generation back.
            if generation > state.generation {
                state.clear();
                state.generation = generation;
            }
            return None;
        }
        state.files.get(path).cloned()
    }

    fn put(&self, path: String, file: Arc<StaticFile>, generation: u64) {
        let len = file.data.len();
        if len as u64 > STREAM_THRESHOLD {
            return;
        }
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.generation != generation {
            return; // written meanwhile: this copy may be stale
        }
        // Two requests that missed at once both put: the second replaces the
        // first, whose bytes no longer count.
        if let Some(old) = state.files.remove(&path) {
            state.bytes -= old.data.len();
        }
        if state.bytes + len > CACHE_TOTAL_LIMIT {
            state.clear();
        }
        state.bytes += len;
        state.files.insert(path, file);
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
        return serve_as_javascript(app, &path, request.headers());
    }
    let generation = app.db.generation();
    if let Some(file) = app.static_cache.get(&path, generation) {
        return respond_with(&file.meta, Content::Memory(&file.data), request.headers());
    }
    let failed = |e: hbf_db::Error| {
        if e.is_not_found() {
            HttpError::NotFound("no such static file")
        } else {
            HttpError::Internal(format!("cannot read {path}: {e}"))
        }
    };
    let reader = match app.db.fs().open(&path) {
        Ok(reader) => reader,
        Err(e) if e.is_not_found() && runs_as_script(request.headers()) => {
            // A module script named as its compiled file (`./util.js`) whose
            // TypeScript source is what the pod holds: TypeScript's own rule,
            // as the server's loader follows it.
            for source in hbf_qjs::typescript_source_candidates(&path) {
                match serve_as_javascript(app, &source, request.headers()) {
                    Err(HttpError::NotFound(_)) => continue,
                    answer => return answer,
                }
            }
            return Err(failed(e));
        }
        Err(e) => return Err(failed(e)),
    };
    let meta = FileMeta::new(&path, reader.meta());
    if meta.len > STREAM_THRESHOLD {
        let content = Content::Stored {
            reader,
            reads: &app.static_cache.stream_reads,
        };
        return respond_with(&meta, content, request.headers());
    }
    let file = match reader.read_all() {
        Ok(data) => Arc::new(StaticFile {
            meta,
            data: Bytes::from(data),
        }),
        Err(e) => return Err(failed(e)),
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

/// A TypeScript or JSX file for a module script: transformed to JavaScript,
/// once per source and settings.
fn serve_as_javascript(
    app: &App,
    path: &str,
    headers: &HeaderMap,
) -> Result<HttpResponse, HttpError> {
    let fs = app.db.fs();
    let failed = |e: hbf_db::Error| {
        if e.is_not_found() {
            HttpError::NotFound("no such static file")
        } else {
            HttpError::Internal(format!("cannot read {path}: {e}"))
        }
    };
    let meta = fs.stat(path).map_err(failed)?;
    let Some(sha) = meta.sha256 else {
        return Err(HttpError::NotFound("no such static file"));
    };
    let options = match app.static_cache.ts_options(app) {
        Ok(options) => options,
        Err(e) => return Ok(untransformable(&e.to_string())),
    };
    let key = hbf_qjs::module_key(path, sha, &options);
    let cached = lock(&app.static_cache.transformed)
        .get(path)
        .filter(|(k, _)| *k == key)
        .map(|(_, file)| Arc::clone(file));
    let file = match cached {
        Some(file) => file,
        None => {
            let source = fs.read(path).map_err(failed)?;
            let js = match hbf_qjs::ts::transform(path, &source, &options) {
                Ok(js) => js,
                Err(e) => return Ok(untransformable(&e.to_string())),
            };
            let mut file_meta = FileMeta::new(path, &meta);
            file_meta.len = js.len() as u64;
            file_meta.content_type = "text/javascript; charset=utf-8";
            let tag: String = key.iter().map(|b| format!("{b:02x}")).collect();
            file_meta.etag =
                HeaderValue::from_str(&format!("\"js-{tag}\"")).expect("hex is a valid header");
            let file = Arc::new(StaticFile {
                meta: file_meta,
                data: Bytes::from(js),
            });
            lock(&app.static_cache.transformed).insert(path.to_owned(), (key, Arc::clone(&file)));
            file
        }
    };
    respond_with(&file.meta, Content::Memory(&file.data), headers)
}

/// The answer for a script that does not transform: `500`, the reason as text
/// (file, line and column), varying like the file's other answers.
fn untransformable(reason: &str) -> HttpResponse {
    let mut r = Response::new(Body::full(Bytes::from(format!("{reason}\n"))));
    *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::VARY, HeaderValue::from_static("Sec-Fetch-Dest"));
    r
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl StaticCache {
    /// The pod's transform settings, read again when `hbf/tsconfig.json` changes.
    fn ts_options(&self, app: &App) -> Result<hbf_qjs::ts::Options, hbf_qjs::Error> {
        let tsconfig = hbf_qjs::ts::TSCONFIG;
        let sha = app.db.fs().stat(tsconfig).ok().and_then(|m| m.sha256);
        let mut current = lock(&self.ts_options);
        if let Some((known, options)) = &*current {
            if *known == sha {
                return Ok(options.clone());
            }
        }
        let options = match sha {
            None => hbf_qjs::ts::Options::default(),
            Some(_) => {
                let text = app.db.fs().read(tsconfig)?;
                hbf_qjs::ts::Options::from_tsconfig(&text)?
            }
        };
        *current = Some((sha, options.clone()));
        Ok(options)
    }
}

/// Bytes `start..end` of `reader`'s content as a streamed body, read like a
/// large static file's (pieces on blocking threads, one ahead of the client,
/// the same bound on reads at once); never read for `HEAD`. For the block
/// service's large entries.
pub(crate) fn stored_body(app: &App, reader: FileReader, start: u64, end: u64) -> Body {
    Content::Stored {
        reader,
        reads: &app.static_cache.stream_reads,
    }
    .body(start, end)
}

/// Where a response's bytes come from.
enum Content<'a> {
    Memory(&'a Bytes),
    /// Streamed from the database, piece by piece.
    Stored {
        reader: FileReader,
        reads: &'a Arc<Semaphore>,
    },
}

impl Content<'_> {
    /// The body for bytes `start..end`.
    fn body(self, start: u64, end: u64) -> Body {
        match self {
            Content::Memory(data) => Body::full(data.slice(start as usize..end as usize)),
            Content::Stored { reader, reads } => Body::stream(FileBody {
                remaining: end - start,
                state: FileBodyState::Idle {
                    reader,
                    start,
                    end,
                    reads: Arc::clone(reads),
                },
            }),
        }
    }
}

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
    if not_modified(file, headers) {
        return Ok(base(StatusCode::NOT_MODIFIED, Body::full(Bytes::new())));
    }
    let len = file.len;
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .filter(|_| if_range_matches(file, headers));
    let (status, (start, end), content_range) = match range.map(|r| parse_range(r, len)) {
        None | Some(RangeRequest::Ignore) => (StatusCode::OK, (0, len), None),
        Some(RangeRequest::Satisfiable(first, last)) => (
            StatusCode::PARTIAL_CONTENT,
            (first, last + 1),
            Some(format!("bytes {first}-{last}/{len}")),
        ),
        Some(RangeRequest::Unsatisfiable) => return Err(HttpError::RangeNotSatisfiable { len }),
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

/// The body of a streamed file (or range): pieces read on blocking threads by
/// a task that starts when hyper first asks for data (never, for `HEAD`) and
/// stays one piece ahead of the client.
struct FileBody {
    /// Bytes not yet handed to hyper: the exact size hint.
    remaining: u64,
    state: FileBodyState,
}

enum FileBodyState {
    Idle {
        reader: FileReader,
        start: u64,
        end: u64,
        reads: Arc<Semaphore>,
    },
    Streaming(mpsc::Receiver<io::Result<Bytes>>),
    Done,
}

impl hyper::body::Body for FileBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                FileBodyState::Idle { .. } => {
                    let FileBodyState::Idle {
                        reader,
                        start,
                        end,
                        reads,
                    } = std::mem::replace(&mut this.state, FileBodyState::Done)
                    else {
                        unreachable!("matched above")
                    };
                    // Capacity 1: the task reads the next piece only once the
                    // channel has room, i.e. once hyper took the previous one.
                    let (tx, rx) = mpsc::channel(1);
                    let name = reader.meta().path.clone();
                    let read_at = move |pos, len| reader.read_at(pos, len);
                    tokio::spawn(pump(name, read_at, start, end, reads, tx));
                    this.state = FileBodyState::Streaming(rx);
                }
                FileBodyState::Streaming(rx) => {
                    let item = match std::task::ready!(rx.poll_recv(cx)) {
                        Some(Ok(piece)) => match this.remaining.checked_sub(piece.len() as u64) {
                            Some(left) => {
                                this.remaining = left;
                                Ok(Frame::data(piece))
                            }
                            None => Err(io::Error::other("a piece past the end of the range")),
                        },
                        Some(Err(e)) => Err(e),
                        None if this.remaining == 0 => {
                            this.state = FileBodyState::Done;
                            return Poll::Ready(None);
                        }
                        None => Err(io::Error::other("the file's stream ended early")),
                    };
                    if item.is_err() {
                        this.state = FileBodyState::Done;
                    }
                    return Poll::Ready(Some(item));
                }
                FileBodyState::Done => return Poll::Ready(None),
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0 || matches!(self.state, FileBodyState::Done)
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

/// Reads bytes `pos..end` with `read_at` piece by piece into `tx`, until done,
/// an error (sent on, ending the response), or the body is dropped (the client
/// went away: no further piece is read). `read_at` blocks (SQLite), so it runs
/// on tokio's blocking threads, at most `reads` of them across all responses.
async fn pump<R>(
    name: String,
    read_at: R,
    mut pos: u64,
    end: u64,
    reads: Arc<Semaphore>,
    tx: mpsc::Sender<io::Result<Bytes>>,
) where
    R: Fn(u64, usize) -> hbf_db::Result<Vec<u8>> + Clone + Send + 'static,
{
    while pos < end {
        // Room first: waits while the client is slow, fails once it is gone.
        let Ok(slot) = tx.reserve().await else {
            return;
        };
        let Ok(permit) = Arc::clone(&reads).acquire_owned().await else {
            return;
        };
        let want = (end - pos).min(CHUNK as u64) as usize;
        let read_at = read_at.clone();
        let read = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            read_at(pos, want)
        })
        .await;
        let piece = match read {
            Ok(Ok(piece)) if piece.len() == want => Ok(Bytes::from(piece)),
            Ok(Ok(piece)) => Err(io::Error::other(format!(
                "{name}: {} bytes at {pos}, expected {want}",
                piece.len()
            ))),
            Ok(Err(e)) => Err(io::Error::other(format!("{name}: {e}"))),
            Err(e) => Err(io::Error::other(format!("reading {name}: {e}"))),
        };
        match piece {
            Ok(piece) => {
                pos += piece.len() as u64;
                slot.send(Ok(piece));
            }
            Err(e) => {
                tracing::error!("streaming a static file: {e}");
                slot.send(Err(e));
                return;
            }
        }
    }
}

/// `If-None-Match` (preferred) or `If-Modified-Since` says the client's copy is
/// current. Without a known modification time, `If-Modified-Since` cannot say
/// so (the file is sent; its ETag still allows a 304).
fn not_modified(file: &FileMeta, headers: &HeaderMap) -> bool {
    if let Some(inm) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        let ours = file.etag.to_str().unwrap_or_default();
        return inm
            .split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == "*" || t == ours);
    }
    if let (Some(mtime), Some(ims)) = (
        file.mtime,
        headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok()),
    ) {
        let mtime_secs = mtime.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let ims_secs = ims.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        return mtime_secs <= ims_secs;
    }
    false
}

/// `If-Range` absent, or naming our current ETag.
fn if_range_matches(file: &FileMeta, headers: &HeaderMap) -> bool {
    match headers.get(header::IF_RANGE) {
        None => true,
        Some(v) => v == file.etag,
    }
}

#[derive(Debug, PartialEq, Eq)]
enum RangeRequest {
    /// Serve the whole file (several ranges, or a header we do not understand).
    Ignore,
    /// Inclusive byte positions.
    Satisfiable(u64, u64),
    Unsatisfiable,
}

fn parse_range(header: &str, len: u64) -> RangeRequest {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return RangeRequest::Ignore;
    };
    if spec.contains(',') {
        return RangeRequest::Ignore;
    }
    let Some((start, end)) = spec.trim().split_once('-') else {
        return RangeRequest::Ignore;
    };
    let (start, end) = (start.trim(), end.trim());
    let parse = |s: &str| s.parse::<u64>().ok();
    match (start.is_empty(), end.is_empty()) {
        (true, true) => RangeRequest::Ignore,
        (true, false) => match parse(end) {
            Some(0) => RangeRequest::Unsatisfiable,
            Some(_) if len == 0 => RangeRequest::Unsatisfiable,
            Some(suffix) => RangeRequest::Satisfiable(len.saturating_sub(suffix), len - 1),
            None => RangeRequest::Ignore,
        },
        (false, _) => {
            let Some(first) = parse(start) else {
                return RangeRequest::Ignore;
            };
            let last = if end.is_empty() {
                Some(u64::MAX)
            } else {
                parse(end)
            };
            match last {
                None => RangeRequest::Ignore,
                Some(last) if last < first => RangeRequest::Ignore,
                Some(_) if first >= len => RangeRequest::Unsatisfiable,
                Some(last) => RangeRequest::Satisfiable(first, last.min(len - 1)),
            }
        }
    }
}

/// The content type for a file name.
pub fn content_type(path: &str) -> &'static str {
    let ext = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" | "cjs" => "text/javascript; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "txt" => "text/plain; charset=utf-8",
        // TypeScript and JSX as source (see the module documentation for the
        // JavaScript a module script gets).
        "ts" | "mts" | "tsx" | "jsx" => "text/plain; charset=utf-8",
        "md" => "text/markdown; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/x-icon",
        "bmp" => "image/bmp",
        "wasm" => "application/wasm",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "ogg" => "audio/ogg",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_table() {
        for (path, mime) in [
            ("static/a.mjs", "text/javascript; charset=utf-8"),
            ("static/a.map", "application/json"),
            ("static/a.txt", "text/plain; charset=utf-8"),
            ("static/a.ts", "text/plain; charset=utf-8"),
            ("static/a.tsx", "text/plain; charset=utf-8"),
            ("static/a.webp", "image/webp"),
            ("static/a.gif", "image/gif"),
            ("static/a.xml", "application/xml"),
            ("static/a.wasm", "application/wasm"),
            ("static/A.CSS", "text/css; charset=utf-8"),
            ("static/noext", "application/octet-stream"),
        ] {
            assert_eq!(content_type(path), mime, "{path}");
        }
    }

    fn small_file(data: &Bytes) -> Arc<StaticFile> {
        let version = hbf_db::FileVersion {
            path: "static/x".into(),
            version: 1,
            mtime_ms: 0,
            size: data.len() as u64,
            sha256: Some([0; 32]),
            deleted: false,
        };
        Arc::new(StaticFile {
            meta: FileMeta::new("static/x", &version),
            data: data.clone(),
        })
    }

    #[test]
    fn the_cache_holds_at_most_its_byte_limit_under_concurrent_misses() {
        let cache = Arc::new(StaticCache::default());
        // One allocation shared by every entry: the accounting counts each.
        let data = Bytes::from(vec![7u8; 900 << 10]);
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let (cache, data) = (Arc::clone(&cache), data.clone());
                std::thread::spawn(move || {
                    for i in 0..300 {
                        // Few paths, so threads often miss and put the same one.
                        let path = format!("static/{}", (i * 7 + t) % 40);
                        if cache.get(&path, 1).is_none() {
                            cache.put(path, small_file(&data), 1);
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let state = cache.state.lock().unwrap();
        let held: usize = state.files.values().map(|f| f.data.len()).sum();
        assert_eq!(state.bytes, held);
        assert!(held <= CACHE_TOTAL_LIMIT, "{held}");
        assert!(!state.files.is_empty());
    }

    #[test]
    fn files_above_the_threshold_never_enter_the_cache() {
        let cache = StaticCache::default();
        assert!(cache.get("static/big", 1).is_none());
        let big = Bytes::from(vec![1u8; STREAM_THRESHOLD as usize + 1]);
        cache.put("static/big".into(), small_file(&big), 1);
        assert!(cache.get("static/big", 1).is_none());
        let fits = Bytes::from(vec![1u8; STREAM_THRESHOLD as usize]);
        cache.put("static/fits".into(), small_file(&fits), 1);
        assert!(cache.get("static/fits", 1).is_some());
        // An older generation seen late neither empties nor rewinds the cache.
        assert!(cache.get("static/fits", 0).is_none());
        assert!(cache.get("static/fits", 1).is_some());
    }

    #[test]
    fn an_unknown_modification_time_sends_no_last_modified_and_ignores_if_modified_since() {
        let file = small_file(&Bytes::from_static(b"x"));
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

    /// A streamed response whose client has gone reads no further piece: at
    /// most the one in the channel and the one being read when it left.
    #[test]
    fn streaming_stops_reading_when_the_client_goes_away() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let pieces_read = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&pieces_read);
        let read_at = move |_pos: u64, len: usize| {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok(vec![0u8; len])
        };
        let end = 100 * CHUNK as u64;
        runtime.block_on(async {
            let (tx, mut rx) = mpsc::channel(1);
            let reads = Arc::new(Semaphore::new(STREAM_READS_AT_ONCE));
            let task = tokio::spawn(pump("static/x".into(), read_at, 0, end, reads, tx));
            for _ in 0..2 {
                assert_eq!(rx.recv().await.unwrap().unwrap().len(), CHUNK);
            }
            drop(rx);
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("the pump ends once its body is gone")
                .unwrap();
        });
        let read = pieces_read.load(Ordering::SeqCst);
        assert!((2..=4).contains(&read), "{read} pieces read for 2 taken");
    }

    #[test]
    fn ranges() {
        use RangeRequest::*;
        assert_eq!(parse_range("bytes=0-9", 100), Satisfiable(0, 9));
        assert_eq!(parse_range("bytes=90-", 100), Satisfiable(90, 99));
        assert_eq!(parse_range("bytes=-10", 100), Satisfiable(90, 99));
        assert_eq!(parse_range("bytes=-1000", 100), Satisfiable(0, 99));
        assert_eq!(parse_range("bytes=50-1000", 100), Satisfiable(50, 99));
        assert_eq!(parse_range("bytes=100-", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=5-2", 100), Ignore);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), Ignore);
        assert_eq!(parse_range("items=0-1", 100), Ignore);
        assert_eq!(parse_range("bytes=x-1", 100), Ignore);
        assert_eq!(parse_range("bytes=0-0", 0), Unsatisfiable);
    }
}

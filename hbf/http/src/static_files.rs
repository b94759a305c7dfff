//! `GET`/`HEAD /static/**`: the latest version of `static/**` files from the
//! versioned filesystem.
//!
//! Responses carry a content type from the file's extension, an `ETag` (the
//! content's SHA-256, so it changes exactly when the content does),
//! `Last-Modified`, and `Cache-Control: no-cache`: browsers may keep a copy but
//! must revalidate it, which costs a `304 Not Modified` when nothing changed and
//! shows a live edit at once. `If-None-Match`, `If-Modified-Since`, single-range
//! `Range` requests (with `If-Range`) and `HEAD` are supported; other methods get
//! `405`.
//!
//! Hot small files are kept in memory. The cache is dropped whenever the
//! database's write generation moves, so a write is visible on the next request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use percent_encoding::percent_decode_str;

use crate::respond::{self, HttpResponse};
use crate::App;

/// Files up to this size are cached in memory.
const CACHE_FILE_LIMIT: usize = 1 << 20;
/// The cache is emptied when it would hold more than this.
const CACHE_TOTAL_LIMIT: usize = 64 << 20;

/// One servable file.
pub struct StaticFile {
    data: Bytes,
    etag: HeaderValue,
    last_modified: HeaderValue,
    mtime: SystemTime,
    content_type: &'static str,
}

/// The in-memory cache of small static files.
#[derive(Default)]
pub struct StaticCache {
    state: Mutex<CacheState>,
}

#[derive(Default)]
struct CacheState {
    generation: u64,
    files: HashMap<String, Arc<StaticFile>>,
    bytes: usize,
}

impl StaticCache {
    fn get(&self, path: &str, generation: u64) -> Option<Arc<StaticFile>> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.generation != generation {
            state.files.clear();
            state.bytes = 0;
            state.generation = generation;
            return None;
        }
        state.files.get(path).cloned()
    }

    fn put(&self, path: String, file: Arc<StaticFile>, generation: u64) {
        if file.data.len() > CACHE_FILE_LIMIT {
            return;
        }
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.generation != generation {
            return; // written meanwhile: this copy may be stale
        }
        if state.bytes + file.data.len() > CACHE_TOTAL_LIMIT {
            state.files.clear();
            state.bytes = 0;
        }
        state.bytes += file.data.len();
        state.files.insert(path, file);
    }
}

/// Serves `/static/<raw_rest>`.
pub fn serve<B>(app: &App, request: &Request<B>, raw_rest: &str) -> HttpResponse {
    let method = request.method();
    if method != Method::GET && method != Method::HEAD {
        let mut r = respond::error(
            StatusCode::METHOD_NOT_ALLOWED,
            "static files allow GET and HEAD",
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let Ok(decoded) = percent_decode_str(raw_rest).decode_utf8() else {
        return respond::error(StatusCode::BAD_REQUEST, "the path is not valid UTF-8");
    };
    let path = match hbf_db::path::normalize(&format!("static/{decoded}")) {
        Ok(path) if path.starts_with("static/") => path,
        _ => return respond::error(StatusCode::BAD_REQUEST, "invalid static file path"),
    };
    let generation = app.db.generation();
    let file = match app.static_cache.get(&path, generation) {
        Some(file) => file,
        None => match load(app, &path) {
            Ok(file) => {
                let file = Arc::new(file);
                app.static_cache.put(path, Arc::clone(&file), generation);
                file
            }
            Err(e) if e.is_not_found() => {
                return respond::error(StatusCode::NOT_FOUND, "no such static file")
            }
            Err(e) => {
                tracing::error!("reading {path}: {e}");
                return respond::error(StatusCode::INTERNAL_SERVER_ERROR, "cannot read the file");
            }
        },
    };
    respond_with(&file, request.headers())
}

fn load(app: &App, path: &str) -> hbf_db::Result<StaticFile> {
    let (meta, data) = app.db.fs().read_with_meta(path)?;
    let hash = meta.sha256_hex().unwrap_or_default();
    let mtime = UNIX_EPOCH + Duration::from_millis(meta.mtime_ms.max(0) as u64);
    Ok(StaticFile {
        data: Bytes::from(data),
        etag: HeaderValue::from_str(&format!("\"{hash}\"")).expect("hex is a valid header"),
        last_modified: HeaderValue::from_str(&httpdate::fmt_http_date(mtime))
            .expect("an HTTP date is a valid header"),
        mtime,
        content_type: content_type(path),
    })
}

fn respond_with(file: &StaticFile, headers: &HeaderMap) -> HttpResponse {
    let base = |status: StatusCode, body: Bytes| {
        let mut r = Response::new(Full::new(body));
        *r.status_mut() = status;
        let h = r.headers_mut();
        h.insert(header::ETAG, file.etag.clone());
        h.insert(header::LAST_MODIFIED, file.last_modified.clone());
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        r
    };
    if not_modified(file, headers) {
        return base(StatusCode::NOT_MODIFIED, Bytes::new());
    }
    let len = file.data.len();
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .filter(|_| if_range_matches(file, headers));
    let (status, body, content_range) = match range.map(|r| parse_range(r, len)) {
        None | Some(RangeRequest::Ignore) => (StatusCode::OK, file.data.clone(), None),
        Some(RangeRequest::Satisfiable(start, end)) => (
            StatusCode::PARTIAL_CONTENT,
            file.data.slice(start..=end),
            Some(format!("bytes {start}-{end}/{len}")),
        ),
        Some(RangeRequest::Unsatisfiable) => {
            let mut r = respond::error(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "the range is outside the file",
            );
            r.headers_mut().insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes */{len}")).expect("valid header"),
            );
            return r;
        }
    };
    let mut r = base(status, body);
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
    r
}

/// `If-None-Match` (preferred) or `If-Modified-Since` says the client's copy is
/// current.
fn not_modified(file: &StaticFile, headers: &HeaderMap) -> bool {
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
    if let Some(ims) = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
    {
        let mtime_secs = file
            .mtime
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let ims_secs = ims.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        return mtime_secs <= ims_secs;
    }
    false
}

/// `If-Range` absent, or naming our current ETag.
fn if_range_matches(file: &StaticFile, headers: &HeaderMap) -> bool {
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
    Satisfiable(usize, usize),
    Unsatisfiable,
}

fn parse_range(header: &str, len: usize) -> RangeRequest {
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
    let parse = |s: &str| s.parse::<usize>().ok();
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
                Some(usize::MAX)
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

//! The dev API (`/__dev/api/**`, SPEC 6): the pod's versioned filesystem over
//! HTTP, for the browser editor and tools, served only with `--dev`.
//!
//! Every request needs `Authorization: Bearer <token>` ([`DevToken`], compared
//! in constant time); otherwise `401` with `WWW-Authenticate: Bearer`. Paths
//! are query parameters, percent-encoded (`+` is a plus, not a space), and
//! follow the rules of [`hbf_db::path`] (`400` naming the rule otherwise).
//!
//! | request | answer |
//! |---|---|
//! | `GET files?prefix=P[&deleted=1]` | `[{"path","version","size","sha256","mtime","deleted"}]`, metadata only |
//! | `GET file?path=P[&version=N]` | the raw bytes, `Content-Type` by extension, `ETag: "N"`, `X-HBF-Version: N` |
//! | `PUT file?path=P` | stores the body; `If-Match: "N"`, `If-None-Match: *`; `201` (first version) or `200` `{"path","version","size","sha256"[,"warnings"]}` |
//! | `DELETE file?path=P` | a tombstone; `If-Match`; `{"path","version"}` |
//! | `GET history?path=P` | `[{"version","size","sha256","mtime","deleted"}]`, oldest first |
//! | `POST revert?path=P&version=N` | a new version with N's state; `If-Match`; as `PUT` |
//! | `GET events` | Server-Sent Events: `event: file` and `event: log` (see [`DevApi`]) |
//!
//! Preconditions are checked in the writing transaction
//! ([`hbf_db::VersionedFs::write_if`]), so of many writers sending the same
//! `If-Match`, exactly one succeeds and the others get `412` with
//! `current_version`. PUTs go to one writer thread that commits all the PUTs
//! waiting for it in one transaction (`Writer`); deletes and reverts run on
//! tokio's blocking threads; the server's async threads never wait on the disk. A module under `hbf/` that does not compile
//! is stored anyway (it is a file; the editor may be mid-edit), and the answer
//! lists the syntax errors as `warnings`.

use std::cell::RefCell;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hbf_db::{Database, FileVersion, Precondition};
use hyper::body::{Frame, Incoming};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use percent_encoding::percent_decode_str;
use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc};

use crate::respond::{self, Body, HttpError, HttpResponse};
use crate::App;

/// Events kept for subscribers that are behind; one further behind than this
/// is dropped (its stream ends), so no client can hold the server's memory.
pub const EVENT_BACKLOG: usize = 1024;

/// Events buffered for one client whose connection does not take them; past
/// this, the client is dropped.
pub const CLIENT_BUFFER: usize = 256;

/// A comment sent on an idle event stream this often, so proxies keep it open
/// and a client can tell a quiet server from a dead connection.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// How often the watcher looks for changes made outside this process (`hbf fs`
/// in another process): it diffs the files table when the database's
/// generation moved (`Database::generation` polls `PRAGMA data_version`).
const WATCH_INTERVAL: Duration = Duration::from_millis(100);

/// The dev API's secret. Its `Debug` does not show it, so it cannot reach the
/// log through a printed configuration.
#[derive(Clone)]
pub struct DevToken(Arc<str>);

impl std::fmt::Debug for DevToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DevToken(..)")
    }
}

impl DevToken {
    /// The shortest token accepted from `HBF_DEV_TOKEN`.
    pub const MIN_LEN: usize = 16;

    /// A token chosen by the operator: at least [`DevToken::MIN_LEN`]
    /// characters, all visible ASCII (it travels in a header and a URL).
    pub fn new(token: &str) -> Result<Self, String> {
        if token.len() < Self::MIN_LEN {
            return Err(format!(
                "HBF_DEV_TOKEN is {} characters long; it must have at least {}",
                token.len(),
                Self::MIN_LEN
            ));
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(
                "HBF_DEV_TOKEN may hold only visible ASCII characters (no spaces)".to_owned(),
            );
        }
        Ok(Self(token.into()))
    }

    /// A random 256-bit token (64 hex digits) from the kernel's generator.
    pub fn generate() -> std::io::Result<Self> {
        use std::io::Read;
        let mut bytes = [0u8; 32];
        std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Ok(Self(hex.into()))
    }

    /// The token itself, to show the operator once.
    pub fn reveal(&self) -> &str {
        &self.0
    }

    /// True when `presented` is the token. The time taken depends only on the
    /// lengths, never on where the first difference is.
    pub fn matches(&self, presented: &[u8]) -> bool {
        let expected = self.0.as_bytes();
        let mut diff = expected.len() ^ presented.len();
        for (i, &e) in expected.iter().enumerate() {
            diff |= usize::from(e ^ presented.get(i).copied().unwrap_or(!e));
        }
        diff == 0
    }
}

/// The dev API's state: its token and the event stream.
///
/// Events come from three places: file changes made here through the API or by
/// the pod (`hbf:fs`), announced by the database's change hook as they commit;
/// changes made by other processes, found by a watcher thread; and console lines
/// and uncaught errors of the pod's JavaScript. Each is one JSON text sent to
/// every subscriber through a broadcast channel, which never blocks a sender.
pub struct DevApi {
    token: DevToken,
    events: broadcast::Sender<Bytes>,
    /// The last listings answered, valid while the database's generation is
    /// unchanged: an editor (or a benchmark) lists far more often than it
    /// writes, and a listing of a large pod is a large JSON text.
    listings: std::sync::Mutex<Vec<Listing>>,
    /// Becomes true at shutdown: event streams end.
    closing: tokio::sync::watch::Sender<bool>,
    /// PUTs waiting for the writer thread ([`Writer`]).
    puts: std::sync::mpsc::Sender<Put>,
    /// The watcher thread runs while this is alive.
    _alive: Arc<()>,
}

impl DevApi {
    /// Sets up the dev API for `db`: installs the database's change hook and the
    /// engine's console hook (once per process) and starts the watcher.
    pub fn start(db: &Database, token: DevToken) -> Self {
        let (events, _) = broadcast::channel(EVENT_BACKLOG);
        let sender = events.clone();
        if !db.on_file_change(Box::new(move |change, source| {
            let _ = sender.send(file_event(change, source));
        })) {
            tracing::warn!("the dev API's file events are already wired to another server");
        }
        let sender = events.clone();
        if !hbf_qjs::set_console_hook(Box::new(move |request, level, message| {
            let _ = sender.send(log_event(request, level, message));
        })) {
            tracing::warn!("the dev API's console events are already wired to another server");
        }
        let alive = Arc::new(());
        let watcher = Watcher {
            db: db.clone(),
            events: events.clone(),
            alive: Arc::downgrade(&alive),
        };
        if let Err(e) = std::thread::Builder::new()
            .name("hbf-dev-watch".into())
            .spawn(move || watcher.run())
        {
            tracing::error!("cannot start the dev API's watcher (changes by other processes will not be announced): {e}");
        }
        let (puts, queue) = std::sync::mpsc::channel();
        let writer = Writer {
            fs: db.fs_by("api"),
            queue,
        };
        if let Err(e) = std::thread::Builder::new()
            .name("hbf-dev-write".into())
            .spawn(move || writer.run())
        {
            // Every PUT then fails with a 500 naming this.
            tracing::error!("cannot start the dev API's writer thread: {e}");
        }
        Self {
            token,
            events,
            listings: std::sync::Mutex::new(Vec::new()),
            closing: tokio::sync::watch::Sender::new(false),
            puts,
            _alive: alive,
        }
    }

    /// Ends every event stream, now and from now on (the server is shutting
    /// down; a connected editor reconnects to the next server).
    pub fn end_event_streams(&self) {
        self.closing.send_replace(true);
    }

    /// Announces an uncaught error of request `request`'s JavaScript.
    pub fn js_error(&self, request: u64, message: &str) {
        let _ = self.events.send(log_event(request, "error", message));
    }
}

/// One `PUT` for the [`Writer`].
struct Put {
    path: String,
    data: Vec<u8>,
    expected: Precondition,
    done: tokio::sync::oneshot::Sender<hbf_db::Result<FileVersion>>,
}

/// Most PUTs committed together.
const PUTS_PER_COMMIT: usize = 256;

/// The thread that stores PUTs: it takes every PUT waiting in its queue and
/// commits them in one transaction ([`hbf_db::VersionedFs::write_each_if`],
/// each with its own precondition and outcome), then answers each request
/// through its oneshot. Under load a commit costs one wake-up of this thread,
/// where a blocking thread per request waiting on the group commit cost two
/// context switches per write (a third of the CPU, see DOCS/PERF.md). It ends
/// when the [`DevApi`] (the queue's sender) is dropped.
struct Writer {
    fs: hbf_db::VersionedFs,
    queue: std::sync::mpsc::Receiver<Put>,
}

impl Writer {
    fn run(self) {
        while let Ok(first) = self.queue.recv() {
            let mut batch = vec![first];
            while batch.len() < PUTS_PER_COMMIT {
                match self.queue.try_recv() {
                    Ok(put) => batch.push(put),
                    Err(_) => break,
                }
            }
            let (writes, answers): (Vec<_>, Vec<_>) = batch
                .into_iter()
                .map(|p| ((p.path, p.data, p.expected), p.done))
                .unzip();
            match self.fs.write_each_if(writes) {
                Ok(outcomes) => {
                    for (answer, outcome) in answers.into_iter().zip(outcomes) {
                        let _ = answer.send(outcome);
                    }
                }
                Err(e) => {
                    let reason = e.to_string();
                    for answer in answers {
                        let _ = answer.send(Err(hbf_db::Error::CommitFailed(reason.clone())));
                    }
                }
            }
        }
    }
}

/// A listing's JSON text, for [`DevApi::listings`].
struct Listing {
    prefix: String,
    deleted: bool,
    generation: u64,
    json: Bytes,
}

/// Listings kept (distinct prefixes an editor asks for at once).
const LISTINGS_KEPT: usize = 8;

fn file_event(change: &FileVersion, source: &str) -> Bytes {
    sse(
        "file",
        &json!({
            "path": change.path,
            "version": change.version,
            "deleted": change.deleted,
            "source": source,
        }),
    )
}

fn log_event(request: u64, level: &str, message: &str) -> Bytes {
    sse(
        "log",
        &json!({ "request": request, "level": level, "message": message }),
    )
}

/// One Server-Sent Event. JSON text has no line breaks, so one `data:` line.
fn sse(event: &str, data: &Value) -> Bytes {
    Bytes::from(format!("event: {event}\ndata: {data}\n\n"))
}

/// Finds changes made by other processes: when the database's generation
/// moves, it compares every path's latest version with the last it saw, and
/// announces those this process did not write (`source: "cli"`). Its cost is
/// one metadata scan of `hbf_fs_file` per [`WATCH_INTERVAL`] while anything
/// writes (a thousand rows: well under a millisecond), none while nothing does.
/// Several versions written outside between two scans are one event, for the
/// latest.
struct Watcher {
    db: Database,
    events: broadcast::Sender<Bytes>,
    alive: Weak<()>,
}

impl Watcher {
    fn run(self) {
        let fs = self.db.fs();
        let mut seen = std::collections::HashMap::new();
        let mut generation = self.db.generation();
        match fs.list_with_deleted("", true) {
            Ok(files) => seen.extend(files.into_iter().map(|f| (f.path, f.version))),
            Err(e) => tracing::warn!("dev API watcher: cannot list files: {e}"),
        }
        while self.alive.strong_count() > 0 {
            std::thread::sleep(WATCH_INTERVAL);
            let now = self.db.generation();
            if now == generation {
                continue;
            }
            generation = now;
            let files = match fs.list_with_deleted("", true) {
                Ok(files) => files,
                Err(e) => {
                    tracing::warn!("dev API watcher: cannot list files: {e}");
                    continue;
                }
            };
            for file in files {
                if seen.get(&file.path) == Some(&file.version) {
                    continue;
                }
                if !self.db.written_here(&file.path, file.version) {
                    let _ = self.events.send(file_event(&file, "cli"));
                }
                seen.insert(file.path, file.version);
            }
        }
    }
}

/// Serves `/__dev/**`; `rest` is the path after `/__dev/`. Only with `--dev`
/// (`route` never calls this otherwise).
pub async fn serve(
    app: &App,
    api: &DevApi,
    request: Request<Incoming>,
    rest: &str,
) -> Result<HttpResponse, HttpError> {
    let Some(endpoint) = rest.strip_prefix("api/") else {
        return Err(HttpError::NotFound("no such route"));
    };
    authorize(&api.token, request.headers())?;
    let query = Query::parse(request.uri().query().unwrap_or(""))?;
    let method = request.method().clone();
    let fs = app.db.fs_by("api");
    match (endpoint, &method) {
        ("files", &Method::GET) => list(app, api, &query),
        ("file", &Method::GET) => read(&fs, &query),
        ("file", &Method::PUT) => write(app, api, &query, request).await,
        ("file", &Method::DELETE) => {
            let path = query.required("path")?;
            let expected = precondition(request.headers())?;
            let v = blocking(move || fs.delete_if(&path, expected)).await?;
            Ok(json_response(
                StatusCode::OK,
                &json!({ "path": v.path, "version": v.version }),
            ))
        }
        ("history", &Method::GET) => history(&fs, &query),
        ("revert", &Method::POST) => {
            let path = query.required("path")?;
            let version = query.version()?.ok_or_else(|| {
                HttpError::BadRequest("the query needs version=N (the version to revert to)".into())
            })?;
            let expected = precondition(request.headers())?;
            let (v, warnings) = blocking(move || {
                let v = fs.revert_if(&path, version, expected)?;
                let warnings = match v.deleted {
                    true => Vec::new(),
                    false => module_warnings(&v.path, || fs.read_version(&v.path, v.version)),
                };
                Ok((v, warnings))
            })
            .await?;
            Ok(written(StatusCode::OK, &v, warnings))
        }
        ("events", &Method::GET) => Ok(events(api)),
        ("files" | "history" | "events", _) => Err(HttpError::MethodNotAllowed {
            allow: "GET",
            message: "use GET",
        }),
        ("file", _) => Err(HttpError::MethodNotAllowed {
            allow: "GET, PUT, DELETE",
            message: "use GET, PUT or DELETE",
        }),
        ("revert", _) => Err(HttpError::MethodNotAllowed {
            allow: "POST",
            message: "use POST",
        }),
        _ => Err(HttpError::NotFound("no such dev API route")),
    }
}

fn authorize(token: &DevToken, headers: &HeaderMap) -> Result<(), HttpError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(HttpError::Unauthorized(
            "the dev API needs an Authorization: Bearer <token> header",
        ));
    };
    let presented = value.as_bytes();
    let scheme = b"bearer ";
    let ok = presented.len() > scheme.len()
        && presented[..scheme.len()].eq_ignore_ascii_case(scheme)
        && token.matches(&presented[scheme.len()..]);
    if ok {
        Ok(())
    } else {
        Err(HttpError::Unauthorized("the dev API token is not valid"))
    }
}

/// The decoded query parameters.
struct Query(Vec<(String, String)>);

impl Query {
    fn parse(raw: &str) -> Result<Self, HttpError> {
        let mut out = Vec::new();
        for pair in raw.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| {
                percent_decode_str(s)
                    .decode_utf8()
                    .map(|c| c.into_owned())
                    .map_err(|_| {
                        HttpError::BadRequest(format!(
                            "query parameter {name:?} is not valid UTF-8 once percent-decoded"
                        ))
                    })
            };
            out.push((decode(name)?, decode(value)?));
        }
        Ok(Self(out))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn required(&self, name: &str) -> Result<String, HttpError> {
        self.get(name)
            .map(str::to_owned)
            .ok_or_else(|| HttpError::BadRequest(format!("the query needs {name}=...")))
    }

    fn version(&self) -> Result<Option<u64>, HttpError> {
        self.get("version")
            .map(|v| {
                v.parse::<u64>().ok().filter(|&n| n >= 1).ok_or_else(|| {
                    HttpError::BadRequest(format!("version must be a positive integer, not {v:?}"))
                })
            })
            .transpose()
    }

    fn flag(&self, name: &str) -> bool {
        matches!(self.get(name), Some("1" | "true" | "yes"))
    }
}

/// The precondition of `If-Match: "N"` (or `N`) or `If-None-Match: *`.
fn precondition(headers: &HeaderMap) -> Result<Precondition, HttpError> {
    let text = |name: &header::HeaderName| -> Result<Option<&str>, HttpError> {
        headers
            .get(name)
            .map(|v| {
                v.to_str()
                    .map(str::trim)
                    .map_err(|_| HttpError::BadRequest(format!("{name} is not ASCII")))
            })
            .transpose()
    };
    match (text(&header::IF_MATCH)?, text(&header::IF_NONE_MATCH)?) {
        (Some(_), Some(_)) => Err(HttpError::BadRequest(
            "send If-Match or If-None-Match, not both".into(),
        )),
        (Some(tag), None) => {
            let n = tag
                .strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .unwrap_or(tag);
            n.parse::<u64>()
                .ok()
                .filter(|&n| n >= 1)
                .map(Precondition::Version)
                .ok_or_else(|| {
                    HttpError::BadRequest(format!(
                        "If-Match must be a version, like \"3\" (the ETag of a read), not {tag:?}"
                    ))
                })
        }
        (None, Some("*")) => Ok(Precondition::Absent),
        (None, Some(other)) => Err(HttpError::BadRequest(format!(
            "If-None-Match must be * (create only), not {other:?}"
        ))),
        (None, None) => Ok(Precondition::None),
    }
}

/// The HTTP answer to a storage error.
fn db_error(e: hbf_db::Error) -> HttpError {
    match e {
        hbf_db::Error::InvalidPath { .. } => HttpError::BadRequest(e.to_string()),
        hbf_db::Error::NotFound { .. } | hbf_db::Error::VersionNotFound { .. } => {
            HttpError::NoSuchFile(e.to_string())
        }
        hbf_db::Error::PreconditionFailed { current, .. } => HttpError::PreconditionFailed {
            message: e.to_string(),
            current,
        },
        other => HttpError::Internal(format!("dev API: {other}")),
    }
}

/// Runs storage work on a blocking thread (a write waits for its commit).
async fn blocking<R: Send + 'static>(
    work: impl FnOnce() -> hbf_db::Result<R> + Send + 'static,
) -> Result<R, HttpError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(db_error),
        Err(e) => Err(HttpError::Internal(format!(
            "dev API: a storage task failed: {e}"
        ))),
    }
}

fn json_response(status: StatusCode, value: &Value) -> HttpResponse {
    let mut response = respond::json(
        status,
        serde_json::to_vec(value).expect("a JSON value always serializes"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn list(app: &App, api: &DevApi, query: &Query) -> Result<HttpResponse, HttpError> {
    let prefix = query.get("prefix").unwrap_or("");
    let deleted = query.flag("deleted");
    // Read before listing: a write that lands in between moves it again, so a
    // listing is never kept under a generation newer than what it saw.
    let generation = app.db.generation();
    let cached = respond::lock_ignoring_poison(&api.listings)
        .iter()
        .find(|l| l.generation == generation && l.deleted == deleted && l.prefix == prefix)
        .map(|l| l.json.clone());
    let json = match cached {
        Some(json) => json,
        None => {
            let files = app
                .db
                .fs()
                .list_with_deleted(prefix, deleted)
                .map_err(db_error)?;
            let json = Bytes::from(listing_json(&files));
            let mut listings = respond::lock_ignoring_poison(&api.listings);
            listings.retain(|l| {
                l.generation == generation && !(l.prefix == prefix && l.deleted == deleted)
            });
            if listings.len() >= LISTINGS_KEPT {
                listings.remove(0);
            }
            listings.push(Listing {
                prefix: prefix.to_owned(),
                deleted,
                generation,
                json: json.clone(),
            });
            json
        }
    };
    let mut response = respond::json(StatusCode::OK, json);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `[{"path","version","size","sha256","mtime","deleted"}]`, written directly
/// (a thousand files are a thousand small objects; no `Value` tree).
fn listing_json(files: &[FileVersion]) -> Vec<u8> {
    use std::io::Write;
    let mut out = Vec::with_capacity(files.len() * 160 + 2);
    out.push(b'[');
    for (i, f) in files.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"path\":");
        serde_json::to_writer(&mut out, &f.path).expect("a string always serializes");
        let _ = write!(
            out,
            ",\"version\":{},\"size\":{},\"sha256\":",
            f.version, f.size
        );
        match f.sha256_hex() {
            Some(hex) => {
                let _ = write!(out, "\"{hex}\"");
            }
            None => out.extend_from_slice(b"null"),
        }
        let _ = write!(out, ",\"mtime\":{},\"deleted\":{}}}", f.mtime_ms, f.deleted);
    }
    out.push(b']');
    out
}

fn read(fs: &hbf_db::VersionedFs, query: &Query) -> Result<HttpResponse, HttpError> {
    let path = query.required("path")?;
    let (meta, data) = match query.version()? {
        Some(version) => fs.read_version(&path, version),
        None => fs.read_with_meta(&path),
    }
    .map_err(db_error)?;
    let mut response = Response::new(Body::full(data));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(crate::static_files::content_type(&meta.path)),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    version_headers(headers, meta.version);
    Ok(response)
}

fn version_headers(headers: &mut HeaderMap, version: u64) {
    headers.insert(
        header::ETAG,
        HeaderValue::from_str(&format!("\"{version}\"")).expect("digits are a valid header"),
    );
    headers.insert("x-hbf-version", HeaderValue::from(version));
}

fn history(fs: &hbf_db::VersionedFs, query: &Query) -> Result<HttpResponse, HttpError> {
    let path = query.required("path")?;
    let versions = fs.history(&path).map_err(db_error)?;
    let out: Vec<Value> = versions
        .iter()
        .map(|v| {
            json!({
                "version": v.version,
                "size": v.size,
                "sha256": v.sha256_hex(),
                "mtime": v.mtime_ms,
                "deleted": v.deleted,
            })
        })
        .collect();
    Ok(json_response(StatusCode::OK, &Value::Array(out)))
}

async fn write(
    app: &App,
    api: &DevApi,
    query: &Query,
    request: Request<Incoming>,
) -> Result<HttpResponse, HttpError> {
    let path = query.required("path")?;
    let expected = precondition(request.headers())?;
    // A body is read under the same share of connections as JavaScript's
    // bodies, so stalled uploads cannot take every connection.
    let Ok(_slot) = app.js_slots.try_acquire() else {
        return Err(HttpError::Busy(
            "too many requests with a body are in progress",
        ));
    };
    let limit = app.config.max_body_bytes;
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(HttpError::BodyTooLarge { limit });
    }
    let data = crate::js::read_body(body, limit, declared, &app.config).await?;
    // Only the pod's server modules are compiled (rarely written, and a
    // compile must not hold up the writer).
    let warnings = if hbf_db::path::normalize(&path).is_ok_and(|p| is_server_module(&p)) {
        let (path, source) = (path.clone(), data.clone());
        blocking(move || Ok(module_warnings(&path, || Ok(((), source))))).await?
    } else {
        Vec::new()
    };
    let (done, answer) = tokio::sync::oneshot::channel();
    let put = Put {
        path,
        data,
        expected,
        done,
    };
    if api.puts.send(put).is_err() {
        return Err(HttpError::Internal(
            "dev API: the writer thread is not running".into(),
        ));
    }
    let v = match answer.await {
        Ok(outcome) => outcome.map_err(db_error)?,
        Err(_) => {
            return Err(HttpError::Internal(
                "dev API: the writer thread stopped before answering".into(),
            ))
        }
    };
    let status = if v.version == 1 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(written(status, &v, warnings))
}

/// The answer to a write or revert.
fn written(status: StatusCode, v: &FileVersion, warnings: Vec<Value>) -> HttpResponse {
    let mut body = json!({
        "path": v.path,
        "version": v.version,
        "size": v.size,
        "sha256": v.sha256_hex(),
    });
    if !warnings.is_empty() {
        body["warnings"] = Value::Array(warnings);
    }
    let mut response = json_response(status, &body);
    version_headers(response.headers_mut(), v.version);
    response
}

/// True for the pod's server-side modules, which are compiled when saved.
fn is_server_module(path: &str) -> bool {
    path.starts_with("hbf/") && (path.ends_with(".js") || path.ends_with(".mjs"))
}

thread_local! {
    /// A compiler per blocking thread, made on first use (a QuickJS runtime
    /// cannot move between threads).
    static COMPILER: RefCell<Option<hbf_qjs::Compiler>> = const { RefCell::new(None) };
}

/// The syntax errors of `path` when it is a server module, as
/// `{"path","line","column","message"}`; `content` gives its source. A path
/// that does not normalize is left to the write to reject.
fn module_warnings<T>(
    path: &str,
    content: impl FnOnce() -> hbf_db::Result<(T, Vec<u8>)>,
) -> Vec<Value> {
    let Ok(path) = hbf_db::path::normalize(path) else {
        return Vec::new();
    };
    if !is_server_module(&path) {
        return Vec::new();
    }
    let Ok((_, source)) = content() else {
        return Vec::new();
    };
    COMPILER.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.is_none() {
            match hbf_qjs::Compiler::new() {
                Ok(c) => *cell = Some(c),
                Err(e) => {
                    tracing::warn!("dev API: cannot start a compiler to check {path}: {e}");
                    return Vec::new();
                }
            }
        }
        let compiler = cell.as_ref().expect("just set");
        match compiler.compile_module(&path, &source) {
            Ok(_) => Vec::new(),
            Err(hbf_qjs::Error::Syntax { location, message }) => {
                let mut parts = location.rsplitn(3, ':');
                let column = parts.next().and_then(|c| c.parse::<u64>().ok());
                let line = parts.next().and_then(|l| l.parse::<u64>().ok());
                vec![json!({ "path": path, "line": line, "column": column, "message": message })]
            }
            Err(other) => {
                vec![json!({ "path": path, "line": null, "column": null, "message": other.to_string() })]
            }
        }
    })
}

/// `GET /__dev/api/events`: a forwarding task moves events from the broadcast
/// channel into this client's bounded buffer with `try_send`, so a client that
/// stops reading fills its own buffer and is dropped (its stream ends) instead
/// of holding anything up; one that falls behind the broadcast backlog is
/// dropped too. The task ends with the client: its buffer's receiver is the
/// response body, and a send to a gone receiver fails.
fn events(api: &DevApi) -> HttpResponse {
    let mut subscription = api.events.subscribe();
    let mut closing = api.closing.subscribe();
    let (tx, rx) = mpsc::channel::<Bytes>(CLIENT_BUFFER);
    // A first comment, so the client sees the stream open before any event.
    let _ = tx.try_send(Bytes::from_static(b": hbf dev events\n\n"));
    tokio::spawn(async move {
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        heartbeat.tick().await; // the first tick is immediate
        loop {
            let next = tokio::select! {
                event = subscription.recv() => match event {
                    Ok(event) => event,
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!("dev API: an event client fell {missed} events behind; dropping it");
                        break;
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                _ = heartbeat.tick() => Bytes::from_static(b": heartbeat\n\n"),
                _ = closing.wait_for(|closing| *closing) => break,
            };
            match tx.try_send(next) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tracing::warn!("dev API: an event client is not reading; dropping it");
                    break;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => break,
            }
        }
    });
    let mut response = Response::new(Body::stream(EventStream(rx)));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The body of an event stream: whatever its forwarding task sends, until the
/// task ends.
struct EventStream(mpsc::Receiver<Bytes>);

impl hyper::body::Body for EventStream {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.get_mut()
            .0
            .poll_recv(cx)
            .map(|event| event.map(|bytes| Ok(Frame::data(bytes))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        let token = DevToken::new("0123456789abcdef").unwrap();
        assert!(token.matches(b"0123456789abcdef"));
        assert!(!token.matches(b"0123456789abcdeF"));
        assert!(!token.matches(b"0123456789abcde"));
        assert!(!token.matches(b"0123456789abcdef0"));
        assert!(!token.matches(b""));
        assert!(DevToken::new("short").is_err());
        assert!(DevToken::new("has a space in it ok").is_err());
        let generated = DevToken::generate().unwrap();
        assert_eq!(generated.reveal().len(), 64);
        assert_ne!(generated.reveal(), DevToken::generate().unwrap().reveal());
        assert_eq!(format!("{generated:?}"), "DevToken(..)");
    }

    #[test]
    fn authorization_needs_the_bearer_token() {
        let token = DevToken::new("0123456789abcdef").unwrap();
        let headers = |value: Option<&str>| {
            let mut h = HeaderMap::new();
            if let Some(v) = value {
                h.insert(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
            }
            h
        };
        assert!(authorize(&token, &headers(Some("Bearer 0123456789abcdef"))).is_ok());
        assert!(authorize(&token, &headers(Some("bearer 0123456789abcdef"))).is_ok());
        for bad in [
            None,
            Some("Bearer wrong"),
            Some("Basic 0123456789abcdef"),
            Some("Bearer "),
        ] {
            assert!(
                matches!(
                    authorize(&token, &headers(bad)),
                    Err(HttpError::Unauthorized(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn preconditions_from_headers() {
        let headers = |pairs: &[(header::HeaderName, &str)]| {
            let mut h = HeaderMap::new();
            for (n, v) in pairs {
                h.insert(n.clone(), HeaderValue::from_str(v).unwrap());
            }
            h
        };
        assert_eq!(precondition(&headers(&[])).unwrap(), Precondition::None);
        assert_eq!(
            precondition(&headers(&[(header::IF_MATCH, "\"3\"")])).unwrap(),
            Precondition::Version(3)
        );
        assert_eq!(
            precondition(&headers(&[(header::IF_MATCH, "3")])).unwrap(),
            Precondition::Version(3)
        );
        assert_eq!(
            precondition(&headers(&[(header::IF_NONE_MATCH, "*")])).unwrap(),
            Precondition::Absent
        );
        assert!(precondition(&headers(&[(header::IF_MATCH, "*")])).is_err());
        assert!(precondition(&headers(&[(header::IF_MATCH, "\"0\"")])).is_err());
        assert!(precondition(&headers(&[(header::IF_NONE_MATCH, "\"1\"")])).is_err());
    }

    #[test]
    fn queries_are_percent_decoded() {
        let q = Query::parse("path=a%2Fb%20c.js&version=2&deleted=1&x").unwrap();
        assert_eq!(q.get("path"), Some("a/b c.js"));
        assert_eq!(q.version().unwrap(), Some(2));
        assert!(q.flag("deleted"));
        assert_eq!(q.get("x"), Some(""));
        assert!(Query::parse("version=0").unwrap().version().is_err());
        assert!(Query::parse("path=%FF").is_err());
    }

    #[test]
    fn listings_are_valid_json() {
        let file = |path: &str, deleted: bool| FileVersion {
            path: path.into(),
            version: 3,
            mtime_ms: 1_700_000_000_000,
            size: if deleted { 0 } else { 5 },
            sha256: (!deleted).then_some([0xab; 32]),
            deleted,
        };
        let json = listing_json(&[file("a \"q\".txt", false), file("b\\c", true)]);
        let value: Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(
            value,
            json!([
                {"path": "a \"q\".txt", "version": 3, "size": 5, "sha256": "ab".repeat(32), "mtime": 1_700_000_000_000i64, "deleted": false},
                {"path": "b\\c", "version": 3, "size": 0, "sha256": null, "mtime": 1_700_000_000_000i64, "deleted": true},
            ])
        );
        assert_eq!(listing_json(&[]), b"[]");
    }

    #[test]
    fn syntax_errors_of_server_modules_are_warnings() {
        let source = |s: &str| {
            let s = s.as_bytes().to_vec();
            move || Ok(((), s))
        };
        assert!(module_warnings("hbf/ok.js", source("export const a = 1;")).is_empty());
        assert!(module_warnings("static/bad.js", source("export const = ;")).is_empty());
        let w = module_warnings("hbf/bad.js", source("export const a = 1;\nlet = ;"));
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0]["path"], "hbf/bad.js");
        assert_eq!(w[0]["line"], 2, "{w:?}");
        assert!(w[0]["column"].is_u64(), "{w:?}");
    }
}

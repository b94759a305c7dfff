//! The dev API's event stream (`GET /__dev/api/events`): the SSE encoding of
//! file and log events, the per-client forwarding task and body, and the
//! thread that watches for changes by other processes. Apart from the file
//! routes because it is long-lived: it holds connections and a thread, not a
//! request.

use std::pin::Pin;
use std::sync::Weak;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hbf_db::{Database, FileVersion};
use hyper::body::Frame;
use hyper::header::{self, HeaderValue};
use hyper::Response;
use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc};

use super::DevApi;
use crate::respond::{Body, HttpResponse};

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

pub(super) fn file_event(change: &FileVersion, source: &str) -> Bytes {
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

pub(super) fn log_event(request: u64, level: &str, message: &str) -> Bytes {
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
pub(super) struct Watcher {
    pub(super) db: Database,
    pub(super) events: broadcast::Sender<Bytes>,
    pub(super) alive: Weak<()>,
}

impl Watcher {
    pub(super) fn run(self) {
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

/// `GET /__dev/api/events`: a forwarding task moves events from the broadcast
/// channel into this client's bounded buffer with `try_send`, so a client that
/// stops reading fills its own buffer and is dropped (its stream ends) instead
/// of holding anything up; one that falls behind the broadcast backlog is
/// dropped too. The task ends with the client: its buffer's receiver is the
/// response body, and a send to a gone receiver fails.
pub(super) fn events(api: &DevApi) -> HttpResponse {
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

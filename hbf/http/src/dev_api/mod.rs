//! The dev API (`/__dev/api/**`, SPEC 6): the pod's versioned filesystem over
//! HTTP, for the browser editor and tools, served only with `--dev`.
//!
//! Every answer, errors included, carries `X-Content-Type-Options: nosniff`
//! and `Cache-Control: no-store` (it is the pod's code, for one holder of the
//! token: no cache may keep it). Other paths under `/__dev/` are the browser
//! editor's files ([`crate::dev_editor`]), which need no token.
//!
//! Every request needs `Authorization: Bearer <token>` ([`BearerToken`], compared
//! in constant time); otherwise `401` with `WWW-Authenticate: Bearer`. Paths
//! are query parameters, form-encoded as `URLSearchParams` writes them (`+`
//! is a space, `%2B` a plus), and
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
//! | `GET db/tables` | `[{"name","type","columns":[{"name","type","notnull","pk"}],"rows"}]`: the pod's tables and views (`rows` null for a view) |
//! | `POST db/query` | body `{"sql","params"?,"offset"?,"limit"?}` (limit 1..1000, default 100): one page of a read-only statement, `{"columns","rows","offset","more"}`; a blob is `{"$blob": base64, "size"}`; a write, a bad statement or one past 5 s is `400` |
//! | `GET db/migrations` | `{"migrations":[{"name","path","status","sha256","applied_sha256","applied_at","duration_ms"}],"pending","last_error"}`; status is applied, pending, changed or missing |
//! | `POST db/migrate` | applies the pending migrations in order: `{"applied":[{"name","duration_ms"}]}`; a failing one `422` (it was rolled back; those before it stay), a changed applied one `409` |
//!
//! A `PUT` of a migration (`hbf/migrations/*.sql`) applies it before storing
//! it: a failing one is `422` and nothing is stored, an applied one whose
//! content changed is `409` naming both hashes. Other writes of a migration
//! (a revert, the pod's own `hbf:fs`) leave it pending; a revert that would
//! change an applied one is `409` too.
//!
//! Preconditions are checked in the writing transaction
//! ([`hbf_db::VersionedFs::write_if`]), so of many writers sending the same
//! `If-Match`, exactly one succeeds and the others get `412` with
//! `current_version`. PUTs go to one writer thread that commits all the PUTs
//! waiting for it in one transaction (`writer`); deletes and reverts run on
//! tokio's blocking threads; the server's async threads never wait on the disk. A module under `hbf/` that does not compile
//! is stored anyway (it is a file; the editor may be mid-edit), and the answer
//! lists the syntax errors as `warnings`.
//!
//! | module | job |
//! |---|---|
//! | here | [`DevApi`] (the shared state), [`serve`] (the API's headers), the endpoints' methods, authorization, the query and precondition parsing |
//! | `files` | the file routes and their answers |
//! | `data` | the pod's tables, queries and migrations (`db/...`) |
//! | `writer` | the thread that commits PUTs |
//! | `events` | the event stream and the watcher of other processes |

mod data;
mod events;
mod files;
mod writer;

use std::sync::Arc;

use bytes::Bytes;
use hbf_db::{Database, Precondition};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request};
use tokio::sync::broadcast;

use crate::respond::{HttpError, HttpResponse};
use crate::secret::BearerToken;
use crate::App;

pub use data::{sql_value_json, MAX_PAGE_BYTES, MAX_PAGE_ROWS, QUERY_TIME_LIMIT};
pub use events::{CLIENT_BUFFER, EVENT_BACKLOG, HEARTBEAT};

use events::{file_event, log_event, Watcher};
use files::Listing;
use writer::{Put, Writer};

/// The dev API's state: its token and the event stream.
///
/// Events come from three places: file changes made here through the API or by
/// the pod (`hbf:fs`), announced by the database's change hook as they commit;
/// changes made by other processes, found by a watcher thread; and console lines
/// and uncaught errors of the pod's JavaScript. Each is one JSON text sent to
/// every subscriber through a broadcast channel, which never blocks a sender.
pub struct DevApi {
    token: BearerToken,
    events: broadcast::Sender<Bytes>,
    /// The last listings answered, valid while the database's generation is
    /// unchanged: an editor (or a benchmark) lists far more often than it
    /// writes, and a listing of a large pod is a large JSON text.
    listings: parking_lot::Mutex<Vec<Listing>>,
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
    pub fn start(db: &Database, token: BearerToken) -> Self {
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
            listings: parking_lot::Mutex::new(Vec::new()),
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

/// Serves `/__dev/api/<endpoint>`. Only with `--dev` (`route` never calls
/// this otherwise). Errors become their responses here, so that they carry
/// the API's headers too.
pub async fn serve(
    app: &App,
    api: &DevApi,
    request: Request<Incoming>,
    endpoint: &str,
) -> HttpResponse {
    let mut response = match endpoint_response(app, api, request, endpoint).await {
        Ok(response) => response,
        Err(e) => e.into_response(app.config.dev),
    };
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The API's endpoints and their methods: `endpoint` is the path after
/// `/__dev/api/`.
async fn endpoint_response(
    app: &App,
    api: &DevApi,
    request: Request<Incoming>,
    endpoint: &str,
) -> Result<HttpResponse, HttpError> {
    api.token.authorize(
        request.headers(),
        "the dev API needs an Authorization: Bearer <token> header",
        "the dev API token is not valid",
    )?;
    let query = Query::parse(request.uri().query().unwrap_or(""))?;
    let method = request.method().clone();
    let fs = app.db.fs_by("api");
    match (endpoint, &method) {
        ("files", &Method::GET) => files::list(app, api, &query),
        ("file", &Method::GET) => files::read(&fs, &query),
        ("file", &Method::PUT) => files::write(app, api, &query, request).await,
        ("file", &Method::DELETE) => files::delete(fs, &query, request.headers()).await,
        ("history", &Method::GET) => files::history(&fs, &query),
        ("revert", &Method::POST) => {
            files::revert(app.db.clone(), fs, &query, request.headers()).await
        }
        ("events", &Method::GET) => Ok(events::events(api)),
        ("db/tables", &Method::GET) => data::tables(app).await,
        ("db/query", &Method::POST) => data::query(app, request).await,
        ("db/migrations", &Method::GET) => data::migrations(app).await,
        ("db/migrate", &Method::POST) => data::migrate(app).await,
        ("db/tables" | "db/migrations", _) => Err(HttpError::MethodNotAllowed {
            allow: "GET",
            message: "use GET",
        }),
        ("db/query" | "db/migrate", _) => Err(HttpError::MethodNotAllowed {
            allow: "POST",
            message: "use POST",
        }),
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

/// The decoded query parameters.
struct Query(Vec<(String, String)>);

impl Query {
    /// `application/x-www-form-urlencoded` pairs (`form_urlencoded`). It
    /// decodes invalid UTF-8 to U+FFFD, which no path or version holds
    /// honestly: a parameter with one is refused rather than stored.
    fn parse(raw: &str) -> Result<Self, HttpError> {
        let mut out = Vec::new();
        for (name, value) in form_urlencoded::parse(raw.as_bytes()) {
            if name.contains('\u{FFFD}') || value.contains('\u{FFFD}') {
                return Err(HttpError::BadRequest(format!(
                    "query parameter {name:?} is not valid UTF-8 once percent-decoded"
                )));
            }
            out.push((name.into_owned(), value.into_owned()));
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

#[cfg(test)]
mod tests {
    use super::*;

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
        // As URLSearchParams writes them: `+` is a space, `%2B` a plus.
        let q = Query::parse("path=a+b%2Bc.js&prefix=x%20y").unwrap();
        assert_eq!(q.get("path"), Some("a b+c.js"));
        assert_eq!(q.get("prefix"), Some("x y"));
    }
}

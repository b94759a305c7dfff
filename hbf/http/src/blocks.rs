//! The block service (`--blocks`, SPEC 9): the Buddy Blocks API and Bazel's
//! HTTP remote cache, on the database's content store ([`hbf_db::BlockStore`]).
//!
//! | request | answer |
//! |---|---|
//! | `PUT /block` | body of 1 byte to 512 KiB (`Content-Length` required: `411`; over: `413` before the body is read); `200 text/plain`, the lowercase hex SHA-256; idempotent |
//! | `GET /block/<hex64>` | `200 application/octet-stream`, `ETag: "<hash>"`, `Cache-Control: public, max-age=31536000, immutable`; `404`; `400` unless 64 hex digits |
//! | `HEAD /block/<hex64>` | `200` with `Content-Length`, or `404` |
//! | `DELETE /block/<hex64>` | `200 Block deleted`, or `404` |
//! | `GET`/`HEAD`/`PUT [/<instance>]/cas/<sha256>` | a Bazel CAS entry; a `PUT`'s body must hash to the key (`400` otherwise); up to `--blocks-max-blob` (`413`) |
//! | `GET`/`HEAD`/`PUT [/<instance>]/ac/<sha256>` | a Bazel action-cache entry, stored as given |
//! | `GET /blocks/status` | `{"block","cas","ac": {"count","bytes"}, "max_bytes", "max_blob", "max_block"}` |
//!
//! With a token (`HBF_BLOCK_TOKEN`), `PUT` and `DELETE` need
//! `Authorization: Bearer <token>` (compared in constant time; `401`
//! otherwise); reads are open: the hash is the capability.
//!
//! Bodies are read under the JavaScript routes' share of connections
//! ([`crate::ServerConfig::js_share`]) and the body timeouts (`408`). Blocks
//! and small cache entries (up to [`SMALL_ENTRY`]) are read whole and go to a
//! writer thread that stores every PUT waiting for it in one transaction (as
//! the dev API's PUTs: one thread wake-up per commit, not two context switches
//! per write); larger cache entries are never held whole: each
//! [`PIECE`] goes to the database in its own short transaction as it arrives
//! ([`hbf_db::Upload`]), and the entry is assembled in one more. Reads run on
//! tokio's blocking threads; an entry over [`SMALL_ENTRY`] is streamed as a
//! large static file is ([`crate::stored`]). The writer thread also
//! writes the recorded uses of cache entries when it has been idle for
//! [`FLUSH_USES_EVERY`].

use std::sync::mpsc;
use std::time::Duration;

use bytes::Bytes;
use hbf_db::{key_to_hex, BlockKind, BlockPut, BlockStore, Database};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use crate::batch;
use crate::body::{self, declared_length};
use crate::conditional;
use crate::respond::{self, blocking, Body, HttpError, HttpResponse};
use crate::secret::BearerToken;
use crate::App;

/// Cache entries up to this size are read whole and stored by the writer
/// thread; larger ones are stored piece by piece.
pub const SMALL_ENTRY: u64 = 1 << 20;
/// The size of one stored piece of a large upload.
pub const PIECE: usize = 256 << 10;
/// How long the writer thread waits, idle, before writing recorded uses.
pub const FLUSH_USES_EVERY: Duration = Duration::from_secs(5);
/// Most PUTs committed together.
const PUTS_PER_COMMIT: usize = 1024;

/// The block service's settings (`--blocks-max-blob`, `--blocks-max-bytes`,
/// `HBF_BLOCK_TOKEN`).
#[derive(Debug, Clone)]
pub struct BlocksConfig {
    /// Largest `cas`/`ac` entry (`413` beyond).
    pub max_blob: u64,
    /// Bound on the `cas` + `ac` bytes (least recently used evicted first).
    pub max_bytes: Option<u64>,
    /// The token writes need, if set.
    pub token: Option<BearerToken>,
}

impl Default for BlocksConfig {
    fn default() -> Self {
        Self {
            max_blob: 64 << 20,
            max_bytes: None,
            token: None,
        }
    }
}

/// The running block service: the store, its settings and the writer thread.
pub struct BlockService {
    store: BlockStore,
    config: BlocksConfig,
    puts: mpsc::Sender<Put>,
}

/// One PUT for the writer thread.
struct Put {
    put: BlockPut,
    done: tokio::sync::oneshot::Sender<hbf_db::Result<[u8; 32]>>,
}

impl BlockService {
    /// Opens the store of `db` (deleting pieces of uploads a killed process
    /// left) and starts the writer thread, which ends with the service.
    pub fn start(db: &Database, config: BlocksConfig) -> Result<Self, String> {
        let store = BlockStore::start(db.clone(), config.max_bytes)
            .map_err(|e| format!("cannot open the block store: {e}"))?;
        let (puts, queue) = mpsc::channel();
        let writer = store.clone();
        std::thread::Builder::new()
            .name("hbf-block-write".into())
            .spawn(move || write_puts(writer, queue))
            .map_err(|e| format!("cannot start the block writer thread: {e}"))?;
        Ok(Self {
            store,
            config,
            puts,
        })
    }

    async fn put(&self, put: BlockPut) -> Result<[u8; 32], HttpError> {
        let (done, answer) = tokio::sync::oneshot::channel();
        if self.puts.send(Put { put, done }).is_err() {
            return Err(HttpError::Internal(
                "blocks: the writer thread is not running".into(),
            ));
        }
        match answer.await {
            Ok(outcome) => Ok(outcome?),
            Err(_) => Err(HttpError::Internal(
                "blocks: the writer thread stopped before answering".into(),
            )),
        }
    }
}

/// The writer thread: every PUT waiting is stored in one transaction
/// ([`BlockStore::put_many`]); when idle, the recorded uses are written.
fn write_puts(store: BlockStore, queue: mpsc::Receiver<Put>) {
    loop {
        let first = match queue.recv_timeout(FLUSH_USES_EVERY) {
            Ok(put) => put,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Err(e) = store.flush_used() {
                    tracing::warn!("blocks: cannot record the uses of cache entries: {e}");
                }
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let _ = store.flush_used();
                return;
            }
        };
        let batch = batch::take_waiting(&queue, first, PUTS_PER_COMMIT);
        let (puts, answers): (Vec<_>, Vec<_>) = batch.into_iter().map(|p| (p.put, p.done)).unzip();
        batch::answer_all(answers, store.put_many(puts));
    }
}

/// A request of the block service (which path is which: [`crate::route`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// `/block`.
    NewBlock,
    /// `/block/<hash>` (the hash as sent).
    Block(&'a str),
    /// `[/<instance>]/cas/<hash>` or `[/<instance>]/ac/<hash>`.
    Cache(BlockKind, &'a str),
    /// `/blocks/status`.
    Status,
}

/// Serves a block service request.
pub async fn serve(
    app: &App,
    service: &BlockService,
    request: Request<Incoming>,
    target: Target<'_>,
) -> Result<HttpResponse, HttpError> {
    let method = request.method().clone();
    match (target, &method) {
        (Target::NewBlock, &Method::PUT) => {
            authorize(service, request.headers())?;
            put_block(app, service, request).await
        }
        (Target::NewBlock, _) => Err(HttpError::MethodNotAllowed {
            allow: "PUT",
            message: "PUT a block to /block",
        }),
        (Target::Block(hash), &Method::GET | &Method::HEAD) => {
            let key = parse_hash(hash)?;
            read(app, service, BlockKind::Block, key, &request).await
        }
        (Target::Block(hash), &Method::DELETE) => {
            authorize(service, request.headers())?;
            let key = parse_hash(hash)?;
            let store = service.store.clone();
            if blocking(move || store.delete(BlockKind::Block, &key)).await? {
                Ok(respond::with_body(
                    StatusCode::OK,
                    "text/plain",
                    &b"Block deleted"[..],
                ))
            } else {
                Err(HttpError::NotFound("no such block"))
            }
        }
        (Target::Block(_), _) => Err(HttpError::MethodNotAllowed {
            allow: "GET, HEAD, DELETE",
            message: "use GET, HEAD or DELETE",
        }),
        (Target::Cache(kind, hash), &Method::GET | &Method::HEAD) => {
            let key = parse_hash(hash)?;
            read(app, service, kind, key, &request).await
        }
        (Target::Cache(kind, hash), &Method::PUT) => {
            authorize(service, request.headers())?;
            let key = parse_hash(hash)?;
            put_entry(app, service, kind, key, request).await
        }
        (Target::Cache(..), _) => Err(HttpError::MethodNotAllowed {
            allow: "GET, HEAD, PUT",
            message: "use GET, HEAD or PUT",
        }),
        (Target::Status, &Method::GET | &Method::HEAD) => status(service).await,
        (Target::Status, _) => Err(HttpError::MethodNotAllowed {
            allow: "GET, HEAD",
            message: "use GET",
        }),
    }
}

fn authorize(service: &BlockService, headers: &HeaderMap) -> Result<(), HttpError> {
    match &service.config.token {
        None => Ok(()),
        Some(token) => token.authorize(
            headers,
            "block writes need an Authorization: Bearer <HBF_BLOCK_TOKEN> header",
            "the block token is not valid",
        ),
    }
}

/// 64 hex digits (either case) as the 32 bytes they spell.
fn parse_hash(text: &str) -> Result<[u8; 32], HttpError> {
    hbf_db::key_from_hex(text).ok_or_else(|| {
        HttpError::BadRequest(format!(
            "{:?} is not a SHA-256: 64 hex digits",
            text.chars().take(80).collect::<String>()
        ))
    })
}

/// `PUT /block`.
async fn put_block(
    app: &App,
    service: &BlockService,
    request: Request<Incoming>,
) -> Result<HttpResponse, HttpError> {
    let limit = hbf_db::MAX_BLOCK;
    let Some(length) = declared_length(request.headers())? else {
        return Err(HttpError::LengthRequired(
            "PUT /block needs a Content-Length (a block is 1 byte to 512 KiB)",
        ));
    };
    if length > limit as u64 {
        return Err(HttpError::BodyTooLarge { limit });
    }
    if length == 0 {
        return Err(HttpError::BadRequest(
            "a block has at least one byte".into(),
        ));
    }
    let Ok(_slot) = app.js_slots.try_acquire() else {
        return Err(HttpError::Busy(
            "too many requests with a body are in progress",
        ));
    };
    let data = body::read_body(request.into_body(), limit, Some(length), &app.config).await?;
    let key = service
        .put(BlockPut {
            kind: BlockKind::Block,
            key: None,
            data,
        })
        .await?;
    Ok(respond::with_body(
        StatusCode::OK,
        "text/plain",
        key_to_hex(&key),
    ))
}

/// `PUT [/<instance>]/cas|ac/<hash>`.
async fn put_entry(
    app: &App,
    service: &BlockService,
    kind: BlockKind,
    key: [u8; 32],
    request: Request<Incoming>,
) -> Result<HttpResponse, HttpError> {
    let max = service.config.max_blob;
    let limit = usize::try_from(max).unwrap_or(usize::MAX);
    let declared = declared_length(request.headers())?;
    if declared.is_some_and(|n| n > max) {
        return Err(HttpError::BodyTooLarge { limit });
    }
    let Ok(_slot) = app.js_slots.try_acquire() else {
        return Err(HttpError::Busy(
            "too many requests with a body are in progress",
        ));
    };
    let done = |key: [u8; 32]| respond::with_body(StatusCode::OK, "text/plain", key_to_hex(&key));
    if let Some(n) = declared.filter(|&n| n <= SMALL_ENTRY) {
        let data = body::read_body(request.into_body(), limit, Some(n), &app.config).await?;
        let key = service
            .put(BlockPut {
                kind,
                key: Some(key),
                data,
            })
            .await?;
        return Ok(done(key));
    }
    // Large or of unknown length: stored piece by piece as it arrives.
    let mut body = body::TimedBody::new(request.into_body(), limit, &app.config);
    let mut upload = service.store.begin_upload(kind, key, max);
    let mut piece: Vec<u8> = Vec::with_capacity(PIECE);
    loop {
        let data = body.next().await?;
        let end = data.is_none();
        if let Some(data) = data {
            piece.extend_from_slice(&data);
        }
        if piece.len() >= PIECE || (end && !piece.is_empty()) {
            let full = std::mem::replace(&mut piece, Vec::with_capacity(PIECE));
            upload = blocking(move || {
                let mut upload = upload;
                upload.append(full)?;
                Ok(upload)
            })
            .await?;
        }
        if end {
            break;
        }
    }
    let key = blocking(move || upload.finish()).await?;
    Ok(done(key))
}

/// `GET`/`HEAD` of an entry.
async fn read(
    app: &App,
    service: &BlockService,
    kind: BlockKind,
    key: [u8; 32],
    request: &Request<Incoming>,
) -> Result<HttpResponse, HttpError> {
    let head = request.method() == Method::HEAD;
    // A block in memory is answered here; any other block GET is one
    // statement (its bytes, then kept in memory if small); anything else
    // opens a reader (HEAD: never read; large: streamed).
    let cached = match kind {
        BlockKind::Block if !head => service.store.cached_block(&key),
        _ => None,
    };
    let store = service.store.clone();
    let found = match cached {
        Some(data) => Some(Found::Shared(data, key)),
        None => {
            blocking(move || {
                if kind == BlockKind::Block && !head {
                    return Ok(store.get_block(&key)?.map(|data| Found::Shared(data, key)));
                }
                let Some(reader) = store.open(kind, &key)? else {
                    return Ok(None);
                };
                if !head && reader.len() <= SMALL_ENTRY {
                    let sha256 = reader.meta().sha256.unwrap_or(key);
                    return Ok(Some(Found::Bytes(reader.read_all()?, sha256)));
                }
                Ok(Some(Found::Reader(reader)))
            })
            .await?
        }
    };
    let Some(found) = found else {
        return Err(HttpError::NotFound(match kind {
            BlockKind::Block => "no such block",
            BlockKind::Cas => "no such CAS entry",
            BlockKind::Ac => "no such action-cache entry",
        }));
    };
    // The content's hash: the key, but for an action-cache entry.
    let etag = match &found {
        Found::Bytes(_, sha256) | Found::Shared(_, sha256) => key_to_hex(sha256),
        Found::Reader(r) => r.meta().sha256_hex().unwrap_or_else(|| key_to_hex(&key)),
    };
    let etag = HeaderValue::from_str(&format!("\"{etag}\"")).expect("hex is a valid header");
    let cache_control = match kind {
        BlockKind::Ac => "no-cache",
        BlockKind::Block | BlockKind::Cas => "public, max-age=31536000, immutable",
    };
    let fresh = conditional::not_modified(request.headers(), &etag, None);
    let body = if fresh {
        Body::full(Bytes::new())
    } else {
        match found {
            Found::Bytes(data, _) => Body::full(data),
            Found::Shared(data, _) => Body::full(Bytes::from_owner(data)),
            Found::Reader(reader) => {
                let len = reader.len();
                app.stored_reads.body(reader, 0, len)
            }
        }
    };
    let mut response = Response::new(body);
    if fresh {
        *response.status_mut() = StatusCode::NOT_MODIFIED;
    }
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::ETAG, etag);
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    Ok(response)
}

/// What a read found.
enum Found {
    /// The whole content and its SHA-256.
    Bytes(Vec<u8>, [u8; 32]),
    /// A block's content, shared with the block cache, and its SHA-256.
    Shared(std::sync::Arc<[u8]>, [u8; 32]),
    Reader(hbf_db::FileReader),
}

/// `GET /blocks/status`.
async fn status(service: &BlockService) -> Result<HttpResponse, HttpError> {
    let store = service.store.clone();
    let status = blocking(move || store.status()).await?;
    let kind = |k: hbf_db::KindStatus| serde_json::json!({ "count": k.count, "bytes": k.bytes });
    let body = serde_json::json!({
        "block": kind(status.block),
        "cas": kind(status.cas),
        "ac": kind(status.ac),
        "max_bytes": status.max_bytes,
        "max_blob": service.config.max_blob,
        "max_block": hbf_db::MAX_BLOCK,
    });
    let mut response = respond::json(
        StatusCode::OK,
        serde_json::to_vec(&body).expect("a JSON value always serializes"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_64_hex_digits() {
        let lower = "0123456789abcdef".repeat(4);
        let key = parse_hash(&lower).unwrap();
        assert_eq!(key_to_hex(&key), lower);
        assert_eq!(parse_hash(&lower.to_uppercase()).unwrap(), key);
        for bad in [
            "",
            "abc",
            &lower[..63],
            &format!("{lower}0"),
            &format!("{}g", &lower[..63]),
            &format!("{}+", &lower[..63]),
        ] {
            assert!(
                matches!(parse_hash(bad), Err(HttpError::BadRequest(_))),
                "{bad}"
            );
        }
    }
}

//! HBF's HTTP server: hyper (HTTP/1.1, keep-alive) on tokio.
//!
//! The request path, one module per step:
//!
//! 1. [`accept`]: the accept loop, connection limits, timeouts, graceful shutdown;
//! 2. [`route`]: which handler a request goes to;
//! 3. the handlers: `GET /health` ([`health`]), [`static_files`] (`/static/**`
//!    from the versioned filesystem), [`dev_api`] (`/__dev/api/**`, the
//!    authenticated live-editing API, only with `--dev`), [`dev_editor`] (the
//!    browser editor's files at `/__dev/`, only with `--dev`) and [`js`]
//!    (everything else, to the pod's JavaScript through the worker pool), and
//!    with `--blocks` [`blocks`] (`/block/**`, `/cas/**`, `/ac/**`,
//!    `/blocks/status`: the block service and Bazel's remote cache);
//! 4. [`respond`]: building responses, including every error as a well-formed
//!    HTTP response.

#![forbid(unsafe_code)]

pub mod accept;
pub mod blocks;
pub mod dev_api;
pub mod dev_editor;
pub mod health;
pub mod js;
pub mod respond;
pub mod route;
pub mod static_files;

use std::time::Duration;

use hbf_db::Database;
use hbf_qjs::JsPool;

pub use accept::{serve, serve_connection};

/// Limits and settings of the server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest request body accepted (413 beyond).
    pub max_body_bytes: usize,
    /// Largest request head (request line and headers, in total) accepted (431
    /// beyond). At least 8192 (hyper's smallest read buffer).
    pub max_header_bytes: usize,
    /// Time a client has to send a request's head (408 after).
    pub header_timeout: Duration,
    /// Longest pause between two pieces of a request body (408 after): a client
    /// that stops sending gives its connection back this soon.
    pub body_idle_timeout: Duration,
    /// Longest time a whole request body may take (408 after), so a client that
    /// trickles a byte now and then cannot hold a connection either.
    pub body_timeout: Duration,
    /// Most connections open at once; the next ones are answered `503` with
    /// `Retry-After` and closed at once instead of waiting unseen in the kernel's
    /// accept queue. Requests to JavaScript routes may hold at most
    /// [`ServerConfig::js_share`] of them (see there).
    pub max_connections: usize,
    /// Most connections one client address may hold open at once (an IPv6
    /// client's whole /64 counts as one address); 0 means no per-address limit.
    /// The next ones from that address are answered `503` with `Retry-After`
    /// and closed at once, like those over [`ServerConfig::max_connections`],
    /// so one address cannot take every connection from everyone else. Behind
    /// a reverse proxy every client comes from the proxy's address: set 0
    /// there (the proxy then has to limit its clients).
    pub max_connections_per_address: usize,
    /// How long shutdown waits for in-flight requests.
    pub drain_timeout: Duration,
    /// Development mode: error responses carry JavaScript messages and stacks.
    pub dev: bool,
    /// The dev API's token: with [`ServerConfig::dev`], `/__dev/api/**` is
    /// served to requests that present it ([`dev_api`]); without one, every
    /// `/__dev/**` path is `404`.
    pub dev_token: Option<dev_api::DevToken>,
    /// With [`ServerConfig::dev`]: serve the editor's files from this directory
    /// (read per request) instead of the copy embedded in the binary
    /// (`--editor-dir`, for working on the editor without rebuilding).
    pub dev_editor_dir: Option<hbf_dev::EditorDir>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 10 << 20,
            max_header_bytes: 64 << 10,
            header_timeout: Duration::from_secs(10),
            body_idle_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(60),
            max_connections: 10_000,
            max_connections_per_address: Self::DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
            drain_timeout: Duration::from_secs(10),
            dev: false,
            dev_token: None,
            dev_editor_dir: None,
        }
    }
}

impl ServerConfig {
    /// The default of [`ServerConfig::max_connections_per_address`]: far more
    /// than a browser opens (about 6 per host) or a busy office behind one NAT
    /// address needs, and above what this repository's own load tools open from
    /// 127.0.0.1 (`tools/bench` and its scripts: 50 connections; the largest
    /// test, 250 of which at most 200 are served); yet 40 addresses are needed
    /// to fill the default 10,000 connections instead of one.
    pub const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS: usize = 256;

    /// How many requests to JavaScript routes may be in progress at once (reading
    /// their body, waiting for a worker or running): three quarters of
    /// [`ServerConfig::max_connections`]. JavaScript routes are the only ones that
    /// read a body or wait on anything slow, so without a share, clients that
    /// stall their bodies could hold every connection; with it, a quarter of the
    /// connections is always left for `/health`, static files and idle
    /// keep-alive connections, and a JavaScript request over the share is
    /// answered `503` with `Retry-After` at once.
    pub fn js_share(&self) -> usize {
        (self.max_connections - self.max_connections / 4).max(1)
    }

    /// How many connections over the limit may be in the middle of being
    /// answered `503` at once (each takes a moment: the answer, then a short
    /// linger); past this many, more are closed without a word, so a flood of
    /// connections cannot grow the work of refusing them without bound.
    pub fn max_rejecting(&self) -> usize {
        (self.max_connections / 4).max(16)
    }

    /// File descriptors the server may hold for connections: two per served
    /// connection (its socket, and the duplicate kept for a late `408`), one per
    /// connection being refused. Past the process's limit, `accept()` fails and
    /// new connections wait in the kernel's queue again, so the binary lowers
    /// `max_connections` to fit.
    pub fn connection_fds(&self) -> usize {
        2 * self.max_connections + self.max_rejecting()
    }
}

/// Everything a request handler needs; shared by all connections.
pub struct App {
    pub db: Database,
    pub js: JsPool,
    pub config: ServerConfig,
    pub static_cache: static_files::StaticCache,
    /// The dev API, when [`ServerConfig::dev`] and a token are set.
    pub dev_api: Option<dev_api::DevApi>,
    /// The block service (`--blocks`), set with [`App::with_blocks`].
    pub blocks: Option<blocks::BlockService>,
    /// Extra sections of `/health` ([`App::with_health`]).
    pub health: Option<health::HealthReport>,
    /// Permits for requests to JavaScript routes ([`ServerConfig::js_share`]).
    pub(crate) js_slots: tokio::sync::Semaphore,
    next_request_id: std::sync::atomic::AtomicU64,
}

impl App {
    pub fn new(db: Database, js: JsPool, config: ServerConfig) -> Self {
        let dev_api = match (&config.dev_token, config.dev) {
            (Some(token), true) => Some(dev_api::DevApi::start(&db, token.clone())),
            _ => None,
        };
        Self {
            dev_api,
            blocks: None,
            health: None,
            db,
            js,
            js_slots: tokio::sync::Semaphore::new(config.js_share()),
            config,
            static_cache: static_files::StaticCache::default(),
            next_request_id: std::sync::atomic::AtomicU64::new(1),
        }
    }

    /// Serves the block service's routes too (`--blocks`); without it they
    /// are the pod's paths like any other.
    pub fn with_blocks(mut self, service: blocks::BlockService) -> Self {
        self.blocks = Some(service);
        self
    }

    /// Adds sections to `/health` (replication's state).
    pub fn with_health(mut self, report: health::HealthReport) -> Self {
        self.health = Some(report);
        self
    }

    /// A new request id (for logs and error bodies).
    pub fn request_id(&self) -> u64 {
        self.next_request_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }
}

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
//!
//! The handlers stand side by side: none imports another. What they share are
//! tools: [`body`] (reading request bodies), [`batch`] (writer threads), [`stored`] (streaming stored
//! content), [`mime`] (content types), [`conditional`] (`If-None-Match`,
//! `Range`...), [`secret`] (bearer tokens), [`config`] and [`respond`].

#![forbid(unsafe_code)]

pub mod accept;
pub mod route;

pub mod blocks;
pub mod dev_api;
pub mod dev_editor;
pub mod health;
pub mod js;
pub mod static_files;

pub mod batch;
pub mod body;
pub mod conditional;
pub mod config;
pub mod mime;
pub mod respond;
pub mod secret;
pub mod stored;

use hbf_db::Database;
use hbf_qjs::JsPool;

pub use accept::{serve, serve_connection};
pub use config::ServerConfig;
pub use dev_api::sql_value_json;
pub use secret::BearerToken;

/// Everything a request handler needs; shared by all connections.
pub struct App {
    pub db: Database,
    pub js: JsPool,
    pub config: ServerConfig,
    pub static_cache: static_files::StaticCache,
    /// The bound on pieces of stored bodies read at once ([`stored`]).
    pub stored_reads: stored::Reads,
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
            stored_reads: stored::Reads::default(),
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

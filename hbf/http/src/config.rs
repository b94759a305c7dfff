//! The server's settings: limits, timeouts, and what `--dev` serves.

use std::time::Duration;

use crate::secret::BearerToken;

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
    /// served to requests that present it ([`crate::dev_api`]); without one, every
    /// `/__dev/**` path is `404`.
    pub dev_token: Option<BearerToken>,
    /// With [`ServerConfig::dev`]: serve the editor's files from this directory
    /// (read per request) instead of the copy embedded in the binary
    /// (`--editor-dir`, for working on the editor without rebuilding).
    pub dev_editor_dir: Option<hbf_dev::EditorDir>,
    /// Time one schema migration may run when a live save applies it
    /// (`--migration-timeout`).
    pub migration_timeout: Duration,
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
            migration_timeout: hbf_db::DEFAULT_MIGRATION_TIMEOUT,
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

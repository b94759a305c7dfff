//! The command line (SPEC 1): flags with environment fallbacks, and operator
//! sub-commands on the same database.

use std::net::IpAddr;
use std::num::NonZeroUsize;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use hbf_qjs::Isolation;

/// HBF: one binary that serves a pod's static files and runs its JavaScript,
/// all stored in SQLite.
#[derive(Debug, Parser)]
#[command(name = "hbf", version, about)]
pub struct Cli {
    /// TCP port (0 picks a free one and logs it).
    #[arg(long, env = "HBF_PORT", default_value_t = 5309)]
    pub port: u16,

    /// Bind address (IPv4 or IPv6).
    #[arg(long, env = "HBF_HOST", default_value = "127.0.0.1")]
    pub host: IpAddr,

    /// Main database file (created from the embedded pod if missing).
    #[arg(long, env = "HBF_DB", default_value = "./hbf.db")]
    pub db: PathBuf,

    /// Use an in-memory main database, discarded on exit.
    #[arg(long, conflicts_with = "db")]
    pub inmem: bool,

    /// Serve this pod directory (packed at start) instead of the embedded pod.
    #[arg(long = "pod", env = "HBF_POD_DIR", value_name = "DIR")]
    pub pod_dir: Option<PathBuf>,

    /// Log level.
    #[arg(
        long = "log-level",
        alias = "log_level",
        env = "HBF_LOG",
        default_value = "info",
        value_parser = ["error", "warn", "info", "debug", "trace"]
    )]
    pub log_level: String,

    /// Development mode: error responses carry the JavaScript message and stack,
    /// the browser editor is served at /__dev/, and the live-editing API
    /// /__dev/api/** is served to clients that present the dev token
    /// (HBF_DEV_TOKEN, at least 16 characters, or a random one printed once at
    /// start). With a --host that is not loopback, HBF_DEV_TOKEN must be set.
    #[arg(long)]
    pub dev: bool,

    /// With --dev: serve the editor's files (index.html, main.js, ...) from this
    /// directory, read on every request, instead of the copy built into the
    /// binary: for working on the editor itself without rebuilding
    /// (e.g. hbf/dev/editor; a file it lacks, like the CodeMirror bundle, is
    /// the built-in one).
    #[arg(long = "editor-dir", value_name = "DIR", requires = "dev")]
    pub editor_dir: Option<PathBuf>,

    /// Serve the block service on the database's content store: the Buddy
    /// Blocks API (PUT /block answers the body's SHA-256; GET, HEAD, DELETE
    /// /block/<sha256>; 1 byte to 512 KiB per block) and Bazel's HTTP remote
    /// cache (/cas/<sha256>, verified, and /ac/<key>, optionally under an
    /// /<instance>/ prefix; use it with bazel --remote_cache=http://HOST:PORT),
    /// with GET /blocks/status. With HBF_BLOCK_TOKEN set (at least 16
    /// characters), PUT and DELETE need Authorization: Bearer <token>; reads
    /// are open. Without this flag those paths are the pod's.
    #[arg(long)]
    pub blocks: bool,

    /// With --blocks: the largest /cas or /ac entry, in bytes (413 beyond);
    /// entries are streamed to and from the database, never held whole.
    #[arg(long = "blocks-max-blob", value_name = "BYTES", default_value_t = 64 << 20,
          requires = "blocks",
          value_parser = clap::value_parser!(u64).range(1..=(1 << 40)))]
    pub blocks_max_blob: u64,

    /// With --blocks: keep the /cas and /ac entries under this many bytes in
    /// total by deleting the least recently used ones (default: unlimited).
    /// /block entries are never evicted, only deleted.
    #[arg(long = "blocks-max-bytes", value_name = "BYTES", requires = "blocks")]
    pub blocks_max_bytes: Option<u64>,

    /// How requests are isolated: `snapshot` runs each request in a warm
    /// context whose whole heap is put back afterwards as it was when the pod
    /// had loaded (nothing a request does reaches the next); `worker` reuses
    /// one context and its module instances per worker (state persists
    /// between the requests a worker serves). Without this flag the pod
    /// decides (`export const isolation = 'worker'` in hbf/server.js), and a
    /// pod that declares nothing gets `snapshot`.
    #[arg(long, value_name = "snapshot|worker", value_parser = Isolation::parse)]
    pub isolation: Option<Isolation>,

    /// Largest request body accepted, in bytes (413 beyond).
    #[arg(long = "max-body", value_name = "BYTES", default_value_t = 10 << 20)]
    pub max_body_bytes: usize,

    /// Largest request head (request line and headers, in total), in bytes
    /// (431 beyond; at least 8192).
    #[arg(long = "max-header", value_name = "BYTES", default_value_t = 64 << 10,
          value_parser = clap::value_parser!(u64).range(8192..=(16 << 20)))]
    pub max_header_bytes: u64,

    /// Time a client has to send a request's head, in milliseconds (408 after).
    #[arg(long = "header-timeout", value_name = "MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    pub header_timeout_ms: u64,

    /// Longest pause between two pieces of a request body, in milliseconds (408
    /// after), so a client that stops sending gives its connection back.
    #[arg(long = "body-idle-timeout", value_name = "MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    pub body_idle_timeout_ms: u64,

    /// Longest time a whole request body may take, in milliseconds (408 after),
    /// so a client that trickles a byte now and then cannot hold a connection.
    #[arg(long = "body-timeout", value_name = "MS", default_value_t = 60_000,
          value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    pub body_timeout_ms: u64,

    /// Most connections open at once; more are answered 503 with Retry-After.
    /// Requests to JavaScript routes may hold three quarters of them, so
    /// /health and static files always have room. Default: 10000, or fewer
    /// when the open-files limit (ulimit -n) cannot hold that many.
    #[arg(long = "max-connections", value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: Option<u64>,

    /// Most connections one client address may hold open at once (0: no
    /// limit; an IPv6 client's /64 counts as one address); more from that
    /// address are answered 503 with Retry-After, so one address cannot take
    /// every connection from everyone else. Behind a reverse proxy every
    /// client has the proxy's address: set 0 there. Raise it to load-test
    /// with more connections from one machine.
    #[arg(long = "max-connections-per-address", value_name = "N",
          default_value_t = hbf_http::ServerConfig::DEFAULT_MAX_CONNECTIONS_PER_ADDRESS as u64,
          value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
    pub max_connections_per_address: u64,

    /// JavaScript worker count (default: one per core).
    #[arg(long)]
    pub workers: Option<NonZeroUsize>,

    /// Requests that may wait for a free JavaScript worker (default: 256 per
    /// worker); the next is answered 503 with Retry-After.
    #[arg(long = "js-queue", value_name = "N")]
    pub js_queue: Option<NonZeroUsize>,

    /// Memory limit per JavaScript runtime, in MB.
    #[arg(long = "js-memory", value_name = "MB", default_value_t = 64,
          value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub js_memory_mb: u64,

    /// CPU time a request's JavaScript and SQL may use, in milliseconds (as
    /// Workers' CPU limit: time spent waiting on timers, fetch() or a slow
    /// client does not count).
    #[arg(long = "js-timeout", value_name = "MS", default_value_t = 5000,
          value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    pub js_timeout_ms: u64,

    /// Time one schema migration (hbf/migrations/*.sql) may run, in
    /// milliseconds: at start, on a live save and with `hbf db migrate`.
    #[arg(long = "migration-timeout", value_name = "MS", env = "HBF_MIGRATION_TIMEOUT",
          default_value_t = 60_000,
          value_parser = clap::value_parser!(u64).range(1..=86_400_000))]
    pub migration_timeout_ms: u64,

    /// Wall-clock time a request may take, waits included, in milliseconds.
    #[arg(long = "js-wall-timeout", value_name = "MS", default_value_t = 30_000,
          value_parser = clap::value_parser!(u64).range(1..=86_400_000))]
    pub js_wall_timeout_ms: u64,

    /// How long a streamed response that runs past --js-wall-timeout may go
    /// without sending a chunk before it is ended, in milliseconds (while it
    /// flows, only --js-timeout's CPU time ends it).
    #[arg(long = "js-stream-idle-timeout", value_name = "MS", default_value_t = 30_000,
          value_parser = clap::value_parser!(u64).range(1..=86_400_000))]
    pub js_stream_idle_timeout_ms: u64,

    /// What pods may reach with fetch() (default: nothing). Comma-separated
    /// rules, the flag repeatable: a host (api.example.com), its subdomains
    /// (*.example.com), an IP or CIDR (10.0.0.0/8, [::1]), or * for every
    /// public address; each with an optional :port. Loopback, private,
    /// link-local, CGNAT and metadata addresses are refused unless an IP or
    /// CIDR rule names them; addresses are checked after DNS. DOCS/NETWORK.md.
    #[arg(long = "allow-net", value_name = "RULES", env = "HBF_ALLOW_NET")]
    pub allow_net: Vec<String>,

    /// A PEM file of CA certificates fetch() trusts besides the public ones
    /// built into HBF (webpki roots): for services behind a private CA.
    #[arg(long = "ca-file", value_name = "PEM", env = "HBF_CA_FILE")]
    pub ca_file: Option<std::path::PathBuf>,

    /// The most fetch() calls one request may make (as Workers' free plan).
    #[arg(long = "fetch-max-per-request", value_name = "N", default_value_t = 50,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub fetch_max_per_request: u32,

    /// The most outbound requests under way at once in this process; more
    /// wait for one to end (within their request's deadline).
    #[arg(long = "fetch-max-connections", value_name = "N", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub fetch_max_connections: u32,

    /// Memory all of SQLite may use in this process, in MB (0: no bound): a
    /// backstop behind the limits on each pod statement (a value at most half
    /// of --js-memory, a query's rows at most --js-memory); past it a statement
    /// fails with "out of memory" instead of growing the process.
    #[arg(long = "sql-memory", value_name = "MB", default_value_t = 512,
          value_parser = clap::value_parser!(u64).range(0..=1 << 20))]
    pub sql_memory_mb: u64,

    /// Replicate the database continuously with Litestream (0.5.x) to URL:
    /// s3://BUCKET/PATH (with endpoint=, region=, force-path-style=true as
    /// URL parameters, as Litestream takes them), file:///DIR or
    /// sftp://HOST/PATH. Credentials come from the environment only
    /// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...). A missing --db is
    /// restored from the replica first, if it has one. DOCS/REPLICATION.md.
    #[arg(long, env = "HBF_REPLICATE", value_name = "URL", conflicts_with = "inmem",
          value_parser = crate::litestream::parse_replica_url)]
    pub replicate: Option<crate::litestream::ReplicaUrl>,

    /// With --replicate: how often changes are shipped (e.g. 100ms, 1s): the
    /// window of acknowledged writes a lost machine can take with it.
    #[arg(long = "replicate-sync", value_name = "DURATION", default_value = "1s",
          requires = "replicate", value_parser = crate::litestream::parse_duration)]
    pub replicate_sync: crate::litestream::Interval,

    /// With --replicate: how long restore points are kept (e.g. 720h).
    #[arg(long = "replicate-retention", value_name = "DURATION", default_value = "720h",
          requires = "replicate", value_parser = crate::litestream::parse_duration)]
    pub replicate_retention: crate::litestream::Interval,

    /// The Litestream binary (default: `litestream` on PATH).
    #[arg(long, env = "HBF_LITESTREAM", value_name = "PATH", global = true)]
    pub litestream: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read and change the versioned filesystem of the database (`--db`).
    #[command(subcommand)]
    Fs(FsCommand),
    /// The pod's data: its schema migrations, queries and exports (`--db`).
    #[command(subcommand)]
    Db(DbCommand),
    /// Restore a database from a replica into a new file: restored to a
    /// temporary file, checked (Litestream's integrity check, then HBF's:
    /// application id, schema version, quick_check, pod schema), then moved
    /// into place. An existing file is never overwritten.
    Restore {
        /// The replica's URL (as for --replicate).
        #[arg(long, value_name = "URL", value_parser = crate::litestream::parse_replica_url)]
        from: crate::litestream::ReplicaUrl,
        /// The new database file.
        #[arg(long = "db", value_name = "NEW")]
        to: PathBuf,
        /// Restore the database as it was at this moment (RFC 3339).
        #[arg(long, conflicts_with = "txid")]
        timestamp: Option<String>,
        /// Restore up to this transaction (a decimal number).
        #[arg(long)]
        txid: Option<u64>,
        /// Print the restore plan; write nothing.
        #[arg(long = "dry-run")]
        dry_run: bool,
    },
    /// A replica's restore points.
    #[command(subcommand)]
    Replicas(ReplicasCommand),
}

#[derive(Debug, Subcommand)]
pub enum ReplicasCommand {
    /// List the restore points (Litestream's LTX files) of the replica at URL.
    Ls {
        #[arg(long, value_name = "URL", value_parser = crate::litestream::parse_replica_url)]
        from: crate::litestream::ReplicaUrl,
    },
}

#[derive(Debug, Subcommand)]
pub enum FsCommand {
    /// List live files (path, version, size), optionally under a prefix.
    Ls { prefix: Option<String> },
    /// Print a file's latest content (or one version's).
    Cat {
        path: String,
        #[arg(long)]
        version: Option<u64>,
    },
    /// Write a new version of PATH from FILE (or standard input).
    Put { path: String, file: Option<PathBuf> },
    /// Delete PATH (a tombstone version; history is kept).
    Rm { path: String },
    /// Show every version of PATH.
    Log { path: String },
    /// Write a new version of PATH with the content of VERSION.
    Revert { path: String, version: u64 },
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// List the migrations (hbf/migrations/*.sql): applied, pending, changed
    /// (an error: an applied migration's file was edited) or missing.
    Status,
    /// Apply the pending migrations in order, without serving.
    Migrate,
    /// Run one SQL statement as the pod would (its authorizer: no platform
    /// table written) and print the rows, tab-separated under a header.
    Query {
        sql: String,
        /// Allow a statement that writes (read-only without it).
        #[arg(long)]
        write: bool,
        /// Stop with an error past this many rows.
        #[arg(long = "max-rows", value_name = "N", default_value_t = 10_000,
              value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
        max_rows: u64,
        /// Stop with an error past this many milliseconds.
        #[arg(long, value_name = "MS", default_value_t = 30_000,
              value_parser = clap::value_parser!(u64).range(1..=86_400_000))]
        timeout: u64,
    },
    /// Write every row of a pod table (or view) to standard output.
    Export {
        table: String,
        #[arg(long, value_parser = ["csv", "json"], default_value = "csv")]
        format: String,
    },
}

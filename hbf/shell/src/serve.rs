//! `hbf` without a sub-command: serve the pod over HTTP until SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hbf_db::Database;
use hbf_http::blocks::{BlockService, BlocksConfig};
use hbf_http::BearerToken;
use hbf_http::{App, ServerConfig};
use hbf_qjs::{EngineConfig, Isolation, JsPool};

use crate::cli::Cli;

/// Applies the pod's pending migrations, logging each; a failing one stops
/// the start (the code beside it would meet a schema it does not expect).
fn migrate(db: &Database, timeout: Duration) -> Result<(), String> {
    match db.migrate(timeout) {
        Ok(ran) => {
            for r in ran {
                tracing::info!(
                    migration = %r.name,
                    ms = r.duration.as_millis() as u64,
                    "applied the migration"
                );
            }
            Ok(())
        }
        Err(e) => Err(format!("cannot start: {e}")),
    }
}

/// Runs the server; returns after a graceful shutdown.
pub fn run(
    cli: &Cli,
    db: Database,
    pod: &str,
    litestream: Option<&std::path::Path>,
) -> Result<(), String> {
    let dev_token = match cli.dev {
        true => Some(dev_token(cli)?),
        false => None,
    };
    let blocks = match cli.blocks {
        true => Some(BlocksConfig {
            max_blob: cli.blocks_max_blob,
            max_bytes: cli.blocks_max_bytes,
            token: block_token()?,
        }),
        false => None,
    };
    let dev_editor_dir = cli
        .editor_dir
        .as_ref()
        .map(|dir| {
            hbf_dev::EditorDir::new(dir).map_err(|e| {
                format!("--editor-dir must name the directory of the editor's files: {e}")
            })
        })
        .transpose()?;
    let workers = cli
        .workers
        .map(|n| n.get())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let policy = hbf_qjs::net::NetPolicy::parse(&cli.allow_net).map_err(|e| e.to_string())?;
    let roots = match &cli.ca_file {
        Some(path) => hbf_qjs::net::Client::read_ca_file(path).map_err(|e| e.to_string())?,
        None => Vec::new(),
    };
    let client = if policy.is_empty() {
        None
    } else {
        Some(
            hbf_qjs::net::Client::new(policy, cli.fetch_max_connections as usize, roots)
                .map_err(|e| e.to_string())?,
        )
    };
    let engine = EngineConfig {
        memory_limit_bytes: (cli.js_memory_mb as usize) << 20,
        timeout: Duration::from_millis(cli.js_timeout_ms),
        wall_timeout: Duration::from_millis(cli.js_wall_timeout_ms),
        stream_idle_timeout: Duration::from_millis(cli.js_stream_idle_timeout_ms),
        isolation: cli.isolation.unwrap_or_default(),
        isolation_from_pod: cli.isolation.is_none(),
        fetch: hbf_qjs::FetchConfig {
            client,
            max_per_request: cli.fetch_max_per_request,
            max_body: (cli.js_memory_mb as usize) << 20,
        },
    };
    db.set_sql_memory_limit(cli.sql_memory_mb << 20)
        .map_err(|e| format!("cannot bound SQLite's memory: {e}"))?;
    // Before the JavaScript workers open their pod connections, which must
    // start without SQLite's automatic checkpoint while replicating.
    let replication = match (&cli.replicate, litestream) {
        (Some(url), Some(binary)) => Some(crate::replicate::Replication::start(
            &db,
            binary,
            url,
            cli.replicate_sync,
            cli.replicate_retention,
        )?),
        _ => None,
    };
    // Before the first request and before the pod's code loads: the code of
    // this start may need the schema its migrations make.
    migrate(&db, Duration::from_millis(cli.migration_timeout_ms))?;
    let queue = cli
        .js_queue
        .map_or(workers * JsPool::QUEUE_PER_WORKER, |n| n.get());
    let js = JsPool::start_with_queue(db.clone(), workers, queue, engine)
        .map_err(|e| format!("cannot start the JavaScript workers: {e}"))?;
    let mut config = ServerConfig {
        max_body_bytes: cli.max_body_bytes,
        max_header_bytes: cli.max_header_bytes as usize,
        header_timeout: Duration::from_millis(cli.header_timeout_ms),
        body_idle_timeout: Duration::from_millis(cli.body_idle_timeout_ms),
        body_timeout: Duration::from_millis(cli.body_timeout_ms),
        max_connections: cli
            .max_connections
            .map_or(ServerConfig::default().max_connections, |n| n as usize),
        max_connections_per_address: cli.max_connections_per_address as usize,
        dev: cli.dev,
        dev_token: dev_token.as_ref().map(|t| t.token.clone()),
        dev_editor_dir,
        migration_timeout: Duration::from_millis(cli.migration_timeout_ms),
        ..ServerConfig::default()
    };
    let fd_limit = open_files_limit();
    if let Some(wanted) = fit_connections_to_fd_limit(&mut config, fd_limit) {
        let served = config.max_connections;
        let limit = fd_limit.unwrap_or_default();
        if cli.max_connections.is_some() {
            tracing::warn!(
                "--max-connections {wanted} needs more file descriptors than the limit of {limit} (ulimit -n); serving at most {served} connections"
            );
        } else {
            tracing::info!(
                "serving at most {served} connections, as many as the open-files limit of {limit} allows (ulimit -n; raise it to serve up to {wanted})"
            );
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("hbf-http")
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let addr = SocketAddr::new(cli.host, cli.port);
    let mut app = App::new(db.clone(), js, config);
    let blocks_token = blocks.as_ref().map(|b| b.token.is_some());
    if let Some(blocks) = blocks {
        app = app.with_blocks(BlockService::start(&db, blocks)?);
    }
    if let Some(replication) = &replication {
        app = app.with_health(replication.health_report());
    }
    let app = Arc::new(app);
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let bound = listener
            .local_addr()
            .map_err(|e| format!("cannot read the bound address: {e}"))?;
        let shutdown = shutdown_signal()?;
        match &dev_token {
            Some(DevTokenChoice {
                token,
                generated: true,
            }) => {
                // Straight to the terminal, once: never through the log, whose
                // lines may be shipped and kept elsewhere.
                eprintln!(
                    "hbf dev API: open the editor at http://{bound}/__dev/#token={} (a token generated for this run; set HBF_DEV_TOKEN to choose one)",
                    token.reveal()
                );
            }
            // A token the operator chose is theirs to keep: it is never
            // printed, and they add it to the URL themselves.
            Some(DevTokenChoice {
                generated: false, ..
            }) => eprintln!(
                "hbf dev API: open the editor at http://{bound}/__dev/ and add #token=<HBF_DEV_TOKEN> to the URL"
            ),
            None => {}
        }
        if let Some(dir) = &cli.editor_dir {
            tracing::info!("the editor's files are read from {}", dir.display());
        }
        tracing::info!(
            pod = %pod,
            dev_api = dev_token.is_some(),
            blocks = blocks_token.map_or("off", |t| if t { "on, writes need HBF_BLOCK_TOKEN" } else { "on, writes open to all" }),
            workers,
            isolation =
                cli.isolation
                    .map_or("as the pod declares (default snapshot)", Isolation::name),
            "hbf listening on http://{bound}"
        );
        hbf_http::serve(listener, Arc::clone(&app), shutdown)
            .await
            .map_err(|e| format!("server error: {e}"))
    })?;
    let stopping = std::time::Instant::now();
    drop(runtime);
    drop(app);
    if let Some(replication) = replication {
        replication.stop();
    }
    // With the replicator gone no reader should pin the WAL; one left over
    // (another process) costs this wait, not the 5 s busy timeout.
    match db.final_checkpoint(Duration::from_millis(250)) {
        Ok(done) if done.busy => tracing::warn!(
            wal_frames = done.wal_frames,
            copied_frames = done.copied_frames,
            "the last checkpoint was kept busy by another connection: the WAL stays and is checkpointed at the next open (nothing is lost)"
        ),
        Ok(_) => {}
        Err(e) => return Err(format!("checkpointing the database at shutdown: {e}")),
    }
    tracing::info!(
        stop_ms = stopping.elapsed().as_millis() as u64,
        "hbf stopped"
    );
    Ok(())
}

/// The dev API's token and whether it was generated now.
struct DevTokenChoice {
    token: BearerToken,
    generated: bool,
}

/// `HBF_DEV_TOKEN`, or a random token when it is unset and the server listens
/// on loopback only: on any other address, a token nobody chose (and only the
/// terminal has seen) would be the only lock on the pod's code, so the operator
/// must choose one.
fn dev_token(cli: &Cli) -> Result<DevTokenChoice, String> {
    match std::env::var("HBF_DEV_TOKEN") {
        Ok(token) => Ok(DevTokenChoice {
            token: BearerToken::new("HBF_DEV_TOKEN", &token)?,
            generated: false,
        }),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err("HBF_DEV_TOKEN is not valid UTF-8".to_owned())
        }
        Err(std::env::VarError::NotPresent) if !cli.host.is_loopback() => Err(format!(
            "--dev with --host {} (not loopback) exposes the live-editing API to the network: set HBF_DEV_TOKEN (at least {} characters) to choose its token",
            cli.host,
            BearerToken::MIN_LEN
        )),
        Err(std::env::VarError::NotPresent) => Ok(DevTokenChoice {
            token: BearerToken::generate()
                .map_err(|e| format!("cannot generate a dev token from /dev/urandom: {e}"))?,
            generated: true,
        }),
    }
}

/// `HBF_BLOCK_TOKEN`, if set: the token block writes need. Unlike the dev
/// token, none is generated: without one, writes are open (a build cache on
/// a trusted network), which the start-up line says.
fn block_token() -> Result<Option<BearerToken>, String> {
    match std::env::var("HBF_BLOCK_TOKEN") {
        Ok(token) => BearerToken::new("HBF_BLOCK_TOKEN", &token).map(Some),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err("HBF_BLOCK_TOKEN is not valid UTF-8".to_owned())
        }
        Err(std::env::VarError::NotPresent) => Ok(None),
    }
}

/// File descriptors kept aside for everything but connections: the database and
/// its WAL, readers, the listener, stdio, worker threads' files.
const FDS_RESERVED: usize = 256;

/// Lowers `max_connections` when the connections it allows would need more file
/// descriptors than the process may open (`ulimit -n`): past that limit
/// `accept()` fails, and new connections would wait unanswered in the kernel's
/// queue instead of getting a `503`. A per-address limit above the lowered
/// `max_connections` is lowered to it too (0, no limit, stays 0). Returns the
/// number asked for when it was lowered.
fn fit_connections_to_fd_limit(config: &mut ServerConfig, limit: Option<usize>) -> Option<usize> {
    let limit = limit?;
    if config.connection_fds() + FDS_RESERVED <= limit {
        return None;
    }
    let wanted = config.max_connections;
    // 2 per connection + 1/4 per connection refused (ServerConfig::connection_fds).
    config.max_connections = (limit.saturating_sub(FDS_RESERVED) * 4 / 9).max(1);
    while config.max_connections > 1 && config.connection_fds() + FDS_RESERVED > limit {
        config.max_connections -= 1;
    }
    if config.max_connections_per_address > config.max_connections {
        config.max_connections_per_address = config.max_connections;
    }
    Some(wanted)
}

/// The soft limit on open files, from `/proc/self/limits` (Linux); `None`
/// elsewhere or when unlimited.
fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Watches SIGINT and SIGTERM from now on, and resolves on the first. Called
/// before the server says it is listening: a signal registered only when the
/// accept loop first polls would leave a moment after that line in which
/// SIGTERM still has its default action and kills the process unclean.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, String> {
    use tokio::signal::unix::{signal, SignalKind};
    let watch = |kind: SignalKind, name: &str| {
        signal(kind).map_err(|e| format!("cannot watch {name}: {e}"))
    };
    let mut interrupt = watch(SignalKind::interrupt(), "SIGINT")?;
    let mut terminate = watch(SignalKind::terminate(), "SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => tracing::info!("SIGINT: shutting down"),
            _ = terminate.recv() => tracing::info!("SIGTERM: shutting down"),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_fit_the_file_descriptor_limit() {
        let mut config = ServerConfig::default();
        assert_eq!(fit_connections_to_fd_limit(&mut config, None), None);
        assert_eq!(config.max_connections, 10_000);
        assert_eq!(
            fit_connections_to_fd_limit(&mut config, Some(1 << 20)),
            None
        );
        assert_eq!(config.max_connections, 10_000);
        for limit in [1024, 20_000, 300] {
            let mut config = ServerConfig::default();
            // What was asked for, to be said in the log line.
            assert_eq!(
                fit_connections_to_fd_limit(&mut config, Some(limit)),
                Some(10_000)
            );
            assert!(config.connection_fds() + FDS_RESERVED <= limit.max(FDS_RESERVED + 18));
            assert!(config.max_connections >= 1);
            assert!(config.max_connections < 10_000);
            assert!(config.max_connections_per_address <= config.max_connections);
        }
        // The per-address limit follows a lowered max_connections down, and no
        // further; 0 (none) stays none.
        let mut config = ServerConfig::default();
        fit_connections_to_fd_limit(&mut config, Some(1 << 20));
        assert_eq!(config.max_connections_per_address, 256);
        fit_connections_to_fd_limit(&mut config, Some(1024));
        assert_eq!(config.max_connections_per_address, 256);
        fit_connections_to_fd_limit(&mut config, Some(FDS_RESERVED + 200));
        assert!(config.max_connections < 256);
        assert_eq!(config.max_connections_per_address, config.max_connections);
        let mut config = ServerConfig {
            max_connections_per_address: 0,
            ..ServerConfig::default()
        };
        fit_connections_to_fd_limit(&mut config, Some(FDS_RESERVED + 200));
        assert_eq!(config.max_connections_per_address, 0);
        assert!(open_files_limit().is_some_and(|n| n > 0));
    }
}

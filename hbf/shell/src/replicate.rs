//! `hbf --replicate URL`: Litestream as a supervised child process.
//!
//! HBF writes a private configuration (a directory only this user can read,
//! removed at exit; credentials are not in it: Litestream reads them from the
//! environment it inherits), checks the binary's version, hands the WAL's
//! checkpoints to Litestream (`Database::hand_checkpoints_to_replicator`),
//! and starts `litestream replicate`. A supervisor thread folds its log lines
//! into HBF's log, restarts it when it dies (1 s, then up to 5 s apart),
//! polls its control socket for `/health`, and opens the safety valve
//! (`Database::relieve_wal`) when Litestream is down or stuck and the WAL
//! passes HBF's hard bound. [`Replication::stop`] runs at shutdown, after the
//! server drained: `sync -wait` through the socket, then the child is
//! stopped, so the final `TRUNCATE` checkpoint finds no reader pinning the WAL.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use hbf_db::Database;
use parking_lot::Mutex;

use crate::litestream::{self, Config, Interval, ReplicaUrl};

/// How often the supervisor looks at the child and the control socket.
const TICK: Duration = Duration::from_millis(50);
/// `/list` (the last sync) is asked every sync interval, within these.
const POLL_MIN: Duration = Duration::from_millis(100);
const POLL_MAX: Duration = Duration::from_millis(500);
/// No successful sync for this long (at least; 10 sync intervals if more)
/// is reported as an error: Litestream itself may log nothing while its
/// requests to an unreachable bucket are retried.
const STALLED: Duration = Duration::from_secs(5);
/// Waits between restarts of a child that keeps dying.
const RESTART_FIRST: Duration = Duration::from_secs(1);
const RESTART_MAX: Duration = Duration::from_secs(5);
/// How long `stop` takes at most, the supervisor's last poll and the last
/// sync together: shutdown is promised under 1 s, and the drain before and
/// the checkpoint after need their share of it.
const STOP_BUDGET: Duration = Duration::from_millis(600);
/// The least a last sync is given when the supervisor's last poll was slow.
const FINAL_SYNC_MIN: Duration = Duration::from_millis(100);

/// What `/health` shows of replication.
#[derive(Debug, Clone, Default)]
struct Status {
    /// The child process runs.
    running: bool,
    /// Litestream's word for the database (`replicating`, ...).
    state: String,
    /// The last sync Litestream reported.
    last_sync: Option<SystemTime>,
    /// The last transaction Litestream has taken from the WAL (its newest
    /// level-0 LTX file); shipped at the sync after it.
    txid: Option<u64>,
    /// The last error Litestream logged, or HBF's about it (cleared by a
    /// later successful sync).
    last_error: Option<String>,
    restarts: u64,
    /// When the safety valve last checkpointed under Litestream.
    valve_opened: u64,
    /// A stall (no sync for [`STALLED`]) was logged and not yet cleared.
    stalled: bool,
    /// The `Error: ...` line the running child printed before it gave up
    /// (Litestream's command line prints why it exits that way, without a
    /// level), for the exit's entry in `/health`.
    fatal: Option<String>,
}

struct Shared {
    status: Mutex<Status>,
    child_pid: AtomicU64,
}

/// The running replication of one database.
pub struct Replication {
    shared: Arc<Shared>,
    stop: Sender<()>,
    supervisor: Option<JoinHandle<Option<Child>>>,
    socket: PathBuf,
    db_path: PathBuf,
    /// The private directory (config, socket); removed when dropped.
    _dir: tempfile::TempDir,
}

/// What the supervisor needs to (re)start the child.
struct Launch {
    binary: PathBuf,
    config: PathBuf,
    url: ReplicaUrl,
    sync: Interval,
    socket: PathBuf,
}

impl Replication {
    /// Starts replicating `db` (a file database) to `url`. Call before any
    /// pod connection is opened (they must start without auto-checkpoint).
    pub fn start(
        db: &Database,
        binary: &Path,
        url: &ReplicaUrl,
        sync: Interval,
        retention: Interval,
    ) -> Result<Self, String> {
        let db_path = db
            .path()
            .ok_or("--replicate needs a database file, not --inmem")?;
        let db_path =
            std::fs::canonicalize(db_path).map_err(|e| format!("{}: {e}", db_path.display()))?;
        // tempfile's directories are 0700: the socket (which can stop and
        // start replication) and the configuration stay this user's.
        let dir = tempfile::Builder::new()
            .prefix("hbf-litestream-")
            .tempdir()
            .map_err(|e| format!("cannot make Litestream's private directory: {e}"))?;
        let socket = dir.path().join("ctl.sock");
        let config = dir.path().join("litestream.yml");
        let yaml = litestream::config_yaml(&Config {
            db: &db_path,
            replica: url,
            socket: &socket,
            sync,
            retention,
        });
        std::fs::write(&config, yaml).map_err(|e| format!("{}: {e}", config.display()))?;
        db.hand_checkpoints_to_replicator();
        let shared = Arc::new(Shared {
            status: Mutex::new(Status::default()),
            child_pid: AtomicU64::new(0),
        });
        let (stop, stopped) = mpsc::channel();
        let launch = Launch {
            binary: binary.to_owned(),
            config,
            url: url.clone(),
            sync,
            socket: socket.clone(),
        };
        let thread_shared = Arc::clone(&shared);
        let thread_db = db.clone();
        let thread_db_path = db_path.clone();
        let supervisor = std::thread::Builder::new()
            .name("hbf-replicate".into())
            .spawn(move || {
                supervise(
                    &launch,
                    &thread_shared,
                    &thread_db,
                    &thread_db_path,
                    &stopped,
                )
            })
            .map_err(|e| format!("cannot start the replication supervisor: {e}"))?;
        tracing::info!(
            replica = %url,
            sync = %sync,
            retention = %retention,
            "replicating with {}",
            binary.display()
        );
        Ok(Self {
            shared,
            stop,
            supervisor: Some(supervisor),
            socket,
            db_path,
            _dir: dir,
        })
    }

    /// `/health`'s `replication` section, read from what the supervisor
    /// keeps current (never from the socket: a stuck child cannot slow it).
    pub fn health_report(&self) -> hbf_http::health::HealthReport {
        let shared = Arc::clone(&self.shared);
        Box::new(move || vec![("replication", health(&shared))])
    }

    /// At shutdown, after the server drained: the last sync (waited for,
    /// within [`STOP_BUDGET`]), then the child stopped. Returns the
    /// replicated transaction, if the sync said.
    pub fn stop(mut self) -> Option<u64> {
        let deadline = Instant::now() + STOP_BUDGET;
        let _ = self.stop.send(());
        let child = self.supervisor.take().and_then(|t| t.join().ok().flatten());
        let mut replicated = None;
        if let Some(mut child) = child {
            let unreachable = self.shared.status.lock().last_error.clone();
            if let Some(error) = unreachable {
                // A sync that has failed for seconds will not succeed in
                // the last few hundred milliseconds; waiting would only
                // make shutdown slow.
                tracing::warn!(
                    "replication: no last sync ({error}); writes since the last successful sync reach the replica at the next start"
                );
            } else {
                replicated = self.last_sync(deadline);
            }
            // Litestream's own SIGTERM handling would sync again, for up to
            // 30 s; the sync is done, so the child is killed outright (it
            // holds no lock a dead process keeps).
            let _ = child.kill();
            let _ = child.wait();
        }
        replicated
    }

    /// `sync -wait` through the control socket, within what is left of the
    /// stop's budget; the replicated transaction, if Litestream said.
    fn last_sync(&self, deadline: Instant) -> Option<u64> {
        let budget = deadline
            .saturating_duration_since(Instant::now())
            .max(FINAL_SYNC_MIN);
        let body = serde_json::json!({
            "path": self.db_path.to_string_lossy(),
            "wait": true,
            "timeout": 1,
        });
        match litestream::control(&self.socket, "POST", "/sync", Some(&body), budget) {
            Ok(answer) => {
                let replicated = answer["replicated_txid"].as_u64();
                tracing::info!(
                    txid = answer["txid"].as_u64(),
                    replicated_txid = replicated,
                    "replication: last sync done"
                );
                replicated
            }
            Err(e) => {
                tracing::warn!(
                    "replication: the last sync did not finish ({e}); writes of the last interval may be missing from the replica until the next start"
                );
                None
            }
        }
    }
}

impl Drop for Replication {
    fn drop(&mut self) {
        let _ = self.stop.send(());
        if let Some(thread) = self.supervisor.take() {
            if let Ok(Some(mut child)) = thread.join() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

fn health(shared: &Shared) -> serde_json::Value {
    let status = shared.status.lock().clone();
    let lag_ms = status.last_sync.map(|at| {
        SystemTime::now()
            .duration_since(at)
            .unwrap_or_default()
            .as_millis() as u64
    });
    serde_json::json!({
        "running": status.running,
        "state": if status.state.is_empty() { "starting" } else { &status.state },
        "txid": status.txid,
        "lag_ms": lag_ms,
        "last_error": status.last_error,
        "restarts": status.restarts.saturating_sub(1),
        "valve_checkpoints": status.valve_opened,
    })
}

/// The supervisor's loop; returns the running child when told to stop.
fn supervise(
    launch: &Launch,
    shared: &Arc<Shared>,
    db: &Database,
    db_path: &Path,
    stopped: &mpsc::Receiver<()>,
) -> Option<Child> {
    let mut child: Option<Child> = None;
    let mut next_start = Instant::now();
    let mut restart_wait = RESTART_FIRST;
    let poll_every = launch.sync.0.clamp(POLL_MIN, POLL_MAX);
    let stalled_after = (launch.sync.0 * 10).max(STALLED);
    let mut last_poll = Instant::now();
    let mut started_at = Instant::now();
    // Stuck: no successful sync for this long while running.
    let stuck_after = (launch.sync.0 * 20).max(Duration::from_secs(30));
    loop {
        match stopped.recv_timeout(TICK) {
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return child,
            Err(RecvTimeoutError::Timeout) => {}
        }
        if let Some(running) = child.as_mut() {
            if let Ok(Some(exit)) = running.try_wait() {
                child = None;
                shared.child_pid.store(0, Ordering::Relaxed);
                let mut status = shared.status.lock();
                status.running = false;
                status.state = "down".into();
                let why = match status.fatal.take() {
                    Some(line) => format!("litestream exited ({exit}): {line}"),
                    None => format!("litestream exited ({exit})"),
                };
                tracing::warn!(
                    "replication: {why}; restarting in {} ms",
                    restart_wait.as_millis()
                );
                status.last_error = Some(why);
                next_start = Instant::now() + restart_wait;
                restart_wait = (restart_wait * 2).min(RESTART_MAX);
            }
        }
        if child.is_none() && Instant::now() >= next_start {
            match spawn(launch, shared) {
                Ok(spawned) => {
                    started_at = Instant::now();
                    let restarts = {
                        let mut status = shared.status.lock();
                        status.fatal = None;
                        status.state = "starting".into();
                        status.running = true;
                        status.restarts
                    };
                    if restarts > 0 {
                        tracing::info!("replication: litestream restarted (restart {restarts})");
                    }
                    shared.status.lock().restarts += 1;
                    child = Some(spawned);
                }
                Err(e) => {
                    tracing::warn!(
                        "replication: {e}; retrying in {} ms",
                        restart_wait.as_millis()
                    );
                    shared.status.lock().last_error = Some(e);
                    next_start = Instant::now() + restart_wait;
                    restart_wait = (restart_wait * 2).min(RESTART_MAX);
                }
            }
        }
        if child.is_some() && last_poll.elapsed() >= poll_every {
            last_poll = Instant::now();
            poll(launch, shared, db_path, &mut restart_wait);
            stall(shared, started_at, stalled_after);
        }
        let down_or_stuck = {
            let status = shared.status.lock();
            let since_sync = status
                .last_sync
                .and_then(|at| SystemTime::now().duration_since(at).ok());
            child.is_none()
                || (started_at.elapsed() > stuck_after
                    && since_sync.is_none_or(|d| d > stuck_after))
        };
        if down_or_stuck {
            valve(db, shared);
        }
    }
}

/// The restart count is the number of starts; the first is not a restart.
fn spawn(launch: &Launch, shared: &Arc<Shared>) -> Result<Child, String> {
    let _ = std::fs::remove_file(&launch.socket); // a dead child's socket
    let mut child = Command::new(&launch.binary)
        .args(["replicate", "-no-expand-env", "-config"])
        .arg(&launch.config)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", launch.binary.display()))?;
    shared
        .child_pid
        .store(u64::from(child.id()), Ordering::Relaxed);
    for (pipe, name) in [
        (
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
            "stdout",
        ),
        (
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
            "stderr",
        ),
    ] {
        let Some(pipe) = pipe else { continue };
        let url = launch.url.clone();
        let shared = Arc::clone(shared);
        std::thread::Builder::new()
            .name(format!("hbf-litestream-{name}"))
            .spawn(move || fold_log(pipe, &url, &shared))
            .map_err(|e| format!("cannot read litestream's {name}: {e}"))?;
    }
    Ok(child)
}

/// Litestream's log lines (`time=... level=INFO msg=...`) as HBF's own
/// tracing events (target `litestream`), the replica's password hidden;
/// errors are kept for `/health`.
fn fold_log(pipe: Box<dyn std::io::Read + Send>, url: &ReplicaUrl, shared: &Shared) {
    for line in BufReader::new(pipe).lines() {
        let Ok(line) = line else { return };
        let line = url.redact(&line);
        let text = litestream::strip_log_prefix(&line);
        if text.is_empty() {
            continue;
        }
        let (level, text) = match text.split_once(' ') {
            Some((level, rest)) if level.starts_with("level=") => (&level[6..], rest),
            _ if text.starts_with("Error: ") => ("FATAL", text),
            _ => ("INFO", text),
        };
        match level {
            "FATAL" => {
                tracing::error!(target: "litestream", "{text}");
                let mut status = shared.status.lock();
                status.fatal = Some(text.to_owned());
                // The supervisor may have seen the exit first: its entry
                // gets the reason too.
                if let Some(error) = &mut status.last_error {
                    if error.starts_with("litestream exited (") && !error.contains(": Error: ") {
                        error.push_str(": ");
                        error.push_str(text);
                    }
                }
            }
            "ERROR" => {
                tracing::error!(target: "litestream", "{text}");
                shared.status.lock().last_error = Some(text.to_owned());
            }
            "WARN" => tracing::warn!(target: "litestream", "{text}"),
            "DEBUG" => tracing::debug!(target: "litestream", "{text}"),
            _ => tracing::info!(target: "litestream", "{text}"),
        }
    }
}

/// Asks the control socket for the database's state and last sync.
fn poll(launch: &Launch, shared: &Shared, db_path: &Path, restart_wait: &mut Duration) {
    match litestream::control(
        &launch.socket,
        "GET",
        "/list",
        None,
        Duration::from_millis(500),
    ) {
        Ok(answer) => {
            let entry = answer["databases"]
                .as_array()
                .and_then(|dbs| dbs.iter().find(|d| d["path"].as_str() == db_path.to_str()));
            let txid = local_txid(db_path);
            let mut status = shared.status.lock();
            status.txid = txid.or(status.txid);
            if let Some(entry) = entry {
                status.state = entry["status"].as_str().unwrap_or("unknown").to_owned();
                let synced = entry["last_sync_at"].as_str().and_then(parse_rfc3339);
                if synced.is_some() && synced != status.last_sync {
                    status.last_sync = synced;
                    status.last_error = None;
                    *restart_wait = RESTART_FIRST;
                }
            }
        }
        // Still starting, or too busy to answer: the next poll asks again.
        Err(e) => tracing::debug!("replication: {e}"),
    }
}

/// The newest transaction in Litestream's local level-0 LTX files
/// (`.NAME-litestream/ltx/0/MIN-MAX.ltx` beside the database, hex).
fn local_txid(db_path: &Path) -> Option<u64> {
    let name = db_path.file_name()?.to_str()?;
    let dir = db_path
        .parent()?
        .join(format!(".{name}-litestream"))
        .join("ltx/0");
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| {
            let name = e.ok()?.file_name();
            let (_, max) = name.to_str()?.strip_suffix(".ltx")?.split_once('-')?;
            u64::from_str_radix(max, 16).ok()
        })
        .max()
}

/// Says in the log and in `/health` when no sync has succeeded for
/// `after` (since the last one, or since the child started), and when
/// syncs resume.
fn stall(shared: &Shared, started_at: Instant, after: Duration) {
    let mut status = shared.status.lock();
    let since = match status.last_sync {
        Some(at) => SystemTime::now().duration_since(at).unwrap_or_default(),
        None => started_at.elapsed(),
    };
    if since > after && !status.stalled {
        status.stalled = true;
        let message = format!(
            "no successful sync for {} s (is the replica reachable, are the credentials right?); serving on and retrying",
            since.as_secs()
        );
        tracing::warn!("replication: {message}");
        status.last_error.get_or_insert(message);
    } else if since <= after && status.stalled {
        status.stalled = false;
        tracing::info!("replication: syncing again");
    }
}

/// The safety valve: Litestream is down or stuck; past the hard bound the
/// WAL is checkpointed as HBF would without replication.
fn valve(db: &Database, shared: &Shared) {
    match db.relieve_wal() {
        Ok(None) => {}
        Ok(Some(done)) => {
            shared.status.lock().valve_opened += 1;
            tracing::warn!(
                wal_frames = done.wal_frames,
                copied_frames = done.copied_frames,
                busy = done.busy,
                "replication is down and the WAL passed its bound ({} MiB): checkpointed it here; Litestream's next sync will be a full snapshot",
                hbf_db::WAL_HARD_BOUND_BYTES >> 20
            );
        }
        Err(e) => tracing::warn!("replication safety valve: {e}"),
    }
}

/// An RFC 3339 UTC time as Litestream writes it (`2026-12-05T12:34:49.091610064Z`).
fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let text = text.strip_suffix('Z')?;
    let (date, time) = text.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.split(':').map(|p| p.parse::<i64>().ok());
    let (h, min, s) = (t.next()??, t.next()??, t.next()??);
    let nanos: u32 = format!("{frac:0<9}")[..9].parse().ok()?;
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = u64::try_from(days * 86_400 + h * 3600 + min * 60 + s).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::new(secs, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_txid_is_the_newest_level_0_file() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("hbf.db");
        assert_eq!(local_txid(&db), None);
        let l0 = dir.path().join(".hbf.db-litestream/ltx/0");
        std::fs::create_dir_all(&l0).unwrap();
        for name in [
            "0000000000000001-0000000000000001.ltx",
            "0000000000000002-000000000000001a.ltx",
            "0000000000000003-0000000000000003.ltx",
            "junk",
        ] {
            std::fs::write(l0.join(name), "").unwrap();
        }
        assert_eq!(local_txid(&db), Some(0x1a));
    }

    #[test]
    fn litestreams_times() {
        let at = parse_rfc3339("2026-12-05T12:34:49.091610064Z").unwrap();
        let secs = at.duration_since(SystemTime::UNIX_EPOCH).unwrap();
        // date -d 2026-12-05T12:34:49Z +%s
        assert_eq!(secs.as_secs(), 1_796_474_089);
        assert_eq!(secs.subsec_nanos(), 91_610_064);
        assert_eq!(
            parse_rfc3339("1970-01-01T00:00:00Z"),
            Some(SystemTime::UNIX_EPOCH)
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}

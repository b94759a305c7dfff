//! The history: every run in an SQLite database (`.benchmark/results.db`).
//!
//! One row per run (where and what was measured), one per server of the run
//! (cold start, idle memory), one per measurement (a route, a server, a
//! connection count and one repetition: the repetitions are the samples the
//! statistics work on), and one per route a server could not serve (a
//! category it lacks), so that a gap in a report is explained, not silent.
//! The C99 HBF's published figures are run 1, marked `reference`.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::error::{BenchError, Result};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    finished_at TEXT,
    reference INTEGER NOT NULL DEFAULT 0,
    git_commit TEXT,
    git_branch TEXT,
    git_dirty INTEGER,
    hbf_version TEXT,
    build_profile TEXT,
    cpu_model TEXT,
    cores INTEGER,
    kernel TEXT,
    load_avg TEXT,
    notes TEXT,
    settings TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS servers (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    name TEXT NOT NULL,
    command TEXT NOT NULL,
    version TEXT,
    cold_start_ms REAL,
    idle_rss_kb INTEGER,
    PRIMARY KEY (run_id, name)
);
CREATE TABLE IF NOT EXISTS measurements (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    server TEXT NOT NULL,
    category TEXT NOT NULL,
    route TEXT NOT NULL,
    connections INTEGER NOT NULL,
    repetition INTEGER NOT NULL,
    duration_s REAL NOT NULL,
    requests INTEGER NOT NULL,
    rps REAL NOT NULL,
    cpu_s REAL,
    rps_per_core REAL,
    p50_ms REAL,
    p90_ms REAL,
    p99_ms REAL,
    p999_ms REAL,
    max_ms REAL,
    socket_errors INTEGER NOT NULL DEFAULT 0,
    status_errors INTEGER NOT NULL DEFAULT 0,
    peak_rss_kb INTEGER
);
CREATE INDEX IF NOT EXISTS measurements_route ON measurements (route, server);
CREATE TABLE IF NOT EXISTS skipped (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    server TEXT NOT NULL,
    category TEXT NOT NULL,
    route TEXT,
    reason TEXT NOT NULL
);
";

/// The name of the reference run's server.
pub const REFERENCE_SERVER: &str = "C99 HBF";

/// The C99 HBF's figures (../shared/SPEC.md section 8: ApacheBench,
/// concurrency 10), as (category, route, samples). A published range is
/// stored as two samples, its ends, so that its spread counts as noise.
const REFERENCE: &[(&str, &str, &[f64])] = &[
    ("runtime", "GET /hello", &[210.0, 255.0]),
    ("runtime", "GET /user/42", &[210.0, 255.0]),
    ("runtime", "GET /echo", &[210.0, 255.0]),
    ("static", "GET /static/style.css", &[1800.0, 2000.0]),
    ("static", "GET /static/favicon.ico", &[18000.0, 22000.0]),
    ("fs", "PUT /__dev/api/file", &[240.0]),
];

/// A run: where, when and how it was measured.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Run {
    pub id: i64,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub reference: bool,
    pub git_commit: Option<String>,
    pub git_branch: Option<String>,
    pub git_dirty: Option<bool>,
    pub hbf_version: Option<String>,
    pub build_profile: Option<String>,
    pub cpu_model: Option<String>,
    pub cores: Option<i64>,
    pub kernel: Option<String>,
    pub load_avg: Option<String>,
    pub notes: Option<String>,
    /// The run's settings (connections, duration, runs, servers...), as JSON.
    pub settings: String,
}

/// A server of a run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Server {
    pub name: String,
    pub command: String,
    pub version: Option<String>,
    pub cold_start_ms: Option<f64>,
    pub idle_rss_kb: Option<i64>,
}

/// One repetition of one route on one server.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Measurement {
    pub server: String,
    pub category: String,
    pub route: String,
    pub connections: i64,
    pub repetition: i64,
    pub duration_s: f64,
    pub requests: i64,
    pub rps: f64,
    /// The server process's CPU time (user + system) during the load.
    pub cpu_s: Option<f64>,
    /// Requests per second of server CPU time: req/s per server core.
    pub rps_per_core: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p90_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub p999_ms: Option<f64>,
    pub max_ms: Option<f64>,
    /// Connect, read, write errors and timeouts.
    pub socket_errors: i64,
    /// Responses with a status of 400 or more.
    pub status_errors: i64,
    pub peak_rss_kb: Option<i64>,
}

impl Measurement {
    /// A measurement that knows only its req/s (the reference run's
    /// samples, and tests): no latencies, CPU or memory figures.
    pub fn of_rps(server: &str, category: &str, route: &str, repetition: i64, rps: f64) -> Self {
        Self {
            server: server.into(),
            category: category.into(),
            route: route.into(),
            connections: 0,
            repetition,
            duration_s: 0.0,
            requests: 0,
            rps,
            cpu_s: None,
            rps_per_core: None,
            p50_ms: None,
            p90_ms: None,
            p99_ms: None,
            p999_ms: None,
            max_ms: None,
            socket_errors: 0,
            status_errors: 0,
            peak_rss_kb: None,
        }
    }

    /// Whether this measurement saw any error: such a route is flagged.
    pub fn has_errors(&self) -> bool {
        self.socket_errors > 0 || self.status_errors > 0
    }
}

/// A category (or one route of it) a server of the run did not serve, and why.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Skip {
    pub server: String,
    pub category: String,
    /// `None`: the whole category.
    pub route: Option<String>,
    pub reason: String,
}

/// The results database.
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating it and its directory if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(BenchError::io(dir))?;
        }
        Store::init(Connection::open(path)?)
    }

    /// An in-memory database (tests).
    pub fn open_in_memory() -> Result<Store> {
        Store::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Store> {
        conn.execute_batch(SCHEMA)?;
        let store = Store { conn };
        let has_reference: bool = store.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM runs WHERE reference)",
            [],
            |r| r.get(0),
        )?;
        if !has_reference {
            store.insert_reference()?;
        }
        Ok(store)
    }

    fn insert_reference(&self) -> Result<()> {
        let tx = self.conn.unchecked_transaction()?;
        let run = Run {
            reference: true,
            notes: Some(
                "the C99 HBF's published figures (../shared/SPEC.md section 8, ApacheBench, \
                 concurrency 10); a published range is stored as two repetitions, its ends"
                    .into(),
            ),
            settings: r#"{"load_generator":"ab","connections":[10]}"#.into(),
            ..Run::default()
        };
        let id = self.begin_run(&run)?;
        self.add_server(
            id,
            &Server {
                name: REFERENCE_SERVER.into(),
                command: "hbf (C99)".into(),
                version: None,
                cold_start_ms: None,
                idle_rss_kb: None,
            },
        )?;
        for (category, route, samples) in REFERENCE {
            for (i, rps) in samples.iter().enumerate() {
                self.add_measurement(
                    id,
                    &Measurement {
                        connections: 10,
                        ..Measurement::of_rps(REFERENCE_SERVER, category, route, i as i64 + 1, *rps)
                    },
                )?;
            }
        }
        self.conn.execute(
            "UPDATE runs SET finished_at = started_at WHERE id = ?1",
            [id],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The reference run's id.
    pub fn reference_id(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT min(id) FROM runs WHERE reference", [], |r| r.get(0))?)
    }

    /// Records a new run (its `id` and `started_at` are the database's) and
    /// returns its id.
    pub fn begin_run(&self, run: &Run) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO runs (reference, git_commit, git_branch, git_dirty, hbf_version,
                build_profile, cpu_model, cores, kernel, load_avg, notes, settings)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                run.reference,
                run.git_commit,
                run.git_branch,
                run.git_dirty,
                run.hbf_version,
                run.build_profile,
                run.cpu_model,
                run.cores,
                run.kernel,
                run.load_avg,
                run.notes,
                run.settings
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Marks a run finished now.
    pub fn finish_run(&self, id: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE runs SET finished_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = ?1",
            [id],
        )?;
        Ok(())
    }

    /// Records (or updates) a server of a run.
    pub fn add_server(&self, run: i64, s: &Server) -> Result<()> {
        self.conn.execute(
            "INSERT OR REPLACE INTO servers (run_id, name, command, version, cold_start_ms, idle_rss_kb)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![run, s.name, s.command, s.version, s.cold_start_ms, s.idle_rss_kb],
        )?;
        Ok(())
    }

    /// Records one measurement.
    pub fn add_measurement(&self, run: i64, m: &Measurement) -> Result<()> {
        self.conn.execute(
            "INSERT INTO measurements (run_id, server, category, route, connections, repetition,
                duration_s, requests, rps, cpu_s, rps_per_core, p50_ms, p90_ms, p99_ms, p999_ms,
                max_ms, socket_errors, status_errors, peak_rss_kb)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
            params![
                run,
                m.server,
                m.category,
                m.route,
                m.connections,
                m.repetition,
                m.duration_s,
                m.requests,
                m.rps,
                m.cpu_s,
                m.rps_per_core,
                m.p50_ms,
                m.p90_ms,
                m.p99_ms,
                m.p999_ms,
                m.max_ms,
                m.socket_errors,
                m.status_errors,
                m.peak_rss_kb
            ],
        )?;
        Ok(())
    }

    /// Records a category a server did not serve.
    pub fn add_skip(&self, run: i64, s: &Skip) -> Result<()> {
        self.conn.execute(
            "INSERT INTO skipped (run_id, server, category, route, reason) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![run, s.server, s.category, s.route, s.reason],
        )?;
        Ok(())
    }

    fn run_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Run> {
        Ok(Run {
            id: r.get(0)?,
            started_at: r.get(1)?,
            finished_at: r.get(2)?,
            reference: r.get(3)?,
            git_commit: r.get(4)?,
            git_branch: r.get(5)?,
            git_dirty: r.get(6)?,
            hbf_version: r.get(7)?,
            build_profile: r.get(8)?,
            cpu_model: r.get(9)?,
            cores: r.get(10)?,
            kernel: r.get(11)?,
            load_avg: r.get(12)?,
            notes: r.get(13)?,
            settings: r.get(14)?,
        })
    }

    const RUN_COLUMNS: &'static str =
        "id, started_at, finished_at, reference, git_commit, git_branch, \
        git_dirty, hbf_version, build_profile, cpu_model, cores, kernel, load_avg, notes, settings";

    /// One run.
    pub fn run(&self, id: i64) -> Result<Run> {
        self.conn
            .query_row(
                &format!("SELECT {} FROM runs WHERE id = ?1", Self::RUN_COLUMNS),
                [id],
                Self::run_from_row,
            )
            .optional()?
            .ok_or(BenchError::NoSuchRun(id))
    }

    /// The last `n` runs (all without `n`), oldest first.
    pub fn runs(&self, last: Option<usize>) -> Result<Vec<Run>> {
        let limit = last.map_or(-1, |n| n as i64);
        let mut stmt = self.conn.prepare(&format!(
            "SELECT * FROM (SELECT {} FROM runs ORDER BY id DESC LIMIT ?1) ORDER BY id",
            Self::RUN_COLUMNS
        ))?;
        let rows = stmt.query_map([limit], Self::run_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The newest run that is not the reference.
    pub fn latest_run(&self) -> Result<Option<i64>> {
        Ok(self
            .conn
            .query_row("SELECT max(id) FROM runs WHERE NOT reference", [], |r| {
                r.get(0)
            })?)
    }

    /// A run's servers, in the order they were recorded.
    pub fn servers(&self, run: i64) -> Result<Vec<Server>> {
        let mut stmt = self.conn.prepare(
            "SELECT name, command, version, cold_start_ms, idle_rss_kb FROM servers
             WHERE run_id = ?1 ORDER BY rowid",
        )?;
        let rows = stmt.query_map([run], |r| {
            Ok(Server {
                name: r.get(0)?,
                command: r.get(1)?,
                version: r.get(2)?,
                cold_start_ms: r.get(3)?,
                idle_rss_kb: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A run's measurements, in the order they were taken.
    pub fn measurements(&self, run: i64) -> Result<Vec<Measurement>> {
        let mut stmt = self.conn.prepare(
            "SELECT server, category, route, connections, repetition, duration_s, requests, rps,
                cpu_s, rps_per_core, p50_ms, p90_ms, p99_ms, p999_ms, max_ms, socket_errors,
                status_errors, peak_rss_kb
             FROM measurements WHERE run_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([run], |r| {
            Ok(Measurement {
                server: r.get(0)?,
                category: r.get(1)?,
                route: r.get(2)?,
                connections: r.get(3)?,
                repetition: r.get(4)?,
                duration_s: r.get(5)?,
                requests: r.get(6)?,
                rps: r.get(7)?,
                cpu_s: r.get(8)?,
                rps_per_core: r.get(9)?,
                p50_ms: r.get(10)?,
                p90_ms: r.get(11)?,
                p99_ms: r.get(12)?,
                p999_ms: r.get(13)?,
                max_ms: r.get(14)?,
                socket_errors: r.get(15)?,
                status_errors: r.get(16)?,
                peak_rss_kb: r.get(17)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The categories a run's servers skipped, and why.
    pub fn skips(&self, run: i64) -> Result<Vec<Skip>> {
        let mut stmt = self.conn.prepare(
            "SELECT server, category, route, reason FROM skipped WHERE run_id = ?1 ORDER BY rowid",
        )?;
        let rows = stmt.query_map([run], |r| {
            Ok(Skip {
                server: r.get(0)?,
                category: r.get(1)?,
                route: r.get(2)?,
                reason: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The runs that measured `route` (on `server`, if given), oldest first.
    pub fn runs_with_route(&self, route: &str, server: Option<&str>) -> Result<Vec<i64>> {
        let mut stmt = self.conn.prepare(
            "SELECT DISTINCT run_id FROM measurements
             WHERE route = ?1 AND (?2 IS NULL OR server = ?2) ORDER BY run_id",
        )?;
        let rows = stmt.query_map(params![route, server], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measurement(server: &str, route: &str, repetition: i64, rps: f64) -> Measurement {
        Measurement {
            server: server.into(),
            category: "runtime".into(),
            route: route.into(),
            connections: 50,
            repetition,
            duration_s: 1.0,
            requests: rps as i64,
            rps,
            cpu_s: Some(0.9),
            rps_per_core: Some(rps / 0.9),
            p50_ms: Some(1.0),
            p90_ms: Some(1.5),
            p99_ms: Some(2.0),
            p999_ms: Some(3.0),
            max_ms: Some(9.0),
            socket_errors: 0,
            status_errors: if repetition == 2 { 3 } else { 0 },
            peak_rss_kb: Some(12_000),
        }
    }

    #[test]
    fn a_new_database_holds_the_reference_run() {
        let store = Store::open_in_memory().unwrap();
        let id = store.reference_id().unwrap();
        let run = store.run(id).unwrap();
        assert!(run.reference);
        assert!(run.finished_at.is_some());
        let ms = store.measurements(id).unwrap();
        let hello: Vec<f64> = ms
            .iter()
            .filter(|m| m.route == "GET /hello")
            .map(|m| m.rps)
            .collect();
        assert_eq!(hello, vec![210.0, 255.0]);
        assert!(ms.iter().all(|m| m.server == REFERENCE_SERVER));
        assert_eq!(store.latest_run().unwrap(), None);
    }

    #[test]
    fn runs_servers_measurements_and_skips_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/results.db");
        let id = {
            let store = Store::open(&path).unwrap();
            let run = Run {
                git_commit: Some("abc123".into()),
                git_branch: Some("bench".into()),
                git_dirty: Some(true),
                hbf_version: Some("hbf 0.1.0".into()),
                build_profile: Some("release".into()),
                cpu_model: Some("AMD EPYC".into()),
                cores: Some(2),
                kernel: Some("6.1".into()),
                load_avg: Some("0.10 0.20 0.30".into()),
                notes: Some("a note".into()),
                settings: "{\"runs\":2}".into(),
                ..Run::default()
            };
            let id = store.begin_run(&run).unwrap();
            store
                .add_server(
                    id,
                    &Server {
                        name: "hbf".into(),
                        command: "hbf --port 1".into(),
                        version: Some("hbf 0.1.0".into()),
                        cold_start_ms: Some(12.5),
                        idle_rss_kb: Some(9000),
                    },
                )
                .unwrap();
            for rep in 1..=2 {
                store
                    .add_measurement(
                        id,
                        &measurement("hbf", "GET /hello", rep, 1000.0 * rep as f64),
                    )
                    .unwrap();
            }
            store
                .add_skip(
                    id,
                    &Skip {
                        server: "node".into(),
                        category: "fs".into(),
                        route: None,
                        reason: "HBF only".into(),
                    },
                )
                .unwrap();
            store.finish_run(id).unwrap();
            id
        };
        // Reopened: nothing lost, the reference not inserted twice.
        let store = Store::open(&path).unwrap();
        assert_eq!(
            store
                .runs(None)
                .unwrap()
                .iter()
                .filter(|r| r.reference)
                .count(),
            1
        );
        let run = store.run(id).unwrap();
        assert_eq!(run.git_dirty, Some(true));
        assert_eq!(run.notes.as_deref(), Some("a note"));
        assert!(run.finished_at.is_some() && !run.reference);
        assert_eq!(store.latest_run().unwrap(), Some(id));
        assert_eq!(store.servers(id).unwrap()[0].cold_start_ms, Some(12.5));
        let ms = store.measurements(id).unwrap();
        assert_eq!(
            ms,
            vec![
                measurement("hbf", "GET /hello", 1, 1000.0),
                measurement("hbf", "GET /hello", 2, 2000.0)
            ]
        );
        assert!(!ms[0].has_errors() && ms[1].has_errors());
        assert_eq!(store.skips(id).unwrap()[0].reason, "HBF only");
        assert_eq!(store.runs(Some(1)).unwrap()[0].id, id);
        let with = store.runs_with_route("GET /hello", Some("hbf")).unwrap();
        assert_eq!(with, vec![id]);
        assert!(store
            .runs_with_route("GET /hello", Some("node"))
            .unwrap()
            .is_empty());
        assert!(matches!(store.run(999), Err(BenchError::NoSuchRun(999))));
    }
}

//! `hbf-bench run`: the measuring method of DOCS/PERF.md.
//!
//! Each server runs pinned to one CPU (`--server-cpu`), wrk to the other
//! (`--client-cpu`), so a server's req/s is its req/s on one core. Route by
//! route, every server in turn gets a warm-up and then `--runs` loads back to
//! back: a route's figures for all servers come from the same minute or two of
//! a shared machine (taking the servers in turn run by run made an idle peer
//! look slower on the later routes). Before a route is measured on a server,
//! one request checks that it answers the expected status: a route that does
//! not is recorded as skipped with the answer, and a load that saw errors is
//! stored with its counts and flagged, never dropped or averaged in silently.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::error::{BenchError, Result};
use crate::routes::{self, Body, Category, Route};
use crate::servers::{self, Kind, Paths, Peer, Running, Spec, StartOptions};
use crate::stats;
use crate::store::{Measurement, Run, Server, Skip, Store};
use crate::system;
use crate::wrk::{self, Load};

/// What `hbf-bench run` measures, and how.
#[derive(Debug, Clone)]
pub struct Options {
    pub categories: Vec<Category>,
    /// A custom pod and its routes file (category `custom`).
    pub pod: Option<PathBuf>,
    pub routes: Option<PathBuf>,
    pub against: Vec<Peer>,
    /// Only these routes (by name, e.g. `GET /hello`); empty: all.
    pub only: Vec<String>,
    pub connections: Vec<u32>,
    /// Seconds of each measured load.
    pub duration: u64,
    /// Seconds of the warm-up before a route's runs on a server.
    pub warmup: u64,
    pub runs: u32,
    /// One hbf server per entry: `None` as shipped, `Some(mode)` forced.
    pub isolation: Vec<Option<String>>,
    pub notes: Option<String>,
    pub hbf: PathBuf,
    /// `release` or `debug`: how `hbf` was built.
    pub build_profile: String,
    pub repo: PathBuf,
    pub server_cpu: u32,
    pub client_cpu: u32,
    pub cold_starts: usize,
}

/// The stored run and what in it needs a look.
#[derive(Debug)]
pub struct Outcome {
    pub run_id: i64,
    /// Routes that answered errors or could not be measured.
    pub flagged: Vec<String>,
}

/// One category's plan: its routes, and the servers that serve it.
struct Plan {
    category: Category,
    routes: Vec<Route>,
    servers: Vec<usize>,
    ready: String,
}

/// Measures and stores one run.
pub fn run(store: &Store, opts: &Options) -> Result<Outcome> {
    wrk::check_tools()?;
    if opts.connections.is_empty() || opts.runs == 0 || opts.duration == 0 {
        return Err(BenchError::Usage(
            "--connections, --runs and --duration must be at least 1".into(),
        ));
    }
    // The binary's own version, whether or not an hbf server is measured.
    let hbf_version = servers::hbf(&opts.hbf, None)?.version;
    let mut specs: Vec<Spec> = Vec::new();
    for iso in &opts.isolation {
        specs.push(servers::hbf(&opts.hbf, iso.as_deref())?);
    }
    for p in &opts.against {
        specs.push(servers::peer(*p, &opts.repo)?);
    }
    if specs.is_empty() {
        return Err(BenchError::Usage(
            "no server to measure (--isolation, --against)".into(),
        ));
    }
    let has_blocks = servers::hbf_has_blocks(&opts.hbf)?;
    let custom = match (&opts.pod, &opts.routes) {
        (Some(_), Some(r)) => Some(routes::custom(r)?),
        (None, None) => None,
        _ => return Err(BenchError::Usage("--pod and --routes go together".into())),
    };
    if opts.categories.contains(&Category::Custom) && custom.is_none() {
        return Err(BenchError::Usage(
            "category custom needs --pod DIR --routes FILE".into(),
        ));
    }

    let mut skips = Vec::new();
    let mut plans = Vec::new();
    for &category in &opts.categories {
        let serving: Vec<usize> = (0..specs.len())
            .filter(|&i| matches!(specs[i].kind, Kind::Hbf { .. }) || category.peers_serve())
            .collect();
        for (i, s) in specs.iter().enumerate() {
            if !serving.contains(&i) {
                skips.push(Skip {
                    server: s.name.clone(),
                    category: category.name().into(),
                    route: None,
                    reason: "HBF only: the peers serve the base pod's static and JavaScript routes"
                        .into(),
                });
            }
        }
        if category == Category::Blocks && !has_blocks {
            for &i in &serving {
                skips.push(Skip {
                    server: specs[i].name.clone(),
                    category: category.name().into(),
                    route: None,
                    reason: format!("{} has no --blocks (not in its --help)", opts.hbf.display()),
                });
            }
            eprintln!("hbf-bench: skipping blocks: this hbf has no --blocks");
            continue;
        }
        let (mut routes, ready) = match (category, &custom) {
            (Category::Custom, Some(c)) => (c.routes.clone(), c.ready.clone()),
            _ => (routes::builtin(category), "/hello".to_string()),
        };
        if !opts.only.is_empty() {
            routes.retain(|r| opts.only.contains(&r.name));
            if routes.is_empty() {
                continue;
            }
        }
        plans.push(Plan {
            category,
            routes,
            servers: serving,
            ready,
        });
    }

    for name in &opts.only {
        if !plans
            .iter()
            .any(|p| p.routes.iter().any(|r| &r.name == name))
        {
            return Err(BenchError::Usage(format!(
                "--only {name:?}: no such route in the categories measured"
            )));
        }
    }
    let git = system::git(&opts.repo);
    let machine = system::machine();
    let settings = json!({
        "categories": opts.categories.iter().map(|c| c.name()).collect::<Vec<_>>(),
        "servers": specs.iter().map(|s| &s.name).collect::<Vec<_>>(),
        "connections": opts.connections,
        "only": opts.only,
        "duration_s": opts.duration,
        "warmup_s": opts.warmup,
        "runs": opts.runs,
        "server_cpu": opts.server_cpu,
        "client_cpu": opts.client_cpu,
        "cold_starts": opts.cold_starts,
        "load_generator": "wrk -t1 (lua/bench.lua reporter)",
        "hbf": opts.hbf.display().to_string(),
        "pod": opts.pod.as_ref().map(|p| p.display().to_string()),
        "routes": opts.routes.as_ref().map(|p| p.display().to_string()),
    });
    let run_id = store.begin_run(&Run {
        git_commit: git.commit,
        git_branch: git.branch,
        git_dirty: git.dirty,
        hbf_version: Some(hbf_version),
        build_profile: Some(opts.build_profile.clone()),
        cpu_model: machine.cpu_model,
        cores: machine.cores,
        kernel: machine.kernel,
        load_avg: machine.load_avg,
        notes: opts.notes.clone(),
        settings: settings.to_string(),
        ..Run::default()
    })?;
    for s in &skips {
        store.add_skip(run_id, s)?;
    }

    let workdir = tempfile::tempdir().map_err(BenchError::os("a temporary directory"))?;
    let paths = Paths {
        repo: opts.repo.clone(),
        workdir: workdir.path().into(),
    };
    let script = workdir.path().join("bench.lua");
    std::fs::write(&script, wrk::SCRIPT).map_err(BenchError::io(&script))?;
    let ticks = system::clock_ticks()?;
    let mut flagged = Vec::new();

    // Cold starts: exec to the first 200, each on a new database.
    let cold_ready = if plans.iter().all(|p| p.category == Category::Custom) && custom.is_some() {
        custom.as_ref().map(|c| c.ready.clone()).unwrap_or_default()
    } else {
        "/hello".into()
    };
    let cold_pod = opts.pod.as_deref().filter(|_| cold_ready != "/hello");
    let mut server_rows = Vec::new();
    for spec in &specs {
        let mut times = Vec::new();
        let mut command = String::new();
        for i in 0..opts.cold_starts {
            let start = StartOptions {
                ready: &cold_ready,
                pod: cold_pod,
                ..StartOptions::default()
            };
            let (mut r, elapsed) =
                spec.start(opts.server_cpu, &format!("cold{i}"), &start, &paths)?;
            command = r.command.clone();
            r.stop();
            times.push(elapsed.as_secs_f64() * 1000.0);
        }
        let cold = stats::summarize(&times).map(|s| s.median);
        if let Some(ms) = cold {
            eprintln!(
                "{:28} cold start {ms:.1} ms (median of {})",
                spec.name,
                times.len()
            );
        }
        let row = Server {
            name: spec.name.clone(),
            command,
            version: Some(spec.version.clone()),
            cold_start_ms: cold,
            idle_rss_kb: None,
        };
        store.add_server(run_id, &row)?;
        server_rows.push(row);
    }

    let per_load = opts.warmup + u64::from(opts.runs) * opts.duration;
    let total: u64 = plans
        .iter()
        .map(|p| (p.routes.len() * p.servers.len() * opts.connections.len()) as u64 * per_load)
        .sum();
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "[{elapsed_precise}] {wide_bar} {pos}/{len} s, {eta} left  {msg}",
        )
        .map_err(|e| BenchError::Usage(e.to_string()))?,
    );

    for plan in &plans {
        let start = StartOptions {
            dev: plan.category == Category::Fs,
            blocks: plan.category == Category::Blocks,
            pod: opts
                .pod
                .as_deref()
                .filter(|_| plan.category == Category::Custom),
            ready: &plan.ready,
        };
        let mut running: Vec<(usize, Running)> = Vec::new();
        for &i in &plan.servers {
            let (r, _) = specs[i].start(opts.server_cpu, plan.category.name(), &start, &paths)?;
            running.push((i, r));
        }
        // Idle memory: each server's first long-lived start, settled.
        std::thread::sleep(Duration::from_millis(500));
        for (i, r) in &running {
            if server_rows[*i].idle_rss_kb.is_none() {
                server_rows[*i].idle_rss_kb = system::rss_kb(r.pid);
                server_rows[*i].command = r.command.clone();
                store.add_server(run_id, &server_rows[*i])?;
            }
        }
        for route in &plan.routes {
            for &connections in &opts.connections {
                for (i, server) in running.iter_mut() {
                    let name = &specs[*i].name;
                    let resolved = match preflight(server, route) {
                        Ok(r) => r,
                        Err(e) => {
                            let reason = e.to_string();
                            bar.suspend(|| eprintln!("FLAGGED {reason}"));
                            flagged.push(reason.clone());
                            store.add_skip(
                                run_id,
                                &Skip {
                                    server: name.clone(),
                                    category: plan.category.name().into(),
                                    route: Some(route.name.clone()),
                                    reason,
                                },
                            )?;
                            bar.inc(per_load);
                            continue;
                        }
                    };
                    let port = server.port;
                    let load = |seconds: u64, tag: &str| Load {
                        url: format!("http://127.0.0.1:{port}{}", resolved.path),
                        connections,
                        seconds,
                        client_cpu: opts.client_cpu,
                        method: &resolved.method,
                        body: match &resolved.body {
                            Body::Fixed(b) => Some(b.as_str()),
                            _ => None,
                        },
                        headers: &resolved.headers,
                        distinct_body_bytes: match resolved.body {
                            Body::Distinct(n) => Some(n),
                            _ => None,
                        },
                        path_template: resolved.varies().then_some(resolved.path.as_str()),
                        nonce: format!("{run_id}-{tag}-{}", nanos()),
                    };
                    if opts.warmup > 0 {
                        bar.set_message(format!(
                            "{name}  {}  c={connections}  warm-up",
                            route.name
                        ));
                        wrk::run(&script, &load(opts.warmup, "warmup"))?;
                        bar.inc(opts.warmup);
                    }
                    for rep in 1..=opts.runs {
                        bar.set_message(format!(
                            "{name}  {}  c={connections}  run {rep}/{}",
                            route.name, opts.runs
                        ));
                        let m = measure(
                            server,
                            ticks,
                            &script,
                            &load(opts.duration, &rep.to_string()),
                        )?;
                        if !server.alive() {
                            return Err(BenchError::ServerStart {
                                server: name.clone(),
                                detail: format!("exited while {} was measured", route.name),
                            });
                        }
                        let m = Measurement {
                            server: name.clone(),
                            category: plan.category.name().into(),
                            route: route.name.clone(),
                            connections: connections.into(),
                            repetition: rep.into(),
                            ..m
                        };
                        let line = format!(
                            "{name:28} {:26} c={connections:<4} run {rep}: {:>9.0} req/s  p50 {:.2} ms  p99 {:.2} ms{}",
                            route.name,
                            m.rps,
                            m.p50_ms.unwrap_or_default(),
                            m.p99_ms.unwrap_or_default(),
                            if m.has_errors() {
                                format!("  FLAGGED: {} socket errors, {} responses >= 400", m.socket_errors, m.status_errors)
                            } else {
                                String::new()
                            }
                        );
                        if m.has_errors() {
                            flagged.push(line.trim().to_string());
                        }
                        bar.suspend(|| eprintln!("{line}"));
                        store.add_measurement(run_id, &m)?;
                        bar.inc(opts.duration);
                    }
                }
            }
        }
        for (_, mut r) in running {
            r.stop();
        }
    }
    bar.finish_and_clear();
    store.finish_run(run_id)?;
    Ok(Outcome { run_id, flagged })
}

fn nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

/// Sends the route once and checks its status; returns the route with its
/// run-time parts filled in (the hash of a block written for `GET /block/<hash>`).
fn preflight(server: &Running, route: &Route) -> Result<Route> {
    let bad = |detail: String| BenchError::BadRoute {
        server: server.name.clone(),
        route: route.name.clone(),
        detail,
    };
    let mut route = route.clone();
    if route.path.contains("{hash}") {
        // A block to read: written now, its address from the answer.
        let body = format!("hbf-bench block {}", nanos()).into_bytes();
        let r = system::http(
            server.port,
            "PUT",
            "/block",
            &[],
            Some(&body),
            Duration::from_secs(10),
        )
        .map_err(|e| bad(format!("PUT /block: {e}")))?;
        let text = String::from_utf8_lossy(&r.body);
        let hash = hex_run(&text).ok_or_else(|| {
            bad(format!(
                "PUT /block answered {} without a SHA-256: {text}",
                r.status
            ))
        })?;
        route.path = route.path.replace("{hash}", &hash);
    }
    let body = match &route.body {
        Body::None => None,
        Body::Fixed(b) => Some(b.clone().into_bytes()),
        Body::Distinct(n) => {
            let mut b = format!("hbf-bench preflight {}\n", nanos()).into_bytes();
            b.resize(*n, b'x');
            Some(b)
        }
    };
    let path = route.path.replace("{n}", "0");
    let r = system::http(
        server.port,
        &route.method,
        &path,
        &route.headers,
        body.as_deref(),
        Duration::from_secs(10),
    )
    .map_err(|e| bad(format!("no answer: {e}")))?;
    let ok = match route.expect {
        Some(s) => r.status == s,
        None => (200..300).contains(&r.status),
    };
    if !ok {
        let want = route.expect.map_or("a 2xx".to_string(), |s| s.to_string());
        return Err(bad(format!(
            "answered {} (expected {want}): {}",
            r.status,
            String::from_utf8_lossy(&r.body[..r.body.len().min(200)])
        )));
    }
    Ok(route)
}

/// The first run of 64 hex digits in `text`.
fn hex_run(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let mut start = 0;
    for i in 0..=b.len() {
        if i == b.len() || !b[i].is_ascii_hexdigit() {
            if i - start == 64 {
                return Some(text[start..i].to_ascii_lowercase());
            }
            start = i + 1;
        }
    }
    None
}

/// One measured load: wrk's figures plus the server's CPU time and its peak
/// RSS (sampled every 50 ms while wrk runs).
fn measure(server: &Running, ticks: f64, script: &Path, load: &Load<'_>) -> Result<Measurement> {
    let pid = server.pid;
    let cpu_before = system::cpu_seconds(pid, ticks)?;
    let done = AtomicBool::new(false);
    let peak = AtomicI64::new(system::rss_kb(pid).unwrap_or(0));
    let report = std::thread::scope(|s| {
        s.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                if let Some(kb) = system::rss_kb(pid) {
                    peak.fetch_max(kb, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        let r = wrk::run(script, load);
        done.store(true, Ordering::Relaxed);
        r
    })?;
    let cpu = system::cpu_seconds(pid, ticks)? - cpu_before;
    let ms = |us: f64| Some(us / 1000.0);
    Ok(Measurement {
        server: String::new(),
        category: String::new(),
        route: String::new(),
        connections: 0,
        repetition: 0,
        duration_s: report.duration_us / 1e6,
        requests: report.requests as i64,
        rps: report.rps(),
        cpu_s: Some(cpu),
        rps_per_core: (cpu > 0.0).then(|| report.requests as f64 / cpu),
        p50_ms: ms(report.latency_us.p50),
        p90_ms: ms(report.latency_us.p90),
        p99_ms: ms(report.latency_us.p99),
        p999_ms: ms(report.latency_us.p999),
        max_ms: ms(report.latency_us.max),
        socket_errors: report.errors.socket() as i64,
        status_errors: report.errors.status as i64,
        peak_rss_kb: Some(peak.load(Ordering::Relaxed)).filter(|&k| k > 0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_is_found_in_plain_and_json_answers() {
        let h = "a".repeat(63) + "B";
        assert_eq!(hex_run(&h), Some(h.to_ascii_lowercase()));
        assert_eq!(
            hex_run(&format!("{{\"hash\":\"{h}\"}}")),
            Some(h.to_ascii_lowercase())
        );
        assert_eq!(hex_run(&"a".repeat(65)), None);
        assert_eq!(hex_run("not a hash"), None);
    }
}

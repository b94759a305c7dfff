//! `hbf-bench`: the command line over the `hbf_bench` library (see its docs
//! and DOCS/PERF.md for the method).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use hbf_bench::analysis;
use hbf_bench::report::{self, RunData};
use hbf_bench::routes::Category;
use hbf_bench::runner::{self, Options};
use hbf_bench::servers::Peer;
use hbf_bench::store::Store;
use hbf_bench::{BenchError, Result};

#[derive(Parser)]
#[command(
    name = "hbf-bench",
    version,
    about = "HBF's HTTP benchmark: runs wrk against hbf and its peers, keeps every run in SQLite, compares, plots and checks for regressions"
)]
struct Cli {
    /// The results database [default: .benchmark/results.db at the top of the
    /// checkout, wherever hbf-bench is run from].
    #[arg(long, global = true, env = "HBF_BENCH_DB")]
    db: Option<PathBuf>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Measure and store a run (prints its id).
    Run(Box<RunArgs>),
    /// List the stored runs.
    Show {
        /// Only the last N runs.
        #[arg(long)]
        last: Option<usize>,
    },
    /// Compare run B with run A route by route (Welch's t-test over the runs).
    Compare { a: i64, b: i64 },
    /// One route over all runs: a table, and an SVG chart.
    Trend {
        /// The route as stored, e.g. "GET /hello".
        route: String,
        /// Only this server (e.g. hbf, node).
        #[arg(long)]
        server: Option<String>,
        /// Where the chart goes (default .benchmark/trend-<route>.svg).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// An HTML page with an SVG chart per category (or Markdown tables).
    Report {
        run: i64,
        /// Print Markdown tables (for DOCS/PERF.md) instead.
        #[arg(long)]
        markdown: bool,
        /// Where the HTML goes (default .benchmark/report-<run>.html).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Print a run's data as JSON or CSV.
    Export {
        run: i64,
        #[arg(long, value_enum, default_value = "json")]
        format: Format,
    },
    /// Exit non-zero when a run is slower than the baseline beyond the noise.
    Check {
        /// The baseline run.
        #[arg(long)]
        baseline: i64,
        /// The run checked (default: the newest).
        #[arg(long)]
        run: Option<i64>,
        /// Largest slow-down allowed, e.g. 10%.
        #[arg(long, default_value = "10%")]
        max_regression: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Json,
    Csv,
}

#[derive(clap::Args)]
struct RunArgs {
    /// Categories, comma-separated: static, runtime, fs, blocks (skipped with a
    /// note when hbf has no --blocks), custom (with --pod and --routes).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "static,runtime,fs,blocks"
    )]
    category: Vec<String>,
    /// A custom pod directory (hbf --pod), measured as category custom.
    #[arg(long, requires = "routes")]
    pod: Option<PathBuf>,
    /// The custom pod's routes (TOML: [[route]] method, path, body, status, headers).
    #[arg(long, requires = "pod")]
    routes: Option<PathBuf>,
    /// Peers serving the same routes: node, bun, deno.
    #[arg(long, value_delimiter = ',')]
    against: Vec<String>,
    /// Only these routes, comma-separated, as named in reports (e.g. "GET /hello").
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Connection counts, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "50")]
    connections: Vec<u32>,
    /// Length of each measured load (10s, 1m).
    #[arg(long, default_value = "10s")]
    duration: String,
    /// Warm-up before a route's runs on each server.
    #[arg(long, default_value = "2s")]
    warmup: String,
    /// Measured loads per route and server (the samples of the statistics).
    #[arg(long, default_value_t = 3)]
    runs: u32,
    /// hbf servers, comma-separated: shipped (no --isolation: the pod decides),
    /// snapshot, worker.
    #[arg(long, value_delimiter = ',', default_value = "shipped")]
    isolation: Vec<String>,
    /// Free text stored with the run.
    #[arg(long)]
    notes: Option<String>,
    /// Take this hbf binary instead of building the release one.
    #[arg(long)]
    hbf: Option<PathBuf>,
    #[arg(long, default_value_t = 1)]
    server_cpu: u32,
    #[arg(long, default_value_t = 0)]
    client_cpu: u32,
    /// Starts whose median is the cold start.
    #[arg(long, default_value_t = 5)]
    cold_starts: usize,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("hbf-bench: {e}");
            ExitCode::from(2)
        }
    }
}

/// Parses `10s`, `500ms` is refused (wrk counts whole seconds), `2m`, `10`.
fn seconds(s: &str) -> Result<u64> {
    let bad = || BenchError::Usage(format!("bad duration {s:?} (whole seconds: 10s, 2m)"));
    let (num, mul) = if let Some(n) = s.strip_suffix('m') {
        (n, 60)
    } else {
        (s.strip_suffix('s').unwrap_or(s), 1)
    };
    num.parse::<u64>().map(|n| n * mul).map_err(|_| bad())
}

fn percent(s: &str) -> Result<f64> {
    let n: f64 = s
        .strip_suffix('%')
        .unwrap_or(s)
        .parse()
        .map_err(|_| BenchError::Usage(format!("bad percentage {s:?} (e.g. 10%)")))?;
    Ok(n / 100.0)
}

/// The checkout: git's top level, or the current directory.
fn repo_root() -> PathBuf {
    std::process::Command::new("git")
        .args(["rev-parse", "--show-toplevel"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .unwrap_or_else(|| PathBuf::from("."))
}

fn load(store: &Store, id: i64) -> Result<RunData> {
    Ok(RunData {
        run: store.run(id)?,
        servers: store.servers(id)?,
        measurements: store.measurements(id)?,
        skips: store.skips(id)?,
    })
}

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(BenchError::io(dir))?;
    }
    std::fs::write(path, text).map_err(BenchError::io(path))
}

fn run(cli: Cli) -> Result<ExitCode> {
    let db = cli
        .db
        .unwrap_or_else(|| repo_root().join(".benchmark/results.db"));
    let store = Store::open(&db)?;
    let dir = db.parent().map(Path::to_path_buf).unwrap_or_default();
    match cli.command {
        Cmd::Run(args) => {
            let args = *args;
            let repo = repo_root();
            let mut categories = args
                .category
                .iter()
                .map(|c| Category::parse(c))
                .collect::<Result<Vec<_>>>()?;
            if args.pod.is_some() && !categories.contains(&Category::Custom) {
                categories.push(Category::Custom);
            }
            let (hbf, profile) = match args.hbf {
                Some(p) => {
                    let profile = if p.components().any(|c| c.as_os_str() == "release") {
                        "release"
                    } else if p.components().any(|c| c.as_os_str() == "debug") {
                        "debug"
                    } else {
                        "unknown"
                    };
                    (p, profile.to_string())
                }
                None => {
                    eprintln!("hbf-bench: cargo build --release -p hbf");
                    let status = std::process::Command::new("cargo")
                        .args(["build", "--release", "-p", "hbf"])
                        .current_dir(&repo)
                        .status()
                        .map_err(|e| BenchError::MissingTool {
                            program: "cargo".into(),
                            hint: e.to_string(),
                        })?;
                    if !status.success() {
                        return Err(BenchError::ToolFailed {
                            program: "cargo build --release -p hbf".into(),
                            detail: status.to_string(),
                        });
                    }
                    (repo.join("target/release/hbf"), "release".to_string())
                }
            };
            let isolation = args
                .isolation
                .iter()
                .map(|i| match i.as_str() {
                    "shipped" => Ok(None),
                    "snapshot" | "worker" => Ok(Some(i.clone())),
                    _ => Err(BenchError::Usage(format!(
                        "unknown isolation {i:?} (shipped, snapshot, worker)"
                    ))),
                })
                .collect::<Result<Vec<_>>>()?;
            let opts = Options {
                categories,
                pod: args.pod,
                routes: args.routes,
                against: args
                    .against
                    .iter()
                    .map(|p| Peer::parse(p))
                    .collect::<Result<_>>()?,
                only: args.only,
                connections: args.connections,
                duration: seconds(&args.duration)?,
                warmup: seconds(&args.warmup)?,
                runs: args.runs,
                isolation,
                notes: args.notes,
                hbf,
                build_profile: profile,
                repo,
                server_cpu: args.server_cpu,
                client_cpu: args.client_cpu,
                cold_starts: args.cold_starts,
            };
            let outcome = runner::run(&store, &opts)?;
            println!("{}", outcome.run_id);
            eprintln!(
                "hbf-bench: stored as run {} (hbf-bench report {} / compare {} {})",
                outcome.run_id,
                outcome.run_id,
                store.reference_id()?,
                outcome.run_id
            );
            if !outcome.flagged.is_empty() {
                eprintln!("hbf-bench: FLAGGED in run {}:", outcome.run_id);
                for f in &outcome.flagged {
                    eprintln!("  {f}");
                }
                return Ok(ExitCode::from(1));
            }
        }
        Cmd::Show { last } => {
            println!("| run | started | commit | branch | build | servers | measurements | flagged | notes |");
            println!("|---|---|---|---|---|---|---|---|---|");
            for r in store.runs(last)? {
                let ms = store.measurements(r.id)?;
                let servers: Vec<String> =
                    store.servers(r.id)?.into_iter().map(|s| s.name).collect();
                let flagged = ms.iter().filter(|m| m.has_errors()).count()
                    + store
                        .skips(r.id)?
                        .iter()
                        .filter(|s| s.route.is_some())
                        .count();
                println!(
                    "| {}{} | {} | {}{} | {} | {} | {} | {} | {} | {} |",
                    r.id,
                    if r.reference { " (reference)" } else { "" },
                    r.started_at,
                    r.git_commit
                        .as_deref()
                        .map_or("-", |c| &c[..c.len().min(10)]),
                    if r.git_dirty == Some(true) {
                        "+dirty"
                    } else {
                        ""
                    },
                    r.git_branch.as_deref().unwrap_or("-"),
                    r.build_profile.as_deref().unwrap_or("-"),
                    servers.join(", "),
                    ms.len(),
                    flagged,
                    r.notes.as_deref().unwrap_or("").replace('|', "/"),
                );
            }
        }
        Cmd::Compare { a, b } => {
            let cmp = analysis::compare(&store.measurements(a)?, &store.measurements(b)?);
            if cmp.is_empty() {
                return Err(BenchError::Usage(format!(
                    "runs {a} and {b} have no route in common"
                )));
            }
            print!("{}", analysis::compare_table(&cmp, a, b));
        }
        Cmd::Check {
            baseline,
            run,
            max_regression,
        } => {
            let max = percent(&max_regression)?;
            let candidate = match run {
                Some(r) => r,
                None => store
                    .latest_run()?
                    .ok_or_else(|| BenchError::Usage("no run stored yet".into()))?,
            };
            let cmp = analysis::compare(
                &store.measurements(baseline)?,
                &store.measurements(candidate)?,
            );
            if cmp.is_empty() {
                return Err(BenchError::Usage(format!(
                    "runs {baseline} and {candidate} have no route in common"
                )));
            }
            print!("{}", analysis::compare_table(&cmp, baseline, candidate));
            let bad = analysis::regressions(&cmp, max);
            if !bad.is_empty() {
                println!("\nFAILED: run {candidate} against baseline {baseline}, allowing {max_regression}:");
                for b in &bad {
                    println!("  {b}");
                }
                return Ok(ExitCode::from(1));
            }
            println!("\nOK: no route of run {candidate} slower than baseline {baseline} by more than {max_regression} beyond the noise");
        }
        Cmd::Trend { route, server, out } => {
            let mut points: Vec<(String, Vec<(i64, f64)>)> = Vec::new();
            println!("| run | started | commit | server | connections | median req/s | p99 ms | flagged |");
            println!("|---|---|---|---|---|---|---|---|");
            for id in store.runs_with_route(&route, server.as_deref())? {
                let r = store.run(id)?;
                for g in analysis::groups(&store.measurements(id)?) {
                    if g.route != route || server.as_ref().is_some_and(|s| *s != g.server) {
                        continue;
                    }
                    let s = g.summary();
                    let p99 = g
                        .summary_of(|m| m.p99_ms)
                        .map_or("-".into(), |p| format!("{:.2}", p.median));
                    println!(
                        "| {id} | {} | {} | {} | {} | {:.0} | {p99} | {} |",
                        r.started_at,
                        r.git_commit
                            .as_deref()
                            .map_or("-", |c| &c[..c.len().min(10)]),
                        g.server,
                        g.connections,
                        s.median,
                        if g.flagged() { "yes" } else { "" }
                    );
                    let name = format!("{} c={}", g.server, g.connections);
                    match points.iter_mut().find(|(n, _)| *n == name) {
                        Some((_, p)) => p.push((id, s.median)),
                        None => points.push((name, vec![(id, s.median)])),
                    }
                }
            }
            if points.is_empty() {
                return Err(BenchError::Usage(format!("no run measured {route:?}")));
            }
            let slug: String = route
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            let out = out.unwrap_or_else(|| dir.join(format!("trend-{slug}.svg")));
            write(&out, &report::trend_svg(&route, &points)?)?;
            eprintln!("hbf-bench: chart written to {}", out.display());
        }
        Cmd::Report { run, markdown, out } => {
            let data = load(&store, run)?;
            if markdown {
                print!("{}", report::markdown(&data));
            } else {
                let out = out.unwrap_or_else(|| dir.join(format!("report-{run}.html")));
                write(&out, &report::html(&data)?)?;
                println!("{}", out.display());
            }
        }
        Cmd::Export { run, format } => {
            let data = load(&store, run)?;
            match format {
                Format::Json => println!("{}", report::export_json(&data)?),
                Format::Csv => print!("{}", report::export_csv(&data)),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_percentages_parse() {
        assert_eq!(seconds("10s").unwrap(), 10);
        assert_eq!(seconds("2m").unwrap(), 120);
        assert_eq!(seconds("7").unwrap(), 7);
        assert!(seconds("500ms").is_err());
        assert_eq!(percent("10%").unwrap(), 0.1);
        assert!(percent("ten").is_err());
    }
}

//! A one-second run of two routes against the real debug `hbf`, then the
//! database, `compare` against the reference run and `report`'s HTML.
//!
//! Needs wrk and taskset (tools/setup.sh installs them) and the debug hbf
//! binary, which `cargo test --workspace` builds (hbf/shell's tests use it).

use std::path::{Path, PathBuf};
use std::process::Command;

use rusqlite::Connection;

fn repo() -> PathBuf {
    // Under Bazel, CARGO_MANIFEST_DIR names the compile sandbox; the checkout
    // is found through the Cargo.toml the test gets as data.
    match std::env::var_os("HBF_REPO_CARGO_TOML") {
        Some(p) => Path::new(&p).parent().unwrap().to_path_buf(),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."),
    }
}

/// The hbf binary: Bazel's (CARGO_BIN_EXE_hbf at compile time) or Cargo's
/// target/debug/hbf beside this test's own target directory.
fn hbf() -> PathBuf {
    if let Some(p) = option_env!("CARGO_BIN_EXE_hbf") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().unwrap().parent().unwrap().join("hbf");
    assert!(
        bin.exists(),
        "{} is missing: build it (cargo build -p hbf; cargo test --workspace does)",
        bin.display()
    );
    bin
}

fn bench(db: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hbf-bench"))
        .arg("--db")
        .arg(db)
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_short_run_is_stored_compared_and_reported() {
    let wrk = Command::new("wrk").arg("--version").output();
    assert!(
        wrk.is_ok(),
        "wrk is missing: run tools/setup.sh (it installs Debian's wrk)"
    );
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("results.db");
    let hbf = hbf();
    let (code, out, err) = bench(
        &db,
        &[
            "run",
            "--hbf",
            hbf.to_str().unwrap(),
            "--category",
            "static,runtime",
            "--only",
            "GET /hello,GET /static/style.css",
            "--duration",
            "1s",
            "--warmup",
            "0s",
            "--runs",
            "2",
            "--cold-starts",
            "2",
            "--connections",
            "8",
            "--notes",
            "integration test",
        ],
    );
    assert_eq!(code, 0, "hbf-bench run failed: {out}\n{err}");
    let run: i64 = out
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("a run id: {out}"));

    let conn = Connection::open(&db).unwrap();
    let (profile, notes, commit, cpu, load, settings): (String, String, Option<String>, String, String, String) = conn
        .query_row(
            "SELECT build_profile, notes, git_commit, cpu_model, load_avg, settings FROM runs WHERE id = ?1 AND finished_at IS NOT NULL",
            [run],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
        )
        .unwrap();
    assert_eq!(
        (profile.as_str(), notes.as_str()),
        ("debug", "integration test")
    );
    assert!(commit.is_some_and(|c| c.len() == 40));
    assert!(!cpu.is_empty() && load.split(' ').count() == 3);
    assert!(settings.contains("\"connections\":[8]"), "{settings}");

    let mut stmt = conn
        .prepare(
            "SELECT route, category, server, repetition, requests, rps, cpu_s, rps_per_core, p50_ms, p99_ms,
                    p999_ms, max_ms, socket_errors, status_errors, peak_rss_kb
             FROM measurements WHERE run_id = ?1 ORDER BY id",
        )
        .unwrap();
    let rows: Vec<(String, String, String, i64)> = stmt
        .query_map([run], |r| {
            let (requests, rps, cpu, per_core): (i64, f64, f64, f64) =
                (r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?);
            let (p50, p99, p999, max): (f64, f64, f64, f64) =
                (r.get(8)?, r.get(9)?, r.get(10)?, r.get(11)?);
            let (sock, status, rss): (i64, i64, i64) = (r.get(12)?, r.get(13)?, r.get(14)?);
            assert!(
                requests > 100 && rps > 100.0,
                "{requests} requests, {rps} req/s"
            );
            assert!(cpu > 0.0 && per_core > 0.0);
            assert!(
                p50 > 0.0 && p50 <= p99 && p99 <= p999 && p999 <= max,
                "{p50} {p99} {p999} {max}"
            );
            assert_eq!((sock, status), (0, 0));
            assert!(rss > 1000);
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let expected: Vec<(String, String, String, i64)> = [
        ("GET /static/style.css", "static", 1),
        ("GET /static/style.css", "static", 2),
        ("GET /hello", "runtime", 1),
        ("GET /hello", "runtime", 2),
    ]
    .iter()
    .map(|(r, c, n)| (r.to_string(), c.to_string(), "hbf".to_string(), *n))
    .collect();
    assert_eq!(rows, expected);
    let (cold, idle): (f64, i64) = conn
        .query_row(
            "SELECT cold_start_ms, idle_rss_kb FROM servers WHERE run_id = ?1 AND name = 'hbf'",
            [run],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(cold > 0.0 && idle > 1000);

    let (code, cmp, err) = bench(&db, &["compare", "1", &run.to_string()]);
    assert_eq!(code, 0, "{err}");
    assert!(cmp.contains("Welch's two-sided t-test"), "{cmp}");
    for route in [
        "GET /hello (c=10 -> 8) | C99 HBF -> hbf",
        "GET /static/style.css (c=10 -> 8) | C99 HBF -> hbf",
    ] {
        assert!(cmp.contains(route), "{route} in {cmp}");
    }
    // A debug hbf still serves /hello far beyond the C99 HBF's 210-255 req/s.
    let hello = cmp.lines().find(|l| l.starts_with("| GET /hello")).unwrap();
    assert!(
        hello.ends_with("| faster |") || hello.contains("within noise"),
        "{hello}"
    );

    let (code, out, err) = bench(
        &db,
        &["check", "--baseline", "1", "--max-regression", "10%"],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!("OK: no route of run {run} slower")),
        "{out}"
    );

    let svg = dir.path().join("trend.svg");
    let (code, out, err) = bench(
        &db,
        &["trend", "GET /hello", "--out", svg.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("| {run} |")) && out.contains("| 1 |"),
        "the run and the reference: {out}"
    );
    assert!(std::fs::read_to_string(&svg)
        .unwrap()
        .contains("GET /hello"));

    let html = dir.path().join("report.html");
    let (code, _, err) = bench(
        &db,
        &["report", &run.to_string(), "--out", html.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");
    let page = std::fs::read_to_string(&html).unwrap();
    let svgs: Vec<&str> = page
        .split("<svg")
        .skip(1)
        .map(|s| s.split("</svg>").next().unwrap())
        .collect();
    assert_eq!(svgs.len(), 2, "one chart per category");
    assert!(svgs[0].contains("GET /static/style.css") && svgs[0].contains("hbf"));
    assert!(svgs[1].contains("GET /hello"));
}

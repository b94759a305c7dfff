//! Drives wrk (Debian's `/usr/bin/wrk`) with the embedded Lua reporter
//! (`lua/bench.lua`) and reads the JSON line its `done()` prints.
//!
//! wrk, not a home-made load generator: it is the tool the C99 HBF's and
//! DOCS/PERF.md's figures come from, it keeps up with 100k+ req/s on one core,
//! and its latency histogram is exact to the microsecond.

use std::path::Path;
use std::process::Command;

use serde::Deserialize;

use crate::error::{BenchError, Result};

/// The Lua script, written to a temporary file for each `hbf-bench run`.
pub const SCRIPT: &str = include_str!("../lua/bench.lua");

/// The prefix of the reporter's line.
const MARKER: &str = "HBF_BENCH_RESULT ";

/// What the reporter prints: wrk's own summary and latency distribution.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WrkReport {
    pub duration_us: f64,
    pub requests: u64,
    pub bytes: u64,
    pub errors: WrkErrors,
    pub latency_us: Latency,
}

/// wrk's error counters. `status` counts responses with a status of 400 or
/// more (wrk's own rule); the others are socket errors.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct WrkErrors {
    pub connect: u64,
    pub read: u64,
    pub write: u64,
    pub status: u64,
    pub timeout: u64,
}

impl WrkErrors {
    /// Connect, read, write errors and timeouts.
    pub fn socket(&self) -> u64 {
        self.connect + self.read + self.write + self.timeout
    }
}

/// Latency percentiles, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
    pub stdev: f64,
}

impl WrkReport {
    /// Requests per second over wrk's own measured duration.
    pub fn rps(&self) -> f64 {
        if self.duration_us <= 0.0 {
            return 0.0;
        }
        self.requests as f64 / (self.duration_us / 1e6)
    }
}

/// Reads the reporter's line out of wrk's standard output.
pub fn parse_report(stdout: &str) -> Result<WrkReport> {
    let line = stdout
        .lines()
        .find_map(|l| l.trim_start().strip_prefix(MARKER))
        .ok_or_else(|| {
            BenchError::WrkReport(format!(
                "no `{}` line in wrk's output (was wrk run with hbf-bench's script?): {}",
                MARKER.trim(),
                stdout.trim()
            ))
        })?;
    let report: WrkReport =
        serde_json::from_str(line).map_err(|e| BenchError::WrkReport(format!("{e} in {line}")))?;
    Ok(report)
}

/// One load: what wrk sends, for how long, from which CPU.
#[derive(Debug, Clone)]
pub struct Load<'a> {
    pub url: String,
    pub connections: u32,
    pub seconds: u64,
    pub client_cpu: u32,
    pub method: &'a str,
    pub body: Option<&'a str>,
    pub headers: &'a [(String, String)],
    pub distinct_body_bytes: Option<usize>,
    pub path_template: Option<&'a str>,
    pub nonce: String,
}

/// Checks that wrk and taskset are there, with what to do if not.
pub fn check_tools() -> Result<()> {
    for (program, package) in [("wrk", "wrk"), ("taskset", "util-linux")] {
        let found = Command::new(program).arg("--version").output().is_ok();
        if !found {
            return Err(BenchError::MissingTool {
                program: program.into(),
                hint: format!("run tools/setup.sh (or apt-get install {package})"),
            });
        }
    }
    Ok(())
}

/// Runs wrk once (one thread: the client has one core) and reads its report.
pub fn run(script: &Path, load: &Load<'_>) -> Result<WrkReport> {
    let headers: String = load
        .headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\n"))
        .collect();
    let mut cmd = Command::new("taskset");
    cmd.arg("-c")
        .arg(load.client_cpu.to_string())
        .arg("wrk")
        .args(["-t1", &format!("-c{}", load.connections)])
        .arg(format!("-d{}s", load.seconds))
        .args(["--timeout", "10s", "-s"])
        .arg(script)
        .arg(&load.url)
        .env("BENCH_METHOD", load.method)
        .env("BENCH_HEADERS", headers)
        .env("BENCH_NONCE", &load.nonce);
    if let Some(body) = load.body {
        cmd.env("BENCH_BODY", body);
    }
    if let Some(n) = load.distinct_body_bytes {
        cmd.env("BENCH_DISTINCT_BYTES", n.to_string());
    }
    if let Some(t) = load.path_template {
        cmd.env("BENCH_PATH_TEMPLATE", t);
    }
    let out = cmd.output().map_err(|e| BenchError::MissingTool {
        program: "taskset/wrk".into(),
        hint: format!("{e}: run tools/setup.sh"),
    })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(BenchError::ToolFailed {
            program: "wrk".into(),
            detail: format!(
                "{} on {}: {}{}",
                out.status,
                load.url,
                stdout.trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    parse_report(&stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "Running 1s test @ http://127.0.0.1:5309/hello
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.02ms  301.11us   9.87ms   90.12%
  48123 requests in 1.00s, 8.12MB read
Requests/sec:  48100.00
HBF_BENCH_RESULT {\"duration_us\":1000500,\"requests\":48123,\"bytes\":8514000,\"errors\":{\"connect\":0,\"read\":1,\"write\":0,\"status\":7,\"timeout\":2},\"latency_us\":{\"p50\":950,\"p90\":1300,\"p99\":2180,\"p999\":4100,\"max\":9870,\"mean\":1020.512,\"stdev\":301.110}}
";

    #[test]
    fn reads_the_reporter_line() {
        let r = parse_report(SAMPLE).unwrap();
        assert_eq!(r.requests, 48123);
        assert_eq!(r.errors.status, 7);
        assert_eq!(r.errors.socket(), 3);
        assert_eq!(r.latency_us.p999, 4100.0);
        assert_eq!(r.latency_us.max, 9870.0);
        assert!((r.rps() - 48098.95).abs() < 0.1, "{}", r.rps());
    }

    #[test]
    fn a_missing_or_broken_line_is_an_error_that_says_so() {
        let e = parse_report("Requests/sec: 1000\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("no `HBF_BENCH_RESULT` line"), "{e}");
        let e = parse_report("HBF_BENCH_RESULT {\"requests\":1}\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing field"), "{e}");
    }

    #[test]
    fn the_script_prints_every_field_the_reader_needs() {
        for field in [
            "duration_us",
            "requests",
            "bytes",
            "connect",
            "status",
            "timeout",
            "p50",
            "p90",
            "p99",
            "p999",
            "max",
        ] {
            assert!(SCRIPT.contains(&format!("\"{field}\"")), "{field}");
        }
    }
}

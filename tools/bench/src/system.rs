//! What the benchmark reads from the machine: /proc (a server's CPU time and
//! memory, the CPU model, the load), git, and a minimal HTTP/1.1 request for
//! readiness and for checking each route's answer before it is measured.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::error::{BenchError, Result};

/// A process's CPU time (user + system, every thread) in seconds, from
/// /proc/<pid>/stat; `ticks_per_second` is `getconf CLK_TCK`.
pub fn cpu_seconds(pid: u32, ticks_per_second: f64) -> Result<f64> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).map_err(BenchError::io(&path))?;
    parse_stat_cpu(&text)
        .map(|ticks| ticks as f64 / ticks_per_second)
        .ok_or_else(|| BenchError::Usage(format!("{path}: unexpected format: {text}")))
}

/// utime + stime (fields 14 and 15) of a /proc/<pid>/stat line. The command
/// name (field 2) is in parentheses and may contain spaces: fields are counted
/// from the last ')'.
pub fn parse_stat_cpu(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): utime is field 14, index 11.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// The clock ticks per second of /proc's CPU times.
pub fn clock_ticks() -> Result<f64> {
    let out = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .map_err(|e| BenchError::MissingTool {
            program: "getconf".into(),
            hint: format!("{e} (Debian: libc-bin)"),
        })?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|_| BenchError::ToolFailed {
            program: "getconf CLK_TCK".into(),
            detail: String::from_utf8_lossy(&out.stdout).into_owned(),
        })
}

/// A process's resident set size in KiB (VmRSS of /proc/<pid>/status).
pub fn rss_kb(pid: u32) -> Option<i64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status_field_kb(&text, "VmRSS:")
}

/// A `Name:   123 kB` field of /proc/<pid>/status.
pub fn status_field_kb(status: &str, field: &str) -> Option<i64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// The machine a run was measured on.
#[derive(Debug, Clone, Default)]
pub struct Machine {
    pub cpu_model: Option<String>,
    pub cores: Option<i64>,
    pub kernel: Option<String>,
    pub load_avg: Option<String>,
}

/// Reads the CPU model and core count (/proc/cpuinfo), the kernel release and
/// the 1/5/15-minute load average (/proc/loadavg) now.
pub fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|v| v.split_once(':'))
        .map(|(_, v)| v.trim().to_string());
    let cores = std::thread::available_parallelism()
        .ok()
        .map(|n| n.get() as i64);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .map(|s| s.trim().to_string());
    let load_avg = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "));
    Machine {
        cpu_model,
        cores,
        kernel,
        load_avg,
    }
}

/// The commit, branch and dirty flag of the checkout at `root`.
#[derive(Debug, Clone, Default)]
pub struct Git {
    pub commit: Option<String>,
    pub branch: Option<String>,
    pub dirty: Option<bool>,
}

/// Asks git about `root` (each field `None` outside a git checkout).
pub fn git(root: &Path) -> Git {
    let run = |args: &[&str]| -> Option<String> {
        let out = Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    Git {
        commit: run(&["rev-parse", "HEAD"]),
        branch: run(&["rev-parse", "--abbrev-ref", "HEAD"]),
        // The benchmark's own results (.benchmark/) are git-ignored.
        dirty: run(&["status", "--porcelain", "--untracked-files=no"]).map(|s| !s.is_empty()),
    }
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(BenchError::os("binding a free port"))?;
    Ok(l.local_addr()
        .map_err(BenchError::os("a free port"))?
        .port())
}

/// A response: its status and body.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Sends one HTTP/1.1 request (`Connection: close`) and reads the answer.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: Option<&[u8]>,
    timeout: Duration,
) -> std::io::Result<Response> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        head.push_str(&format!("Content-Length: {}\r\n", b.len()));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    if let Some(b) = body {
        s.write_all(b)?;
    }
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    parse_response(&raw).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "not an HTTP response: {:?}",
                String::from_utf8_lossy(&raw[..raw.len().min(200)])
            ),
        )
    })
}

/// Splits a whole `Connection: close` response into status and body (chunked
/// bodies are returned as sent: only the readiness status and a hash are
/// looked at).
fn parse_response(raw: &[u8]) -> Option<Response> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some(Response {
        status,
        body: raw[end + 4..].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_is_read_past_a_command_name_with_spaces() {
        let stat =
            "4242 (node (main) x) S 1 4242 4242 0 -1 4194560 2000 0 0 0 150 30 0 0 20 0 11 0 \
                    12345 1000000 2500 18446744073709551615";
        assert_eq!(parse_stat_cpu(stat), Some(180));
        assert_eq!(parse_stat_cpu("garbage"), None);
        let me = cpu_seconds(std::process::id(), clock_ticks().unwrap()).unwrap();
        assert!(me >= 0.0);
    }

    #[test]
    fn status_fields_in_kb() {
        let status = "Name:\thbf\nVmHWM:\t   12600 kB\nVmRSS:\t    9000 kB\n";
        assert_eq!(status_field_kb(status, "VmRSS:"), Some(9000));
        assert_eq!(status_field_kb(status, "VmHWM:"), Some(12600));
        assert_eq!(status_field_kb(status, "VmSwap:"), None);
        assert!(rss_kb(std::process::id()).unwrap() > 0);
    }

    #[test]
    fn responses_parse() {
        let r = parse_response(b"HTTP/1.1 201 Created\r\nA: b\r\n\r\nabc").unwrap();
        assert_eq!((r.status, r.body.as_slice()), (201, &b"abc"[..]));
        assert!(parse_response(b"HTTP/1.1 200 OK\r\n").is_none());
    }
}

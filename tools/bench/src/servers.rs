//! The servers under test: `hbf` (as shipped, or with an isolation mode
//! forced) and its peers, Node.js, Bun and Deno, which serve the base pod's
//! routes from `tools/bench/peers/server.mjs`. Each is started pinned to one
//! CPU with taskset (taskset execs it, so the pid is the server's own and its
//! /proc figures are the server's).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{BenchError, Result};
use crate::routes::DEV_TOKEN;
use crate::system;

/// A peer runtime `--against` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    Node,
    Bun,
    Deno,
}

impl Peer {
    /// Parses an `--against` value.
    pub fn parse(s: &str) -> Result<Peer> {
        match s {
            "node" => Ok(Peer::Node),
            "bun" => Ok(Peer::Bun),
            "deno" => Ok(Peer::Deno),
            _ => Err(BenchError::Usage(format!(
                "unknown peer {s:?} (node, bun, deno)"
            ))),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Peer::Node => "node",
            Peer::Bun => "bun",
            Peer::Deno => "deno",
        }
    }
}

/// What kind of server, and how it is started.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `hbf`; `isolation` is the forced `--isolation` (`None`: as shipped).
    Hbf {
        isolation: Option<String>,
        /// The binary has `--max-connections-per-address`, which the run
        /// turns off: the load generator opens every connection from one
        /// address, and the server is measured, not its quota.
        per_address_quota: bool,
    },
    Peer(Peer),
}

/// A server to measure.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Its name in the database: `hbf`, `hbf --isolation request`, `node`...
    pub name: String,
    pub kind: Kind,
    pub program: PathBuf,
    /// `--version`'s answer.
    pub version: String,
}

/// How one start of a server is set up.
#[derive(Debug, Clone, Default)]
pub struct StartOptions<'a> {
    /// `hbf --dev` (with [`DEV_TOKEN`]).
    pub dev: bool,
    /// `hbf --blocks`.
    pub blocks: bool,
    /// `hbf --pod DIR`.
    pub pod: Option<&'a Path>,
    /// The path polled until it answers 200.
    pub ready: &'a str,
}

/// Where the peers' server script and the base pod's static files are.
#[derive(Debug, Clone)]
pub struct Paths {
    pub repo: PathBuf,
    pub workdir: PathBuf,
}

impl Paths {
    fn peer_script(&self) -> PathBuf {
        self.repo.join("tools/bench/peers/server.mjs")
    }
}

/// The hbf server spec for a binary and an isolation mode.
pub fn hbf(binary: &Path, isolation: Option<&str>) -> Result<Spec> {
    let version = version_of(binary, &["--version"])?;
    let per_address_quota =
        version_of(binary, &["--help"])?.contains("--max-connections-per-address");
    Ok(Spec {
        name: match isolation {
            None => "hbf".into(),
            Some(i) => format!("hbf --isolation {i}"),
        },
        kind: Kind::Hbf {
            isolation: isolation.map(str::to_string),
            per_address_quota,
        },
        program: binary.into(),
        version,
    })
}

/// Finds a peer: Node.js on the PATH; Bun and Deno where tools/setup.sh
/// installs them from the npm registry (tools/bench/peers/node_modules).
pub fn peer(peer: Peer, repo: &Path) -> Result<Spec> {
    let modules = repo.join("tools/bench/peers/node_modules");
    let candidates: Vec<PathBuf> = match peer {
        Peer::Node => vec![PathBuf::from("node")],
        // The npm packages put the platform binary here (postinstall) or in
        // their per-platform optional dependency.
        Peer::Bun => vec![
            modules.join("bun/bin/bun.exe"),
            modules.join("@oven/bun-linux-x64/bin/bun"),
        ],
        Peer::Deno => vec![
            modules.join("deno/deno"),
            modules.join("@deno/linux-x64-glibc/deno"),
        ],
    };
    for program in &candidates {
        if let Ok(version) = version_of(program, &["--version"]) {
            let version = version.lines().next().unwrap_or_default().to_string();
            return Ok(Spec {
                name: peer.name().into(),
                kind: Kind::Peer(peer),
                program: program.clone(),
                version,
            });
        }
    }
    Err(BenchError::MissingTool {
        program: peer.name().into(),
        hint: match peer {
            Peer::Node => "install Node.js (Debian: apt-get install nodejs)".into(),
            _ => format!(
                "not found at {}: run tools/setup.sh (it installs bun and deno from the npm \
                 registry into tools/bench/peers/node_modules)",
                candidates
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        },
    })
}

fn version_of(program: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| BenchError::MissingTool {
            program: program.display().to_string(),
            hint: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(BenchError::ToolFailed {
            program: program.display().to_string(),
            detail: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Whether this hbf has `--blocks` (its `--help` lists it).
pub fn hbf_has_blocks(binary: &Path) -> Result<bool> {
    Ok(version_of(binary, &["--help"])?.contains("--blocks"))
}

/// A running server.
pub struct Running {
    pub name: String,
    pub port: u16,
    pub pid: u32,
    child: Child,
    log: PathBuf,
    /// The command line, for the record.
    pub command: String,
}

impl Spec {
    /// The command line for a start on `port`; each start gets its own
    /// database or notes directory (`tag`), so a cold start is a real one.
    fn argv(&self, port: u16, tag: &str, opts: &StartOptions<'_>, paths: &Paths) -> Vec<OsString> {
        let mut v: Vec<OsString> = vec![self.program.clone().into()];
        let data = paths
            .workdir
            .join(format!("{}-{tag}", self.name.replace([' ', '-'], "_")));
        match &self.kind {
            Kind::Hbf {
                isolation,
                per_address_quota,
            } => {
                v.extend(["--port".into(), port.to_string().into(), "--db".into()]);
                v.push(data.with_extension("db").into());
                v.extend(["--log-level".into(), "warn".into()]);
                if *per_address_quota {
                    v.extend(["--max-connections-per-address".into(), "0".into()]);
                }
                if let Some(i) = isolation {
                    v.extend(["--isolation".into(), i.into()]);
                }
                if opts.dev {
                    v.push("--dev".into());
                }
                if opts.blocks {
                    v.push("--blocks".into());
                }
                if let Some(pod) = opts.pod {
                    v.extend(["--pod".into(), pod.into()]);
                }
            }
            Kind::Peer(p) => {
                if *p == Peer::Deno {
                    v.extend(["run".into(), "--allow-all".into()]);
                }
                v.push(paths.peer_script().into());
                v.push(port.to_string().into());
                v.push(paths.repo.join("pods/base/static").into());
                v.push(data.into());
            }
        }
        v
    }

    /// Starts the server on CPU `cpu` and waits until `opts.ready` answers 200.
    pub fn start(
        &self,
        cpu: u32,
        tag: &str,
        opts: &StartOptions<'_>,
        paths: &Paths,
    ) -> Result<(Running, Duration)> {
        let port = system::free_port()?;
        let argv = self.argv(port, tag, opts, paths);
        let log = paths
            .workdir
            .join(format!("{}-{tag}.log", self.name.replace([' ', '-'], "_")));
        let log_file = std::fs::File::create(&log).map_err(BenchError::io(&log))?;
        let began = Instant::now();
        let mut cmd = Command::new("taskset");
        cmd.arg("-c")
            .arg(cpu.to_string())
            .args(&argv)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().map_err(BenchError::io(&log))?)
            .stderr(log_file)
            .env("DENO_NO_UPDATE_CHECK", "1");
        if opts.dev {
            cmd.env("HBF_DEV_TOKEN", DEV_TOKEN);
        }
        let child = cmd.spawn().map_err(|e| BenchError::MissingTool {
            program: "taskset".into(),
            hint: format!("{e}: run tools/setup.sh"),
        })?;
        let command = argv
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        let mut running = Running {
            name: self.name.clone(),
            port,
            pid: child.id(),
            child,
            log,
            command,
        };
        let elapsed = running.wait_ready(opts.ready, began, Duration::from_secs(30))?;
        Ok((running, elapsed))
    }
}

impl Running {
    /// Polls `path` until it answers 200; the time from `began`.
    fn wait_ready(&mut self, path: &str, began: Instant, timeout: Duration) -> Result<Duration> {
        loop {
            if let Ok(r) = system::http(self.port, "GET", path, &[], None, Duration::from_secs(2)) {
                if r.status == 200 {
                    return Ok(began.elapsed());
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(self.failed(format!("exited ({status}) before answering {path}")));
            }
            if began.elapsed() > timeout {
                return Err(self.failed(format!("no 200 on {path} within {timeout:?}")));
            }
            std::thread::sleep(Duration::from_micros(500));
        }
    }

    fn failed(&mut self, what: String) -> BenchError {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: String = log
            .lines()
            .rev()
            .take(10)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n");
        BenchError::ServerStart {
            server: self.name.clone(),
            detail: format!(
                "{what}; command: {}; its output: {}",
                self.command,
                tail.trim()
            ),
        }
    }

    /// Whether it is still running (a crash under load is an error, not a
    /// slow route).
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Stops it (SIGTERM, then SIGKILL after 10 s); nothing if it has exited.
    pub fn stop(&mut self) {
        if !self.alive() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Running {
    /// A run that fails half-way leaves no server behind.
    fn drop(&mut self) {
        self.stop();
    }
}

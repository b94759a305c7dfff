//! Starting the real `hbf` binary for a test, and talking to it over HTTP.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

pub fn repo() -> PathBuf {
    // Under Bazel, CARGO_MANIFEST_DIR names the compile action's sandbox, gone by
    // now: the rust_test (tools/rust.bzl) names Cargo.toml in its runfiles
    // instead, a link back to the checkout.
    if let Some(cargo_toml) = std::env::var_os("HBF_REPO_CARGO_TOML") {
        let real = std::fs::canonicalize(cargo_toml).unwrap();
        return real.parent().unwrap().to_path_buf();
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn test_pod() -> PathBuf {
    repo().join("pods/test")
}

/// A pod made by the test: `dir/NAME` with `files` (paths inside the pod,
/// such as `hbf/server.js`, and their text); its path.
pub fn write_pod(dir: &Path, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let pod = dir.join(name);
    for (path, text) in files {
        let file = pod.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    }
    pod
}

/// The test pod on a database file in a new temporary directory.
pub struct OnFile {
    /// Removed when dropped.
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
    args: Vec<String>,
}

impl OnFile {
    /// `--db FILE --pod POD` and the extra arguments.
    pub fn args(&self) -> Vec<&str> {
        self.args.iter().map(String::as_str).collect()
    }
}

/// [`OnFile`] with `extra` arguments after `--db FILE --pod POD`.
pub fn test_pod_on_file(extra: &[&str]) -> OnFile {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hbf.db");
    let mut args: Vec<String> = ["--db", db.to_str().unwrap(), "--pod"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    args.push(test_pod().to_str().unwrap().to_owned());
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    OnFile { dir, db, args }
}

/// The dev API token the `--dev` tests start `hbf` with.
pub const DEV_TOKEN: &str = "test-token-0123456789";

/// The test pod in memory with `--dev` and [`DEV_TOKEN`], plus `extra` flags.
pub fn dev_server(extra: &[&str]) -> Server {
    let pod = test_pod();
    let mut args = vec!["--inmem", "--pod", pod.to_str().unwrap(), "--dev"];
    args.extend_from_slice(extra);
    Server::try_start_with_env(&args, &[("HBF_DEV_TOKEN", DEV_TOKEN)])
        .unwrap_or_else(|log| panic!("hbf did not start:\n{log}"))
}

/// A running `hbf`; killed when dropped.
pub struct Server {
    pub child: Child,
    pub addr: String,
    log: Arc<(Mutex<Vec<String>>, Condvar)>,
    pub agent: ureq::Agent,
}

impl Server {
    /// Starts `hbf --port 0` with `args`; waits for its "listening" line.
    pub fn start(args: &[&str]) -> Server {
        Self::try_start(args).unwrap_or_else(|log| panic!("hbf did not start:\n{log}"))
    }

    /// Starts the test pod in memory with `extra` arguments.
    pub fn test_pod(extra: &[&str]) -> Server {
        let pod = test_pod();
        let mut args = vec!["--inmem", "--pod", pod.to_str().unwrap()];
        args.extend_from_slice(extra);
        Self::start(&args)
    }

    pub fn try_start(args: &[&str]) -> Result<Server, String> {
        Self::try_start_with_env(args, &[])
    }

    /// [`Server::try_start`] with environment variables set for the server
    /// (`HBF_DEV_TOKEN` is otherwise removed, so a developer's own does not
    /// leak into tests).
    pub fn try_start_with_env(args: &[&str], env: &[(&str, &str)]) -> Result<Server, String> {
        let mut command = Command::new(env!("CARGO_BIN_EXE_hbf"));
        command.env_remove("HBF_DEV_TOKEN");
        command.env_remove("HBF_BLOCK_TOKEN");
        // Litestream 0.5.17 cannot load its S3 configuration with a custom CA
        // bundle ("unable to add custom RootCAs"); the replication tests'
        // S3 is plain HTTP on 127.0.0.1.
        command.env_remove("AWS_CA_BUNDLE");
        command.envs(env.iter().copied());
        command.args(["--port", "0"]);
        if !args.iter().any(|a| a.starts_with("--log-level")) {
            command.args(["--log-level", "info"]);
        }
        let mut child = command
            .args(args)
            .env_remove("HBF_PORT")
            .env_remove("HBF_DB")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start hbf");
        let log: Arc<(Mutex<Vec<String>>, Condvar)> = Arc::default();
        let stderr = child.stderr.take().unwrap();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let (lines, cv) = &*sink;
                lines.lock().unwrap().push(strip_ansi(&line));
                cv.notify_all();
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = loop {
            let (lines, cv) = &*log;
            let guard = lines.lock().unwrap();
            if let Some(addr) = guard.iter().find_map(|l| {
                l.split("listening on http://")
                    .nth(1)
                    .map(|a| a.split_whitespace().next().unwrap().to_owned())
            }) {
                break addr;
            }
            if let Ok(Some(_)) = child.try_wait() {
                drop(guard);
                std::thread::sleep(Duration::from_millis(100));
                return Err(log.0.lock().unwrap().join("\n"));
            }
            if Instant::now() > deadline {
                let text = guard.join("\n");
                drop(guard);
                let _ = child.kill();
                return Err(text);
            }
            let _ = cv.wait_timeout(guard, Duration::from_millis(50)).unwrap();
        };
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            // Well under the server's idle limit: never reuse a connection the
            // server may have closed.
            .max_idle_age(Duration::from_millis(300))
            .build()
            .into();
        Ok(Server {
            child,
            addr,
            log,
            agent,
        })
    }

    /// A server started some other way (a peer runtime for comparison)
    /// listening on `addr`: killed when dropped, logs not captured.
    pub fn external(child: Child, addr: String) -> Server {
        Server {
            child,
            addr,
            log: Arc::default(),
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(60)))
                .build()
                .into(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// GET `path`: (status, headers as lower-case pairs, body).
    pub fn get(&self, path: &str) -> Reply {
        self.request("GET", path, &[], None)
    }

    pub fn post(&self, path: &str, body: &[u8]) -> Reply {
        self.request("POST", path, &[], Some(body))
    }

    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Reply {
        let mut builder = ureq::http::Request::builder()
            .method(method)
            .uri(self.url(path));
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let result = match body {
            Some(body) => self.agent.run(builder.body(body.to_vec()).unwrap()),
            None => self.agent.run(builder.body(()).unwrap()),
        };
        let mut response = result.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = response
            .body_mut()
            .with_config()
            .limit(256 << 20)
            .read_to_vec()
            .unwrap_or_default();
        Reply {
            status,
            headers,
            body,
        }
    }

    /// Sends raw bytes on a new connection and returns everything the server
    /// answers before closing (or until `wait` passes).
    pub fn raw(&self, bytes: &[u8], wait: Duration) -> String {
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        stream.write_all(bytes).unwrap();
        read_answer(&mut stream, wait)
    }

    /// Every line the server has logged so far.
    pub fn log(&self) -> Vec<String> {
        self.log.0.lock().unwrap().clone()
    }

    /// Waits until a logged line contains every one of `needles`.
    pub fn wait_for_log(&self, needles: &[&str], timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        let (lines, cv) = &*self.log;
        let mut guard = lines.lock().unwrap();
        loop {
            if let Some(line) = guard.iter().find(|l| needles.iter().all(|n| l.contains(n))) {
                return Some(line.clone());
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            guard = cv.wait_timeout(guard, deadline - now).unwrap().0;
        }
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        // SAFETY: kill(2) on our own child's pid with a valid signal number.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "hbf did not exit after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Everything the server writes on `stream` until it closes it (or until
/// `wait` passes without a byte).
pub fn read_answer(stream: &mut TcpStream, wait: Duration) -> String {
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

//! An acknowledged write survives `kill -9` of the writing process.
//!
//! The test re-runs its own binary as a child (selected by an environment
//! variable). The child writes files and prints one line per acknowledged write;
//! the parent kills it with SIGKILL mid-stream, reopens the database and checks
//! every acknowledged write.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use hbf_db::Database;

const CHILD_ENV: &str = "HBF_DB_DURABILITY_CHILD";

/// In the child: write forever, acknowledging each write on stdout.
fn child(path: &str) -> ! {
    let db = Database::open(path).unwrap();
    let fs = db.fs();
    let mut out = std::io::stdout().lock();
    let mut i: u64 = 0;
    loop {
        let file = format!("f/{}.txt", i % 50);
        let content = format!("write number {i}");
        let v = fs.write(&file, content.clone()).unwrap();
        writeln!(out, "ACK\t{file}\t{}\t{content}", v.version).unwrap();
        out.flush().unwrap();
        i += 1;
    }
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    if let Ok(path) = std::env::var(CHILD_ENV) {
        child(&path);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hbf.db");
    let mut proc = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "acknowledged_writes_survive_sigkill",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = proc.stdout.take().unwrap();
    let mut acked = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        // The test harness may print its own text before ours on a line.
        let Some(start) = line.find("ACK\t") else {
            continue;
        };
        let parts: Vec<&str> = line[start + 4..].split('\t').collect();
        assert_eq!(parts.len(), 3, "{line}");
        acked.push((
            parts[0].to_owned(),
            parts[1].parse::<u64>().unwrap(),
            parts[2].to_owned(),
        ));
        if acked.len() == 3000 {
            // Child::kill sends SIGKILL on Unix.
            proc.kill().unwrap();
            break;
        }
    }
    proc.wait().unwrap();
    assert_eq!(acked.len(), 3000, "the child stopped early");

    let db = Database::open(&path).unwrap();
    let fs = db.fs();
    for (file, version, content) in &acked {
        let (_, data) = fs.read_version(file, *version).unwrap();
        assert_eq!(data, content.as_bytes(), "{file} v{version}");
    }
    // Versions stay contiguous after recovery.
    for i in 0..50 {
        let history = fs.history(&format!("f/{i}.txt")).unwrap();
        for (n, meta) in history.iter().enumerate() {
            assert_eq!(meta.version, n as u64 + 1);
        }
    }
}

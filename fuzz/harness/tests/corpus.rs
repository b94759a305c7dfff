//! Replays every seed (`fuzz/corpus/<target>/`) and every crash ever found
//! (`fuzz/regressions/<target>/`) through its target, as ordinary tests.

use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    if let Some(cargo_toml) = std::env::var_os("HBF_REPO_CARGO_TOML") {
        let real = std::fs::canonicalize(cargo_toml).expect("HBF_REPO_CARGO_TOML");
        return real.parent().expect("the repository").join("fuzz");
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs every file under `fuzz/<kind>/<target>/`; returns how many.
fn replay(kind: &str, target: &str, run: fn(&[u8])) -> usize {
    let dir = fuzz_dir().join(kind).join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return 0;
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    for file in &files {
        let data = std::fs::read(file).expect("read an input");
        eprintln!("{target}: {}", file.display());
        run(&data);
    }
    files.len()
}

fn replay_all(target: &str) {
    let (_, run) = hbf_fuzz_harness::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .expect("a known target");
    let seeds = replay("corpus", target, *run);
    let regressions = replay("regressions", target, *run);
    assert!(seeds > 0, "fuzz/corpus/{target}/ has no seed");
    eprintln!("{target}: {seeds} seeds, {regressions} regressions replayed");
}

#[test]
fn vfs_ops() {
    replay_all("vfs_ops");
}

#[test]
fn vfs_concurrent() {
    replay_all("vfs_concurrent");
}

#[test]
fn http_request() {
    replay_all("http_request");
}

#[test]
fn block_routes() {
    replay_all("block_routes");
}

#[test]
fn js_bridge() {
    replay_all("js_bridge");
}

#[test]
fn sqlar_import() {
    replay_all("sqlar_import");
}

#[test]
fn pod_sql() {
    replay_all("pod_sql");
}

#[test]
fn every_target_has_a_test_here() {
    let names: Vec<&str> = hbf_fuzz_harness::TARGETS.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "vfs_ops",
            "vfs_concurrent",
            "http_request",
            "js_bridge",
            "sqlar_import",
            "pod_sql",
            "block_routes"
        ]
    );
}

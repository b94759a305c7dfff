//! `vfs_ops` and `vfs_concurrent`: the versioned filesystem against a model.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Barrier};
use std::time::{SystemTime, UNIX_EPOCH};

use arbitrary::{Arbitrary, Unstructured};
use hbf_db::{Database, Error, FileVersion, VersionedFs};

use crate::sha256;

/// Paths the fuzzer picks by index, so that operations meet on the same files:
/// valid ones, spellings of the same file (`./a`), and every kind SPEC 2 rejects.
const PATHS: &[&str] = &[
    "a",
    "dir/b",
    "dir/c.txt",
    "static/d.css",
    "./a",
    "dir/./b",
    "dir/b/e",
    "ünï/文件",
    "a/",
    "../a",
    "dir/../a",
    "/a",
    "",
    ".",
    "a\\b",
    "dir//b",
    "a\0b",
    "a\nb",
    "a\u{85}b",
];

/// A path argument.
#[derive(Debug, Arbitrary)]
enum PathArg {
    Known(u8),
    Raw(String),
    /// `c` repeated to about the 1024-byte limit (1000..=1063 bytes).
    Long(char, u8),
}

impl PathArg {
    fn text(&self) -> String {
        match self {
            PathArg::Known(i) => PATHS[*i as usize % PATHS.len()].to_owned(),
            PathArg::Raw(s) => s.clone(),
            PathArg::Long(c, n) => {
                let target = 1000 + (*n as usize % 64);
                let mut s = String::new();
                while s.len() + c.len_utf8() <= target {
                    s.push(*c);
                }
                s
            }
        }
    }
}

/// A version argument: small numbers mostly, and the edges.
#[derive(Debug, Arbitrary)]
enum VersionArg {
    Small(u8),
    Huge(u64),
}

impl VersionArg {
    fn get(&self) -> u64 {
        match self {
            VersionArg::Small(n) => u64::from(*n % 12),
            VersionArg::Huge(n) => *n,
        }
    }
}

#[derive(Debug, Arbitrary)]
enum Op {
    Write(PathArg, Vec<u8>),
    WriteAt(PathArg, Vec<u8>, i64),
    WriteMany(Vec<(PathArg, Vec<u8>)>),
    Delete(PathArg),
    Revert(PathArg, VersionArg),
    Read(PathArg),
    ReadVersion(PathArg, VersionArg),
    Stat(PathArg),
    Exists(PathArg),
    VersionCount(PathArg),
    History(PathArg),
    List(String),
}

/// The rules of SPEC 2, written again independently of `hbf_db::path`: relative,
/// `/`-separated, `.` segments dropped, no `..`, no empty segment, no backslash,
/// no control character, at most 1024 bytes, not empty.
pub(crate) fn model_normalize(path: &str) -> Option<String> {
    if path.is_empty() || path.len() > 1024 || path.starts_with('/') {
        return None;
    }
    if path.chars().any(|c| c.is_control() || c == '\\') {
        return None;
    }
    let mut kept = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | ".." => return None,
            "." => {}
            s => kept.push(s),
        }
    }
    if kept.is_empty() {
        None
    } else {
        Some(kept.join("/"))
    }
}

/// Each path's versions, oldest first; `None` is a tombstone.
#[derive(Default)]
struct Model {
    files: BTreeMap<String, Vec<Option<Vec<u8>>>>,
}

impl Model {
    fn versions(&self, path: &str) -> &[Option<Vec<u8>>] {
        self.files.get(path).map_or(&[], |v| v.as_slice())
    }

    fn latest(&self, path: &str) -> Option<&Vec<u8>> {
        self.versions(path).last().and_then(|v| v.as_ref())
    }

    fn live(&self, prefix: &str) -> Vec<String> {
        self.files
            .keys()
            .filter(|p| p.starts_with(prefix) && self.latest(p).is_some())
            .cloned()
            .collect()
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn expect_invalid<T: std::fmt::Debug>(what: &str, raw: &str, got: hbf_db::Result<T>) {
    match got {
        Err(Error::InvalidPath { .. }) => {}
        other => panic!("{what} {raw:?}: the model rejects the path, got {other:?}"),
    }
}

fn expect_not_found<T: std::fmt::Debug>(what: &str, path: &str, got: hbf_db::Result<T>) {
    match got {
        Err(Error::NotFound { path: p }) if p == path => {}
        other => panic!("{what} {path:?}: expected NotFound, got {other:?}"),
    }
}

/// `got` must be `VersionNotFound` for version `n` of `path`, whose latest is
/// `latest`.
fn expect_version_not_found<T: std::fmt::Debug>(
    what: &str,
    path: &str,
    n: u64,
    latest: u64,
    got: hbf_db::Result<T>,
) {
    match got {
        Err(Error::VersionNotFound {
            path: ref gp,
            version,
            latest: l,
        }) if gp == path && version == n && l == latest => {}
        other => panic!("{what} {path:?}@{n} of {latest}: expected VersionNotFound, got {other:?}"),
    }
}

/// Checks one version's metadata against the model's state of it.
fn check_meta(what: &str, meta: &FileVersion, path: &str, version: u64, state: &Option<Vec<u8>>) {
    assert_eq!(meta.path, path, "{what}: path");
    assert_eq!(meta.version, version, "{what} {path}: version");
    match state {
        Some(data) => {
            assert!(!meta.deleted, "{what} {path}@{version}: should be live");
            assert_eq!(
                meta.size,
                data.len() as u64,
                "{what} {path}@{version}: size"
            );
            assert_eq!(
                meta.sha256,
                Some(sha256(data)),
                "{what} {path}@{version}: hash"
            );
        }
        None => {
            assert!(
                meta.deleted,
                "{what} {path}@{version}: should be a tombstone"
            );
            assert_eq!(meta.size, 0, "{what} {path}@{version}: tombstone size");
            assert_eq!(meta.sha256, None, "{what} {path}@{version}: tombstone hash");
        }
    }
}

/// Runs one operation on `fs` and on the model, and compares.
fn step(fs: &VersionedFs, model: &mut Model, op: &Op) {
    match op {
        Op::Write(p, data) | Op::WriteAt(p, data, _) => {
            let raw = p.text();
            let (before, got) = match op {
                Op::WriteAt(_, _, mtime) => (*mtime, fs.write_at(&raw, data.clone(), *mtime)),
                _ => (now_ms(), fs.write(&raw, data.clone())),
            };
            let Some(path) = model_normalize(&raw) else {
                return expect_invalid("write", &raw, got);
            };
            let meta = got.unwrap_or_else(|e| panic!("write {raw:?}: {e}"));
            let versions = model.files.entry(path.clone()).or_default();
            versions.push(Some(data.clone()));
            check_meta(
                "write",
                &meta,
                &path,
                versions.len() as u64,
                &Some(data.clone()),
            );
            match op {
                Op::WriteAt(_, _, mtime) => assert_eq!(meta.mtime_ms, *mtime, "write_at mtime"),
                _ => assert!(
                    meta.mtime_ms >= before && meta.mtime_ms <= now_ms(),
                    "write mtime {} not within the call",
                    meta.mtime_ms
                ),
            }
        }
        Op::WriteMany(files) => {
            let files: Vec<(String, Vec<u8>)> =
                files.iter().map(|(p, d)| (p.text(), d.clone())).collect();
            let got = fs.write_many(files.clone());
            let normalized: Option<Vec<String>> =
                files.iter().map(|(p, _)| model_normalize(p)).collect();
            let Some(normalized) = normalized else {
                return expect_invalid("write_many", "(one of them)", got);
            };
            let metas = got.unwrap_or_else(|e| panic!("write_many: {e}"));
            assert_eq!(metas.len(), files.len(), "write_many: one version per file");
            for ((path, (_, data)), meta) in normalized.iter().zip(&files).zip(&metas) {
                let versions = model.files.entry(path.clone()).or_default();
                versions.push(Some(data.clone()));
                check_meta(
                    "write_many",
                    meta,
                    path,
                    versions.len() as u64,
                    &Some(data.clone()),
                );
            }
        }
        Op::Delete(p) => {
            let raw = p.text();
            let got = fs.delete(&raw);
            let Some(path) = model_normalize(&raw) else {
                return expect_invalid("delete", &raw, got);
            };
            if model.latest(&path).is_none() {
                return expect_not_found("delete", &path, got);
            }
            let meta = got.unwrap_or_else(|e| panic!("delete {path:?}: {e}"));
            let versions = model.files.get_mut(&path).expect("live");
            versions.push(None);
            check_meta("delete", &meta, &path, versions.len() as u64, &None);
        }
        Op::Revert(p, v) => {
            let raw = p.text();
            let n = v.get();
            let got = fs.revert(&raw, n);
            let Some(path) = model_normalize(&raw) else {
                return expect_invalid("revert", &raw, got);
            };
            let versions = model.versions(&path);
            if versions.is_empty() {
                return expect_not_found("revert", &path, got);
            }
            let latest = versions.len() as u64;
            if n == 0 || n > latest {
                return expect_version_not_found("revert", &path, n, latest, got);
            }
            let state = versions[n as usize - 1].clone();
            let meta = got.unwrap_or_else(|e| panic!("revert {path:?} to {n}: {e}"));
            let versions = model.files.get_mut(&path).expect("has versions");
            versions.push(state.clone());
            check_meta("revert", &meta, &path, versions.len() as u64, &state);
        }
        Op::Read(p) => {
            let raw = p.text();
            let got = fs.read_with_meta(&raw);
            let Some(path) = model_normalize(&raw) else {
                return expect_invalid("read", &raw, got);
            };
            match model.latest(&path) {
                None => expect_not_found("read", &path, got),
                Some(want) => {
                    let (meta, data) = got.unwrap_or_else(|e| panic!("read {path:?}: {e}"));
                    assert_eq!(&data, want, "read {path:?}: content");
                    let n = model.versions(&path).len() as u64;
                    check_meta("read", &meta, &path, n, &Some(want.clone()));
                }
            }
        }
        Op::ReadVersion(p, v) => {
            let raw = p.text();
            let n = v.get();
            let got = fs.read_version(&raw, n);
            let Some(path) = model_normalize(&raw) else {
                return expect_invalid("read_version", &raw, got);
            };
            let versions = model.versions(&path);
            if versions.is_empty() {
                return expect_not_found("read_version", &path, got);
            }
            let latest = versions.len() as u64;
            if n == 0 || n > latest {
                return expect_version_not_found("read_version", &path, n, latest, got);
            }
            match &versions[n as usize - 1] {
                None => expect_not_found("read_version (tombstone)", &path, got),
                Some(want) => {
                    let (meta, data) =
                        got.unwrap_or_else(|e| panic!("read_version {path:?}@{n}: {e}"));
                    assert_eq!(&data, want, "read_version {path:?}@{n}: content");
                    check_meta("read_version", &meta, &path, n, &Some(want.clone()));
                }
            }
        }
        Op::Stat(p) => {
            let raw = p.text();
            let got = fs.stat(&raw);
            let Some(path) = model_normalize(&raw) else {
                return expect_invalid("stat", &raw, got);
            };
            match model.latest(&path) {
                None => expect_not_found("stat", &path, got),
                Some(want) => {
                    let meta = got.unwrap_or_else(|e| panic!("stat {path:?}: {e}"));
                    let n = model.versions(&path).len() as u64;
                    check_meta("stat", &meta, &path, n, &Some(want.clone()));
                }
            }
        }
        Op::Exists(p) => {
            let raw = p.text();
            let got = fs.exists(&raw);
            match model_normalize(&raw) {
                None => expect_invalid("exists", &raw, got),
                Some(path) => assert_eq!(
                    got.unwrap_or_else(|e| panic!("exists {path:?}: {e}")),
                    model.latest(&path).is_some(),
                    "exists {path:?}"
                ),
            }
        }
        Op::VersionCount(p) => {
            let raw = p.text();
            let got = fs.version_count(&raw);
            match model_normalize(&raw) {
                None => expect_invalid("version_count", &raw, got),
                Some(path) => assert_eq!(
                    got.unwrap_or_else(|e| panic!("version_count {path:?}: {e}")),
                    model.versions(&path).len() as u64,
                    "version_count {path:?}"
                ),
            }
        }
        Op::History(p) => {
            let raw = p.text();
            let got = fs.history(&raw);
            let Some(path) = model_normalize(&raw) else {
                return expect_invalid("history", &raw, got);
            };
            check_history(fs, model, &path, got);
        }
        Op::List(prefix) => check_list(fs, model, prefix),
    }
}

fn check_history(
    fs: &VersionedFs,
    model: &Model,
    path: &str,
    got: hbf_db::Result<Vec<FileVersion>>,
) {
    let versions = model.versions(path);
    if versions.is_empty() {
        return expect_not_found("history", path, got);
    }
    let history = got.unwrap_or_else(|e| panic!("history {path:?}: {e}"));
    assert_eq!(history.len(), versions.len(), "history {path:?}: length");
    for (i, (meta, state)) in history.iter().zip(versions).enumerate() {
        check_meta("history", meta, path, i as u64 + 1, state);
    }
    let _ = fs;
}

fn check_list(fs: &VersionedFs, model: &Model, prefix: &str) {
    let listed = fs
        .list(prefix)
        .unwrap_or_else(|e| panic!("list {prefix:?}: {e}"));
    let want = model.live(prefix);
    let got: Vec<&str> = listed.iter().map(|m| m.path.as_str()).collect();
    assert_eq!(got, want, "list {prefix:?}");
    for meta in &listed {
        let versions = model.versions(&meta.path);
        check_meta(
            "list",
            meta,
            &meta.path.clone(),
            versions.len() as u64,
            versions.last().expect("listed paths have versions"),
        );
    }
}

/// `vfs_ops`: an arbitrary sequence of versioned-fs operations (write, delete,
/// revert, read, list, history; valid and invalid paths), each checked against
/// an in-memory model; after every step that may change something, the listing
/// and the touched path's history are checked too.
pub fn vfs_ops(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let mut ops = Vec::new();
    while ops.len() < 64 {
        match u.arbitrary::<Op>() {
            Ok(op) => ops.push(op),
            Err(_) => break,
        }
        if u.is_empty() {
            break;
        }
    }
    let db = Database::memory().expect("an in-memory database");
    let fs = db.fs();
    let mut model = Model::default();
    for op in &ops {
        step(&fs, &mut model, op);
        let touched: Vec<String> = match op {
            Op::Write(p, _) | Op::WriteAt(p, _, _) | Op::Delete(p) | Op::Revert(p, _) => {
                model_normalize(&p.text()).into_iter().collect()
            }
            Op::WriteMany(files) => files
                .iter()
                .filter_map(|(p, _)| model_normalize(&p.text()))
                .collect(),
            _ => continue,
        };
        check_list(&fs, &model, "");
        for path in touched {
            check_history(&fs, &model, &path, fs.history(&path));
        }
    }
    for path in model.files.keys() {
        check_history(&fs, &model, path, fs.history(path));
    }
}

// ---- vfs_concurrent ---------------------------------------------------------

/// The files the threads share (few, so that they collide), and one invalid path.
const SHARED: &[&str] = &["a", "dir/b", "static/c.css", "./a", "bad//path"];

#[derive(Debug, Arbitrary)]
enum CopKind {
    Write(u8, Vec<u8>),
    WriteMany(Vec<(u8, Vec<u8>)>),
    Delete(u8),
    Revert(u8, u8),
    Read(u8),
    Stat(u8),
}

#[derive(Debug, Arbitrary)]
struct Cop {
    thread: u8,
    kind: CopKind,
}

#[derive(Debug, Arbitrary)]
struct ConcurrentInput {
    threads: u8,
    /// A file database (WAL) instead of an in-memory one.
    on_disk: bool,
    ops: Vec<Cop>,
}

fn shared_path(i: u8) -> &'static str {
    SHARED[i as usize % SHARED.len()]
}

/// What one thread saw.
#[derive(Debug)]
enum Event {
    /// A mutation was acknowledged: its path and version, and the content hash
    /// it must have (`Some(None)` a tombstone; `None` for a revert, whose state
    /// is checked against the target version).
    Acked {
        path: String,
        meta: FileVersion,
        written: Option<Option<Vec<u8>>>,
        revert_to: Option<u64>,
    },
    /// A read or stat saw this version (and content, for reads).
    Saw {
        path: String,
        meta: FileVersion,
        data: Option<Vec<u8>>,
    },
    /// A read, stat or delete found no live version.
    NotFound { path: String },
}

fn run_thread(fs: &VersionedFs, ops: &[&CopKind]) -> Vec<Event> {
    let mut events = Vec::new();
    for op in ops {
        match op {
            CopKind::Write(p, data) => {
                let raw = shared_path(*p);
                match (fs.write(raw, data.clone()), model_normalize(raw)) {
                    (Ok(meta), Some(path)) => events.push(Event::Acked {
                        path,
                        meta,
                        written: Some(Some(data.clone())),
                        revert_to: None,
                    }),
                    (Err(Error::InvalidPath { .. }), None) => {}
                    (got, _) => panic!("write {raw:?}: {got:?}"),
                }
            }
            CopKind::WriteMany(files) => {
                let files: Vec<(String, Vec<u8>)> = files
                    .iter()
                    .take(8)
                    .map(|(p, d)| (shared_path(*p).to_owned(), d.clone()))
                    .collect();
                let valid: Option<Vec<String>> =
                    files.iter().map(|(p, _)| model_normalize(p)).collect();
                match (fs.write_many(files.clone()), valid) {
                    (Ok(metas), Some(paths)) => {
                        assert_eq!(metas.len(), paths.len(), "write_many: one version each");
                        for ((meta, path), (_, data)) in metas.into_iter().zip(paths).zip(files) {
                            events.push(Event::Acked {
                                path,
                                meta,
                                written: Some(Some(data)),
                                revert_to: None,
                            });
                        }
                    }
                    (Err(Error::InvalidPath { .. }), None) => {}
                    (got, _) => panic!("write_many: {got:?}"),
                }
            }
            CopKind::Delete(p) => {
                let raw = shared_path(*p);
                match (fs.delete(raw), model_normalize(raw)) {
                    (Ok(meta), Some(path)) => events.push(Event::Acked {
                        path,
                        meta,
                        written: Some(None),
                        revert_to: None,
                    }),
                    (Err(Error::NotFound { .. }), Some(path)) => {
                        events.push(Event::NotFound { path })
                    }
                    (Err(Error::InvalidPath { .. }), None) => {}
                    (got, _) => panic!("delete {raw:?}: {got:?}"),
                }
            }
            CopKind::Revert(p, n) => {
                let raw = shared_path(*p);
                let n = u64::from(*n % 10);
                match (fs.revert(raw, n), model_normalize(raw)) {
                    (Ok(meta), Some(path)) => events.push(Event::Acked {
                        path,
                        meta,
                        written: None,
                        revert_to: Some(n),
                    }),
                    (Err(e), Some(_)) if e.is_not_found() => {}
                    (Err(Error::InvalidPath { .. }), None) => {}
                    (got, _) => panic!("revert {raw:?} to {n}: {got:?}"),
                }
            }
            CopKind::Read(p) => {
                let raw = shared_path(*p);
                match (fs.read_with_meta(raw), model_normalize(raw)) {
                    (Ok((meta, data)), Some(path)) => events.push(Event::Saw {
                        path,
                        meta,
                        data: Some(data),
                    }),
                    (Err(Error::NotFound { .. }), Some(path)) => {
                        events.push(Event::NotFound { path })
                    }
                    (Err(Error::InvalidPath { .. }), None) => {}
                    (got, _) => panic!("read {raw:?}: {got:?}"),
                }
            }
            CopKind::Stat(p) => {
                let raw = shared_path(*p);
                match (fs.stat(raw), model_normalize(raw)) {
                    (Ok(meta), Some(path)) => events.push(Event::Saw {
                        path,
                        meta,
                        data: None,
                    }),
                    (Err(Error::NotFound { .. }), Some(path)) => {
                        events.push(Event::NotFound { path })
                    }
                    (Err(Error::InvalidPath { .. }), None) => {}
                    (got, _) => panic!("stat {raw:?}: {got:?}"),
                }
            }
        }
    }
    events
}

/// `vfs_concurrent`: operation sequences split across 2 to 4 threads on one
/// database (in memory, or a WAL file), started together. Afterwards: each
/// path's versions are 1..n without gaps; n is the number of acknowledged
/// writes, deletes and reverts of that path; every acknowledged version is in
/// the history with what was written; the latest is the highest version; and
/// each thread saw its own writes (a read after a write sees that version or a
/// later one).
pub fn vfs_concurrent(data: &[u8]) {
    let Ok(input) = Unstructured::new(data).arbitrary::<ConcurrentInput>() else {
        return;
    };
    let threads = 2 + (input.threads % 3) as usize;
    let mut per_thread: Vec<Vec<&CopKind>> = vec![Vec::new(); threads];
    for op in input.ops.iter().take(256) {
        per_thread[op.thread as usize % threads].push(&op.kind);
    }
    let dir;
    let db = if input.on_disk {
        dir = tempfile::tempdir().expect("a temporary directory");
        Database::open(dir.path().join("fuzz.db")).expect("a file database")
    } else {
        Database::memory().expect("an in-memory database")
    };
    let barrier = Arc::new(Barrier::new(threads));
    let logs: Vec<Vec<Event>> = std::thread::scope(|scope| {
        let handles: Vec<_> = per_thread
            .iter()
            .map(|ops| {
                let fs = db.fs();
                let barrier = Arc::clone(&barrier);
                scope.spawn(move || {
                    barrier.wait();
                    run_thread(&fs, ops)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    check_concurrent(&db.fs(), &logs);
}

fn check_concurrent(fs: &VersionedFs, logs: &[Vec<Event>]) {
    // Final histories.
    let mut histories: HashMap<String, Vec<FileVersion>> = HashMap::new();
    for raw in SHARED {
        let Some(path) = model_normalize(raw) else {
            continue;
        };
        let history = match fs.history(&path) {
            Ok(h) => h,
            Err(Error::NotFound { .. }) => Vec::new(),
            Err(e) => panic!("history {path:?}: {e}"),
        };
        for (i, meta) in history.iter().enumerate() {
            assert_eq!(
                meta.version,
                i as u64 + 1,
                "{path}: versions not contiguous"
            );
            assert_eq!(meta.path, path);
        }
        // The latest is the highest version.
        assert_eq!(
            fs.version_count(&path).expect("version_count"),
            history.len() as u64,
            "{path}: version_count is not the highest version"
        );
        match history.last() {
            Some(last) if !last.deleted => {
                let (meta, data) = fs
                    .read_with_meta(&path)
                    .unwrap_or_else(|e| panic!("{path}: latest is live but read fails: {e}"));
                assert_eq!(
                    &meta, last,
                    "{path}: read sees a version other than the last"
                );
                assert_eq!(Some(sha256(&data)), last.sha256, "{path}: latest content");
            }
            _ => assert!(
                !fs.exists(&path).expect("exists"),
                "{path}: deleted or absent but exists"
            ),
        }
        histories.insert(path, history);
    }
    let listed = crate::live_paths(fs);
    let mut live: Vec<String> = histories
        .iter()
        .filter(|(_, h)| h.last().is_some_and(|m| !m.deleted))
        .map(|(p, _)| p.clone())
        .collect();
    live.sort();
    assert_eq!(listed, live, "list after the threads");

    // Every acknowledged mutation is in the history, once.
    let mut acked: HashMap<&str, Vec<u64>> = HashMap::new();
    for log in logs {
        // Per thread: the last version this thread acknowledged, per path.
        let mut mine: HashMap<&str, u64> = HashMap::new();
        for event in log {
            match event {
                Event::Acked {
                    path,
                    meta,
                    written,
                    revert_to,
                } => {
                    let history = &histories[path];
                    let v = meta.version;
                    assert!(
                        v >= 1 && v as usize <= history.len(),
                        "{path}: acknowledged version {v} missing (history has {})",
                        history.len()
                    );
                    assert_eq!(
                        &history[v as usize - 1],
                        meta,
                        "{path}@{v}: history differs"
                    );
                    match written {
                        Some(Some(data)) => {
                            assert_eq!(meta.sha256, Some(sha256(data)), "{path}@{v}: content");
                            let (_, stored) = fs
                                .read_version(path, v)
                                .unwrap_or_else(|e| panic!("{path}@{v}: {e}"));
                            assert_eq!(&stored, data, "{path}@{v}: stored content");
                        }
                        Some(None) => assert!(meta.deleted, "{path}@{v}: a delete's tombstone"),
                        None => {
                            let n = revert_to.expect("a revert");
                            let target = &history[n as usize - 1];
                            assert!(n < v, "{path}: revert to {n} made version {v}");
                            assert_eq!(
                                (target.sha256, target.deleted),
                                (meta.sha256, meta.deleted),
                                "{path}@{v}: revert to {n} has another state"
                            );
                        }
                    }
                    if let Some(previous) = mine.insert(path, v) {
                        assert!(
                            previous < v,
                            "{path}: this thread's versions went {previous} -> {v}"
                        );
                    }
                    acked.entry(path).or_default().push(v);
                }
                Event::Saw { path, meta, data } => {
                    let history = &histories[path];
                    let v = meta.version;
                    assert!(
                        v >= 1 && v as usize <= history.len(),
                        "{path}: saw version {v}"
                    );
                    assert_eq!(
                        &history[v as usize - 1],
                        meta,
                        "{path}@{v}: seen != history"
                    );
                    assert!(!meta.deleted, "{path}@{v}: a read saw a tombstone");
                    if let Some(data) = data {
                        assert_eq!(meta.sha256, Some(sha256(data)), "{path}@{v}: read content");
                    }
                    if let Some(&own) = mine.get(path.as_str()) {
                        assert!(v >= own, "{path}: read version {v} after writing {own}");
                    }
                }
                Event::NotFound { path } => {
                    if let Some(&own) = mine.get(path.as_str()) {
                        let history = &histories[path];
                        assert!(
                            history[own as usize - 1..].iter().any(|m| m.deleted),
                            "{path}: not found after this thread's version {own}, and no tombstone since"
                        );
                    }
                }
            }
        }
    }
    for (path, history) in &histories {
        let mut versions = acked.remove(path.as_str()).unwrap_or_default();
        versions.sort_unstable();
        let want: Vec<u64> = (1..=history.len() as u64).collect();
        assert_eq!(
            versions, want,
            "{path}: acknowledged versions are not exactly the history"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::model_normalize;

    #[test]
    fn the_model_agrees_with_hbf_db_on_the_known_paths() {
        for path in super::PATHS {
            assert_eq!(
                model_normalize(path),
                hbf_db::path::normalize(path).ok(),
                "{path:?}"
            );
        }
    }
}

//! Many threads writing and reading at once: nothing acknowledged is lost and every
//! path's versions stay contiguous.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::thread;

use hbf_db::{Database, VersionedFs};

const THREADS: usize = 8;
const OPS_PER_THREAD: usize = 500;

/// Each thread writes a shared path and its own path, reads both, and sometimes
/// deletes its own path. Returns every acknowledged (path, version, content).
fn hammer(fs: &VersionedFs, t: usize) -> Vec<(String, u64, Option<Vec<u8>>)> {
    let mut acked = Vec::new();
    let own = format!("own/{t}.txt");
    for i in 0..OPS_PER_THREAD {
        let shared = format!("shared/{}.txt", i % 3);
        let data = format!("t{t} i{i}").into_bytes();
        let v = fs.write(&shared, data.clone()).unwrap();
        acked.push((shared.clone(), v.version, Some(data)));
        let mine = format!("mine {t} {i}").into_bytes();
        let v = fs.write(&own, mine.clone()).unwrap();
        acked.push((own.clone(), v.version, Some(mine.clone())));
        // Our own path is only written by us: the read sees our last write.
        assert_eq!(fs.read(&own).unwrap(), mine);
        // The shared path is always readable, at least at the version we wrote.
        let (meta, _) = fs.read_with_meta(&shared).unwrap();
        assert!(meta.version >= v.version.min(1));
        if i % 50 == 49 {
            let tomb = fs.delete(&own).unwrap();
            acked.push((own.clone(), tomb.version, None));
        }
        if i % 97 == 0 {
            fs.list("shared/").unwrap();
        }
    }
    acked
}

fn check(db: &Database, acked: Vec<(String, u64, Option<Vec<u8>>)>) {
    let fs = db.fs();
    type Versions = Vec<(u64, Option<Vec<u8>>)>;
    let mut by_path: BTreeMap<String, Versions> = BTreeMap::new();
    for (path, version, data) in acked {
        by_path.entry(path).or_default().push((version, data));
    }
    let mut total = 0;
    for (path, mut versions) in by_path {
        versions.sort_by_key(|(v, _)| *v);
        let history = fs.history(&path).unwrap();
        // Contiguous 1..=n and every acknowledged write is there, exactly once.
        assert_eq!(history.len(), versions.len(), "{path}");
        for (i, meta) in history.iter().enumerate() {
            assert_eq!(meta.version, i as u64 + 1, "{path}");
        }
        for (version, data) in versions {
            match data {
                Some(data) => assert_eq!(fs.read_version(&path, version).unwrap().1, data),
                None => assert!(history[version as usize - 1].deleted),
            }
            total += 1;
        }
        let last = history.last().unwrap();
        assert_eq!(fs.exists(&path).unwrap(), !last.deleted);
    }
    assert!(total >= THREADS * OPS_PER_THREAD * 2);
}

fn run(db: Database) {
    let db = Arc::new(db);
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let fs = db.fs();
            thread::spawn(move || hammer(&fs, t))
        })
        .collect();
    let acked: Vec<_> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("no thread panicked"))
        .collect();
    check(&db, acked);
}

#[test]
fn eight_threads_on_a_file_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hbf.db");
    run(Database::open(&path).unwrap());
    // And it all survives a reopen.
    let db = Database::open(&path).unwrap();
    assert!(db.fs().version_count("shared/0.txt").unwrap() > 0);
}

#[test]
fn eight_threads_in_memory() {
    run(Database::memory().unwrap());
}

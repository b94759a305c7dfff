//! Random operation sequences checked against an in-memory model.

use std::collections::BTreeMap;

use hbf_db::{Database, Error};
use proptest::prelude::*;

const PATHS: [&str; 4] = ["a", "dir/b", "dir/c.txt", "static/d.css"];

#[derive(Debug, Clone)]
enum Op {
    Write(usize, Vec<u8>),
    Delete(usize),
    Revert(usize, u64),
    Read(usize),
    ReadVersion(usize, u64),
}

fn op() -> impl Strategy<Value = Op> {
    let path = 0..PATHS.len();
    let data = prop::collection::vec(0u8..4, 0..6);
    prop_oneof![
        4 => (path.clone(), data).prop_map(|(p, d)| Op::Write(p, d)),
        1 => path.clone().prop_map(Op::Delete),
        1 => (path.clone(), 0u64..8).prop_map(|(p, v)| Op::Revert(p, v)),
        2 => path.clone().prop_map(Op::Read),
        1 => (path, 0u64..8).prop_map(|(p, v)| Op::ReadVersion(p, v)),
    ]
}

/// Each path's versions: `None` is a tombstone.
type Model = BTreeMap<&'static str, Vec<Option<Vec<u8>>>>;

fn latest(model: &Model, path: &str) -> Option<Vec<u8>> {
    model.get(path).and_then(|v| v.last().cloned().flatten())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn versioned_fs_matches_the_model(ops in prop::collection::vec(op(), 1..60)) {
        let db = Database::memory().unwrap();
        let fs = db.fs();
        let mut model: Model = BTreeMap::new();
        for op in ops {
            match op {
                Op::Write(p, data) => {
                    let path = PATHS[p];
                    let v = fs.write(path, data.clone()).unwrap();
                    let versions = model.entry(path).or_default();
                    versions.push(Some(data));
                    prop_assert_eq!(v.version, versions.len() as u64);
                }
                Op::Delete(p) => {
                    let path = PATHS[p];
                    match (fs.delete(path), latest(&model, path)) {
                        (Ok(v), Some(_)) => {
                            let versions = model.get_mut(path).unwrap();
                            versions.push(None);
                            prop_assert_eq!(v.version, versions.len() as u64);
                            prop_assert!(v.deleted);
                        }
                        (Err(Error::NotFound { .. }), None) => {}
                        (got, want) => prop_assert!(false, "delete {path}: {got:?} vs model {want:?}"),
                    }
                }
                Op::Revert(p, n) => {
                    let path = PATHS[p];
                    let target = model
                        .get(path)
                        .and_then(|v| v.get((n as usize).wrapping_sub(1)).cloned());
                    match (fs.revert(path, n), target) {
                        (Ok(v), Some(state)) => {
                            let versions = model.get_mut(path).unwrap();
                            versions.push(state.clone());
                            prop_assert_eq!(v.version, versions.len() as u64);
                            prop_assert_eq!(v.deleted, state.is_none());
                        }
                        (Err(e), None) => prop_assert!(e.is_not_found(), "{e}"),
                        (got, want) => prop_assert!(false, "revert {path} {n}: {got:?} vs {want:?}"),
                    }
                }
                Op::Read(p) => {
                    let path = PATHS[p];
                    match (fs.read(path), latest(&model, path)) {
                        (Ok(data), Some(want)) => prop_assert_eq!(data, want),
                        (Err(Error::NotFound { .. }), None) => {}
                        (got, want) => prop_assert!(false, "read {path}: {got:?} vs {want:?}"),
                    }
                }
                Op::ReadVersion(p, n) => {
                    let path = PATHS[p];
                    let want = model
                        .get(path)
                        .and_then(|v| v.get((n as usize).wrapping_sub(1)).cloned());
                    match (fs.read_version(path, n), want) {
                        (Ok((meta, data)), Some(Some(want))) => {
                            prop_assert_eq!(meta.version, n);
                            prop_assert_eq!(data, want);
                        }
                        (Err(e), Some(None) | None) => prop_assert!(e.is_not_found(), "{e}"),
                        (got, want) => prop_assert!(false, "read {path}@{n}: {got:?} vs {want:?}"),
                    }
                }
            }
        }
        // Afterwards: history complete and contiguous, listing = live paths.
        for path in PATHS {
            let want = model.get(path).cloned().unwrap_or_default();
            prop_assert_eq!(fs.version_count(path).unwrap(), want.len() as u64);
            if want.is_empty() {
                prop_assert!(fs.history(path).is_err());
                continue;
            }
            let history = fs.history(path).unwrap();
            prop_assert_eq!(history.len(), want.len());
            for (i, (meta, state)) in history.iter().zip(&want).enumerate() {
                prop_assert_eq!(meta.version, i as u64 + 1);
                prop_assert_eq!(meta.deleted, state.is_none());
                prop_assert_eq!(meta.size, state.as_ref().map_or(0, |d| d.len() as u64));
            }
        }
        let listed: Vec<String> = fs.list("").unwrap().into_iter().map(|v| v.path).collect();
        let live: Vec<String> = PATHS
            .iter()
            .filter(|p| latest(&model, p).is_some())
            .map(|p| p.to_string())
            .collect();
        let mut live_sorted = live;
        live_sorted.sort();
        prop_assert_eq!(listed, live_sorted);
    }
}

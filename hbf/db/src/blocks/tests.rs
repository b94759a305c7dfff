//! The store's tests across its parts: sharing content with files, refusing
//! bad entries, replacing action results, the block cache against deletes,
//! and a model of references and file versions.

use sha2::{Digest, Sha256};

use crate::{BlockKind, BlockPut, BlockStore, Database, Error, KindStatus, MAX_BLOCK};

fn content_rows(db: &Database) -> i64 {
    db.read(|c| Ok(c.query_row("SELECT count(*) FROM hbf_fs_content", [], |r| r.get(0))?))
        .unwrap()
}

fn sha(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

#[test]
fn blocks_are_stored_once_and_shared_with_files() {
    let db = Database::memory().unwrap();
    let store = BlockStore::new(db.clone());
    let key = store.put_block(b"hello".to_vec()).unwrap();
    assert_eq!(key, sha(b"hello"));
    assert_eq!(store.put_block(b"hello".to_vec()).unwrap(), key);
    db.fs().write("static/hello.txt", "hello").unwrap();
    assert_eq!(content_rows(&db), 1);
    assert_eq!(
        store.status().unwrap().block,
        KindStatus { count: 1, bytes: 5 }
    );

    // Deleting the block keeps the file's content, and the reverse.
    assert!(store.delete(BlockKind::Block, &key).unwrap());
    assert!(!store.delete(BlockKind::Block, &key).unwrap());
    assert_eq!(db.fs().read("static/hello.txt").unwrap(), b"hello");
    store.put_block(b"hello".to_vec()).unwrap();
    db.fs().delete("static/hello.txt").unwrap();
    assert_eq!(
        store.get(BlockKind::Block, &key).unwrap().unwrap(),
        b"hello"
    );
    assert_eq!(store.status().unwrap().block.count, 1);

    // Content nobody else uses goes with its last reference.
    let other = store.put_block(b"only a block".to_vec()).unwrap();
    assert_eq!(content_rows(&db), 2);
    store.delete(BlockKind::Block, &other).unwrap();
    assert_eq!(content_rows(&db), 1);
    assert!(store.get(BlockKind::Block, &other).unwrap().is_none());
}

#[test]
fn bad_entries_are_refused_alone() {
    let store = BlockStore::new(Database::memory().unwrap());
    let outcomes = store
        .put_many(vec![
            BlockPut {
                kind: BlockKind::Block,
                key: None,
                data: vec![],
            },
            BlockPut {
                kind: BlockKind::Block,
                key: None,
                data: vec![1; MAX_BLOCK + 1],
            },
            BlockPut {
                kind: BlockKind::Cas,
                key: Some([7; 32]),
                data: b"x".to_vec(),
            },
            BlockPut {
                kind: BlockKind::Block,
                key: None,
                data: vec![1; MAX_BLOCK],
            },
            BlockPut {
                kind: BlockKind::Ac,
                key: Some([7; 32]),
                data: b"any".to_vec(),
            },
        ])
        .unwrap();
    assert!(matches!(outcomes[0], Err(Error::InvalidBlock(_))));
    assert!(matches!(outcomes[1], Err(Error::BlockTooLarge { .. })));
    assert!(matches!(outcomes[2], Err(Error::DigestMismatch { .. })));
    assert_eq!(outcomes[3].as_ref().unwrap(), &sha(&vec![1; MAX_BLOCK]));
    assert_eq!(outcomes[4].as_ref().unwrap(), &[7; 32]);
    assert!(!store.has(BlockKind::Cas, &[7; 32]).unwrap());
    assert_eq!(store.get(BlockKind::Ac, &[7; 32]).unwrap().unwrap(), b"any");
}

#[test]
fn a_replaced_action_result_frees_its_old_content() {
    let db = Database::memory().unwrap();
    let store = BlockStore::new(db.clone());
    store
        .put(BlockKind::Ac, Some([1; 32]), b"first".to_vec())
        .unwrap();
    store
        .put(BlockKind::Ac, Some([1; 32]), b"second".to_vec())
        .unwrap();
    assert_eq!(content_rows(&db), 1);
    assert_eq!(
        store.get(BlockKind::Ac, &[1; 32]).unwrap().unwrap(),
        b"second"
    );
    assert_eq!(
        store.status().unwrap().ac,
        KindStatus { count: 1, bytes: 6 }
    );
}

#[test]
fn a_deleted_block_is_not_served_from_memory() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("hbf.db")).unwrap();
    let service = BlockStore::start(db.clone(), None).unwrap();
    let pod = BlockStore::new(db.clone()); // hbf:blob's store: another handle
    let key = service.put_block(b"cached".to_vec()).unwrap();
    assert_eq!(&*service.get_block(&key).unwrap().unwrap(), b"cached");
    assert!(db.block_cache().get(&key).is_some(), "read blocks are kept");
    assert!(pod.delete(BlockKind::Block, &key).unwrap());
    assert!(service.get_block(&key).unwrap().is_none());
    assert!(service.get(BlockKind::Block, &key).unwrap().is_none());

    // A block deleted by another connection (another process) is gone from
    // memory at the next block write.
    let key = service.put_block(b"cached again".to_vec()).unwrap();
    assert!(service.get_block(&key).unwrap().is_some());
    let other = rusqlite::Connection::open(dir.path().join("hbf.db")).unwrap();
    other
        .execute(
            "DELETE FROM hbf_block WHERE content_id = (SELECT id FROM hbf_fs_content WHERE sha256 = ?1)",
            [&key[..]],
        )
        .unwrap();
    service.put_block(b"any write".to_vec()).unwrap();
    assert!(service.get_block(&key).unwrap().is_none());
}

mod model {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeMap, BTreeSet};

    #[derive(Debug, Clone)]
    enum Op {
        PutBlock(u8),
        DeleteBlock(u8),
        WriteFile(u8, u8),
        DeleteFile(u8),
        PutAc(u8, u8),
        DeleteAc(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0..6u8).prop_map(Op::PutBlock),
            (0..6u8).prop_map(Op::DeleteBlock),
            (0..3u8, 0..6u8).prop_map(|(p, c)| Op::WriteFile(p, c)),
            (0..3u8).prop_map(Op::DeleteFile),
            (0..2u8, 0..6u8).prop_map(|(k, c)| Op::PutAc(k, c)),
            (0..2u8).prop_map(Op::DeleteAc),
        ]
    }

    fn content(c: u8) -> Vec<u8> {
        format!("content {c}").into_bytes()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// References and file versions never lose content still in use,
        /// and content nobody uses does not stay.
        #[test]
        fn content_in_use_is_never_lost(ops in proptest::collection::vec(op(), 1..40)) {
            let db = Database::memory().unwrap();
            let store = BlockStore::new(db.clone());
            let fs = db.fs();
            let mut blocks = BTreeSet::new();
            let mut acs: BTreeMap<u8, u8> = BTreeMap::new();
            // Every version of every path keeps its content (history).
            let mut versions: Vec<(String, u64, u8)> = Vec::new();
            for op in ops {
                match op {
                    Op::PutBlock(c) => { store.put_block(content(c)).unwrap(); blocks.insert(c); }
                    Op::DeleteBlock(c) => {
                        let gone = store.delete(BlockKind::Block, &sha(&content(c))).unwrap();
                        prop_assert_eq!(gone, blocks.remove(&c));
                    }
                    Op::WriteFile(p, c) => {
                        let v = fs.write(&format!("f/{p}"), content(c)).unwrap();
                        versions.push((v.path, v.version, c));
                    }
                    Op::DeleteFile(p) => { let _ = fs.delete(&format!("f/{p}")); }
                    Op::PutAc(k, c) => { store.put(BlockKind::Ac, Some([k; 32]), content(c)).unwrap(); acs.insert(k, c); }
                    Op::DeleteAc(k) => {
                        let gone = store.delete(BlockKind::Ac, &[k; 32]).unwrap();
                        prop_assert_eq!(gone, acs.remove(&k).is_some());
                    }
                }
                for &c in &blocks {
                    prop_assert_eq!(store.get(BlockKind::Block, &sha(&content(c))).unwrap(), Some(content(c)));
                }
                for (&k, &c) in &acs {
                    prop_assert_eq!(store.get(BlockKind::Ac, &[k; 32]).unwrap(), Some(content(c)));
                }
                for (path, version, c) in &versions {
                    prop_assert_eq!(fs.read_version(path, *version).unwrap().1, content(*c));
                }
                let live: BTreeSet<u8> = blocks.iter().copied()
                    .chain(acs.values().copied())
                    .chain(versions.iter().map(|v| v.2))
                    .collect();
                prop_assert_eq!(content_rows(&db), live.len() as i64);
            }
        }
    }
}

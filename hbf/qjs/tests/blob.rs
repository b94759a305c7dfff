//! `hbf:blob`: a pod's blocks, on the same store as `PUT /block`.

mod common;

use hbf_db::{BlockKind, BlockStore, Database};
use hbf_qjs::{Engine, EngineConfig, PodCode};
use sha2::{Digest, Sha256};

const SERVER: &str = r#"
import * as blob from 'hbf:blob'
import { put, get, has, remove } from 'hbf:blob'

const error = (fn) => { try { fn(); return null } catch (e) { return e.constructor.name } }

globalThis.app = {
  handle(req, res) {
    const out = {}
    const hash = put('hello')
    out.hash = hash
    out.again = put(new TextEncoder().encode('hello'))
    out.buffer = put(new Uint8Array([1, 2, 3]).buffer)
    out.got = new TextDecoder().decode(get(hash))
    out.isBytes = get(hash) instanceof Uint8Array
    out.upper = has(hash.toUpperCase())
    out.missing = get('0'.repeat(64))
    out.hasMissing = has('0'.repeat(64))
    out.empty = error(() => put(''))
    out.tooBig = error(() => put(new Uint8Array(512 * 1024 + 1)))
    out.max = put(new Uint8Array(512 * 1024)).length
    out.badHash = error(() => get('xyz'))
    out.notString = error(() => has(42))
    out.notBytes = error(() => put({}))
    out.sameFunction = blob.delete === remove && blob.default.delete === remove
    out.deleted = blob.delete(out.buffer)
    out.deletedAgain = remove(out.buffer)
    out.afterDelete = has(out.buffer)
    res.json(out)
  },
}
"#;

#[test]
fn pods_put_get_has_and_delete_blocks() {
    let db = Database::memory().unwrap();
    db.fs().write("hbf/server.js", SERVER).unwrap();
    let modules = PodCode::new(db.clone());
    let mut engine = Engine::new(db.clone(), modules, EngineConfig::default()).unwrap();
    let out = common::json(&mut engine, "/");
    let hello = hex::encode(Sha256::digest(b"hello"));
    assert_eq!(out["hash"], hello.as_str());
    assert_eq!(out["again"], hello.as_str());
    assert_eq!(out["got"], "hello");
    assert_eq!(out["isBytes"], true);
    assert_eq!(out["upper"], true);
    assert_eq!(out["missing"], serde_json::Value::Null);
    assert_eq!(out["hasMissing"], false);
    assert_eq!(out["empty"], "RangeError");
    assert_eq!(out["tooBig"], "RangeError");
    assert_eq!(out["max"], 64);
    assert_eq!(out["badHash"], "TypeError");
    assert_eq!(out["notString"], "TypeError");
    assert_eq!(out["notBytes"], "TypeError");
    assert_eq!(out["sameFunction"], true);
    assert_eq!(out["deleted"], true);
    assert_eq!(out["deletedAgain"], false);
    assert_eq!(out["afterDelete"], false);

    // The same store as the block service's.
    let store = BlockStore::new(db.clone());
    let key: [u8; 32] = Sha256::digest(b"hello").into();
    assert_eq!(
        store.get(BlockKind::Block, &key).unwrap().unwrap(),
        b"hello"
    );
    assert_eq!(store.status().unwrap().block.count, 2); // hello and the 512 KiB block
}

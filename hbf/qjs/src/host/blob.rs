//! `hbf:blob`: the pod's side of the block service, on the same store as
//! `PUT /block` ([`hbf_db::BlockStore`], `block` entries).
//!
//! ```js
//! import * as blob from 'hbf:blob'   // or import { put, get, has, remove } from 'hbf:blob'
//!
//! const hash = put(bytes)   // Uint8Array | ArrayBuffer | typed array | string (UTF-8): 1 byte to 512 KiB -> lowercase hex SHA-256
//! get(hash)                 // -> Uint8Array, or null
//! has(hash)                 // -> boolean
//! blob.delete(hash)         // -> boolean (false: there was none); `remove` is the same function
//! ```
//!
//! The rules are the HTTP routes': a block already present is stored once
//! (and shares its content row with any file of the same bytes), a hash is
//! 64 hex digits (a `TypeError` otherwise), an empty or oversized block is a
//! `RangeError`, and deleting never removes content that a file version or
//! another reference uses. A write returns once committed (group commit, as
//! every write). `delete` is exported under that name (reachable as
//! `blob.delete` or `import { delete as del }`); since a reserved word cannot
//! be imported as itself, it is exported as `remove` too.

use hbf_db::{BlockKind, BlockStore};
use rquickjs::module::{Declarations, Exports, ModuleDef};
use rquickjs::{Ctx, Exception, Object, TypedArray, Value};

use super::{bytes_of, host_fn, state};

fn store<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<BlockStore> {
    Ok(BlockStore::new(state(ctx)?.db.clone()))
}

fn blob_error<'js>(ctx: &Ctx<'js>, e: hbf_db::Error) -> rquickjs::Error {
    match e {
        hbf_db::Error::BlockTooLarge { .. } => Exception::throw_range(ctx, &e.to_string()),
        e if e.is_invalid_block() => Exception::throw_range(ctx, &e.to_string()),
        e => Exception::throw_message(ctx, &e.to_string()),
    }
}

/// 64 hex digits (either case) as 32 bytes; a `TypeError` otherwise.
fn parse_hash<'js>(ctx: &Ctx<'js>, hash: &Value<'js>) -> rquickjs::Result<[u8; 32]> {
    let text = hash.as_string().map(|s| s.to_string()).transpose()?;
    text.as_deref()
        .and_then(hbf_db::key_from_hex)
        .ok_or_else(|| Exception::throw_type(ctx, "a block hash is a string of 64 hex digits"))
}

fn blob_put<'js>(ctx: Ctx<'js>, data: Value<'js>) -> rquickjs::Result<String> {
    let bytes = match data.as_string() {
        Some(s) => s.to_string()?.into_bytes(),
        None => bytes_of(&ctx, &data)?,
    };
    let key = store(&ctx)?
        .put_block(bytes)
        .map_err(|e| blob_error(&ctx, e))?;
    Ok(hbf_db::key_to_hex(&key))
}

fn blob_get<'js>(ctx: Ctx<'js>, hash: Value<'js>) -> rquickjs::Result<Value<'js>> {
    let key = parse_hash(&ctx, &hash)?;
    match store(&ctx)?
        .get(BlockKind::Block, &key)
        .map_err(|e| blob_error(&ctx, e))?
    {
        Some(data) => Ok(TypedArray::<u8>::new_copy(ctx, data)?.into_value()),
        None => Ok(Value::new_null(ctx)),
    }
}

fn blob_has<'js>(ctx: Ctx<'js>, hash: Value<'js>) -> rquickjs::Result<bool> {
    let key = parse_hash(&ctx, &hash)?;
    store(&ctx)?
        .has(BlockKind::Block, &key)
        .map_err(|e| blob_error(&ctx, e))
}

fn blob_delete<'js>(ctx: Ctx<'js>, hash: Value<'js>) -> rquickjs::Result<bool> {
    let key = parse_hash(&ctx, &hash)?;
    store(&ctx)?
        .delete(BlockKind::Block, &key)
        .map_err(|e| blob_error(&ctx, e))
}

/// `hbf:blob`.
pub(crate) struct BlobModule;

const EXPORTS: [&str; 4] = ["put", "get", "has", "remove"];

impl ModuleDef for BlobModule {
    fn declare(decl: &Declarations) -> rquickjs::Result<()> {
        for name in EXPORTS {
            decl.declare(name)?;
        }
        decl.declare("delete")?;
        decl.declare("default")?;
        Ok(())
    }

    fn evaluate<'js>(ctx: &Ctx<'js>, exports: &Exports<'js>) -> rquickjs::Result<()> {
        let all = Object::new(ctx.clone())?;
        let functions = [
            host_fn(ctx, blob_put)?,
            host_fn(ctx, blob_get)?,
            host_fn(ctx, blob_has)?,
            host_fn(ctx, blob_delete)?,
        ];
        for (name, function) in EXPORTS.iter().zip(functions) {
            let function = function.with_name(*name)?;
            all.set(*name, function.clone())?;
            if *name == "remove" {
                all.set("delete", function.clone())?;
                exports.export("delete", function.clone())?;
            }
            exports.export(*name, function)?;
        }
        exports.export("default", all)?;
        Ok(())
    }
}

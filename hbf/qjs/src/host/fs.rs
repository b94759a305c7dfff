//! `hbf:fs`: the pod's versioned files, read and written from JavaScript.

use hbf_db::FileVersion;
use rquickjs::function::Opt;
use rquickjs::module::{Declarations, Exports, ModuleDef};
use rquickjs::{Array, Ctx, Exception, IntoJs, Object, TypedArray, Value};

use super::{bytes_of, host_fn, state};

fn version_object<'js>(ctx: &Ctx<'js>, v: &FileVersion) -> rquickjs::Result<Object<'js>> {
    let obj = Object::new(ctx.clone())?;
    obj.set("path", v.path.as_str())?;
    obj.set("version", v.version as f64)?;
    obj.set("size", v.size as f64)?;
    obj.set("mtime", v.mtime_ms as f64)?;
    obj.set("sha256", v.sha256_hex())?;
    obj.set("deleted", v.deleted)?;
    Ok(obj)
}

fn fs_error<'js>(ctx: &Ctx<'js>, e: hbf_db::Error) -> rquickjs::Error {
    if e.is_invalid_path() {
        Exception::throw_type(ctx, &e.to_string())
    } else {
        Exception::throw_message(ctx, &e.to_string())
    }
}

fn fs_read_raw<'js>(ctx: &Ctx<'js>, path: &str) -> rquickjs::Result<Option<Vec<u8>>> {
    let st = state(ctx)?;
    match st.db.fs().read(path) {
        Ok(data) => Ok(Some(data)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(fs_error(ctx, e)),
    }
}

fn fs_read<'js>(ctx: Ctx<'js>, path: String) -> rquickjs::Result<Value<'js>> {
    match fs_read_raw(&ctx, &path)? {
        None => Ok(Value::new_null(ctx)),
        Some(data) => match String::from_utf8(data) {
            Ok(text) => text.into_js(&ctx),
            Err(_) => Err(Exception::throw_type(
                &ctx,
                &format!("{path} is not UTF-8 text; use readBytes(path)"),
            )),
        },
    }
}

fn fs_read_bytes<'js>(ctx: Ctx<'js>, path: String) -> rquickjs::Result<Value<'js>> {
    match fs_read_raw(&ctx, &path)? {
        None => Ok(Value::new_null(ctx)),
        Some(data) => Ok(TypedArray::<u8>::new_copy(ctx, data)?.into_value()),
    }
}

fn fs_write<'js>(ctx: Ctx<'js>, path: String, data: Value<'js>) -> rquickjs::Result<Object<'js>> {
    let st = state(&ctx)?;
    let bytes = match data.as_string() {
        Some(s) => s.to_string()?.into_bytes(),
        None => bytes_of(&ctx, &data)?,
    };
    let v = st
        .db
        .fs_by("js")
        .write(&path, bytes)
        .map_err(|e| fs_error(&ctx, e))?;
    version_object(&ctx, &v)
}

fn fs_list<'js>(ctx: Ctx<'js>, prefix: Opt<String>) -> rquickjs::Result<Array<'js>> {
    let st = state(&ctx)?;
    let files = st
        .db
        .fs()
        .list(prefix.0.as_deref().unwrap_or(""))
        .map_err(|e| fs_error(&ctx, e))?;
    let out = Array::new(ctx.clone())?;
    for (i, f) in files.iter().enumerate() {
        out.set(i, version_object(&ctx, f)?)?;
    }
    Ok(out)
}

fn fs_history<'js>(ctx: Ctx<'js>, path: String) -> rquickjs::Result<Array<'js>> {
    let st = state(&ctx)?;
    let versions = st.db.fs().history(&path).map_err(|e| fs_error(&ctx, e))?;
    let out = Array::new(ctx.clone())?;
    for (i, v) in versions.iter().enumerate() {
        out.set(i, version_object(&ctx, v)?)?;
    }
    Ok(out)
}

fn fs_revert<'js>(ctx: Ctx<'js>, path: String, version: f64) -> rquickjs::Result<Object<'js>> {
    let st = state(&ctx)?;
    if version < 1.0 || version.fract() != 0.0 {
        return Err(Exception::throw_range(
            &ctx,
            "version must be a positive integer",
        ));
    }
    let v = st
        .db
        .fs_by("js")
        .revert(&path, version as u64)
        .map_err(|e| fs_error(&ctx, e))?;
    version_object(&ctx, &v)
}

fn fs_delete<'js>(ctx: Ctx<'js>, path: String) -> rquickjs::Result<Object<'js>> {
    let st = state(&ctx)?;
    let v = st
        .db
        .fs_by("js")
        .delete(&path)
        .map_err(|e| fs_error(&ctx, e))?;
    version_object(&ctx, &v)
}

fn fs_stat<'js>(ctx: Ctx<'js>, path: String) -> rquickjs::Result<Value<'js>> {
    let st = state(&ctx)?;
    match st.db.fs().stat(&path) {
        Ok(v) => Ok(version_object(&ctx, &v)?.into_value()),
        Err(e) if e.is_not_found() => Ok(Value::new_null(ctx)),
        Err(e) => Err(fs_error(&ctx, e)),
    }
}

fn fs_exists<'js>(ctx: Ctx<'js>, path: String) -> rquickjs::Result<bool> {
    let st = state(&ctx)?;
    st.db.fs().exists(&path).map_err(|e| fs_error(&ctx, e))
}

/// `hbf:fs`: the pod's versioned filesystem.
pub(crate) struct FsModule;

impl ModuleDef for FsModule {
    fn declare(decl: &Declarations) -> rquickjs::Result<()> {
        for name in FS_EXPORTS {
            decl.declare(name)?;
        }
        decl.declare("default")?;
        Ok(())
    }

    fn evaluate<'js>(ctx: &Ctx<'js>, exports: &Exports<'js>) -> rquickjs::Result<()> {
        let all = Object::new(ctx.clone())?;
        let functions = [
            host_fn(ctx, fs_read)?,
            host_fn(ctx, fs_read_bytes)?,
            host_fn(ctx, fs_write)?,
            host_fn(ctx, fs_list)?,
            host_fn(ctx, fs_history)?,
            host_fn(ctx, fs_revert)?,
            host_fn(ctx, fs_delete)?,
            host_fn(ctx, fs_stat)?,
            host_fn(ctx, fs_exists)?,
        ];
        for (name, function) in FS_EXPORTS.iter().zip(functions) {
            let function = function.with_name(*name)?;
            all.set(*name, function.clone())?;
            exports.export(*name, function)?;
        }
        exports.export("default", all)?;
        Ok(())
    }
}

const FS_EXPORTS: [&str; 9] = [
    "read",
    "readBytes",
    "write",
    "list",
    "history",
    "revert",
    "remove",
    "stat",
    "exists",
];

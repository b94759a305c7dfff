//! The host side of the JavaScript API: the native bindings the prelude uses
//! (`globalThis.__hbf`, removed by the prelude) and the host modules `hbf:db`,
//! `hbf:fs`, `hbf:console` and `hbf:jsx` (its JavaScript in `js/jsx.js`;
//! `hbf:blob` is in `blob.rs`).
//!
//! Host functions run on the worker thread that runs the JavaScript, so they
//! reach the worker's storage handles through a thread-local [`HostState`].
//!
//! Values between JavaScript and SQL: numbers bind as INTEGER when they are
//! integers that fit, REAL otherwise; bigints as INTEGER; strings as TEXT; booleans
//! as 1/0; null and undefined as NULL; Uint8Array (and other views, ArrayBuffer) as
//! BLOB. Back in JavaScript: INTEGER is a number, or a bigint beyond 2^53; REAL a
//! number; TEXT a string; BLOB a Uint8Array; NULL null.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use hbf_db::rusqlite::types::Value as SqlValue;
use hbf_db::{Database, FileVersion, Params, UserDb};
use rquickjs::function::Opt;
use rquickjs::module::{Declarations, Exports, ModuleDef};
use rquickjs::{
    Array, ArrayBuffer, BigInt, Ctx, Exception, Function, IntoJs, Module, Object, Persistent,
    TypedArray, Value,
};

/// What host functions need, per worker thread.
pub(crate) struct HostState {
    pub db: Database,
    pub user: UserDb,
    /// The request being served (for log lines).
    pub request_id: Cell<u64>,
    /// Bytecode of `js/web.js`, compiled once per worker.
    pub web_bytecode: Vec<u8>,
    /// Bytecode of `js/jsx.js` (`hbf:jsx`), compiled once per worker.
    pub jsx_bytecode: Vec<u8>,
}

thread_local! {
    static STATE: RefCell<Option<Rc<HostState>>> = const { RefCell::new(None) };
}

/// Makes `state` the host state of the current thread.
pub(crate) fn set_state(state: Rc<HostState>) {
    STATE.with(|s| *s.borrow_mut() = Some(state));
}

pub(crate) fn state<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<Rc<HostState>> {
    STATE
        .with(|s| s.borrow().clone())
        .ok_or_else(|| Exception::throw_message(ctx, "HBF host functions are not available here"))
}

/// The current request's id (0 outside a request).
pub(crate) fn request_id() -> u64 {
    STATE.with(|s| s.borrow().as_ref().map_or(0, |st| st.request_id.get()))
}

/// Sets the current request's id (for log lines).
pub(crate) fn set_request_id(id: u64) {
    STATE.with(|s| {
        if let Some(st) = s.borrow().as_ref() {
            st.request_id.set(id);
        }
    });
}

/// Sets the deadline of the pod's SQL (the request's; `None` between
/// requests): a statement still running then is interrupted.
pub(crate) fn set_sql_deadline(deadline: Option<std::time::Instant>) {
    STATE.with(|s| {
        if let Some(st) = s.borrow().as_ref() {
            st.user.set_deadline(deadline);
        }
    });
}

/// Host functions made while pinning is on ([`start_pinning`]).
type Pins = Vec<Persistent<Function<'static>>>;

thread_local! {
    static PINS: RefCell<Option<Pins>> = const { RefCell::new(None) };
}

/// A host function: a JavaScript function whose closure lives on the Rust
/// heap (rquickjs frees it with the function object). While pinning is on,
/// it is also kept alive from Rust, so that no request can have it freed:
/// a restored snapshot would point at freed memory (`heap.rs`, invariant 3).
pub(crate) fn host_fn<'js, F, P>(ctx: &Ctx<'js>, f: F) -> rquickjs::Result<Function<'js>>
where
    F: rquickjs::function::IntoJsFunc<'js, P> + 'js,
{
    let function = Function::new(ctx.clone(), f)?;
    PINS.with(|pins| {
        if let Some(pins) = pins.borrow_mut().as_mut() {
            pins.push(Persistent::save(ctx, function.clone()));
        }
    });
    Ok(function)
}

/// From now on, every host function made on this thread is pinned.
pub(crate) fn start_pinning() {
    PINS.with(|pins| *pins.borrow_mut() = Some(Vec::new()));
}

/// Stops pinning; returns the functions pinned since [`start_pinning`].
pub(crate) fn stop_pinning() -> Vec<Persistent<Function<'static>>> {
    PINS.with(|pins| pins.borrow_mut().take().unwrap_or_default())
}

/// The host modules made of host functions: a snapshot imports them all
/// before it is taken, so that no request makes host functions.
pub(crate) const NATIVE_MODULES: [&str; 3] = ["hbf:db", "hbf:fs", "hbf:blob"];

/// Installs `globalThis.__hbf` for the prelude.
pub(crate) fn install_native<'js>(ctx: &Ctx<'js>) -> rquickjs::Result<()> {
    let native = Object::new(ctx.clone())?;
    native.set(
        "log",
        host_fn(ctx, |level: String, message: String| {
            log(&level, &message);
        })?,
    )?;
    native.set("utf8Encode", host_fn(ctx, utf8_encode)?)?;
    native.set("utf8Decode", host_fn(ctx, utf8_decode)?)?;
    native.set("webModule", host_fn(ctx, web_module)?)?;
    ctx.globals().set("__hbf", native)?;
    Ok(())
}

/// Told of every console line: request id, level, the message as written.
pub type ConsoleHook = Box<dyn Fn(u64, &str, &str) + Send + Sync>;

static CONSOLE_HOOK: std::sync::OnceLock<ConsoleHook> = std::sync::OnceLock::new();

/// Sets the hook told of every console line of every request in this process,
/// besides the log (the dev API streams them to an editor). It runs on the
/// JavaScript worker, so it must be quick (a channel send). Set once, at start:
/// `false` if a hook was set already.
pub fn set_console_hook(hook: ConsoleHook) -> bool {
    CONSOLE_HOOK.set(hook).is_ok()
}

/// A console line, tagged with the request id: one call, one log line
/// ([`escape_log`]).
fn log(level: &str, message: &str) {
    let request = request_id();
    if let Some(hook) = CONSOLE_HOOK.get() {
        hook(request, level, message);
    }
    let message = escape_log(message);
    match level {
        "error" => tracing::error!(target: "hbf::js", request, "{message}"),
        "warn" => tracing::warn!(target: "hbf::js", request, "{message}"),
        "debug" => tracing::debug!(target: "hbf::js", request, "{message}"),
        "trace" => tracing::trace!(target: "hbf::js", request, "{message}"),
        _ => tracing::info!(target: "hbf::js", request, "{message}"),
    }
}

/// `text` fit for one line of the server log: line breaks, other control
/// characters (ANSI escapes too) and the Unicode line and paragraph
/// separators become escapes (`\n`, `\r`, `\t`, `\u{1b}`), and a backslash
/// becomes two, so no console call can make a line that looks like the
/// server's own, and an escape in the log always means the character.
pub(crate) fn escape_log(text: &str) -> std::borrow::Cow<'_, str> {
    let needs = |c: char| c == '\\' || c.is_control() || c == '\u{2028}' || c == '\u{2029}';
    if !text.contains(needs) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs(c) => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

fn utf8_encode<'js>(ctx: Ctx<'js>, text: String) -> rquickjs::Result<TypedArray<'js, u8>> {
    TypedArray::new_copy(ctx, text.as_bytes())
}

fn utf8_decode<'js>(
    ctx: Ctx<'js>,
    bytes: Value<'js>,
    fatal: Opt<bool>,
) -> rquickjs::Result<String> {
    let bytes = bytes_of(&ctx, &bytes)?;
    if fatal.0.unwrap_or(false) {
        String::from_utf8(bytes)
            .map_err(|_| Exception::throw_type(&ctx, "the data is not valid UTF-8"))
    } else {
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// Loads and evaluates the web APIs module, returning its namespace.
fn web_module<'js>(ctx: Ctx<'js>) -> rquickjs::Result<Object<'js>> {
    let st = state(&ctx)?;
    // SAFETY: this bytecode was compiled moments ago in this process by this
    // QuickJS build from the web APIs source embedded in the binary; QuickJS
    // copies the buffer.
    let module = unsafe { Module::load(ctx.clone(), &st.web_bytecode)? };
    let (module, promise) = module.eval()?;
    promise.finish::<()>()?;
    module.namespace()
}

/// The source of `js/web.js`, and its module name (it is loaded through the
/// native `webModule()`, never imported).
pub(crate) const WEB_SOURCE: &str = include_str!("../js/web.js");
pub(crate) const WEB_NAME: &str = "hbf:web";

/// Copies the bytes of a Uint8Array, any other typed array or DataView, or an
/// ArrayBuffer; throws a TypeError for anything else.
pub(crate) fn bytes_of<'js>(ctx: &Ctx<'js>, value: &Value<'js>) -> rquickjs::Result<Vec<u8>> {
    bytes_if_any(value).ok_or_else(|| {
        Exception::throw_type(
            ctx,
            "expected a Uint8Array, an ArrayBuffer or a typed array (not detached)",
        )
    })
}

/// The bytes of a binary value, or `None` (without throwing) for anything else.
fn bytes_if_any(value: &Value<'_>) -> Option<Vec<u8>> {
    if let Ok(array) = TypedArray::<u8>::from_value(value.clone()) {
        // SAFETY: the slice is copied at once; no JavaScript runs while it lives.
        return unsafe { array.as_bytes() }.map(<[u8]>::to_vec);
    }
    if let Some(buffer) = array_buffer(value) {
        // SAFETY: as above.
        return unsafe { buffer.as_bytes() }.map(<[u8]>::to_vec);
    }
    // Other views (Int16Array, DataView...): the bytes they cover.
    let obj = value.as_object()?;
    let buffer = array_buffer(&obj.get::<_, Value>("buffer").ok()?)?;
    let offset = obj.get::<_, usize>("byteOffset").ok()?;
    let length = obj.get::<_, usize>("byteLength").ok()?;
    // SAFETY: as above.
    let all = unsafe { buffer.as_bytes() }?;
    all.get(offset..offset.checked_add(length)?)
        .map(<[u8]>::to_vec)
}

/// `value` as an ArrayBuffer, if it is one. rquickjs asks QuickJS, which throws a
/// TypeError for anything else and leaves it pending; that exception is ours to
/// clear, or it would surface in whatever JavaScript runs next.
fn array_buffer<'js>(value: &Value<'js>) -> Option<ArrayBuffer<'js>> {
    if !value.is_object() {
        return None;
    }
    let buffer = ArrayBuffer::from_value(value.clone());
    if buffer.is_none() {
        let _ = value.ctx().catch();
    }
    buffer
}

/// JavaScript value -> SQL value.
fn to_sql<'js>(ctx: &Ctx<'js>, value: &Value<'js>) -> rquickjs::Result<SqlValue> {
    if value.is_null() || value.is_undefined() {
        return Ok(SqlValue::Null);
    }
    if let Some(b) = value.as_bool() {
        return Ok(SqlValue::Integer(b as i64));
    }
    if let Some(i) = value.as_int() {
        return Ok(SqlValue::Integer(i as i64));
    }
    if let Some(f) = value.as_float() {
        if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
            return Ok(SqlValue::Integer(f as i64));
        }
        return Ok(SqlValue::Real(f));
    }
    if let Some(big) = value.as_big_int() {
        return big
            .clone()
            .to_i64()
            .map(SqlValue::Integer)
            .map_err(|_| Exception::throw_range(ctx, "a bigint parameter must fit in 64 bits"));
    }
    if let Some(s) = value.as_string() {
        return Ok(SqlValue::Text(s.to_string()?));
    }
    if value.is_object() && !value.is_function() && !value.is_array() {
        if let Some(bytes) = bytes_if_any(value) {
            return Ok(SqlValue::Blob(bytes));
        }
    }
    Err(Exception::throw_type(
        ctx,
        &format!(
            "cannot bind a {} to SQL (use a number, bigint, string, boolean, null or Uint8Array)",
            value.type_name()
        ),
    ))
}

/// SQL value -> JavaScript value.
fn from_sql<'js>(ctx: &Ctx<'js>, value: SqlValue) -> rquickjs::Result<Value<'js>> {
    Ok(match value {
        SqlValue::Null => Value::new_null(ctx.clone()),
        SqlValue::Integer(i) if i.unsigned_abs() <= (1u64 << 53) => (i as f64).into_js(ctx)?,
        SqlValue::Integer(i) => BigInt::from_i64(ctx.clone(), i)?.into_value(),
        SqlValue::Real(f) => f.into_js(ctx)?,
        SqlValue::Text(s) => s.into_js(ctx)?,
        SqlValue::Blob(b) => TypedArray::<u8>::new_copy(ctx.clone(), b)?.into_value(),
    })
}

fn params<'js>(ctx: &Ctx<'js>, value: Opt<Value<'js>>) -> rquickjs::Result<Params> {
    let Some(value) = value.0.filter(|v| !v.is_undefined() && !v.is_null()) else {
        return Ok(Params::Positional(Vec::new()));
    };
    if let Some(array) = value.as_array() {
        let mut out = Vec::with_capacity(array.len());
        for item in array.iter::<Value>() {
            out.push(to_sql(ctx, &item?)?);
        }
        return Ok(Params::Positional(out));
    }
    if let Some(obj) = value.as_object().filter(|_| bytes_if_any(&value).is_none()) {
        let mut out = Vec::new();
        for key in obj.keys::<String>() {
            let key = key?;
            let item: Value = obj.get(&key)?;
            out.push((key, to_sql(ctx, &item)?));
        }
        return Ok(Params::Named(out));
    }
    Err(Exception::throw_type(
        ctx,
        "parameters must be an array (positional) or an object (named)",
    ))
}

fn sql_error<'js>(ctx: &Ctx<'js>, e: hbf_db::Error) -> rquickjs::Error {
    Exception::throw_message(ctx, &e.to_string())
}

fn db_query<'js>(
    ctx: Ctx<'js>,
    sql: String,
    args: Opt<Value<'js>>,
) -> rquickjs::Result<Array<'js>> {
    let st = state(&ctx)?;
    let params = params(&ctx, args)?;
    let rows = st
        .user
        .query(&sql, &params)
        .map_err(|e| sql_error(&ctx, e))?;
    let out = Array::new(ctx.clone())?;
    for (i, row) in rows.into_iter().enumerate() {
        let obj = Object::new(ctx.clone())?;
        for (name, value) in row {
            obj.set(name, from_sql(&ctx, value)?)?;
        }
        out.set(i, obj)?;
    }
    Ok(out)
}

fn db_execute<'js>(
    ctx: Ctx<'js>,
    sql: String,
    args: Opt<Value<'js>>,
) -> rquickjs::Result<Object<'js>> {
    let st = state(&ctx)?;
    let params = params(&ctx, args)?;
    let done = st
        .user
        .execute(&sql, &params)
        .map_err(|e| sql_error(&ctx, e))?;
    let out = Object::new(ctx.clone())?;
    out.set("changes", done.changes as f64)?;
    out.set(
        "lastInsertRowid",
        from_sql(&ctx, SqlValue::Integer(done.last_insert_rowid))?,
    )?;
    Ok(out)
}

/// Why a transaction body failed: a JavaScript exception (rethrown as is) or a
/// storage error.
enum TxError {
    Js(rquickjs::Error),
    Db(hbf_db::Error),
}

impl From<hbf_db::Error> for TxError {
    fn from(e: hbf_db::Error) -> Self {
        TxError::Db(e)
    }
}

fn db_transaction<'js>(ctx: Ctx<'js>, body: Function<'js>) -> rquickjs::Result<Value<'js>> {
    let st = state(&ctx)?;
    let result = st.user.transaction(|_| {
        let value: Value = body.call(()).map_err(TxError::Js)?;
        if value.as_promise().is_some() {
            return Err(TxError::Js(Exception::throw_type(
                &ctx,
                "transaction(fn): fn must be synchronous (it returned a promise); the transaction was rolled back",
            )));
        }
        Ok(value)
    });
    match result {
        Ok(value) => Ok(value),
        Err(TxError::Js(e)) => Err(e),
        Err(TxError::Db(e)) => Err(sql_error(&ctx, e)),
    }
}

/// `hbf:db`: the pod's own SQL.
pub(crate) struct DbModule;

impl ModuleDef for DbModule {
    fn declare(decl: &Declarations) -> rquickjs::Result<()> {
        for name in ["query", "execute", "transaction", "default"] {
            decl.declare(name)?;
        }
        Ok(())
    }

    fn evaluate<'js>(ctx: &Ctx<'js>, exports: &Exports<'js>) -> rquickjs::Result<()> {
        let all = Object::new(ctx.clone())?;
        let query = host_fn(ctx, db_query)?.with_name("query")?;
        let execute = host_fn(ctx, db_execute)?.with_name("execute")?;
        let transaction = host_fn(ctx, db_transaction)?.with_name("transaction")?;
        all.set("query", query.clone())?;
        all.set("execute", execute.clone())?;
        all.set("transaction", transaction.clone())?;
        exports.export("query", query)?;
        exports.export("execute", execute)?;
        exports.export("transaction", transaction)?;
        exports.export("default", all)?;
        Ok(())
    }
}

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

/// `hbf:console`: the console functions as a module.
pub(crate) const CONSOLE_SOURCE: &str = "\
const c = globalThis.console;
export const log = (...a) => c.log(...a);
export const info = (...a) => c.info(...a);
export const warn = (...a) => c.warn(...a);
export const error = (...a) => c.error(...a);
export const debug = (...a) => c.debug(...a);
export default { log, info, warn, error, debug };
";

/// `hbf:jsx`: the built-in JSX runtime (`jsx`, `jsxs`, `Fragment`,
/// `renderToString`), plain JavaScript.
pub(crate) const JSX_SOURCE: &str = include_str!("../js/jsx.js");
pub(crate) const JSX_NAME: &str = "hbf:jsx";

/// The JSX runtime under `name`, from the bytecode compiled once per worker
/// (renamed for a per-request instance name), not parsed at every load.
fn jsx_module<'js>(ctx: &Ctx<'js>, name: &str) -> rquickjs::Result<Module<'js>> {
    let st = state(ctx)?;
    let bytecode = if name == JSX_NAME {
        std::borrow::Cow::Borrowed(st.jsx_bytecode.as_slice())
    } else {
        match crate::instances::rename_module(&st.jsx_bytecode, JSX_NAME, name) {
            Ok(renamed) => std::borrow::Cow::Owned(renamed),
            Err(_) => return Module::declare(ctx.clone(), name, JSX_SOURCE),
        }
    };
    // SAFETY: compiled at the engine's start in this process by this QuickJS
    // build from the source embedded in the binary (and renamed by
    // `rename_module`, which rewrites only the name); QuickJS copies it.
    unsafe { Module::load(ctx.clone(), &bytecode) }
}

/// Loads host module `module` under `name` (the same, or a per-request instance
/// name), or `None` if there is no such host module.
pub(crate) fn load_host_module<'js>(
    ctx: &Ctx<'js>,
    module: &str,
    name: &str,
) -> Option<rquickjs::Result<Module<'js>>> {
    Some(match module {
        "hbf:db" => Module::declare_def::<DbModule, _>(ctx.clone(), name),
        "hbf:fs" => Module::declare_def::<FsModule, _>(ctx.clone(), name),
        "hbf:blob" => Module::declare_def::<crate::blob::BlobModule, _>(ctx.clone(), name),
        "hbf:console" => Module::declare(ctx.clone(), name, CONSOLE_SOURCE),
        // The JSX runtime, under the names the automatic runtime imports too.
        "hbf:jsx" | "hbf:jsx/jsx-runtime" | "hbf:jsx/jsx-dev-runtime" => jsx_module(ctx, name),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::escape_log;

    #[test]
    fn console_text_is_one_log_line() {
        assert_eq!(escape_log("plain text, ünïcode ✓"), "plain text, ünïcode ✓");
        assert_eq!(
            escape_log("a\nINFO hbf: forged\r\n\tb"),
            "a\\nINFO hbf: forged\\r\\n\\tb"
        );
        assert_eq!(escape_log("\u{1b}[31mred\u{7f}"), "\\u{1b}[31mred\\u{7f}");
        assert_eq!(escape_log("x\u{2028}y\u{85}z"), "x\\u{2028}y\\u{85}z");
        // A backslash doubles, so the log's `\n` is always an escaped newline.
        assert_eq!(escape_log(r"C:\dir\n"), r"C:\\dir\\n");
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            let escaped = escape_log(&c.to_string()).into_owned();
            assert!(
                !escaped
                    .chars()
                    .any(|e| e.is_control() || e == '\u{2028}' || e == '\u{2029}'),
                "{c:?} -> {escaped:?}"
            );
        }
    }
}

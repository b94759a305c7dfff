//! The host side of the JavaScript API: the native bindings the prelude uses
//! (`globalThis.__hbf`, removed by the prelude), the thread's host state and
//! the pinning of host functions, here; the host modules `hbf:db`
//! (`host/db.rs`), `hbf:fs` (`host/fs.rs`), `hbf:console` and `hbf:jsx` (its
//! JavaScript in `js/jsx.js`; `host/modules.rs`, which also names them all).
//! `hbf:blob` is in `host/blob.rs`.
//!
//! Host functions run on the worker thread that runs the JavaScript, so they
//! reach the worker's storage handles through a thread-local [`HostState`].
//!
//! Values between JavaScript and SQL: numbers bind as INTEGER when they are
//! integers that fit, REAL otherwise; bigints as INTEGER; strings as TEXT; booleans
//! as 1/0; null and undefined as NULL; Uint8Array (and other views, ArrayBuffer) as
//! BLOB. Back in JavaScript: INTEGER is a number, or a bigint beyond 2^53; REAL a
//! number; TEXT a string; BLOB a Uint8Array; NULL null.

mod blob;
mod compression;
mod crypto;
mod db;
mod encoding;
pub(crate) mod fetch;
mod fs;
mod modules;
mod multipart;
mod url;
mod urlpattern;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use db::DbModule;
use fs::FsModule;
pub(crate) use modules::HostModules;

use hbf_db::{Database, UserDb};
use rquickjs::{ArrayBuffer, Ctx, Exception, Function, Object, Persistent, TypedArray, Value};

use crate::bytecode::{self, Trusted};

/// What host functions need, per worker thread.
pub(crate) struct HostState {
    pub db: Database,
    pub user: UserDb,
    /// The request being served (for log lines).
    pub request_id: Cell<u64>,
    /// Bytecode of `js/web.js`.
    pub web: Trusted,
    /// Bytecode of `js/platform.js`.
    pub platform: Trusted,
    /// Bytecode of `js/crypto.js`.
    pub crypto: Trusted,
    /// Bytecode of `js/forms.js`.
    pub forms: Trusted,
}

impl HostState {
    pub(crate) fn new(db: Database, user: UserDb) -> crate::Result<Self> {
        Ok(Self {
            db,
            user,
            request_id: Cell::default(),
            web: bytecode::embedded(WEB_NAME, WEB_SOURCE)?,
            platform: bytecode::embedded(PLATFORM_NAME, PLATFORM_SOURCE)?,
            crypto: bytecode::embedded(CRYPTO_NAME, CRYPTO_SOURCE)?,
            forms: bytecode::embedded(FORMS_NAME, FORMS_SOURCE)?,
        })
    }
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

/// Drops the native state a request made (its compression streams' codecs):
/// called when each request ends, and after the pod's top-level code.
pub(crate) fn end_request() {
    compression::end_request();
    fetch::end_request();
}

/// The running request's wall-clock deadline (`None` between requests).
pub(crate) fn deadline() -> Option<std::time::Instant> {
    crate::limits::current_wall_deadline()
}

/// Sets the running request's limits for the pod's SQL (`None` between
/// requests): a statement still running when either passes is interrupted.
///
/// `cpu` is the CPU clock's value at which the request's CPU time is used
/// up, and the moment before which it cannot be.
pub(crate) fn set_limits(
    wall: Option<std::time::Instant>,
    cpu: Option<(std::time::Duration, std::time::Instant)>,
) {
    STATE.with(|s| {
        if let Some(st) = s.borrow().as_ref() {
            st.user.set_deadline(wall);
            st.user
                .set_cpu_budget(cpu.map(|(until, not_before)| hbf_db::CpuBudget {
                    clock: crate::limits::thread_cpu_time,
                    until,
                    not_before,
                }));
        }
    });
}

/// Whether the running request went past either limit (host work that
/// loops long stops then: QuickJS's interrupt handler cannot stop Rust).
pub(crate) fn deadline_passed() -> bool {
    crate::limits::current_passed()
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
    native.set("webModule", host_fn(ctx, web_module)?)?;
    native.set("platformModule", host_fn(ctx, platform_module)?)?;
    native.set("randomBytes", host_fn(ctx, random_bytes)?)?;
    native.set("encodingFor", host_fn(ctx, encoding::name_for)?)?;
    native.set("decode", host_fn(ctx, encoding::decode)?)?;
    native.set("urlParse", host_fn(ctx, url::parse)?)?;
    native.set("urlSet", host_fn(ctx, url::set)?)?;
    native.set("cryptoModule", host_fn(ctx, crypto_module)?)?;
    crypto::install(ctx, &native)?;
    native.set("parseMultipart", host_fn(ctx, multipart::parse)?)?;
    native.set("formsModule", host_fn(ctx, forms_module)?)?;
    native.set("streamsModule", host_fn(ctx, streams_module)?)?;
    native.set("streamsPonyfill", host_fn(ctx, streams_ponyfill)?)?;
    native.set("zOpen", host_fn(ctx, compression::open)?)?;
    native.set("zWrite", host_fn(ctx, compression::write)?)?;
    native.set("zPull", host_fn(ctx, compression::pull)?)?;
    native.set("zFinish", host_fn(ctx, compression::finish)?)?;
    native.set("zClose", host_fn(ctx, compression::close)?)?;
    native.set("fetchStart", host_fn(ctx, fetch::start)?)?;
    native.set("fetchAbort", host_fn(ctx, fetch::abort)?)?;
    native.set("canStream", host_fn(ctx, crate::streaming::can_stream)?)?;
    native.set("streamHead", host_fn(ctx, stream_head)?)?;
    native.set("streamChunk", host_fn(ctx, stream_chunk)?)?;
    native.set("streamClose", host_fn(ctx, crate::streaming::close)?)?;
    native.set("urlPatternModule", host_fn(ctx, urlpattern_module)?)?;
    native.set(
        "urlPatternCompile",
        host_fn(ctx, urlpattern::compile_parts)?,
    )?;
    native.set("urlPatternMatch", host_fn(ctx, urlpattern::match_input)?)?;
    native.set("version", env!("CARGO_PKG_VERSION"))?;
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

/// Loads and evaluates the web APIs module, returning its namespace.
fn web_module<'js>(ctx: Ctx<'js>) -> rquickjs::Result<Object<'js>> {
    evaluate(&ctx, &state(&ctx)?.web)
}

/// `streamHead(status, [[name, value], ...])`: sends a streamed response's
/// head (`streaming.rs`).
fn stream_head<'js>(
    ctx: Ctx<'js>,
    status: f64,
    headers: rquickjs::Array<'js>,
) -> rquickjs::Result<()> {
    let mut list = Vec::with_capacity(headers.len());
    for pair in headers.iter::<rquickjs::Array>() {
        let pair = pair?;
        list.push((pair.get::<String>(0)?, pair.get::<String>(1)?));
    }
    let head = crate::engine::JsResponse {
        status,
        headers: list,
        body: Vec::new(),
    };
    if !crate::streaming::start(head) {
        return Err(Exception::throw_internal(
            &ctx,
            "this response cannot be streamed",
        ));
    }
    Ok(())
}

/// `streamChunk(bytes)`: sends a chunk of the streamed body; false if the
/// client went away; throws if the deadline passed while the client was slow.
/// A chunk sent moves the request's wall-clock deadline to at least the
/// stream idle bound from now ([`crate::limits::stream_flowed`]).
fn stream_chunk<'js>(ctx: Ctx<'js>, chunk: Value<'js>) -> rquickjs::Result<bool> {
    let bytes = bytes_of(&ctx, &chunk)?;
    match crate::streaming::send(bytes) {
        Ok(()) => {
            // A flowing stream may go on past the wall-clock limit: the
            // request's SQL and stream get the moved deadline too (its waits
            // and fetches read it from the limits).
            if let Some(wall) = crate::limits::stream_flowed() {
                STATE.with(|s| {
                    if let Some(st) = s.borrow().as_ref() {
                        st.user.set_deadline(Some(wall));
                    }
                });
                crate::streaming::set_deadline(Some(wall));
            }
            Ok(true)
        }
        Err(crate::streaming::Refused::Gone) => Ok(false),
        Err(crate::streaming::Refused::Deadline) => Err(Exception::throw_internal(
            &ctx,
            "the request's deadline passed while the client was slow to take its streamed response",
        )),
    }
}

/// Loads and evaluates the forms module (Blob, File, FormData), returning its
/// namespace.
fn forms_module<'js>(ctx: Ctx<'js>) -> rquickjs::Result<Object<'js>> {
    evaluate(&ctx, &state(&ctx)?.forms)
}

/// Loads and evaluates the URLPattern module (`js/urlpattern.js`),
/// returning its namespace; compiled on first use, as the streams module.
fn urlpattern_module<'js>(ctx: Ctx<'js>) -> rquickjs::Result<Object<'js>> {
    evaluate_embedded(&ctx, URLPATTERN_NAME, URLPATTERN_SOURCE)
}

/// Loads and evaluates the streams module (`js/streams.js`), returning its
/// namespace. It and the Streams implementation under it are compiled on
/// first use (once per process), not when a worker starts: a `worker` pod
/// that never streams does not pay for 65 KB of JavaScript.
fn streams_module<'js>(ctx: Ctx<'js>) -> rquickjs::Result<Object<'js>> {
    evaluate_embedded(&ctx, STREAMS_NAME, STREAMS_SOURCE)
}

/// Loads and evaluates the vendored Streams implementation
/// (`js/vendor/web-streams-polyfill.mjs`), returning its namespace.
fn streams_ponyfill<'js>(ctx: Ctx<'js>) -> rquickjs::Result<Object<'js>> {
    evaluate_embedded(&ctx, PONYFILL_NAME, PONYFILL_SOURCE)
}

fn evaluate_embedded<'js>(
    ctx: &Ctx<'js>,
    name: &'static str,
    source: &'static str,
) -> rquickjs::Result<Object<'js>> {
    let module = bytecode::embedded(name, source)
        .map_err(|e| Exception::throw_internal(ctx, &format!("{name}: {e}")))?;
    evaluate(ctx, &module)
}

/// Loads and evaluates the platform's globals module, returning its namespace.
fn platform_module<'js>(ctx: Ctx<'js>) -> rquickjs::Result<Object<'js>> {
    evaluate(&ctx, &state(&ctx)?.platform)
}

/// Loads and evaluates `crypto.subtle`'s module, returning its namespace.
fn crypto_module<'js>(ctx: Ctx<'js>) -> rquickjs::Result<Object<'js>> {
    evaluate(&ctx, &state(&ctx)?.crypto)
}

fn evaluate<'js>(ctx: &Ctx<'js>, module: &Trusted) -> rquickjs::Result<Object<'js>> {
    let (module, promise) = module.load(ctx)?.eval()?;
    promise.finish::<()>()?;
    module.namespace()
}

/// The most bytes one `randomBytes` call makes (`crypto.getRandomValues`'s
/// own limit).
const MAX_RANDOM_BYTES: usize = 65536;

/// `n` bytes from the operating system's CSPRNG, as a new Uint8Array.
fn random_bytes<'js>(ctx: Ctx<'js>, n: usize) -> rquickjs::Result<TypedArray<'js, u8>> {
    if n > MAX_RANDOM_BYTES {
        return Err(Exception::throw_range(
            &ctx,
            &format!("at most {MAX_RANDOM_BYTES} random bytes at once"),
        ));
    }
    let mut bytes = vec![0; n];
    getrandom::fill(&mut bytes).map_err(|e| {
        Exception::throw_internal(&ctx, &format!("the system's randomness failed: {e}"))
    })?;
    TypedArray::new_copy(ctx, &bytes)
}

/// The sources of `js/web.js`, `js/platform.js` and `js/forms.js`, and their
/// module names
/// (each is loaded through a native function, never imported).
pub(crate) const WEB_SOURCE: &str = include_str!("../js/web.js");
pub(crate) const WEB_NAME: &str = "hbf:web";
pub(crate) const PLATFORM_SOURCE: &str = include_str!("../js/platform.js");
pub(crate) const PLATFORM_NAME: &str = "hbf:platform";
pub(crate) const CRYPTO_SOURCE: &str = include_str!("../js/crypto.js");
pub(crate) const CRYPTO_NAME: &str = "hbf:crypto";
pub(crate) const FORMS_SOURCE: &str = include_str!("../js/forms.js");
pub(crate) const FORMS_NAME: &str = "hbf:forms";
pub(crate) const URLPATTERN_SOURCE: &str = include_str!("../js/urlpattern.js");
pub(crate) const URLPATTERN_NAME: &str = "hbf:urlpattern";
pub(crate) const STREAMS_SOURCE: &str = include_str!("../js/streams.js");
pub(crate) const STREAMS_NAME: &str = "hbf:streams";
pub(crate) const PONYFILL_SOURCE: &str = include_str!("../js/vendor/web-streams-polyfill.mjs");
pub(crate) const PONYFILL_NAME: &str = "hbf:web-streams-polyfill";

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

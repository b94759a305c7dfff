//! One JavaScript engine: a QuickJS runtime owned by one worker thread, and how
//! it turns a request into a response.
//!
//! # Isolation
//!
//! [`Isolation::Snapshot`] (the default) keeps one warm context per worker
//! whose whole heap is saved once the pod has loaded and put back after every
//! request (`engine/snapshot.rs`, over the region of `heap/`): nothing a
//! request does to globals, built-ins or module state reaches the next, and
//! nothing is frozen. [`Isolation::Request`] keeps one context per worker,
//! locked down (every built-in and Web API object frozen, the original
//! globals read-only; `js/prelude.js`), and gives every request fresh
//! instances of the pod's modules ([`crate::instances`]). After the request
//! its leftover promise jobs run, globals it added are deleted and
//! `Error.prepareStackTrace` / `Error.stackTraceLimit` put back, and so no
//! request sees another's changes to globals, built-ins or module state
//! (`tests/lockdown.rs` walks all that is shared). The context is replaced
//! every [`REQUESTS_PER_CONTEXT`] requests (module instances accumulate in
//! it) or when it cannot be reset. [`Isolation::Context`] gives every request
//! a fresh context (nothing is frozen; the slowest). [`Isolation::Worker`]
//! keeps one context and one set of module instances per worker while the
//! pod's code is unchanged: module state and globals persist between the
//! requests one worker serves (as on edge runtimes that reuse isolates).
//! `DOCS/PERF.md` has the measured costs.
//!
//! A pod chooses its isolation by exporting it from `hbf/server.js`
//! (`export const isolation = 'worker'`: SPEC 4's "unless the pod opts into
//! sharing"), unless the operator chose one ([`EngineConfig::isolation_from_pod`]
//! false). The engine reads the export whenever it evaluates the server module,
//! so an edit that adds or removes it takes effect from the next request.
//!
//! # Limits
//!
//! Each runtime has a memory limit and a maximum stack size; each request has a
//! wall-clock deadline, enforced by QuickJS's interrupt handler (it stops any
//! running JavaScript, even an infinite loop) and checked between promise jobs
//! (a chain that never yields to the host). A request that hits a limit fails
//! alone; the runtime is rebuilt after anything that may have left it in doubt
//! (out of memory, an interrupted script, an engine error), except in snapshot
//! mode, where putting the heap back is enough (but for an engine error).
//!
//! Here: the engine, its isolation modes and dispatch; in `engine/`:
//! `snapshot.rs` ([`Isolation::Snapshot`]), `locked.rs` (the locked-down
//! context of [`Isolation::Request`]), `declared.rs` (the pod's `export const
//! isolation`), `errors.rs` ([`JsError`] and telling failures apart), `jobs.rs`
//! (promise jobs under the deadline and the memory limit) and `convert.rs`
//! (the request in, the response out).

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hbf_db::Database;
use rquickjs::{Context, Ctx, Function, Module, Object, Persistent, Runtime, Value};

use crate::compile::Compiler;
use crate::host::{self, HostState};
use crate::{PodModules, Result};

mod convert;
mod declared;
mod errors;
mod jobs;
mod locked;
mod snapshot;

use convert::{dispatch_args, response_from};
pub use errors::JsError;
use locked::Locked;
pub use snapshot::RestoreStats;
use snapshot::Snapshot;

use crate::heap::Region;

/// The pod's server module, as messages name it: `hbf/server.js`, or the first
/// of [`crate::SERVER_MODULES`] that exists (`hbf/server.ts`...), which
/// [`PodModules::server_module`] finds.
pub const SERVER_MODULE: &str = "hbf/server.js";

/// How requests are isolated from each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Isolation {
    /// Fresh module instances for every request in a kept, locked-down context.
    Request,
    /// A fresh context (globals, built-ins and module instances) for every request.
    Context,
    /// One context per worker, reused while the pod's code is unchanged.
    Worker,
    /// One context per worker, whose heap is put back after every request as
    /// it was when the pod had been loaded (`engine/snapshot.rs`).
    #[default]
    Snapshot,
}

impl Isolation {
    /// The name of the mode, as the CLI and `export const isolation` spell it.
    pub fn name(self) -> &'static str {
        match self {
            Isolation::Request => "request",
            Isolation::Context => "context",
            Isolation::Worker => "worker",
            Isolation::Snapshot => "snapshot",
        }
    }

    /// The mode named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Isolation::Request,
            Isolation::Context,
            Isolation::Worker,
            Isolation::Snapshot,
        ]
        .into_iter()
        .find(|mode| mode.name() == name)
    }
}

/// Requests served by one locked-down context before it is replaced
/// ([`Isolation::Request`]): each leaves its module instances behind.
pub const REQUESTS_PER_CONTEXT: u32 = 200;

/// Limits and settings of an engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub memory_limit_bytes: usize,
    pub timeout: Duration,
    /// The isolation of a pod that declares none (or of every pod, when
    /// `isolation_from_pod` is false).
    pub isolation: Isolation,
    /// Whether the pod's `export const isolation` in `hbf/server.js` decides
    /// (false when the operator chose with `--isolation`).
    pub isolation_from_pod: bool,
    /// Development mode: error responses carry the message and stack.
    pub dev: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            memory_limit_bytes: 64 << 20,
            timeout: Duration::from_secs(5),
            isolation: Isolation::Snapshot,
            isolation_from_pod: true,
            dev: false,
        }
    }
}

/// A request as JavaScript sees it.
#[derive(Debug, Clone, Default)]
pub struct JsRequest {
    /// The request id used in logs.
    pub id: u64,
    pub method: String,
    /// The full URL (`http://host/path?query`).
    pub url: String,
    /// The path, percent-decoded, without the query.
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    /// Header names lower-case, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A response made by JavaScript, not yet validated as HTTP.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JsResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The engine of one worker thread.
pub struct Engine {
    db: Database,
    modules: PodModules,
    config: EngineConfig,
    /// The isolation in effect: `config.isolation`, or what the pod declares.
    mode: Isolation,
    /// What the server module last evaluated declares (when the pod decides):
    /// applied between requests.
    declared: Cell<Option<Isolation>>,
    /// Whether a promise job of the running request failed for want of
    /// memory ([`Self::run_job`]).
    out_of_memory: Cell<bool>,
    /// Whether the running request's heap was seen past three quarters of
    /// the memory limit while it ran a long chain of jobs ([`Self::sample_memory`]).
    memory_high: Cell<bool>,
    /// Deadline of the running request, in nanoseconds since `epoch` (0: none).
    deadline: Arc<AtomicU64>,
    epoch: Instant,
    prelude_bytecode: Vec<u8>,
    /// A context kept between requests ([`Isolation::Worker`]).
    reused: Option<Reused>,
    /// The locked-down context of [`Isolation::Request`].
    locked: Option<Locked>,
    /// The saved heap of [`Isolation::Snapshot`].
    snapshot: Option<Snapshot>,
    // Field order: the runtime must be dropped after every context, and the
    // region its heap lives in (snapshot mode) after the runtime.
    runtime: Runtime,
    region: Option<Region>,
    /// The region's bump pointer when its runtime was made: while it has not
    /// moved, nothing ran in the runtime, and a snapshot can be taken in it
    /// instead of a new one.
    region_fresh_at: Option<usize>,
}

/// A context kept for the next request, with what it was built from.
struct Reused {
    context: Context,
    dispatch: Persistent<Function<'static>>,
    namespace: Persistent<Object<'static>>,
    modules: Vec<(String, [u8; 32])>,
    /// The database generation at which `modules` were last confirmed current.
    generation: u64,
}

/// The source of the prelude.
const PRELUDE_SOURCE: &str = include_str!("../js/prelude.js");
const PRELUDE_NAME: &str = "hbf:prelude";

impl Engine {
    /// Builds an engine for `db`'s pod on the current thread.
    pub fn new(db: Database, modules: PodModules, config: EngineConfig) -> Result<Self> {
        let modules = if config.isolation == Isolation::Request || config.isolation_from_pod {
            modules.with_instances()
        } else {
            modules
        };
        let compiler = Compiler::new()?;
        let prelude_bytecode = compiler.compile_module(PRELUDE_NAME, PRELUDE_SOURCE.as_bytes())?;
        let web_bytecode = compiler.compile_module(host::WEB_NAME, host::WEB_SOURCE.as_bytes())?;
        let jsx_bytecode = compiler.compile_module(host::JSX_NAME, host::JSX_SOURCE.as_bytes())?;
        let console_bytecode =
            compiler.compile_module(host::CONSOLE_NAME, host::CONSOLE_SOURCE.as_bytes())?;
        drop(compiler);
        let user = db.user_db()?;
        // A query's rows must fit in the JavaScript heap they are copied into.
        user.set_limits(hbf_db::SqlLimits {
            max_value_bytes: config.memory_limit_bytes / 2,
            max_result_bytes: config.memory_limit_bytes,
            ..hbf_db::SqlLimits::default()
        })?;
        host::set_state(Rc::new(HostState {
            user,
            db: db.clone(),
            request_id: Default::default(),
            web_bytecode,
            jsx_bytecode,
            console_bytecode,
        }));
        let (runtime, region) = snapshot::runtime_for(config.isolation, &config)?;
        let deadline = Arc::new(AtomicU64::new(0));
        let epoch = Instant::now();
        let mut engine = Self {
            db,
            modules,
            mode: config.isolation,
            declared: Cell::new(None),
            out_of_memory: Cell::new(false),
            memory_high: Cell::new(false),
            config,
            deadline,
            epoch,
            prelude_bytecode,
            reused: None,
            locked: None,
            snapshot: None,
            runtime,
            region,
            region_fresh_at: None,
        };
        engine.configure_runtime();
        engine.region_fresh_at = engine.region.as_ref().map(Region::used);
        Ok(engine)
    }

    fn configure_runtime(&self) {
        self.runtime
            .set_memory_limit(self.config.memory_limit_bytes);
        self.runtime.set_max_stack_size(STACK_LIMIT);
        self.runtime.set_gc_threshold(self.gc_threshold());
        let deadline = Arc::clone(&self.deadline);
        let epoch = self.epoch;
        self.runtime.set_interrupt_handler(Some(Box::new(move || {
            let d = deadline.load(Ordering::Relaxed);
            d != 0 && epoch.elapsed().as_nanos() as u64 >= d
        })));
        self.modules.install(&self.runtime);
    }

    /// The heap size at which QuickJS collects cycles. In the locked-down
    /// context a request's cycles (its module instances, mostly) live until the
    /// context is replaced, so collecting earlier would only walk the kept
    /// context again and again; the memory limit still applies.
    fn gc_threshold(&self) -> usize {
        match self.mode {
            // Snapshot: until the snapshot sets its own (`take_snapshot`).
            Isolation::Request | Isolation::Snapshot => self.config.memory_limit_bytes / 2,
            Isolation::Context | Isolation::Worker => 4 << 20,
        }
    }

    /// Replaces the runtime (after an error that may have left it in doubt).
    fn rebuild(&mut self) {
        if let Err(e) = self.replace_runtime(self.mode) {
            tracing::error!("cannot rebuild the JavaScript runtime: {e}");
        }
    }

    /// A new runtime for `mode` (over a new region in snapshot mode); every
    /// context of the old one goes first, then the old runtime, then its region.
    fn replace_runtime(&mut self, mode: Isolation) -> rquickjs::Result<()> {
        self.reused = None;
        self.locked = None;
        self.snapshot = None;
        let (runtime, region) = snapshot::runtime_for(mode, &self.config)?;
        drop(std::mem::replace(&mut self.runtime, runtime));
        self.region = region;
        self.configure_runtime();
        self.region_fresh_at = self.region.as_ref().map(Region::used);
        Ok(())
    }

    /// True while the runtime is over a region and nothing has run in it.
    fn region_unused(&self) -> bool {
        self.region.is_some() && self.region.as_ref().map(Region::used) == self.region_fresh_at
    }

    fn timed_out(&self) -> bool {
        let d = self.deadline.load(Ordering::Relaxed);
        d != 0 && self.epoch.elapsed().as_nanos() as u64 >= d
    }

    /// Loads the pod's modules once, so that the first request finds them
    /// compiled (and, with [`Isolation::Worker`], finds its context ready). A pod
    /// that fails to load is logged here, and answers 500 until it is fixed.
    pub fn warm_up(&mut self) {
        // A pod that may declare sharing is first loaded the cheap way (a
        // plain context, no lock-down), which is then kept if it does.
        if self.config.isolation_from_pod
            && self.mode != Isolation::Worker
            && self.server_may_declare()
        {
            self.switch_to(Isolation::Worker);
            // What applies if the server module fails before declaring.
            self.declared.set(Some(self.config.isolation));
        }
        self.warm_up_once();
        // The pod declared another isolation: warm that one up instead.
        if self.apply_declared() {
            self.warm_up_once();
        }
    }

    /// One load of the pod, under the same deadline as a request (top-level
    /// code may loop, or await an endless chain).
    fn warm_up_once(&mut self) {
        self.arm_deadline();
        self.out_of_memory.set(false);
        self.memory_high.set(false);
        let built = match self.mode {
            Isolation::Worker => self.ensure_reused(),
            Isolation::Request => self.warm_up_locked(),
            Isolation::Snapshot => self.ensure_snapshot(),
            Isolation::Context => Context::full(&self.runtime)
                .map_err(|e| self.engine_error(e))
                .and_then(|context| context.with(|ctx| self.instantiate(&ctx, false).map(drop))),
        };
        let drained = self.drain_jobs();
        self.disarm_deadline();
        if let Err(e) = built {
            tracing::error!("the pod's {SERVER_MODULE} does not load: {e}");
            self.reused = None;
            if matches!(e, JsError::Timeout(_) | JsError::OutOfMemory(_)) {
                self.rebuild();
            }
        }
        if !drained {
            self.rebuild();
        }
    }

    /// Starts the time limit of a request (or a warm-up): for its JavaScript
    /// (the interrupt handler) and for its SQL (`hbf:db`'s progress handler).
    fn arm_deadline(&self) {
        let deadline = (self.epoch.elapsed() + self.config.timeout).as_nanos() as u64;
        self.deadline.store(deadline.max(1), Ordering::Relaxed);
        host::set_sql_deadline(Some(Instant::now() + self.config.timeout));
    }

    fn disarm_deadline(&self) {
        self.deadline.store(0, Ordering::Relaxed);
        host::set_sql_deadline(None);
    }

    /// Runs the pod's handler for `request`.
    pub fn handle(&mut self, request: &JsRequest) -> std::result::Result<JsResponse, JsError> {
        // The last request's heap, unless `finish` put it back already.
        self.restore_snapshot();
        self.arm_deadline();
        self.out_of_memory.set(false);
        self.memory_high.set(false);
        set_request_id(request.id);
        let outcome = match self.mode {
            Isolation::Request => self.handle_locked(request),
            Isolation::Context => self.handle_fresh(request),
            Isolation::Worker => self.handle_reused(request),
            Isolation::Snapshot => self.handle_snapshot(request),
        };
        // The jobs the request left queued run now, under its deadline (the
        // locked-down context's reset ran them already), not in the next
        // request; an endless chain still queued at the deadline goes with
        // the runtime (the job queue is the runtime's).
        let drained = self.drain_jobs();
        let timed_out = self.timed_out();
        self.disarm_deadline();
        set_request_id(0);
        let outcome = outcome.map_err(|e| match e {
            _ if timed_out => JsError::Timeout(self.config.timeout),
            other => other,
        });
        let snapshot = self.mode == Isolation::Snapshot;
        match &outcome {
            Err(JsError::Internal(_)) => self.rebuild(),
            // The snapshot's heap is put back below, whatever state it is in.
            Err(JsError::Timeout(_) | JsError::OutOfMemory(_)) if !snapshot => self.rebuild(),
            _ if !drained && !snapshot => self.rebuild(),
            // The context may hold half-done state of the failed request.
            Err(_) if self.mode == Isolation::Worker => self.reused = None,
            _ => {}
        }
        self.apply_declared();
        outcome
    }

    /// Puts the heap back as the snapshot has it ([`Isolation::Snapshot`];
    /// nothing in the other modes). The next [`Self::handle`] does it first
    /// if this was not called: the pool calls it once the response is on
    /// its way, so the copy is not in the response's latency.
    pub fn finish(&mut self) {
        self.restore_snapshot();
    }

    /// The isolation in effect now.
    pub fn isolation(&self) -> Isolation {
        self.mode
    }

    /// Bytes of the warm heap that each request's restore copies back
    /// ([`Isolation::Snapshot`], once the snapshot is taken).
    pub fn snapshot_bytes(&self) -> Option<usize> {
        self.snapshot.as_ref().map(|s| s.heap_bytes())
    }

    /// Measures each restore of the snapshot from now on, or no more (a
    /// measured restore first compares the heap with the snapshot page by
    /// page: for benchmarks, not for serving); returns what the last measured
    /// one found.
    pub fn measure_restores(&mut self, on: bool) -> Option<RestoreStats> {
        let snapshot = self.snapshot.as_mut()?;
        snapshot.measure(on)
    }

    fn handle_fresh(&mut self, request: &JsRequest) -> std::result::Result<JsResponse, JsError> {
        let context = Context::full(&self.runtime).map_err(|e| self.engine_error(e))?;
        let result = context.with(|ctx| -> std::result::Result<JsResponse, JsError> {
            let (dispatch, namespace) = self.instantiate(&ctx, false)?;
            self.dispatch(&ctx, &dispatch, &namespace, request)
        });
        drop(context);
        result
    }

    fn handle_reused(&mut self, request: &JsRequest) -> std::result::Result<JsResponse, JsError> {
        self.ensure_reused()?;
        let reused = self.reused.as_ref().expect("ensured above");
        let context = reused.context.clone();
        let (dispatch, namespace) = (reused.dispatch.clone(), reused.namespace.clone());
        context.with(|ctx| {
            let dispatch = dispatch.restore(&ctx).map_err(|e| self.js_error(&ctx, e))?;
            let namespace = namespace
                .restore(&ctx)
                .map_err(|e| self.js_error(&ctx, e))?;
            self.dispatch(&ctx, &dispatch, &namespace, request)
        })
    }

    /// Builds the reused context unless one is ready and the pod's code has not
    /// changed since it was built.
    fn ensure_reused(&mut self) -> std::result::Result<(), JsError> {
        let generation = self.db.generation();
        if let Some(reused) = &mut self.reused {
            let modules = &reused.modules;
            if !still_current(&self.modules, modules, &mut reused.generation, generation)? {
                self.reused = None;
            }
        }
        if self.reused.is_none() {
            let context = Context::full(&self.runtime).map_err(|e| self.engine_error(e))?;
            let modules = self
                .loaded_modules()
                .map_err(|e| JsError::Internal(e.to_string()))?;
            let built = context.with(|ctx| {
                let (dispatch, namespace) = self.instantiate(&ctx, true)?;
                Ok::<_, JsError>((
                    Persistent::save(&ctx, dispatch),
                    Persistent::save(&ctx, namespace),
                    modules,
                ))
            })?;
            self.reused = Some(Reused {
                context,
                dispatch: built.0,
                namespace: built.1,
                modules: built.2,
                generation,
            });
        }
        Ok(())
    }

    /// Runs the prelude and the pod's server module in `ctx`; returns the
    /// dispatcher and the server module's namespace. `kept`: the context
    /// serves many requests.
    fn instantiate<'js>(
        &self,
        ctx: &Ctx<'js>,
        kept: bool,
    ) -> std::result::Result<(Function<'js>, Object<'js>), JsError> {
        let err = |e| self.js_error(ctx, e);
        let prelude = self.evaluate_prelude(ctx, kept)?;
        let dispatch: Function = prelude.get("dispatch").map_err(err)?;
        let namespace = self.evaluate_server(ctx, self.modules.server_module())?;
        Ok((dispatch, namespace))
    }

    /// Installs the native bindings and runs the prelude; returns its module.
    /// In a context that will serve many requests (`kept`) it also keeps the
    /// shapes of the per-request objects (`keepShapes` in the prelude).
    fn evaluate_prelude<'js>(
        &self,
        ctx: &Ctx<'js>,
        kept: bool,
    ) -> std::result::Result<Module<'js, rquickjs::module::Evaluated>, JsError> {
        let err = |e| self.js_error(ctx, e);
        // A stale exception (the runtime keeps one pending exception, whatever
        // the context) must not be taken for this request's.
        let _ = ctx.catch();
        host::install_native(ctx).map_err(err)?;
        // SAFETY: the prelude's bytecode was compiled by this process, from the
        // source embedded in the binary, by this QuickJS build. QuickJS copies it.
        let prelude = unsafe { Module::load(ctx.clone(), &self.prelude_bytecode) }.map_err(err)?;
        let (prelude, promise) = prelude.eval().map_err(err)?;
        promise.finish::<()>().map_err(err)?;
        if kept {
            let keep: Function = prelude.get("keepShapes").map_err(err)?;
            keep.call::<_, ()>(()).map_err(err)?;
        }
        Ok(prelude)
    }

    /// Loads and runs the pod's server module under `name` (its path, or an
    /// instance name); returns its namespace.
    fn evaluate_server<'js>(
        &self,
        ctx: &Ctx<'js>,
        name: &str,
    ) -> std::result::Result<Object<'js>, JsError> {
        let err = |e| self.js_error(ctx, e);
        let _ = ctx.catch();
        let (server, _) = self
            .modules
            .load_module(ctx, name)
            .map_err(|e| self.load_error(ctx, e))?;
        let (server, promise) = server.eval().map_err(err)?;
        match self.settle::<()>(ctx, &promise) {
            Ok(()) => {}
            Err(JsError::NeverSettled) => {
                return Err(JsError::Exception {
                    message: format!("{SERVER_MODULE}: its top-level await never settled"),
                    stack: String::new(),
                })
            }
            Err(e) => return Err(e),
        }
        let namespace = server.namespace().map_err(err)?;
        self.note_declared(ctx, &namespace)?;
        Ok(namespace)
    }

    /// The pod modules a context depends on, for change detection: all modules
    /// of the pod under `hbf/` that the loader has compiled.
    fn loaded_modules(&self) -> Result<Vec<(String, [u8; 32])>> {
        self.modules.module_files()
    }

    fn dispatch<'js>(
        &self,
        ctx: &Ctx<'js>,
        dispatch: &Function<'js>,
        namespace: &Object<'js>,
        request: &JsRequest,
    ) -> std::result::Result<JsResponse, JsError> {
        let err = |e| self.js_error(ctx, e);
        let _ = ctx.catch();
        let args = dispatch_args(ctx, namespace, request).map_err(err)?;
        let result: Value = dispatch.call_arg(args).map_err(err)?;
        // A synchronous handler's response comes back at once; an async one's
        // as a promise, driven here until it settles.
        let out: Object = match result.try_into_promise() {
            Ok(promise) => self.settle(ctx, &promise)?,
            Err(other) => other.into_object().ok_or_else(|| {
                JsError::BadResponse("the dispatcher returned no response".into())
            })?,
        };
        response_from(ctx, &out).map_err(|e| match e {
            rquickjs::Error::Exception => self.js_error(ctx, e),
            other => JsError::BadResponse(other.to_string()),
        })
    }
}

/// The largest stack QuickJS may use (the worker threads have more).
const STACK_LIMIT: usize = 1 << 20;

/// Stack size of worker threads: QuickJS's limit plus room for Rust frames.
pub const WORKER_STACK: usize = 8 << 20;

fn set_request_id(id: u64) {
    host::set_request_id(id);
}

/// Whether code loaded as `modules`, last confirmed current at database
/// generation `*confirmed`, is still the pod's latest at `generation`
/// (confirmed again if so): the check of a kept context or snapshot before
/// each request, free while nothing was written.
fn still_current(
    pod: &PodModules,
    modules: &[(String, [u8; 32])],
    confirmed: &mut u64,
    generation: u64,
) -> std::result::Result<bool, JsError> {
    if *confirmed == generation {
        return Ok(true);
    }
    match pod.is_current(modules) {
        Ok(true) => {
            *confirmed = generation;
            Ok(true)
        }
        Ok(false) => Ok(false),
        Err(e) => Err(JsError::Internal(e.to_string())),
    }
}

//! One JavaScript engine: a QuickJS runtime owned by one worker thread, and how
//! it turns a request into a response.
//!
//! # Isolation
//!
//! Two modes, each owning its state ([`Mode`]); one request path through both
//! ([`Engine::handle`]): make sure the kept context is current, dispatch in it.
//!
//! * [`Isolation::Snapshot`] (the default) keeps one warm context per worker
//!   whose whole heap is saved once the pod has loaded and put back after every
//!   request (`engine/snapshot.rs`, over the region of `heap/`): nothing a
//!   request does to globals, built-ins or module state reaches the next, and
//!   nothing is frozen.
//! * [`Isolation::Worker`] keeps one context and one set of module instances
//!   per worker while the pod's code is unchanged: module state and globals
//!   persist between the requests one worker serves (as on edge runtimes that
//!   reuse isolates). `DOCS/PERF.md` has the measured costs.
//!
//! A pod chooses its isolation by exporting it from `hbf/server.js`
//! (`export const isolation = 'worker'`: SPEC 4's "unless the pod opts into
//! sharing"), unless the operator chose one ([`EngineConfig::isolation_from_pod`]
//! false). The engine reads the export whenever it evaluates the server module,
//! so an edit that adds or removes it takes effect from the next request.
//!
//! # Limits
//!
//! Each runtime has a memory limit and a maximum stack size; each request has
//! a CPU-time limit and a wall-clock one (`limits.rs`: waits count only
//! against the second), enforced by QuickJS's interrupt handler (it stops any
//! running JavaScript, even an infinite loop) and checked between promise jobs
//! (a chain that never yields to the host). A request that hits a limit fails
//! alone; in `worker` mode the runtime is rebuilt after anything that may have
//! left it in doubt (out of memory, an interrupted script, an engine error); in
//! snapshot mode putting the heap back is enough (but for an engine error).
//!
//! Here: the engine, its modes and the request path; in `engine/`:
//! `snapshot.rs` (the snapshot mode's state), `errors.rs` ([`JsError`] and
//! telling failures apart), `jobs.rs` (promise jobs under the deadline and the
//! memory limit) and `convert.rs` (the request in, the response out).

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use hbf_db::Database;
use rquickjs::{Context, Ctx, Function, Module, Object, Persistent, Runtime, Value};

use crate::bytecode::{self, Trusted};
use crate::host::{self, HostState};
use crate::limits::{Limits, Passed};
use crate::{loader, PodCode, Result};

mod convert;
mod errors;
mod jobs;
mod snapshot;

use convert::{dispatch_args, response_from};
pub use errors::JsError;
pub use snapshot::RestoreStats;
use snapshot::SnapshotMode;

/// The pod's server module, as messages name it: `hbf/server.js`, or the first
/// of [`crate::SERVER_MODULES`] that exists (`hbf/server.ts`...), which
/// [`PodCode::server_module`] finds.
pub const SERVER_MODULE: &str = "hbf/server.js";

/// How requests are isolated from each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Isolation {
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
            Isolation::Worker => "worker",
            Isolation::Snapshot => "snapshot",
        }
    }

    /// The mode named `name`, or why there is none: the two modes that were
    /// removed (`request`, `context`) are named with what replaces them.
    pub fn parse(name: &str) -> std::result::Result<Self, String> {
        match name {
            "snapshot" => Ok(Isolation::Snapshot),
            "worker" => Ok(Isolation::Worker),
            "request" | "context" => Err(format!(
                "isolation '{name}' was removed: use 'snapshot' (the default), which starts \
                 every request from the pod's warm heap, so nothing one request does reaches \
                 the next (the promise '{name}' made, and faster), or 'worker' to share module \
                 state between the requests of a worker"
            )),
            other => Err(format!(
                "unknown isolation '{}': use 'snapshot' (the default) or 'worker'",
                other.escape_debug()
            )),
        }
    }
}

/// Limits and settings of an engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub memory_limit_bytes: usize,
    /// The CPU time a request's JavaScript and SQL may use (`--js-timeout`).
    pub timeout: Duration,
    /// The wall-clock time a request may take, waits included
    /// (`--js-wall-timeout`).
    pub wall_timeout: Duration,
    /// How long a streamed response may go without sending a chunk once it
    /// runs past `wall_timeout` (`--js-stream-idle-timeout`).
    pub stream_idle_timeout: Duration,
    /// The isolation of a pod that declares none (or of every pod, when
    /// `isolation_from_pod` is false).
    pub isolation: Isolation,
    /// Whether the pod's `export const isolation` in `hbf/server.js` decides
    /// (false when the operator chose with `--isolation`).
    pub isolation_from_pod: bool,
    /// Outbound `fetch()`: the client (`None`: no network) and its bounds.
    pub fetch: crate::FetchConfig,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            memory_limit_bytes: 64 << 20,
            timeout: Duration::from_secs(5),
            wall_timeout: Duration::from_secs(30),
            stream_idle_timeout: Duration::from_secs(30),
            isolation: Isolation::Snapshot,
            isolation_from_pod: true,
            fetch: crate::FetchConfig {
                client: None,
                max_per_request: 50,
                max_body: 64 << 20,
            },
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

/// A response made by JavaScript, not yet validated as HTTP: the status is
/// whatever number the handler gave (`hbf_http` checks it), the headers as
/// the handler named them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JsResponse {
    pub status: f64,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The engine of one worker thread.
pub struct Engine {
    db: Database,
    code: PodCode,
    config: EngineConfig,
    /// What the server module last evaluated declares (when the pod decides):
    /// applied between requests.
    declared: Cell<Option<Isolation>>,
    /// Whether a promise job of the running request failed for want of
    /// memory ([`Self::run_job`]).
    out_of_memory: Cell<bool>,
    /// Whether the running request's heap was seen past three quarters of
    /// the memory limit while it ran a long chain of jobs ([`Self::sample_memory`]).
    memory_high: Cell<bool>,
    /// The running request's CPU-time and wall-clock limits.
    limits: Arc<Limits>,
    prelude: Trusted,
    /// The isolation in effect, with its runtime and kept context.
    mode: Mode,
}

/// The isolation in effect and what it owns. Each variant's fields drop in
/// order: the kept context (and every value saved from it) before the
/// runtime, the runtime before the region its heap lives in.
enum Mode {
    Worker {
        kept: Option<Kept>,
        runtime: Runtime,
    },
    Snapshot(SnapshotMode),
}

impl Mode {
    /// A new runtime for `isolation`, with nothing in it yet.
    fn new(isolation: Isolation, config: &EngineConfig) -> rquickjs::Result<Self> {
        Ok(match isolation {
            Isolation::Worker => Mode::Worker {
                kept: None,
                runtime: Runtime::new()?,
            },
            Isolation::Snapshot => Mode::Snapshot(SnapshotMode::new(config)?),
        })
    }

    fn isolation(&self) -> Isolation {
        match self {
            Mode::Worker { .. } => Isolation::Worker,
            Mode::Snapshot(_) => Isolation::Snapshot,
        }
    }

    fn runtime(&self) -> &Runtime {
        match self {
            Mode::Worker { runtime, .. } => runtime,
            Mode::Snapshot(snapshot) => snapshot.runtime(),
        }
    }

    fn kept(&mut self) -> Option<&mut Kept> {
        match self {
            Mode::Worker { kept, .. } => kept.as_mut(),
            Mode::Snapshot(snapshot) => snapshot.kept(),
        }
    }
}

/// A context kept for the next request, with what it was built from.
struct Kept {
    dispatch: Persistent<Function<'static>>,
    namespace: Persistent<Object<'static>>,
    /// The prelude's timer queue (`timers` in `js/prelude.js`).
    timers: Persistent<Object<'static>>,
    context: Context,
    modules: Vec<(String, [u8; 32])>,
    /// The database generation at which `modules` were last confirmed current.
    generation: u64,
}

/// The source of the prelude.
const PRELUDE_SOURCE: &str = include_str!("../js/prelude.js");
const PRELUDE_NAME: &str = "hbf:prelude";

impl Engine {
    /// Builds an engine for `db`'s pod on the current thread.
    pub fn new(db: Database, code: PodCode, config: EngineConfig) -> Result<Self> {
        let prelude = bytecode::embedded(PRELUDE_NAME, PRELUDE_SOURCE)?;
        let user = db.user_db()?;
        // A query's rows must fit in the JavaScript heap they are copied into.
        user.set_limits(hbf_db::SqlLimits {
            max_value_bytes: config.memory_limit_bytes / 2,
            max_result_bytes: config.memory_limit_bytes,
            ..hbf_db::SqlLimits::default()
        })?;
        host::set_state(Rc::new(HostState::new(db.clone(), user)?));
        host::fetch::configure(crate::FetchConfig {
            // A body read into the heap counts against its memory limit.
            max_body: config.fetch.max_body.min(config.memory_limit_bytes),
            ..config.fetch.clone()
        });
        let mode = Mode::new(config.isolation, &config)?;
        let engine = Self {
            db,
            code,
            declared: Cell::new(None),
            out_of_memory: Cell::new(false),
            memory_high: Cell::new(false),
            config,
            limits: Arc::new(Limits::new()),
            prelude,
            mode,
        };
        engine.configure_runtime();
        Ok(engine)
    }

    fn runtime(&self) -> &Runtime {
        self.mode.runtime()
    }

    fn configure_runtime(&self) {
        let runtime = self.runtime();
        runtime.set_memory_limit(self.config.memory_limit_bytes);
        runtime.set_max_stack_size(STACK_LIMIT);
        runtime.set_gc_threshold(match self.mode {
            // Until the snapshot sets its own (`SnapshotMode::take`).
            Mode::Snapshot(_) => self.config.memory_limit_bytes / 2,
            Mode::Worker { .. } => 4 << 20,
        });
        let limits = Arc::clone(&self.limits);
        runtime.set_interrupt_handler(Some(Box::new(move || limits.any_passed())));
        loader::install(runtime, &self.code);
    }

    /// Replaces the runtime with a new one for `isolation` (after an error
    /// that may have left it in doubt, or to switch modes).
    fn switch_to(&mut self, isolation: Isolation) {
        match Mode::new(isolation, &self.config) {
            Ok(mode) => {
                self.mode = mode;
                self.configure_runtime();
            }
            Err(e) => tracing::error!("cannot rebuild the JavaScript runtime: {e}"),
        }
    }

    /// Replaces the runtime (after an error that may have left it in doubt).
    fn rebuild(&mut self) {
        self.switch_to(self.mode.isolation());
    }

    /// The error for the limit the running request went past, if any.
    fn limit_passed(&self) -> Option<JsError> {
        self.limits.passed().map(|passed| match passed {
            Passed::Cpu => JsError::Timeout(self.config.timeout),
            Passed::Wall => JsError::WallTimeout(self.config.wall_timeout),
        })
    }

    /// Time until the running request's wall-clock deadline (zero when past
    /// it).
    fn time_left(&self) -> Duration {
        self.limits.wall_left()
    }

    /// Loads the pod's modules once, so that the first request finds them
    /// compiled and its context ready. A pod that fails to load is logged
    /// here, and answers 500 until it is fixed.
    pub fn warm_up(&mut self) {
        // A pod that may declare sharing is first loaded the cheap way (no
        // snapshot), which is then kept if it does.
        if self.config.isolation_from_pod
            && self.mode.isolation() != Isolation::Worker
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
        let built = self.ensure_kept();
        let drained = self.drain_jobs();
        self.disarm_deadline();
        if let Err(e) = &built {
            tracing::error!("the pod's {SERVER_MODULE} does not load: {e}");
        }
        if !drained
            || matches!(
                built,
                Err(JsError::Timeout(_) | JsError::WallTimeout(_) | JsError::OutOfMemory(_))
            )
        {
            self.rebuild();
        }
    }

    /// Starts the time limits of a request (or a warm-up): for its
    /// JavaScript (the interrupt handler), its SQL (`hbf:db`'s progress
    /// handler), host work and its waits.
    fn arm_deadline(&self) {
        self.limits
            .arm(self.config.timeout, self.config.wall_timeout);
        crate::limits::set_current(Some((
            Arc::clone(&self.limits),
            self.config.stream_idle_timeout,
        )));
        let wall = self.limits.wall_deadline();
        host::set_limits(
            wall,
            self.limits
                .cpu_until()
                .map(|until| (until, self.limits.cpu_check_from())),
        );
        crate::streaming::set_deadline(wall);
    }

    fn disarm_deadline(&self) {
        self.limits.disarm();
        crate::limits::set_current(None);
        host::set_limits(None, None);
        crate::streaming::set_deadline(None);
    }

    /// Runs the pod's handler for `request`.
    pub fn handle(&mut self, request: &JsRequest) -> std::result::Result<JsResponse, JsError> {
        // The last request's heap, unless `finish` put it back already.
        self.finish();
        self.arm_deadline();
        self.out_of_memory.set(false);
        self.memory_high.set(false);
        host::set_request_id(request.id);
        let outcome = self.run(request);
        // The jobs the request left queued run now, under its deadline, not in
        // the next request; an endless chain still queued at the deadline goes
        // with the runtime (the job queue is the runtime's) or the snapshot.
        let drained = self.drain_jobs();
        let passed = self.limit_passed();
        self.disarm_deadline();
        host::set_request_id(0);
        host::end_request();
        let outcome = outcome.map_err(|e| passed.unwrap_or(e));
        match (&mut self.mode, &outcome) {
            (_, Err(JsError::Internal(_))) => self.rebuild(),
            // The snapshot's heap is put back, whatever state it is in.
            (Mode::Snapshot(_), _) => {}
            (
                Mode::Worker { .. },
                Err(JsError::Timeout(_) | JsError::WallTimeout(_) | JsError::OutOfMemory(_)),
            ) => self.rebuild(),
            (Mode::Worker { .. }, _) if !drained => self.rebuild(),
            // The context may hold half-done state of the failed request.
            (Mode::Worker { kept, .. }, Err(_)) => *kept = None,
            (Mode::Worker { .. }, Ok(_)) => {}
        }
        self.apply_declared();
        outcome
    }

    /// The request path of both modes: the kept context, made current, runs
    /// the dispatcher.
    fn run(&mut self, request: &JsRequest) -> std::result::Result<JsResponse, JsError> {
        self.ensure_kept()?;
        if let Mode::Snapshot(snapshot) = &mut self.mode {
            snapshot.dirty();
        }
        let kept = self.mode.kept().expect("ensured above");
        let context = kept.context.clone();
        let (dispatch, namespace) = (kept.dispatch.clone(), kept.namespace.clone());
        let timers = kept.timers.clone();
        let worker = matches!(self.mode, Mode::Worker { .. });
        let result = context.with(|ctx| {
            let err = |e| self.js_error(&ctx, e);
            let dispatch = dispatch.restore(&ctx).map_err(err)?;
            let namespace = namespace.restore(&ctx).map_err(err)?;
            let timers = timers.restore(&ctx).map_err(err)?;
            let result = self.dispatch(&ctx, &dispatch, &namespace, &timers, request);
            // What the request left in the timer queue goes with it (the
            // snapshot's restore does this in that mode).
            if worker {
                let _ = self.clear_timers(&ctx, &timers);
            }
            result
        });
        // No handle of ours may keep the context alive past a restore.
        drop(context);
        result
    }

    /// Puts the heap back as the snapshot has it (snapshot mode; nothing in
    /// `worker` mode). The next [`Self::handle`] does it first if this was
    /// not called: the pool calls it once the response is on its way, so the
    /// copy is not in the response's latency.
    pub fn finish(&mut self) {
        if let Mode::Snapshot(snapshot) = &mut self.mode {
            snapshot.restore();
        }
    }

    /// The isolation in effect now.
    pub fn isolation(&self) -> Isolation {
        self.mode.isolation()
    }

    /// Bytes of the warm heap that each request's restore copies back
    /// (snapshot mode, once the snapshot is taken).
    pub fn snapshot_bytes(&self) -> Option<usize> {
        match &self.mode {
            Mode::Snapshot(snapshot) => snapshot.heap_bytes(),
            Mode::Worker { .. } => None,
        }
    }

    /// Measures each restore of the snapshot from now on, or no more (a
    /// measured restore first compares the heap with the snapshot page by
    /// page: for benchmarks, not for serving); returns what the last measured
    /// one found.
    pub fn measure_restores(&mut self, on: bool) -> Option<RestoreStats> {
        match &mut self.mode {
            Mode::Snapshot(snapshot) => snapshot.measure(on),
            Mode::Worker { .. } => None,
        }
    }

    /// Builds the kept context (and in snapshot mode, saves the heap) unless
    /// one is ready and the pod's code has not changed since it was built.
    fn ensure_kept(&mut self) -> std::result::Result<(), JsError> {
        let generation = self.db.generation();
        if let Some(kept) = self.mode.kept() {
            if confirmed_current(&self.code, kept, generation)? {
                return Ok(());
            }
        }
        match &mut self.mode {
            Mode::Worker { kept, .. } => *kept = None,
            Mode::Snapshot(snapshot) => {
                // A fresh region: the old one holds the old code's heap
                // (unless nothing ran in it yet, as at start).
                if !snapshot.unused() {
                    self.switch_to(Isolation::Snapshot);
                }
            }
        }
        let snapshot = matches!(self.mode, Mode::Snapshot(_));
        if snapshot {
            host::start_pinning();
        }
        let built = self.build_kept(generation, snapshot);
        let pins = if snapshot {
            host::stop_pinning()
        } else {
            Vec::new()
        };
        let kept = built?;
        match &mut self.mode {
            Mode::Worker { kept: slot, .. } => *slot = Some(kept),
            Mode::Snapshot(_) => {
                if !self.drain_jobs() {
                    return Err(self
                        .limit_passed()
                        .unwrap_or(JsError::Timeout(self.config.timeout)));
                }
                let Mode::Snapshot(snapshot) = &mut self.mode else {
                    unreachable!("matched above")
                };
                snapshot.take(kept, pins);
            }
        }
        Ok(())
    }

    /// A new context with the prelude and the pod's server module evaluated
    /// in it. For a snapshot (`warm`), what a request would otherwise load on
    /// first use is loaded now: the Web APIs and every native host module.
    fn build_kept(&self, generation: u64, warm: bool) -> std::result::Result<Kept, JsError> {
        let modules = self
            .code
            .module_files()
            .map_err(|e| JsError::Internal(e.to_string()))?;
        let context = Context::full(self.runtime()).map_err(|e| self.engine_error(e))?;
        let (dispatch, namespace, timers) = context.with(|ctx| {
            let err = |e| self.js_error(&ctx, e);
            let prelude = self.evaluate_prelude(&ctx)?;
            let dispatch: Function = prelude.get("dispatch").map_err(err)?;
            let timers: Object = prelude.get("timers").map_err(err)?;
            if warm {
                let warm: Function = prelude.get("warmWebApis").map_err(err)?;
                warm.call::<_, ()>(()).map_err(err)?;
            }
            let namespace = self.evaluate_server(&ctx, &timers)?;
            // Timers the module's top-level code left are not the first
            // request's.
            self.clear_timers(&ctx, &timers)?;
            host::end_request();
            if warm {
                for name in host::NATIVE_MODULES {
                    let promise = Module::import(&ctx, name).map_err(err)?;
                    self.settle::<Object>(&ctx, &promise, None)?;
                }
            }
            Ok::<_, JsError>((
                Persistent::save(&ctx, dispatch),
                Persistent::save(&ctx, namespace),
                Persistent::save(&ctx, timers),
            ))
        })?;
        Ok(Kept {
            dispatch,
            namespace,
            timers,
            context,
            modules,
            generation,
        })
    }

    /// Installs the native bindings and runs the prelude; returns its module.
    /// The context serves many requests, so it also keeps the shapes of the
    /// per-request objects (`keepShapes` in the prelude).
    fn evaluate_prelude<'js>(
        &self,
        ctx: &Ctx<'js>,
    ) -> std::result::Result<Module<'js, rquickjs::module::Evaluated>, JsError> {
        let err = |e| self.js_error(ctx, e);
        // A stale exception (the runtime keeps one pending exception, whatever
        // the context) must not be taken for this request's.
        let _ = ctx.catch();
        host::install_native(ctx).map_err(err)?;
        let prelude = self.prelude.load(ctx).map_err(err)?;
        let (prelude, promise) = prelude.eval().map_err(err)?;
        promise.finish::<()>().map_err(err)?;
        let keep: Function = prelude.get("keepShapes").map_err(err)?;
        keep.call::<_, ()>(()).map_err(err)?;
        Ok(prelude)
    }

    /// Loads and runs the pod's server module; returns its namespace.
    fn evaluate_server<'js>(
        &self,
        ctx: &Ctx<'js>,
        timers: &Object<'js>,
    ) -> std::result::Result<Object<'js>, JsError> {
        let err = |e| self.js_error(ctx, e);
        let _ = ctx.catch();
        let server = loader::load_module(ctx, &self.code, self.code.server_module())
            .map_err(|e| self.load_error(e))?;
        let (server, promise) = server.eval().map_err(err)?;
        match self.settle::<()>(ctx, &promise, Some(timers)) {
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

    fn dispatch<'js>(
        &self,
        ctx: &Ctx<'js>,
        dispatch: &Function<'js>,
        namespace: &Object<'js>,
        timers: &Object<'js>,
        request: &JsRequest,
    ) -> std::result::Result<JsResponse, JsError> {
        let err = |e| self.js_error(ctx, e);
        let _ = ctx.catch();
        let args = dispatch_args(ctx, namespace, request).map_err(err)?;
        let result: Value = dispatch.call_arg(args).map_err(err)?;
        // A synchronous handler's response comes back at once; an async one's
        // as a promise, driven here until it settles.
        let out: Object = match result.try_into_promise() {
            Ok(promise) => self.settle(ctx, &promise, Some(timers))?,
            Err(other) => other.into_object().ok_or_else(|| {
                JsError::BadResponse("the dispatcher returned no response".into())
            })?,
        };
        response_from(ctx, &out).map_err(|e| match e {
            rquickjs::Error::Exception => self.js_error(ctx, e),
            other => JsError::BadResponse(other.to_string()),
        })
    }

    /// False when `hbf/server.js` cannot declare an isolation: its source
    /// does not even contain the word.
    fn server_may_declare(&self) -> bool {
        self.db
            .fs()
            .read(self.code.server_module())
            .map(|source| source.windows(9).any(|w| w == b"isolation"))
            .unwrap_or(true)
    }

    /// Switches to the isolation the pod's server module declared, if that is
    /// not the one in effect; true if it switched. Runs between requests.
    fn apply_declared(&mut self) -> bool {
        let Some(wanted) = self.declared.take() else {
            return false;
        };
        if wanted == self.mode.isolation() {
            return false;
        }
        tracing::info!(from = ?self.mode.isolation(), to = ?wanted, "the pod's {SERVER_MODULE} declares its isolation");
        self.switch_to(wanted);
        true
    }

    /// Reads the server module's `export const isolation` (when the pod
    /// decides) and keeps it for [`Self::apply_declared`].
    fn note_declared<'js>(
        &self,
        ctx: &Ctx<'js>,
        namespace: &Object<'js>,
    ) -> std::result::Result<(), JsError> {
        if !self.config.isolation_from_pod {
            return Ok(());
        }
        let value: Value = namespace
            .get("isolation")
            .map_err(|e| self.js_error(ctx, e))?;
        let declared = if value.is_undefined() {
            self.config.isolation
        } else {
            let text = value.as_string().and_then(|s| s.to_string().ok());
            let parsed = match &text {
                Some(text) => Isolation::parse(text),
                None => Err(format!(
                    "it must be 'snapshot' or 'worker', not a value of type {}",
                    value.type_name()
                )),
            };
            parsed.map_err(|why| JsError::Exception {
                message: format!("{SERVER_MODULE}: `export const isolation`: {why}"),
                stack: String::new(),
            })?
        };
        self.declared.set(Some(declared));
        Ok(())
    }
}

/// The largest stack QuickJS may use (the worker threads have more).
const STACK_LIMIT: usize = 1 << 20;

/// Stack size of worker threads: QuickJS's limit plus room for Rust frames.
pub const WORKER_STACK: usize = 8 << 20;

/// Whether `kept`'s code, last confirmed current at database generation
/// `kept.generation`, is still the pod's latest at `generation` (confirmed
/// again if so): the check before each request, free while nothing was
/// written.
fn confirmed_current(
    pod: &PodCode,
    kept: &mut Kept,
    generation: u64,
) -> std::result::Result<bool, JsError> {
    if kept.generation == generation {
        return Ok(true);
    }
    match pod.is_current(&kept.modules) {
        Ok(true) => {
            kept.generation = generation;
            Ok(true)
        }
        Ok(false) => Ok(false),
        Err(e) => Err(JsError::Internal(e.to_string())),
    }
}

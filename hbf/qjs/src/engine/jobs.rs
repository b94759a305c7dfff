//! Promise jobs under the request's deadline and memory limit: driving a
//! handler's promise, running what a request left queued, and telling an
//! endless chain's end (the deadline, memory) from a promise that can never
//! settle.

use std::time::{Duration, Instant};

use rquickjs::function::This;
use rquickjs::{Ctx, Function, Object};

use super::{Engine, JsError};
use crate::compile::describe;
use crate::host;

/// What a wait for timers and fetches ended with.
enum Waited {
    /// The span passed (a timer is due, or the deadline).
    Span,
    Answer(u32, Result<hbf_net::Inbound, hbf_net::Error>),
    ClientGone,
}

/// How often [`Engine::sample_memory`] looks at the heap, in promise jobs.
const MEMORY_SAMPLE_JOBS: u32 = 4096;

/// How often a wait for a timer looks whether the client went away.
const GONE_POLL: Duration = Duration::from_millis(20);

impl Engine {
    /// Runs promise jobs until `promise` settles, the job queue runs dry
    /// with no timer left ([`JsError::NeverSettled`]) or the deadline passes
    /// ([`JsError::Timeout`]). When the jobs run dry and a timer of the
    /// prelude's queue (`timers`) is pending, it waits for the earliest (up
    /// to the deadline) and fires it; its jobs run before the next timer.
    ///
    /// rquickjs's `Promise::finish` would run jobs for as long as there are
    /// any: QuickJS's interrupt handler stops the job that is running at the
    /// deadline, and then only one job in 10,000 calls (its interrupt counter),
    /// so a chain that queues two jobs for each one (`fanOut`) never ended,
    /// and one that an interrupted job broke off left its promise pending
    /// forever (QuickJS-NG rejects nothing on an uncatchable error).
    pub(super) fn settle<'js, T: rquickjs::FromJs<'js>>(
        &self,
        ctx: &Ctx<'js>,
        promise: &rquickjs::Promise<'js>,
        timers: Option<&Object<'js>>,
    ) -> std::result::Result<T, JsError> {
        let mut jobs = 0u32;
        loop {
            if let Some(result) = promise.result::<T>() {
                return result.map_err(|e| self.js_error(ctx, e));
            }
            if let Some(passed) = self.limit_passed() {
                let _ = ctx.catch();
                return Err(passed);
            }
            jobs = jobs.wrapping_add(1);
            if jobs.is_multiple_of(MEMORY_SAMPLE_JOBS) {
                self.sample_memory(ctx);
            }
            if self.run_job(ctx) {
                continue;
            }
            if let Some(timers) = timers {
                if self.fire_timer(ctx, timers)? {
                    continue;
                }
            }
            {
                return Err(if let Some(passed) = self.limit_passed() {
                    passed
                } else if self.out_of_memory.get() || self.memory_high.get() {
                    JsError::OutOfMemory(self.config.memory_limit_bytes >> 20)
                } else {
                    JsError::NeverSettled
                });
            }
        }
    }

    /// Waits for what the request waits on: the earliest pending timer
    /// (never past the deadline), which it fires, or the answer of one of its
    /// outbound fetches, which it hands to `timers.fetchDone`; false when
    /// there is neither.
    fn fire_timer<'js>(
        &self,
        ctx: &Ctx<'js>,
        timers: &Object<'js>,
    ) -> std::result::Result<bool, JsError> {
        let err = |e| self.js_error(ctx, e);
        if let Some((id, answer)) = host::fetch::next_answer(Duration::ZERO) {
            return self.deliver(ctx, timers, id, answer).map(|()| true);
        }
        let next: Function = timers.get("next").map_err(err)?;
        let wait: f64 = next.call((This(timers.clone()),)).map_err(err)?;
        let timer = !(wait.is_nan() || wait < 0.0);
        let fetching = host::fetch::under_way() > 0;
        if !timer && !fetching {
            return Ok(false);
        }
        let wait = if timer {
            Duration::from_secs_f64(wait.min(1e9) / 1000.0)
        } else {
            Duration::MAX
        };
        let left = self.time_left();
        match self.wait_unless_gone(wait.min(left), fetching) {
            Waited::Answer(id, answer) => {
                return self.deliver(ctx, timers, id, answer).map(|()| true)
            }
            Waited::ClientGone => {
                // The first time, `request.signal` aborts and what that queued
                // runs; if the handler waits on after it, the request ends.
                let gone: Function = timers.get("clientGone").map_err(err)?;
                return if gone.call((This(timers.clone()),)).map_err(err)? {
                    Ok(true)
                } else {
                    Err(JsError::ClientGone)
                };
            }
            Waited::Span => {}
        }
        if wait > left {
            return Err(JsError::WallTimeout(self.config.wall_timeout));
        }
        let fire: Function = timers.get("fire").map_err(err)?;
        fire.call::<_, bool>((This(timers.clone()),)).map_err(err)?;
        Ok(true)
    }

    /// Hands a fetch's answer to the JavaScript that waits for it.
    fn deliver<'js>(
        &self,
        ctx: &Ctx<'js>,
        timers: &Object<'js>,
        id: u32,
        answer: Result<hbf_net::Inbound, hbf_net::Error>,
    ) -> std::result::Result<(), JsError> {
        let err = |e| self.js_error(ctx, e);
        let (ok, value) = host::fetch::to_js(ctx, answer).map_err(err)?;
        let done: Function = timers.get("fetchDone").map_err(err)?;
        done.call::<_, ()>((This(timers.clone()), id, ok, value))
            .map_err(err)
    }

    /// Waits for `span`, for a fetch's answer (when `fetching`), or until
    /// the client goes away (looked at every [`GONE_POLL`]), whichever
    /// comes first.
    fn wait_unless_gone(&self, span: Duration, fetching: bool) -> Waited {
        let until = Instant::now().checked_add(span);
        loop {
            if crate::streaming::client_gone() {
                return Waited::ClientGone;
            }
            let now = Instant::now();
            let slice = match until {
                Some(until) if now >= until => return Waited::Span,
                Some(until) => (until - now).min(GONE_POLL),
                None => GONE_POLL,
            };
            if fetching {
                if let Some((id, answer)) = host::fetch::next_answer(slice) {
                    return Waited::Answer(id, answer);
                }
            } else {
                std::thread::sleep(slice);
            }
        }
    }

    /// Drops every pending timer.
    pub(super) fn clear_timers<'js>(
        &self,
        ctx: &Ctx<'js>,
        timers: &Object<'js>,
    ) -> std::result::Result<(), JsError> {
        let err = |e| self.js_error(ctx, e);
        let clear: Function = timers.get("clear").map_err(err)?;
        clear.call::<_, ()>((This(timers.clone()),)).map_err(err)
    }

    /// Notes whether the heap is past three quarters of the memory limit
    /// (`memory_high`). A chain that runs out of memory can also break off
    /// without any job failing (QuickJS-NG drops a job whose queue entry it
    /// cannot allocate, and throws `null` when it cannot even make the
    /// out-of-memory error), and by the time the queue runs dry the chain's
    /// memory is free again: so long chains are sampled while they run. It
    /// walks the heap, hence only every [`MEMORY_SAMPLE_JOBS`] jobs (an
    /// ordinary request runs a few dozen).
    pub(super) fn sample_memory(&self, ctx: &Ctx<'_>) {
        let mut usage = std::mem::MaybeUninit::<rquickjs::qjs::JSMemoryUsage>::zeroed();
        // SAFETY: the runtime's lock is held (see `run_job`), and
        // JS_ComputeMemoryUsage only reads the runtime and fills `usage`, all
        // of whose fields are plain integers (zeroed is a valid value).
        let usage = unsafe {
            rquickjs::qjs::JS_ComputeMemoryUsage(
                rquickjs::qjs::JS_GetRuntime(ctx.as_raw().as_ptr()),
                usage.as_mut_ptr(),
            );
            usage.assume_init()
        };
        if usage.malloc_size as usize > self.config.memory_limit_bytes / 4 * 3 {
            self.memory_high.set(true);
        }
    }

    /// Runs one pending promise job; false if there was none. A job fails
    /// (rather than rejecting a promise) only when QuickJS could not go on:
    /// interrupted at the deadline, or out of memory. rquickjs's
    /// `Ctx::execute_pending_job` discards the failed job's exception, and with
    /// it the reason an endless chain broke off (memory, long before the
    /// deadline: `Promise.resolve().then(spin)` keeps every link pending), so
    /// this calls QuickJS directly and notes an out-of-memory failure.
    pub(super) fn run_job(&self, ctx: &Ctx<'_>) -> bool {
        let mut job_ctx = std::ptr::null_mut();
        // SAFETY: `ctx` is only handed out inside `Context::with`, which holds
        // the runtime's lock, so no other call into this runtime is running;
        // JS_ExecutePendingJob runs one job of `ctx`'s runtime and, when the
        // job threw, stores the (borrowed) context it ran in.
        let ran = unsafe {
            rquickjs::qjs::JS_ExecutePendingJob(
                rquickjs::qjs::JS_GetRuntime(ctx.as_raw().as_ptr()),
                &mut job_ctx,
            )
        };
        if ran < 0 {
            if let Some(job_ctx) = std::ptr::NonNull::new(job_ctx) {
                // SAFETY: a live context of this runtime, whose lock is held
                // (above); `from_raw` takes a reference of its own, released
                // when `job_ctx` drops at the end of this block.
                let job_ctx = unsafe { Ctx::from_raw(job_ctx) };
                // The exception must be taken, or it would pass for the next
                // call's. QuickJS throws `null` when it runs out of memory
                // while making the out-of-memory error.
                let thrown = job_ctx.catch();
                let (_, message, _) = describe(&thrown);
                if thrown.is_null() || message.contains("out of memory") {
                    self.out_of_memory.set(true);
                }
            }
        }
        ran != 0
    }

    /// Runs the promise jobs a request left queued, under its deadline; false
    /// if some are still queued at the deadline.
    pub(super) fn drain_jobs(&self) -> bool {
        while self.runtime().is_job_pending() {
            if self.limits.any_passed() {
                return false;
            }
            // A leftover job that throws concerns a request already answered.
            let _ = self.runtime().execute_pending_job();
        }
        true
    }
}

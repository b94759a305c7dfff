//! [`Isolation::Request`]: the worker's kept, locked-down context (the
//! prelude's `lockdown()`), fresh module instances in it for every request,
//! the reset after each, and when the context is replaced.
//!
//! [`Isolation::Request`]: super::Isolation::Request

use rquickjs::object::Filter;
use rquickjs::{Context, Ctx, Function, Persistent};

use super::{Engine, JsError, JsRequest, JsResponse, REQUESTS_PER_CONTEXT};
use crate::instances::instance_name;

/// A locked-down context is also replaced once the module code loaded into it
/// exceeds this fraction of the memory limit (a pod with large modules).
const MODULE_BYTES_SHARE: usize = 16;

/// The locked-down context of `Isolation::Request`.
pub(super) struct Locked {
    context: Context,
    dispatch: Persistent<Function<'static>>,
    /// Deletes the globals a request added; false if it cannot.
    reset: Persistent<Function<'static>>,
    served: u32,
    /// [`PodModules::loaded_bytes`](crate::PodModules::loaded_bytes) when the
    /// context was built.
    loaded_bytes_at_start: usize,
}

impl Engine {
    /// `Isolation::Request`: fresh instances of the pod's modules in the kept
    /// context, then the reset.
    pub(super) fn handle_locked(
        &mut self,
        request: &JsRequest,
    ) -> std::result::Result<JsResponse, JsError> {
        self.in_locked(|engine, ctx, dispatch, server| {
            let namespace = engine.evaluate_server(ctx, server)?;
            engine.dispatch(ctx, dispatch, &namespace, request)
        })
    }

    /// Runs `step` with the next instance name of the pod's server module in the
    /// locked-down context (built first if needed), then resets the context and
    /// replaces it when it is spent. Requests and the warm-up both go through here.
    pub(super) fn in_locked<T>(
        &mut self,
        step: impl for<'js> FnOnce(
            &Self,
            &Ctx<'js>,
            &Function<'js>,
            &str,
        ) -> std::result::Result<T, JsError>,
    ) -> std::result::Result<T, JsError> {
        if self.locked.is_none() {
            self.locked = Some(self.lock_down()?);
        }
        let locked = self.locked.as_mut().expect("built above");
        locked.served += 1;
        // Instance names need only be unique within their context.
        let served = locked.served;
        let server = instance_name(self.modules.server_module(), u64::from(served));
        let (context, dispatch) = (locked.context.clone(), locked.dispatch.clone());
        let result = context.with(|ctx| {
            let dispatch = dispatch.restore(&ctx).map_err(|e| self.js_error(&ctx, e))?;
            step(self, &ctx, &dispatch, &server)
        });
        // No handle of ours may keep the context alive when it is replaced.
        drop(context);
        let clean = self.reset_locked();
        if !clean || served >= REQUESTS_PER_CONTEXT || self.locked_is_full() {
            self.locked = None;
            // The old context's cycles (every module instance) go now, in one
            // pass, instead of inflating the next context's collections.
            self.runtime.run_gc();
        }
        // QuickJS resets the threshold to 1.5x the heap after any collection:
        // put it back, so no collection walks the kept context mid-request.
        self.runtime.set_gc_threshold(self.gc_threshold());
        result
    }

    /// True when the module instances accumulated in the locked-down context
    /// call for a new one.
    pub(super) fn locked_is_full(&self) -> bool {
        self.locked.as_ref().is_some_and(|locked| {
            self.modules.loaded_bytes() - locked.loaded_bytes_at_start
                > self.config.memory_limit_bytes / MODULE_BYTES_SHARE
        })
    }

    /// After a request in the locked-down context: runs the promise jobs it left
    /// queued (under its deadline, so they cannot run during the next request)
    /// and deletes the globals it added. False if the context must be replaced.
    pub(super) fn reset_locked(&mut self) -> bool {
        if !self.drain_jobs() {
            return false;
        }
        let Some(locked) = &self.locked else {
            return false;
        };
        let reset = locked.reset.clone();
        locked.context.with(|ctx| {
            // The global object's property count, taken here without making a
            // string of every key (the reset would spend most of its time on
            // `Reflect.ownKeys`): an unchanged count means nothing was added.
            let count = ctx
                .globals()
                .own_keys::<rquickjs::Atom>(Filter::new().string().symbol())
                .len();
            let ok = reset
                .restore(&ctx)
                .and_then(|reset| reset.call::<_, bool>((count as f64,)))
                .unwrap_or(false);
            let _ = ctx.catch();
            ok
        })
    }

    /// Builds the locked-down context: the prelude, then `lockdown()`.
    pub(super) fn lock_down(&self) -> std::result::Result<Locked, JsError> {
        let context = Context::full(&self.runtime).map_err(|e| self.engine_error(e))?;
        let (dispatch, reset) = context.with(|ctx| {
            let err = |e| self.js_error(&ctx, e);
            let prelude = self.evaluate_prelude(&ctx, true)?;
            let dispatch: Function = prelude.get("dispatch").map_err(err)?;
            let lockdown: Function = prelude.get("lockdown").map_err(err)?;
            let reset: Function = lockdown.call(()).map_err(err)?;
            Ok::<_, JsError>((
                Persistent::save(&ctx, dispatch),
                Persistent::save(&ctx, reset),
            ))
        })?;
        Ok(Locked {
            context,
            dispatch,
            reset,
            served: 0,
            loaded_bytes_at_start: self.modules.loaded_bytes(),
        })
    }

    /// Loads the pod once in the locked-down context (compiling what needs it).
    pub(super) fn warm_up_locked(&mut self) -> std::result::Result<(), JsError> {
        self.in_locked(|engine, ctx, _, server| engine.evaluate_server(ctx, server).map(drop))
    }
}

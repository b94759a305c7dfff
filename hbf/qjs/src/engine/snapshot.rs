//! [`Isolation::Snapshot`]: every request starts from a snapshot of a warm
//! heap.
//!
//! The runtime of this mode allocates everything from one [`Region`]
//! (`heap.rs`). After the warm-up (the prelude and the pod's modules
//! evaluated, the host modules imported, the jobs drained, a collection) the
//! region's bytes are saved; after every request they are copied back, so
//! the next request finds the heap exactly as the warm-up left it, whatever
//! the last one patched, added, queued or broke. Nothing is frozen and no
//! module is instantiated twice: isolation costs one copy of the warm heap.
//!
//! What lives outside the heap and is pointed at from it is made before the
//! save and never changes: the runtime's opaque data and interrupt handler,
//! the loader, the context, and the host functions, each pinned from Rust
//! ([`host::start_pinning`]) so that no request can have one freed. Requests
//! make no such thing: every host module is imported before the save, and
//! binary data crosses into the heap as copies (`TypedArray::new_copy`), not
//! as buffers owned by Rust. A change of the pod's code takes a new snapshot.

use rquickjs::{Context, Function, Module, Object, Persistent, Runtime};

use super::{still_current, Engine, EngineConfig, Isolation, JsError, JsRequest, JsResponse};
use crate::heap::{Region, Saved};
use crate::host;

/// Pages a request used above the snapshot that stay mapped for the next
/// one (beyond this, a restore gives them back to the kernel).
const KEEP_BYTES: usize = 8 << 20;

/// Garbage a request may make before QuickJS collects (every byte of it is
/// discarded by the restore anyway, so a collection only costs time).
const GC_ROOM: usize = 4 << 20;

/// A warm heap saved, and the values of it the engine uses.
pub(super) struct Snapshot {
    // Field order: the values and the context go before the runtime.
    dispatch: Persistent<Function<'static>>,
    namespace: Persistent<Object<'static>>,
    /// Host functions, kept alive from here (see the module's doc).
    _pins: Vec<Persistent<Function<'static>>>,
    context: Context,
    saved: Saved,
    modules: Vec<(String, [u8; 32])>,
    /// The database generation at which `modules` were last confirmed current.
    generation: u64,
    /// A request ran since the heap was last restored.
    dirty: bool,
    /// Whether restores are measured ([`Engine::measure_restores`]), and
    /// what the last one found.
    measure: Option<RestoreStats>,
}

/// What one restore copied and what the request before it had changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RestoreStats {
    /// Bytes copied back (the warm heap).
    pub heap_bytes: usize,
    /// Pages of the warm heap the request changed.
    pub pages_changed: usize,
    /// Pages the restore copied back (the changed ones, and those written
    /// lately that stay writable).
    pub pages_copied: usize,
    /// Bytes the request allocated above the warm heap.
    pub bytes_above: usize,
    /// The copy's duration, in nanoseconds.
    pub restore_nanos: u64,
}

impl Snapshot {
    /// Bytes copied by each restore.
    pub(super) fn heap_bytes(&self) -> usize {
        self.saved.len()
    }

    /// Starts or stops measuring restores; the last measured one's stats.
    pub(super) fn measure(&mut self, on: bool) -> Option<RestoreStats> {
        let last = self.measure;
        self.measure = on.then(|| last.unwrap_or_default());
        last
    }
}

/// A runtime for `mode`: over a fresh region in snapshot mode, an ordinary one
/// otherwise.
pub(super) fn runtime_for(
    mode: Isolation,
    config: &EngineConfig,
) -> rquickjs::Result<(Runtime, Option<Region>)> {
    if mode != Isolation::Snapshot {
        return Ok((Runtime::new()?, None));
    }
    // Room for the memory limit with the allocator's rounding (at most a
    // quarter) and blocks freed in one size class and wanted in another;
    // only touched pages cost memory.
    let capacity = config.memory_limit_bytes.saturating_mul(3) + (16 << 20);
    let region = Region::new(capacity).map_err(|e| {
        tracing::error!("cannot map a JavaScript heap region: {e}");
        rquickjs::Error::Allocation
    })?;
    let runtime = Runtime::new_with_alloc(region.allocator())?;
    Ok((runtime, Some(region)))
}

impl Engine {
    /// `Isolation::Snapshot`: the request runs in the snapshot's context; the
    /// heap is restored after it ([`Self::restore_snapshot`]).
    pub(super) fn handle_snapshot(
        &mut self,
        request: &JsRequest,
    ) -> std::result::Result<JsResponse, JsError> {
        self.ensure_snapshot()?;
        let snapshot = self.snapshot.as_mut().expect("ensured above");
        snapshot.dirty = true;
        let context = snapshot.context.clone();
        let (dispatch, namespace) = (snapshot.dispatch.clone(), snapshot.namespace.clone());
        let result = context.with(|ctx| {
            let dispatch = dispatch.restore(&ctx).map_err(|e| self.js_error(&ctx, e))?;
            let namespace = namespace
                .restore(&ctx)
                .map_err(|e| self.js_error(&ctx, e))?;
            self.dispatch(&ctx, &dispatch, &namespace, request)
        });
        drop(context);
        result
    }

    /// Whether the running request took more than half the memory limit
    /// above the snapshot (its region's bump pointer tells, even once the
    /// memory is free again): what a thrown `null` then means is that
    /// QuickJS could not even make the out-of-memory error.
    pub(super) fn snapshot_heap_grew(&self) -> bool {
        match (&self.snapshot, &self.region) {
            (Some(snapshot), Some(region)) => {
                region.used().saturating_sub(snapshot.saved.len())
                    > self.config.memory_limit_bytes / 2
            }
            _ => false,
        }
    }

    /// Puts the heap back as the snapshot has it, if a request ran since.
    /// Called between requests, when no value of the request is left.
    pub(super) fn restore_snapshot(&mut self) {
        let (Some(snapshot), Some(region)) = (self.snapshot.as_mut(), self.region.as_ref()) else {
            return;
        };
        if snapshot.dirty {
            let before = snapshot.measure.map(|_| {
                (
                    region.pages_changed(&snapshot.saved),
                    region.used().saturating_sub(snapshot.saved.len()),
                    std::time::Instant::now(),
                )
            });
            // SAFETY: between requests (the request's values were all dropped
            // in `handle_snapshot`; the response is plain data), on the
            // runtime's own thread; `saved` was taken from this region and
            // every value made before it is still as it was then (heap.rs's
            // invariant 3).
            let restored = unsafe { region.restore(&snapshot.saved, KEEP_BYTES) };
            snapshot.dirty = false;
            if let Some((pages_changed, bytes_above, start)) = before {
                let restore_nanos = start.elapsed().as_nanos() as u64;
                snapshot.measure = Some(RestoreStats {
                    heap_bytes: snapshot.saved.len(),
                    pages_changed,
                    pages_copied: restored.pages,
                    bytes_above,
                    restore_nanos,
                });
            }
        }
    }

    /// Takes a snapshot unless one is ready and the pod's code has not
    /// changed since it was taken.
    pub(super) fn ensure_snapshot(&mut self) -> std::result::Result<(), JsError> {
        let generation = self.db.generation();
        if let Some(snapshot) = &mut self.snapshot {
            let modules = &snapshot.modules;
            if !still_current(&self.modules, modules, &mut snapshot.generation, generation)? {
                self.snapshot = None;
            }
        }
        if self.snapshot.is_none() {
            self.snapshot = Some(self.take_snapshot(generation)?);
        }
        Ok(())
    }

    /// Warms a new runtime up and saves its heap.
    fn take_snapshot(&mut self, generation: u64) -> std::result::Result<Snapshot, JsError> {
        // A fresh region: the old one holds the old code's heap (unless
        // nothing ran in it yet, as at start).
        if !self.region_unused() {
            self.replace_runtime(Isolation::Snapshot)
                .map_err(|e| self.engine_error(e))?;
        }
        let modules = self
            .loaded_modules()
            .map_err(|e| JsError::Internal(e.to_string()))?;
        let context = Context::full(&self.runtime).map_err(|e| self.engine_error(e))?;
        host::start_pinning();
        let built = context.with(|ctx| {
            let err = |e| self.js_error(&ctx, e);
            let prelude = self.evaluate_prelude(&ctx, true)?;
            let dispatch: Function = prelude.get("dispatch").map_err(err)?;
            let warm: Function = prelude.get("warmWebApis").map_err(err)?;
            warm.call::<_, ()>(()).map_err(err)?;
            let namespace = self.evaluate_server(&ctx, self.modules.server_module())?;
            for name in host::NATIVE_MODULES {
                let promise = Module::import(&ctx, name).map_err(|e| self.js_error(&ctx, e))?;
                self.settle::<Object>(&ctx, &promise)?;
            }
            Ok::<_, JsError>((
                Persistent::save(&ctx, dispatch),
                Persistent::save(&ctx, namespace),
            ))
        });
        let pins = host::stop_pinning();
        let (dispatch, namespace) = built?;
        if !self.drain_jobs() {
            return Err(JsError::Timeout(self.config.timeout));
        }
        self.runtime.run_gc();
        let used = usize::try_from(self.runtime.memory_usage().malloc_size).unwrap_or(0);
        self.runtime.set_gc_threshold(used + GC_ROOM);
        let region = self
            .region
            .as_mut()
            .expect("a snapshot runtime has a region");
        let saved = region.save();
        tracing::debug!(
            heap = saved.len(),
            quickjs = used,
            pinned = pins.len(),
            "took a snapshot of the pod's warm heap"
        );
        Ok(Snapshot {
            dispatch,
            namespace,
            _pins: pins,
            context,
            saved,
            modules,
            generation,
            dirty: false,
            measure: None,
        })
    }
}

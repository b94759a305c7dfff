//! [`Isolation::Snapshot`](super::Isolation::Snapshot): every request
//! starts from a snapshot of a warm heap.
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
//! ([`crate::host::start_pinning`]) so that no request can have one freed. Requests
//! make no such thing: every host module is imported before the save, and
//! binary data crosses into the heap as copies (`TypedArray::new_copy`), not
//! as buffers owned by Rust. A change of the pod's code takes a new snapshot.

use rquickjs::{Function, Persistent, Runtime};

use super::{EngineConfig, Kept};
use crate::heap::{Region, Saved};

/// Pages a request used above the snapshot that stay mapped for the next
/// one (beyond this, a restore gives them back to the kernel).
const KEEP_BYTES: usize = 8 << 20;

/// Garbage a request may make before QuickJS collects (every byte of it is
/// discarded by the restore anyway, so a collection only costs time).
const GC_ROOM: usize = 4 << 20;

/// The snapshot mode's state: a runtime over a region, and once the pod has
/// loaded, the saved heap with the kept context in it.
pub(super) struct SnapshotMode {
    // Field order: the snapshot (its context and values) before the runtime,
    // the runtime before the region its heap lives in.
    snapshot: Option<Snapshot>,
    runtime: Runtime,
    region: Region,
    /// The region's bump pointer when its runtime was made: while it has not
    /// moved, nothing ran in the runtime, and a snapshot can be taken in it
    /// instead of a new one.
    fresh_at: usize,
}

/// A warm heap saved, and the context in it the engine uses.
struct Snapshot {
    kept: Kept,
    /// Host functions, kept alive from here (see the module's doc).
    _pins: Vec<Persistent<Function<'static>>>,
    saved: Saved,
    /// A request ran since the heap was last restored.
    dirty: bool,
    /// Whether restores are measured ([`SnapshotMode::measure`]), and
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

impl SnapshotMode {
    /// A runtime over a fresh region, with nothing in it yet.
    pub(super) fn new(config: &EngineConfig) -> rquickjs::Result<Self> {
        // Room for the memory limit with the allocator's rounding (at most a
        // quarter) and blocks freed in one size class and wanted in another;
        // only touched pages cost memory.
        let capacity = config.memory_limit_bytes.saturating_mul(3) + (16 << 20);
        let region = Region::new(capacity).map_err(|e| {
            tracing::error!("cannot map a JavaScript heap region: {e}");
            rquickjs::Error::Allocation
        })?;
        let runtime = Runtime::new_with_alloc(region.allocator())?;
        let fresh_at = region.used();
        Ok(Self {
            snapshot: None,
            runtime,
            region,
            fresh_at,
        })
    }

    pub(super) fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// The kept context, once the snapshot is taken.
    pub(super) fn kept(&mut self) -> Option<&mut Kept> {
        self.snapshot.as_mut().map(|s| &mut s.kept)
    }

    /// True while nothing has run in the runtime.
    pub(super) fn unused(&self) -> bool {
        self.snapshot.is_none() && self.region.used() == self.fresh_at
    }

    /// Notes that a request runs in the heap, to be put back after it.
    pub(super) fn dirty(&mut self) {
        if let Some(snapshot) = &mut self.snapshot {
            snapshot.dirty = true;
        }
    }

    /// Saves the heap, warmed up with `kept` (the pod loaded, its jobs run):
    /// a collection first, then the save, and the collector's threshold set
    /// so that requests rarely collect.
    pub(super) fn take(&mut self, kept: Kept, pins: Vec<Persistent<Function<'static>>>) {
        self.runtime.run_gc();
        let used = usize::try_from(self.runtime.memory_usage().malloc_size).unwrap_or(0);
        self.runtime.set_gc_threshold(used + GC_ROOM);
        let saved = self.region.save();
        tracing::debug!(
            heap = saved.len(),
            quickjs = used,
            pinned = pins.len(),
            "took a snapshot of the pod's warm heap"
        );
        self.snapshot = Some(Snapshot {
            kept,
            _pins: pins,
            saved,
            dirty: false,
            measure: None,
        });
    }

    /// Bytes copied by each restore, once the snapshot is taken.
    pub(super) fn heap_bytes(&self) -> Option<usize> {
        self.snapshot.as_ref().map(|s| s.saved.len())
    }

    /// Starts or stops measuring restores; the last measured one's stats.
    pub(super) fn measure(&mut self, on: bool) -> Option<RestoreStats> {
        let snapshot = self.snapshot.as_mut()?;
        let last = snapshot.measure;
        snapshot.measure = on.then(|| last.unwrap_or_default());
        last
    }

    /// Whether the running request took more than `limit` bytes above the
    /// snapshot at some point (the region's peak tells, even once the memory
    /// is free again): what a thrown `null` then means is that QuickJS could
    /// not even make the out-of-memory error.
    pub(super) fn grew_past(&self, limit: usize) -> bool {
        self.snapshot
            .as_ref()
            .is_some_and(|s| self.region.peak().saturating_sub(s.saved.len()) > limit)
    }

    /// Puts the heap back as the snapshot has it, if a request ran since.
    /// Called between requests, when no value of the request is left.
    pub(super) fn restore(&mut self) {
        let Some(snapshot) = self.snapshot.as_mut() else {
            return;
        };
        if !snapshot.dirty {
            return;
        }
        let region = &self.region;
        let before = snapshot.measure.map(|_| {
            (
                region.pages_changed(&snapshot.saved),
                region.used().saturating_sub(snapshot.saved.len()),
                std::time::Instant::now(),
            )
        });
        // SAFETY: between requests (the request's values were all dropped
        // in `Engine::run`; the response is plain data), on the runtime's
        // own thread; `saved` was taken from this region and every value
        // made before it is still as it was then (heap.rs's invariant 3).
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

//! Which pages of a saved region a request wrote: the pages not written for a
//! while are write-protected ("cold"); the first write to one faults, and
//! the `SIGSEGV` handler here makes it writable and marks it "hot" in the
//! region's page map. A restore copies back only the hot pages, so its cost
//! follows what requests write, not the size of the warm heap; the fault is
//! paid once per page that turns hot, not per request.
//!
//! The handler only reads atomics and calls `mprotect` (async-signal-safe).
//! A fault outside every guarded region goes to the handler that was there
//! before (Rust's stack-overflow report, a sanitizer's, or the default).

use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Regions guarded at once, at most (one per worker; more are not guarded,
/// and restored by copying them whole).
const SLOTS: usize = 256;

/// Per slot: the region's base address (0: free slot), its guarded length,
/// and its page map (one bit per page: set = writable).
struct Slot {
    base: AtomicUsize,
    len: AtomicUsize,
    map: AtomicPtr<AtomicU64>,
}

#[allow(clippy::declare_interior_mutable_const)] // the initialiser of the array
const EMPTY: Slot = Slot {
    base: AtomicUsize::new(0),
    len: AtomicUsize::new(0),
    map: AtomicPtr::new(std::ptr::null_mut()),
};

static SLOTS_IN_USE: [Slot; SLOTS] = [EMPTY; SLOTS];

/// The page size, for the handler (which may not call `sysconf`).
static PAGE: AtomicUsize = AtomicUsize::new(4096);

/// The `SIGSEGV` action before ours.
struct Previous(libc::sigaction);

/// The previous action, as the handler reads it: a leaked box, stored before
/// our handler is installed and never changed after.
static FALLBACK: AtomicPtr<Previous> = AtomicPtr::new(std::ptr::null_mut());

static INSTALLED: OnceLock<bool> = OnceLock::new();

/// Installs the handler (once per process); false if it could not be.
fn install() -> bool {
    *INSTALLED.get_or_init(|| {
        PAGE.store(super::page_size(), Ordering::Relaxed);
        // SAFETY: sigaction with a null new action only reads the current
        // one into a zeroed struct; ours is a valid SA_SIGINFO handler with
        // an empty mask, installed after the previous action is published.
        unsafe {
            let mut previous: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(libc::SIGSEGV, std::ptr::null(), &mut previous) != 0 {
                return false;
            }
            FALLBACK.store(
                Box::into_raw(Box::new(Previous(previous))),
                Ordering::Release,
            );
            let mut ours: libc::sigaction = std::mem::zeroed();
            ours.sa_sigaction = on_fault as *const () as usize;
            ours.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
            libc::sigemptyset(&mut ours.sa_mask);
            libc::sigaction(libc::SIGSEGV, &ours, std::ptr::null_mut()) == 0
        }
    })
}

extern "C" fn on_fault(
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    // SAFETY: the kernel passes a valid siginfo for SIGSEGV.
    let address = unsafe { (*info).si_addr() } as usize;
    let page = PAGE.load(Ordering::Relaxed);
    for slot in &SLOTS_IN_USE {
        let base = slot.base.load(Ordering::Acquire);
        if base == 0 || address.wrapping_sub(base) >= slot.len.load(Ordering::Acquire) {
            continue;
        }
        let index = (address - base) / page;
        let map = slot.map.load(Ordering::Acquire);
        // SAFETY: the map covers `len` bytes of pages and lives as long as
        // the slot is registered; the page is inside the region's mapping.
        let writable = unsafe {
            (*map.add(index / 64)).fetch_or(1 << (index % 64), Ordering::Relaxed);
            libc::mprotect(
                (base + index * page) as *mut libc::c_void,
                page,
                libc::PROT_READ | libc::PROT_WRITE,
            ) == 0
        };
        if writable {
            return;
        }
        // Returning would fault again forever: fail as without us.
        break;
    }
    // Not ours: what would have happened without us.
    let previous = FALLBACK.load(Ordering::Acquire);
    // SAFETY: set (to a leaked, never freed value) before our handler was
    // installed; the previous handler is called as its flags say.
    unsafe {
        let action = &(*previous).0;
        match action.sa_sigaction {
            libc::SIG_IGN => {}
            libc::SIG_DFL => {
                // Back to the default and return: the access faults again
                // and the process dies of it, as it would have.
                let mut default: libc::sigaction = std::mem::zeroed();
                default.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(signal, &default, std::ptr::null_mut());
            }
            handler if action.sa_flags & libc::SA_SIGINFO != 0 => {
                let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                    std::mem::transmute(handler);
                handler(signal, info, context);
            }
            handler => {
                let handler: extern "C" fn(libc::c_int) = std::mem::transmute(handler);
                handler(signal);
            }
        }
    }
}

/// The page map of one guarded region, registered with the handler.
pub(super) struct Guard {
    slot: usize,
    map: Box<[AtomicU64]>,
    /// Guarded bytes from the base: the whole pages below the saved bump
    /// pointer.
    len: usize,
}

impl Guard {
    /// Registers `len` bytes (whole pages) from `base`, all writable (hot)
    /// for now; `None` if the handler cannot be installed or every slot is
    /// taken.
    pub(super) fn new(base: usize, len: usize) -> Option<Self> {
        if !install() {
            return None;
        }
        let page = PAGE.load(Ordering::Relaxed);
        let pages = len / page;
        let map: Box<[AtomicU64]> = (0..pages.div_ceil(64))
            .map(|_| AtomicU64::new(!0))
            .collect();
        for (slot, entry) in SLOTS_IN_USE.iter().enumerate() {
            if entry
                .base
                .compare_exchange(0, usize::MAX, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                entry.len.store(len, Ordering::Release);
                entry.map.store(map.as_ptr().cast_mut(), Ordering::Release);
                entry.base.store(base, Ordering::Release);
                return Some(Self { slot, map, len });
            }
        }
        None
    }

    /// The guarded pages.
    pub(super) fn pages(&self) -> usize {
        self.len / PAGE.load(Ordering::Relaxed)
    }

    /// Whether page `index` is hot (writable).
    pub(super) fn is_hot(&self, index: usize) -> bool {
        self.map[index / 64].load(Ordering::Relaxed) & (1 << (index % 64)) != 0
    }

    /// The hot pages' indexes.
    pub(super) fn hot(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.pages()).filter(|&i| self.is_hot(i))
    }

    /// Marks page `index` cold; the caller write-protects it.
    pub(super) fn cool(&self, index: usize) {
        self.map[index / 64].fetch_and(!(1 << (index % 64)), Ordering::Relaxed);
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let entry = &SLOTS_IN_USE[self.slot];
        entry.base.store(0, Ordering::Release);
        entry.map.store(std::ptr::null_mut(), Ordering::Release);
        entry.len.store(0, Ordering::Release);
    }
}

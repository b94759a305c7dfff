//! A QuickJS heap in one memory region, whose bytes can be saved and put back:
//! the snapshot of [`Isolation::Snapshot`](crate::Isolation::Snapshot).
//!
//! A [`Region`] is an anonymous mapping. Its [`RegionAllocator`] (`alloc.rs`)
//! serves every allocation of one QuickJS runtime (the `JSRuntime` struct
//! included) from it, and keeps all of its own state (the bump pointer and
//! the free lists) in the region's first bytes. So the region's bytes up to
//! the bump pointer *are* the runtime: [`Region::save`] copies them, and
//! [`Region::restore`] copies back what changed since, after which the
//! runtime is exactly as it was when saved, whatever ran in between (patched
//! built-ins, replaced globals, queued jobs, a heap at its memory limit, an
//! interrupted script).
//!
//! What changed: after a save, the pages below the bump pointer are
//! write-protected, and the first write to one makes it writable and marks
//! it (`guard.rs`). A restore copies the marked ("hot") pages back and keeps
//! them writable, so a request pays for the pages it writes, and a fault
//! only when a page turns hot; every [`TIDY_EVERY`] restores, hot pages that
//! the last request left unchanged are protected again.
//!
//! # Invariants
//!
//! 1. The region is mapped once, at an address that never changes while it
//!    lives, and is unmapped only after the runtime that uses it is freed
//!    (the engine's field order): every pointer QuickJS keeps into the heap
//!    stays a pointer into the same bytes after a restore.
//! 2. Only one thread uses a region (the worker that owns the engine); the
//!    allocator is called only by QuickJS, under the runtime's lock.
//! 3. A restore happens only between requests: no JavaScript is running,
//!    and no Rust value that points into the heap exists but those made
//!    before the save and kept unchanged since (the context, the snapshot's
//!    persistent values). Pointers the heap holds *out* of the region (the
//!    runtime's opaque data, class definitions, host functions' closures,
//!    the allocator's box) were all made before the save and are not freed
//!    until the runtime is ([`crate::engine`] keeps them alive and never
//!    lets a request make new ones that it would then forget).
//! 4. A block's header, the eight bytes before the pointer handed out, holds
//!    its payload size (a multiple of 16; payloads are 16-byte aligned).
//! 5. A page below the saved bump pointer is either hot (writable, and
//!    copied back by every restore) or cold (write-protected, so unchanged
//!    since the save). Nothing but user-space code writes the region (no
//!    system call reads into it), so a write to a cold page always faults.
//!
//! All the `unsafe` of the snapshot mode is in this module.

mod alloc;
mod guard;

use std::cell::Cell;
use std::ptr::{self, NonNull};

pub(crate) use alloc::RegionAllocator;
use alloc::{State, FIRST_BLOCK};
use guard::Guard;

/// Restores between two passes that protect the hot pages a request left
/// unchanged again.
const TIDY_EVERY: u32 = 1024;

/// One anonymous mapping holding a QuickJS runtime's whole heap.
pub(crate) struct Region {
    base: NonNull<u8>,
    capacity: usize,
    /// The page map, once saved (none: every restore copies everything).
    guard: Option<Guard>,
    restores: Cell<u32>,
}

/// The bytes of a region up to its bump pointer at one moment.
pub(crate) struct Saved {
    bytes: Box<[u8]>,
}

impl Saved {
    /// The bytes saved.
    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }
}

/// What one restore did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Restored {
    /// Pages copied back.
    pub pages: usize,
    /// Bytes copied back.
    pub bytes: usize,
}

impl Region {
    /// Maps a region of `capacity` bytes (rounded up to pages). Pages are
    /// only backed by memory once touched.
    pub(crate) fn new(capacity: usize) -> std::io::Result<Self> {
        let capacity = capacity.max(1 << 20).next_multiple_of(page_size());
        // SAFETY: a fresh private anonymous mapping: no file, no address
        // hint, nothing else refers to it. MAP_NORESERVE: the capacity is an
        // upper bound, not a commitment.
        let base = unsafe {
            libc::mmap(
                ptr::null_mut(),
                capacity,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        let base = NonNull::new(base.cast::<u8>()).expect("mmap does not return null");
        #[cfg(feature = "lsan")]
        // SAFETY: the mapping just made, unregistered in `drop` before it is
        // unmapped.
        unsafe {
            lsan::__lsan_register_root_region(base.as_ptr().cast(), capacity);
        }
        // SAFETY: the mapping is at least 1 MiB, page-aligned (so aligned for
        // State), readable and writable, and nothing else uses it yet.
        unsafe {
            base.cast::<State>().as_ptr().write(State {
                top: FIRST_BLOCK,
                peak: FIRST_BLOCK,
                capacity,
                free: [0; alloc::CLASSES],
            });
        }
        Ok(Self {
            base,
            capacity,
            guard: None,
            restores: Cell::new(0),
        })
    }

    /// The allocator to give the runtime (it only carries the address).
    pub(crate) fn allocator(&self) -> RegionAllocator {
        RegionAllocator { base: self.base }
    }

    /// The most bytes handed out at once since the region was made or last
    /// restored (the bump pointer's highest point).
    pub(crate) fn peak(&self) -> usize {
        // SAFETY: as in `used`.
        unsafe { self.base.cast::<State>().as_ref().peak }
    }

    /// Bytes handed out so far (the bump pointer).
    pub(crate) fn used(&self) -> usize {
        // SAFETY: initialised in `new`, and only changed by the allocator,
        // which runs on this thread and not while we read (invariant 2).
        unsafe { self.base.cast::<State>().as_ref().top }
    }

    /// The region's first `len` bytes.
    fn bytes(&self, len: usize) -> &[u8] {
        // SAFETY: callers pass at most the bump pointer or a saved length:
        // inside the mapping, initialised (written by the allocator or by
        // QuickJS, or zero pages); nothing writes them while this borrow
        // lives (invariant 2: we are the runtime's thread, outside QuickJS).
        unsafe { std::slice::from_raw_parts(self.base.as_ptr(), len) }
    }

    /// Copies the region up to its bump pointer, and from now on notes the
    /// pages written below it (all but the last, partly used page, which
    /// every restore copies back).
    pub(crate) fn save(&mut self) -> Saved {
        // The saved heap offers no free blocks: a request allocates above it,
        // from pages that need no copying back, instead of in free blocks
        // scattered over pages that would then all need it. (The free
        // blocks' bytes stay in the image, unused.)
        // The peak starts from here, so a request's peak is its own.
        // SAFETY: as in `used`; no allocation runs now (invariant 2).
        unsafe {
            let state = self.base.cast::<State>().as_mut();
            state.free = [0; alloc::CLASSES];
            state.peak = state.top;
        }
        let top = self.used();
        let saved = Saved {
            bytes: self.bytes(top).into(),
        };
        self.guard = None;
        let guarded = top / page_size() * page_size();
        if !guard_wanted() {
            return saved;
        }
        if let Some(guard) = Guard::new(self.base.as_ptr() as usize, guarded) {
            // Every page starts cold, if it can be protected.
            if self.protect(0, guarded) {
                for page in 0..guard.pages() {
                    guard.cool(page);
                }
                self.guard = Some(guard);
            }
        }
        saved
    }

    /// Write-protects `len` bytes from `from`; false if it could not (the
    /// pages must then stay hot).
    fn protect(&self, from: usize, len: usize) -> bool {
        if len == 0 {
            return true;
        }
        // SAFETY: a page-aligned range inside the mapping; a later write to
        // it faults into the guard's handler, which makes it writable again.
        let done =
            unsafe { libc::mprotect(self.base.as_ptr().add(from).cast(), len, libc::PROT_READ) };
        if done != 0 {
            tracing::warn!("mprotect failed: {}", std::io::Error::last_os_error());
        }
        done == 0
    }

    /// How many pages of the region differ from `saved` (what a request
    /// changed, for measurements: it reads both).
    pub(crate) fn pages_changed(&self, saved: &Saved) -> usize {
        let page = page_size();
        let now = self.bytes(saved.len());
        now.chunks(page)
            .zip(saved.bytes.chunks(page))
            .filter(|(a, b)| a != b)
            .count()
    }

    /// Puts back the bytes of `saved` (taken from this region by the last
    /// `save`) that may have changed, and gives back to the kernel the pages
    /// above them that a request used beyond `keep` bytes. The runtime is
    /// then as it was when saved.
    ///
    /// # Safety
    ///
    /// Invariant 3: no JavaScript runs, and no value made since `saved` was
    /// taken still points into the heap.
    pub(crate) unsafe fn restore(&self, saved: &Saved, keep: usize) -> Restored {
        let page = page_size();
        // Near enough the request's high-water mark (a block freed at the
        // top lowers it).
        let high = self.used();
        let len = saved.bytes.len();
        let mut done = Restored::default();
        let mut copy = |from: usize, to: usize| {
            // SAFETY: `from..to` is inside the saved length, so inside the
            // mapping and writable (hot, or above the guarded pages); the
            // caller guarantees nothing uses the heap meanwhile.
            unsafe {
                ptr::copy_nonoverlapping(
                    saved.bytes.as_ptr().add(from),
                    self.base.as_ptr().add(from),
                    to - from,
                );
            }
            done.pages += (to - from).div_ceil(page);
            done.bytes += to - from;
        };
        match &self.guard {
            None => copy(0, len),
            Some(guard) => {
                let tidy = self.restores.get() % TIDY_EVERY == TIDY_EVERY - 1;
                let mut run: Option<(usize, usize)> = None;
                for index in guard.hot() {
                    let (from, to) = (index * page, index * page + page);
                    if tidy
                        && self.bytes(to)[from..] == saved.bytes[from..to]
                        && self.protect(from, page)
                    {
                        guard.cool(index);
                        continue;
                    }
                    run = match run {
                        Some((start, end)) if end == from => Some((start, to)),
                        Some((start, end)) => {
                            copy(start, end);
                            Some((from, to))
                        }
                        None => Some((from, to)),
                    };
                }
                if let Some((start, end)) = run {
                    copy(start, end);
                }
                // The last, partly used page is never guarded.
                let guarded = guard.pages() * page;
                if len > guarded {
                    copy(guarded, len);
                }
            }
        }
        self.restores.set(self.restores.get().wrapping_add(1));
        let from = (len + keep).next_multiple_of(page);
        if high > from {
            let to = high.next_multiple_of(page).min(self.capacity);
            // SAFETY: a page-aligned range inside the mapping, above every
            // byte the restored heap refers to (its bump pointer is `len`):
            // its next use reads zero pages.
            unsafe {
                libc::madvise(
                    self.base.as_ptr().add(from).cast(),
                    to - from,
                    libc::MADV_DONTNEED,
                );
            }
        }
        done
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // Unregistered first: the address range may be mapped again.
        self.guard = None;
        #[cfg(feature = "lsan")]
        // SAFETY: registered in `new` with the same range, still mapped.
        unsafe {
            lsan::__lsan_unregister_root_region(self.base.as_ptr().cast(), self.capacity);
        }
        // SAFETY: the mapping made in `new`; the runtime that used it was
        // freed before (invariant 1).
        unsafe {
            libc::munmap(self.base.as_ptr().cast(), self.capacity);
        }
    }
}

/// LeakSanitizer's root regions (the fuzz builds, feature `lsan`): memory
/// it scans for pointers besides stacks, globals and the malloc heap. The
/// runtime's opaque data and the host functions' closures are allocated by
/// Rust but pointed at only from the region; without this, LeakSanitizer
/// reports them as leaked (it did when a fuzz run's warm-up timed out and a
/// snapshot runtime was made while fuzzing).
#[cfg(feature = "lsan")]
mod lsan {
    extern "C" {
        pub fn __lsan_register_root_region(p: *const std::ffi::c_void, size: usize);
        pub fn __lsan_unregister_root_region(p: *const std::ffi::c_void, size: usize);
    }
}

/// False when `HBF_SNAPSHOT_PAGE_GUARD=0`: every restore then copies the
/// whole saved heap. For CPU emulators that lose a store which faulted into a
/// signal handler (valgrind does: `tools/bench/instructions.sh` sets it).
fn guard_wanted() -> bool {
    static WANTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *WANTED.get_or_init(|| std::env::var_os("HBF_SNAPSHOT_PAGE_GUARD").is_none_or(|v| v != "0"))
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).unwrap_or(4096).max(4096)
}

#[cfg(test)]
mod tests {
    use rquickjs::allocator::Allocator;

    use super::*;

    #[test]
    fn blocks_are_aligned_reused_and_restored() {
        let mut region = Region::new(1 << 20).unwrap();
        let mut a = region.allocator();
        let p = a.alloc(24);
        assert_eq!(p as usize % 16, 0);
        // SAFETY: p came from this allocator, which is alive.
        unsafe {
            assert_eq!(RegionAllocator::usable_size(p), 32);
            p.write_bytes(7, 24);
        }
        let saved = region.save();
        let q = a.alloc(100);
        // SAFETY: as above.
        unsafe {
            a.dealloc(p);
            assert_eq!(a.alloc(20), p, "a freed block is reused");
            let grown = a.realloc(q, 5000);
            assert_eq!(grown, q, "the last block grows in place");
            assert!(a.calloc(1 << 18, 1 << 18).is_null(), "beyond the region");
            region.restore(&saved, 0);
        }
        assert_eq!(region.used(), saved.len());
        // SAFETY: p was live when saved.
        unsafe { assert_eq!(p.read(), 7) };
        assert_ne!(a.alloc(24), p, "p is live again after the restore");
        let top = region.used();
        let last = a.alloc(32);
        // SAFETY: as above.
        unsafe { a.dealloc(last) };
        assert_eq!(
            region.used(),
            top,
            "the last block goes back to the bump pointer"
        );
    }

    #[test]
    fn a_restore_copies_the_pages_written_and_puts_back_every_byte() {
        let page = page_size();
        let mut region = Region::new(4 << 20).unwrap();
        let mut a = region.allocator();
        let blocks: Vec<*mut u8> = (0..64).map(|_| a.alloc(page)).collect();
        for (i, block) in blocks.iter().enumerate() {
            // SAFETY: each block has `page` bytes.
            unsafe { block.write_bytes(i as u8, page) };
        }
        let saved = region.save();
        // The pages that may be hot: written since the last tidy pass.
        let mut hot = std::collections::BTreeSet::new();
        for round in 0..(TIDY_EVERY as usize * 2 + 3) {
            let written = [round % 64, (round * 7) % 64, 5];
            hot.extend(written.map(|i| blocks[i] as usize / page));
            for &i in &written {
                // SAFETY: as above; a cold page faults and turns hot.
                unsafe { blocks[i].write_bytes(0xee, page) };
            }
            assert!(region.pages_changed(&saved) >= 2, "round {round}");
            // SAFETY: nothing else uses the region.
            let done = unsafe { region.restore(&saved, 0) };
            assert_eq!(region.pages_changed(&saved), 0, "round {round}");
            // Each block spans two pages (its header is in the page before).
            assert!(
                done.pages <= 2 * hot.len() + 1,
                "round {round}: {} pages copied, {} written lately",
                done.pages,
                hot.len()
            );
            if round % TIDY_EVERY as usize == TIDY_EVERY as usize - 1 {
                hot = written.map(|i| blocks[i] as usize / page).into();
                assert!(
                    done.pages <= 2 * 3 + 1,
                    "a tidy pass: {} copied",
                    done.pages
                );
            }
            for (i, block) in blocks.iter().enumerate() {
                // SAFETY: as above.
                unsafe { assert_eq!(block.add(page / 2).read(), i as u8, "round {round}") };
            }
        }
    }

    /// A fault outside every region still kills the process, as it would
    /// without the handler (checked in a child process: this test's binary,
    /// run again with `HBF_HEAP_FAULT_CHILD`).
    #[test]
    fn a_fault_elsewhere_still_kills_the_process() {
        if std::env::var_os("HBF_HEAP_FAULT_CHILD").is_some() {
            let mut region = Region::new(1 << 20).unwrap();
            region.allocator().alloc(3 * page_size());
            let _saved = region.save();
            // SAFETY: deliberately not: a write to a page that forbids it,
            // outside the region.
            unsafe {
                let other = libc::mmap(
                    ptr::null_mut(),
                    page_size(),
                    libc::PROT_READ,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                );
                ptr::write_volatile(other.cast::<u8>(), 1);
            }
            std::process::exit(0);
        }
        use std::os::unix::process::ExitStatusExt;
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "heap::tests::a_fault_elsewhere_still_kills_the_process",
            ])
            .env("HBF_HEAP_FAULT_CHILD", "1")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        // Killed by the signal, or (under a sanitizer, whose handler was
        // there first) its report and exit; not a panic, not a success.
        assert!(
            status.signal() == Some(libc::SIGSEGV)
                || status.code().is_some_and(|c| c != 0 && c != 101),
            "{status:?}"
        );
    }
}

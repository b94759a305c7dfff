//! A QuickJS heap in one memory region, whose bytes can be saved and put back
//! whole: the snapshot of [`Isolation::Snapshot`](crate::Isolation::Snapshot).
//!
//! A [`Region`] is an anonymous mapping. Its [`RegionAllocator`] serves every
//! allocation of one QuickJS runtime (the `JSRuntime` struct included) from
//! it, and keeps all of its own state (the bump pointer and the free lists)
//! in the region's first bytes. So the region's bytes up to the bump pointer
//! *are* the runtime: [`Region::save`] copies them, and [`Region::restore`]
//! copies them back, after which the runtime is exactly as it was when saved,
//! whatever ran in between (patched built-ins, replaced globals, queued jobs,
//! a heap at its memory limit, an interrupted script).
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
//!    its payload size (a multiple of 16; payloads are 16-byte aligned), plus
//!    [`FREE`] while the block is on a free list. Blocks tile the region from
//!    [`FIRST_BLOCK`] to the bump pointer, so the region can be walked.
//!
//! All the `unsafe` of the snapshot mode is in this module.

use std::ptr::{self, NonNull};

use rquickjs::allocator::Allocator;

/// Size classes: 16-byte steps up to 512 bytes, then four per power of two.
const CLASSES: usize = 32 + 4 * 40;

/// The allocator's state, at the start of the region.
#[repr(C)]
struct State {
    /// Offset of the first byte never handed out.
    top: usize,
    /// The region's size.
    capacity: usize,
    /// Per size class, the offset of the first free block's header (0: none).
    free: [usize; CLASSES],
}

/// Offset of the first block's header: after the state, at 8 mod 16, so that
/// payloads are 16-byte aligned.
const FIRST_BLOCK: usize = size_of::<State>().div_ceil(16) * 16 + 8;

const HEADER: usize = 8;

/// The header bit of a free block.
const FREE: usize = 1;

/// A free block at least this large is not copied by a save or a restore
/// (only its header and free-list link): its bytes mean nothing.
const SKIP_FREE: usize = 256;

/// A block's payload size and size class for a request of `size` bytes.
fn class_of(size: usize) -> Option<(usize, usize)> {
    let size = size.max(1);
    if size <= 512 {
        let payload = size.div_ceil(16) * 16;
        return Some((payload, payload / 16 - 1));
    }
    // size in (2^e, 2^(e+1)], e >= 9: four steps of 2^(e-2).
    let e = usize::BITS as usize - 1 - (size - 1).leading_zeros() as usize;
    let step = 1usize << (e - 2);
    let sub = size.div_ceil(step); // 5..=8
    let index = 32 + (e - 9) * 4 + (sub - 5);
    (index < CLASSES).then(|| (sub * step, index))
}

/// One anonymous mapping holding a QuickJS runtime's whole heap.
pub(crate) struct Region {
    base: NonNull<u8>,
    capacity: usize,
}

/// The meaningful bytes of a region up to its bump pointer at one moment:
/// everything but the insides of large free blocks.
pub(crate) struct Saved {
    /// (offset, length) of each saved span, in order.
    spans: Vec<(usize, usize)>,
    /// The spans' bytes, one after the other.
    bytes: Box<[u8]>,
    /// The bump pointer then.
    top: usize,
}

impl Saved {
    /// The bytes a restore copies.
    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }

    /// The region's bump pointer when saved.
    pub(crate) fn top(&self) -> usize {
        self.top
    }
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
        // SAFETY: the mapping is at least 1 MiB, page-aligned (so aligned for
        // State), readable and writable, and nothing else uses it yet.
        unsafe {
            base.cast::<State>().as_ptr().write(State {
                top: FIRST_BLOCK,
                capacity,
                free: [0; CLASSES],
            });
        }
        Ok(Self { base, capacity })
    }

    /// The allocator to give the runtime (it only carries the address).
    pub(crate) fn allocator(&self) -> RegionAllocator {
        RegionAllocator { base: self.base }
    }

    fn state(&self) -> &State {
        // SAFETY: initialised in `new`, and only changed by the allocator,
        // which runs on this thread and not while we read (invariant 2).
        unsafe { self.base.cast::<State>().as_ref() }
    }

    /// Bytes handed out so far (the bump pointer).
    pub(crate) fn used(&self) -> usize {
        self.state().top
    }

    /// The region's bytes up to the bump pointer.
    fn bytes(&self) -> &[u8] {
        // SAFETY: the bytes below the bump pointer are inside the mapping
        // (it never passes the capacity) and initialised (written by the
        // allocator or by QuickJS, or zero pages); nothing writes them while
        // this borrow lives (invariant 2: we are the runtime's thread, not
        // inside the allocator).
        unsafe { std::slice::from_raw_parts(self.base.as_ptr(), self.used()) }
    }

    /// Copies the region up to its bump pointer, but for the insides of large
    /// free blocks.
    pub(crate) fn save(&self) -> Saved {
        let all = self.bytes();
        let word = |at: usize| usize::from_ne_bytes(all[at..at + 8].try_into().expect("8 bytes"));
        let mut spans = Vec::new();
        let (mut start, mut at) = (0, FIRST_BLOCK);
        while at < all.len() {
            let header = word(at);
            let end = at + HEADER + (header & !FREE);
            if header & FREE != 0 && header & !FREE >= SKIP_FREE {
                // Keep the header and the free-list link, skip the rest.
                spans.push((start, at + HEADER + 8 - start));
                start = end;
            }
            at = end;
        }
        debug_assert_eq!(at, all.len(), "blocks tile the region");
        if start < all.len() {
            spans.push((start, all.len() - start));
        }
        let bytes = spans
            .iter()
            .flat_map(|&(from, len)| &all[from..from + len])
            .copied()
            .collect();
        Saved {
            spans,
            bytes,
            top: all.len(),
        }
    }

    /// How many pages of the region differ from `saved` (what a request
    /// dirtied, for measurements: it reads both).
    pub(crate) fn pages_changed(&self, saved: &Saved) -> usize {
        let page = page_size();
        let now = self.bytes();
        let mut changed = std::collections::BTreeSet::new();
        let mut from_saved = 0;
        for &(at, len) in &saved.spans {
            let then = &saved.bytes[from_saved..from_saved + len];
            from_saved += len;
            let end = (at + len).min(now.len());
            for (i, (a, b)) in now[at.min(end)..end].iter().zip(then).enumerate() {
                if a != b {
                    changed.insert((at + i) / page);
                }
            }
        }
        changed.len()
    }

    /// Puts back the bytes of `saved` (taken from this region), and gives
    /// back to the kernel the pages above them that a request used beyond
    /// `keep` bytes. The runtime is then as it was when saved.
    ///
    /// # Safety
    ///
    /// Invariant 3: no JavaScript runs, and no value made since `saved` was
    /// taken still points into the heap.
    pub(crate) unsafe fn restore(&self, saved: &Saved, keep: usize) {
        // Near enough the request's high-water mark (a block freed at the
        // top lowers it).
        let high = self.state().top;
        let mut from_saved = saved.bytes.as_ptr();
        for &(at, len) in &saved.spans {
            // SAFETY: `saved` was copied from this region, so every span is
            // inside it and `bytes` holds each span's bytes in turn; the
            // caller guarantees nothing uses the heap meanwhile.
            unsafe {
                ptr::copy_nonoverlapping(from_saved, self.base.as_ptr().add(at), len);
                from_saved = from_saved.add(len);
            }
        }
        let from = (saved.top + keep).next_multiple_of(page_size());
        if high > from {
            let to = high.next_multiple_of(page_size()).min(self.capacity);
            // SAFETY: a page-aligned range inside the mapping, above every
            // byte the restored heap refers to (its bump pointer is `top`):
            // its next use reads zero pages.
            unsafe {
                libc::madvise(
                    self.base.as_ptr().add(from).cast(),
                    to - from,
                    libc::MADV_DONTNEED,
                );
            }
        }
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`; the runtime that used it was
        // freed before (invariant 1).
        unsafe {
            libc::munmap(self.base.as_ptr().cast(), self.capacity);
        }
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).unwrap_or(4096).max(4096)
}

/// QuickJS's allocator over a [`Region`]. It has no state of its own (the
/// state is in the region), so restoring the region restores the allocator.
pub(crate) struct RegionAllocator {
    base: NonNull<u8>,
}

impl RegionAllocator {
    fn state(&mut self) -> &mut State {
        // SAFETY: the region outlives the runtime (invariant 1) and only its
        // runtime's thread calls the allocator (invariant 2).
        unsafe { self.base.cast::<State>().as_mut() }
    }

    fn at(&self, offset: usize) -> *mut u8 {
        // SAFETY: callers pass offsets inside the mapping.
        unsafe { self.base.as_ptr().add(offset) }
    }

    fn offset_of(&self, ptr: *mut u8) -> usize {
        ptr as usize - self.base.as_ptr() as usize
    }
}

// SAFETY: every pointer handed out is 16-byte aligned, inside the region,
// and at least the size asked for (its class's payload); `usable_size` reads
// the header written at allocation (invariant 4). Blocks never overlap: a
// block is either above every block handed out (the bump pointer) or came
// off its class's free list, to which only freed blocks are added.
unsafe impl Allocator for RegionAllocator {
    fn alloc(&mut self, size: usize) -> *mut u8 {
        let Some((payload, class)) = class_of(size) else {
            return ptr::null_mut();
        };
        let state = self.state();
        let head = state.free[class];
        if head != 0 {
            // SAFETY: `head` is a free block of this class: its payload's
            // first word is the next free block's offset.
            // Its header loses the free bit.
            unsafe {
                let next = self.at(head + HEADER).cast::<usize>().read();
                self.at(head).cast::<usize>().write(payload);
                self.state().free[class] = next;
            }
            return self.at(head + HEADER);
        }
        let top = state.top;
        let Some(end) = top.checked_add(HEADER + payload) else {
            return ptr::null_mut();
        };
        if end > state.capacity {
            return ptr::null_mut();
        }
        state.top = end;
        // SAFETY: `top..end` is inside the mapping and handed out to no one.
        unsafe { self.at(top).cast::<usize>().write(payload) };
        self.at(top + HEADER)
    }

    fn calloc(&mut self, count: usize, size: usize) -> *mut u8 {
        let Some(total) = count.checked_mul(size) else {
            return ptr::null_mut();
        };
        let ptr = self.alloc(total);
        if !ptr.is_null() {
            // SAFETY: `ptr` has at least `total` bytes (above).
            unsafe { ptr::write_bytes(ptr, 0, total) };
        }
        ptr
    }

    unsafe fn dealloc(&mut self, ptr: *mut u8) {
        if ptr.is_null() {
            return;
        }
        // SAFETY: `ptr` came from this allocator (the trait's contract), so
        // its header holds a class's payload size.
        let payload = unsafe { Self::usable_size(ptr) };
        let (_, class) = class_of(payload).expect("a block's size is a class size");
        let block = self.offset_of(ptr) - HEADER;
        let state = self.state();
        if block + HEADER + payload == state.top {
            // The last block: the bump pointer takes it back.
            state.top = block;
            return;
        }
        let next = state.free[class];
        // SAFETY: the block is being freed: its payload is ours to reuse, and
        // its header is its own.
        unsafe {
            ptr.cast::<usize>().write(next);
            self.at(block).cast::<usize>().write(payload | FREE);
        }
        self.state().free[class] = block;
    }

    unsafe fn realloc(&mut self, ptr: *mut u8, new_size: usize) -> *mut u8 {
        if ptr.is_null() {
            return self.alloc(new_size);
        }
        if new_size == 0 {
            // SAFETY: as in `dealloc`.
            unsafe { self.dealloc(ptr) };
            return ptr::null_mut();
        }
        // SAFETY: `ptr` came from this allocator.
        let old = unsafe { Self::usable_size(ptr) };
        if new_size <= old {
            return ptr;
        }
        let Some((payload, _)) = class_of(new_size) else {
            return ptr::null_mut();
        };
        // The last block grows in place (an array that keeps growing).
        let block = self.offset_of(ptr) - HEADER;
        let state = self.state();
        if block + HEADER + old == state.top {
            let end = block + HEADER + payload;
            if end <= state.capacity {
                state.top = end;
                // SAFETY: the block's own header.
                unsafe { self.at(block).cast::<usize>().write(payload) };
                return ptr;
            }
            return ptr::null_mut();
        }
        let new = self.alloc(new_size);
        if !new.is_null() {
            // SAFETY: both blocks are live, distinct, and at least `old` long.
            unsafe {
                ptr::copy_nonoverlapping(ptr, new, old);
                self.dealloc(ptr);
            }
        }
        new
    }

    unsafe fn usable_size(ptr: *mut u8) -> usize {
        // SAFETY: `ptr` came from this allocator: its header is the word
        // before it (invariant 4).
        unsafe { ptr.sub(HEADER).cast::<usize>().read() & !FREE }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_cover_every_size_and_round_up_little() {
        let mut last = (0, 0);
        for size in 1..100_000usize {
            let (payload, class) = class_of(size).unwrap();
            assert!(payload >= size && payload % 16 == 0, "{size}: {payload}");
            assert!(payload <= size.max(16) * 5 / 4 + 16, "{size}: {payload}");
            assert!(class >= last.1, "{size}");
            assert_eq!(class_of(payload), Some((payload, class)), "{size}");
            last = (payload, class);
        }
        assert!(class_of(1 << 40).is_some());
    }

    #[test]
    fn blocks_are_aligned_reused_and_restored() {
        let region = Region::new(1 << 20).unwrap();
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
        assert_eq!(region.used(), saved.top());
        // SAFETY: p was live when saved.
        unsafe { assert_eq!(p.read(), 7) };
        assert_ne!(a.alloc(24), p, "p is live again after the restore");
    }

    #[test]
    fn a_save_skips_large_free_blocks_but_keeps_their_links() {
        let region = Region::new(1 << 20).unwrap();
        let mut a = region.allocator();
        let big = a.alloc(64 << 10);
        let live = a.alloc(100);
        // SAFETY: both came from this allocator.
        unsafe {
            live.write_bytes(9, 100);
            a.dealloc(big);
        }
        let saved = region.save();
        assert!(saved.len() < 4096, "the free block's bytes are not saved");
        // A request reuses and scribbles over everything.
        let again = a.alloc(64 << 10);
        assert_eq!(again, big);
        // SAFETY: as above.
        unsafe {
            again.write_bytes(1, 64 << 10);
            live.write_bytes(1, 100);
            region.restore(&saved, 0);
            assert_eq!(live.add(99).read(), 9);
            assert_eq!(RegionAllocator::usable_size(big), 64 << 10);
        }
        assert_eq!(a.alloc(64 << 10), big, "still on its free list");
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
}

//! The allocator QuickJS uses in a [`Region`](super::Region): size classes
//! with free lists, and a bump pointer, all of its state in the region.

use std::ptr::{self, NonNull};

use rquickjs::allocator::Allocator;

/// Size classes: 16-byte steps up to 512 bytes, then four per power of two.
pub(super) const CLASSES: usize = 32 + 4 * 40;

/// The allocator's state, at the start of the region.
#[repr(C)]
pub(super) struct State {
    /// Offset of the first byte never handed out.
    pub(super) top: usize,
    /// The region's size.
    pub(super) capacity: usize,
    /// The highest `top` has been: a request's peak use, even after what
    /// it took went back (the heap's state, so a restore resets it too).
    pub(super) peak: usize,
    /// Per size class, the offset of the first free block's header (0: none).
    pub(super) free: [usize; CLASSES],
}

/// Offset of the first block's header: after the state, at 8 mod 16, so that
/// payloads are 16-byte aligned.
pub(super) const FIRST_BLOCK: usize = size_of::<State>().div_ceil(16) * 16 + 8;

const HEADER: usize = 8;

/// The header bit of a free block.
const FREE: usize = 1;

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

/// QuickJS's allocator over a [`Region`]. It has no state of its own (the
/// state is in the region), so restoring the region restores the allocator.
pub(crate) struct RegionAllocator {
    pub(super) base: NonNull<u8>,
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
        state.peak = state.peak.max(end);
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
                state.peak = state.peak.max(end);
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
}

//! A counting global allocator: how many bytes are live, to measure what a task or a guard
//! retains. It lives here, in the report binary, never in the library.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

/// The system allocator, counting the bytes currently allocated.
pub(crate) struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

/// Bytes currently allocated by the whole process.
pub(crate) fn live() -> isize {
    LIVE.load(Ordering::SeqCst)
}

fn size(layout: Layout) -> isize {
    isize::try_from(layout.size()).unwrap_or(isize::MAX)
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract holds exactly as it does for `System`; the counter is only arithmetic.
#[allow(unsafe_code)] // implementing GlobalAlloc is unsafe by definition; see SAFETY above
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; see the impl's comment.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            LIVE.fetch_add(size(layout), Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; see the impl's comment.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            LIVE.fetch_add(size(layout), Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; see the impl's comment.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(size(layout), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged; see the impl's comment.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            let grown = isize::try_from(new_size).unwrap_or(isize::MAX) - size(layout);
            LIVE.fetch_add(grown, Ordering::Relaxed);
        }
        new
    }
}

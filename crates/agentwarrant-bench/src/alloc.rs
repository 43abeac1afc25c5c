//! A counting global allocator: how many bytes are live, to measure what a task or a guard
//! retains. It lives here, in the report binary, never in the library.
//!
//! It counts only while [`counting`] is on: one shared counter updated by every allocation
//! would add an atomic operation to each, and make two threads contend for its cache line,
//! distorting the timings measured with the counter off.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};

/// The system allocator, counting the bytes currently allocated while counting is on.
pub(crate) struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static ON: AtomicBool = AtomicBool::new(false);

/// Bytes allocated and not freed while counting was on (frees of older blocks count too, so
/// measure a region that starts and ends with counting on).
pub(crate) fn live() -> isize {
    LIVE.load(Ordering::SeqCst)
}

/// Turns counting on or off.
pub(crate) fn counting(on: bool) {
    ON.store(on, Ordering::SeqCst);
}

fn count(delta: isize) {
    if ON.load(Ordering::Relaxed) {
        LIVE.fetch_add(delta, Ordering::Relaxed);
    }
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
            count(size(layout));
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; see the impl's comment.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            count(size(layout));
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; see the impl's comment.
        unsafe { System.dealloc(ptr, layout) };
        count(-size(layout));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged; see the impl's comment.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            let grown = isize::try_from(new_size).unwrap_or(isize::MAX) - size(layout);
            count(grown);
        }
        new
    }
}

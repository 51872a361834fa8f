//! The counting allocator: records the largest single request of the current thread and refuses
//! any over [`ALLOC_LIMIT`], printing the label of the variant being read.
//!
//! A `#[global_allocator]` static must be declared in each test binary that wants it:
//! `#[global_allocator] static GLOBAL: CountingAlloc = CountingAlloc;`. Without it [`peak`]
//! stays 0 and nothing is refused; [`harness::check`](crate::harness::check) fails then.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;

/// The largest single allocation a reader may ask for while reading a small file (1 GiB).
pub const ALLOC_LIMIT: usize = 1 << 30;

/// The label buffer's size: a variant's name is cut to this many bytes less one.
const LABEL_BYTES: usize = 96;

thread_local! {
    static PEAK: Cell<usize> = const { Cell::new(0) };
    static LABEL: Cell<[u8; LABEL_BYTES]> = const { Cell::new([0; LABEL_BYTES]) };
}

/// A global allocator over [`System`] that counts the largest request of each thread and refuses
/// (returns null for) any single request over [`ALLOC_LIMIT`], naming the current label on
/// stderr. Declare it in the test binary: `#[global_allocator] static GLOBAL: CountingAlloc =
/// CountingAlloc;`.
pub struct CountingAlloc;

fn note(size: usize) -> bool {
    let _ = PEAK.try_with(|p| p.set(p.get().max(size)));
    if size > ALLOC_LIMIT {
        let label = LABEL.try_with(|l| l.get()).unwrap_or([0; LABEL_BYTES]);
        let end = label.iter().position(|&b| b == 0).unwrap_or(label.len());
        let mut err = std::io::stderr();
        let _ = err.write_all(b"\nrobustness: refused an allocation over 1 GiB while reading ");
        let _ = err.write_all(&label[..end]);
        let _ = err.write_all(b"\n");
        return false;
    }
    true
}

// SAFETY: every call is forwarded unchanged to `System`, or refused with a null pointer, which
// `GlobalAlloc` allows; the bookkeeping touches only const-initialised thread-locals (no
// allocation, no destructor).
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !note(layout.size()) {
            return std::ptr::null_mut();
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !note(layout.size()) {
            return std::ptr::null_mut();
        }
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !note(new_size) {
            return std::ptr::null_mut();
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Names what this thread reads now (cut to 95 bytes): printed when an allocation is refused.
pub fn set_label(text: &str) {
    let mut buf = [0u8; LABEL_BYTES];
    let n = text.len().min(LABEL_BYTES - 1);
    buf[..n].copy_from_slice(&text.as_bytes()[..n]);
    LABEL.with(|l| l.set(buf));
}

/// Forgets this thread's largest request, so that [`peak`] measures from now on.
pub fn reset_peak() {
    PEAK.with(|p| p.set(0));
}

/// This thread's largest single allocation request, in bytes, since [`reset_peak`].
pub fn peak() -> usize {
    PEAK.with(|p| p.get())
}

/// Whether [`CountingAlloc`] is this binary's global allocator: a 64 KiB request must show.
pub fn installed() -> bool {
    reset_peak();
    let probe = std::hint::black_box(vec![0u8; 64 << 10]);
    drop(probe);
    peak() >= 64 << 10
}

//! Peak heap memory for benchmarks: a counting global allocator, a visitor that materialises
//! lazily-initialised weights, and a report of a closure's peak heap growth.
//!
//! A bench installs it with `#[global_allocator] static A: PeakAlloc = PeakAlloc;`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};

use burn::module::{ModuleVisitor, Param};
use burn::tensor::{Tensor, backend::Backend};

/// The system allocator, counting the current and peak bytes in use.
pub struct PeakAlloc;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; only counters are added.
unsafe impl GlobalAlloc for PeakAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

/// Materialises lazily-initialised weights, so that peak figures count activations only.
pub struct Materialise;

impl<B: Backend> ModuleVisitor<B> for Materialise {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        black_box(param.val());
    }
}

/// Runs `f` once and prints the peak heap growth above what was in use before (meaningful
/// only where [`PeakAlloc`] is the global allocator).
pub fn report_peak<T>(name: &str, f: impl FnOnce() -> T) {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    black_box(f());
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    println!(
        "peak heap {name}: {:.1} MiB",
        peak as f64 / (1024.0 * 1024.0)
    );
}

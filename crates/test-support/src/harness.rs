//! The harness: runs a reader on every variant and checks each call.

use std::fmt::Display;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::alloc::{installed, peak, reset_peak, set_label};
use crate::mutate::Variant;

/// The longest one call may take on one variant.
pub const TIME_LIMIT: Duration = Duration::from_secs(1);

/// What [`check`] measured over one list of variants.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// How many variants were fed.
    pub total: usize,
    /// How many were read without an error.
    pub ok: usize,
    /// How many were refused with an error.
    pub refused: usize,
    /// The slowest call.
    pub worst: Duration,
    /// The slowest variant's name.
    pub worst_name: String,
    /// The largest single allocation request of any call, in bytes.
    pub peak: usize,
    /// The variant that asked for it.
    pub peak_name: String,
    /// The time all calls took together, writing the files included.
    pub elapsed: Duration,
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// Writes every variant to `target` and runs `read` on it. A variant fails when `read` panics,
/// takes over [`TIME_LIMIT`], or returns an error whose text lacks `needle` (the file's name, or
/// for folder readers the folder). Prints one line per call of `check` (variants, the slowest,
/// the largest allocation; see `-- --nocapture`) and panics listing the first 25 failures. The
/// test binary must have [`CountingAlloc`](crate::CountingAlloc) as its global allocator. A
/// variant that aborts the process (a stack overflow) is named by running the test with the
/// environment variable `ROBUSTNESS_TRACE` set: each variant's name goes to stderr first.
pub fn check<E: Display>(
    reader: &str,
    target: &Path,
    needle: &str,
    variants: Vec<Variant>,
    mut read: impl FnMut(&Path) -> Result<(), E>,
) -> Report {
    assert!(
        installed(),
        "declare `#[global_allocator] static GLOBAL: CountingAlloc = CountingAlloc;` in the test"
    );
    let mut failures = Vec::new();
    let mut report = Report {
        total: variants.len(),
        ..Report::default()
    };
    // A variant that aborts the process (a stack overflow) cannot be reported after the call:
    // with ROBUSTNESS_TRACE set, every variant is named on stderr before it is read.
    let trace = std::env::var_os("ROBUSTNESS_TRACE").is_some();
    let clock = Instant::now();
    for (name, bytes) in variants {
        if trace {
            eprintln!("robustness {reader}: reading {name}");
        }
        if let Err(e) = std::fs::write(target, &bytes) {
            panic!("{reader}: cannot write {}: {e}", target.display());
        }
        set_label(&format!("{reader}: {name}"));
        reset_peak();
        let start = Instant::now();
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| read(target)));
        let elapsed = start.elapsed();
        let used = peak();
        if used > report.peak {
            (report.peak, report.peak_name) = (used, name.clone());
        }
        if elapsed > report.worst {
            (report.worst, report.worst_name) = (elapsed, name.clone());
        }
        if elapsed > TIME_LIMIT {
            failures.push(format!("{name}: took {elapsed:?}"));
        }
        match result {
            Ok(Ok(())) => report.ok += 1,
            Ok(Err(e)) => {
                report.refused += 1;
                let message = e.to_string();
                if !message.contains(needle) {
                    failures.push(format!("{name}: error without {needle:?}: {message}"));
                }
            }
            Err(payload) => {
                failures.push(format!("{name}: panicked: {}", panic_text(&*payload)));
            }
        }
    }
    report.elapsed = clock.elapsed();
    println!(
        "robustness {reader}: {} variants ({} read, {} refused) in {:.2} s, slowest {:.1} ms ({}), largest allocation {} KiB ({})",
        report.total,
        report.ok,
        report.refused,
        report.elapsed.as_secs_f64(),
        report.worst.as_secs_f64() * 1e3,
        report.worst_name,
        report.peak / 1024,
        report.peak_name,
    );
    assert!(
        failures.is_empty(),
        "{reader}: {} of {} variants failed:\n{}",
        failures.len(),
        report.total,
        failures
            .iter()
            .take(25)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    report
}

/// Runs `read` once, on a file whose header claims a huge size (`label` says which), and asserts
/// that it fails within [`TIME_LIMIT`], with an error containing `needle`, having asked for no
/// single allocation of `max_alloc` bytes or more.
pub fn assert_refused_quickly<T, E: Display>(
    label: &str,
    needle: &str,
    max_alloc: usize,
    read: impl FnOnce() -> Result<T, E>,
) {
    assert!(
        installed(),
        "declare `#[global_allocator] static GLOBAL: CountingAlloc = CountingAlloc;` in the test"
    );
    set_label(label);
    reset_peak();
    let start = Instant::now();
    let result = read();
    let elapsed = start.elapsed();
    let used = peak();
    let Err(e) = result else {
        panic!("{label}: read without an error");
    };
    let message = e.to_string();
    assert!(elapsed < TIME_LIMIT, "{label}: took {elapsed:?}");
    assert!(
        message.contains(needle),
        "{label}: error without {needle:?}: {message}"
    );
    assert!(
        used < max_alloc,
        "{label}: allocated {used} bytes for a refused header"
    );
}

//! The heap policy does what it says: a large block freed and allocated again costs no page
//! faults once [`keep_freed_memory`] ran (glibc), and about one per page before.
//!
//! A plain `main` (`harness = false`): the policy must run before any other thread allocates,
//! and libtest's threads would.

use echoone_kernels::heap::{HeapPolicy, keep_freed_memory};

/// 48 MiB: above glibc's largest mmap threshold (32 MiB), so it is always mmap'd by default, and
/// below the 64 MiB a thread's own arena can hold.
const BYTES: usize = 48 << 20;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn minor_faults() -> i64 {
    // SAFETY: getrusage writes the struct it is given; it is zeroed first.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    assert_eq!(
        unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) },
        0
    );
    usage.ru_minflt
}

/// Page faults taken while a fresh block of `BYTES` is allocated and written, after one such
/// block was allocated, written and freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn faults_of_a_reused_block() -> i64 {
    let touch = || {
        let mut block = vec![0u8; BYTES];
        for i in (0..BYTES).step_by(4096) {
            block[i] = 1;
        }
        std::hint::black_box(&block);
    };
    touch();
    let before = minor_faults();
    touch();
    minor_faults() - before
}

/// On the main thread before the policy, then on the main thread and on a new thread (training
/// runs off the main one) after it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn main() {
    let pages = (BYTES / 4096) as i64;
    let default = faults_of_a_reused_block();
    assert!(
        default > pages / 2,
        "glibc's default faulted only {default} of {pages} pages"
    );
    assert_eq!(keep_freed_memory(), HeapPolicy::Kept);
    let main_thread = faults_of_a_reused_block();
    let other_thread = std::thread::spawn(faults_of_a_reused_block)
        .join()
        .expect("the measuring thread");
    for (kept, on) in [
        (main_thread, "the main thread"),
        (other_thread, "another thread"),
    ] {
        assert!(
            kept < pages / 20,
            "{kept} page faults for {pages} pages on {on}"
        );
    }
    println!(
        "heap policy: {default} page faults for {pages} pages by default, {main_thread} and {other_thread} kept"
    );
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn main() {
    assert_eq!(keep_freed_memory(), HeapPolicy::Unchanged);
}

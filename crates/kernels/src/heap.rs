//! The heap policy for tensor workloads: keep freed memory in the process.
//!
//! A training step allocates and frees hundreds of tensors of tens of megabytes. glibc serves
//! every block above its mmap threshold (at most 32 MiB) with a fresh `mmap` and hands it back
//! with `munmap` when freed, so every such tensor faults its pages in again and the kernel zeroes
//! them: on burn-flex a fifth of a step's CPU time was page faults, zeroing and unmapping
//! (docs/benchmarks.md, "Toward 1.5x PyTorch"). [`keep_freed_memory`] tells glibc to serve large
//! blocks from its heaps and never to give a heap's top back, so freed tensors are reused in
//! place. Threads keep their own arenas: one shared arena (`M_ARENA_MAX` 1) put the default
//! recipe's two replica threads on one lock and made no epoch faster (docs/benchmarks.md); the
//! price is that a thread's arena (at most 64 MiB) still maps blocks above 64 MiB afresh,
//! whatever `M_MMAP_MAX` says. The main thread's heap has no such limit. The process's peak resident set stays that of its peak live memory (best-fit reuse),
//! but it does not shrink after a peak: the policy suits a process that trains or evaluates for
//! its whole life, as `echoone` does, and a library must not choose it for its host.

/// What [`keep_freed_memory`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeapPolicy {
    /// glibc now serves large blocks from its heap and keeps freed memory.
    Kept,
    /// The allocator is not glibc's (macOS, Windows, musl): left as it is.
    Unchanged,
    /// glibc refused a setting: left as it was.
    Refused,
    /// `ECHOONE_HEAP=default` asked for the allocator's default: not touched.
    OptedOut,
}

/// The environment variable whose value `default` opts out of the policy.
pub const OPT_OUT_VAR: &str = "ECHOONE_HEAP";

/// [`keep_freed_memory`] unless `ECHOONE_HEAP=default` (for a machine shared with other jobs,
/// or to measure what the policy gains); what `echoone` and the benches call first.
pub fn keep_freed_memory_unless_opted_out() -> HeapPolicy {
    if std::env::var_os(OPT_OUT_VAR).is_some_and(|v| v == "default") {
        HeapPolicy::OptedOut
    } else {
        keep_freed_memory()
    }
}

/// Makes the process keep the memory it frees for its next allocations instead of returning it
/// to the kernel (glibc: no `mmap` for blocks a heap can hold, no trimming of a heap's top;
/// elsewhere nothing). Call it once, first thing in a binary, before other threads allocate.
pub fn keep_freed_memory() -> HeapPolicy {
    imp::keep_freed_memory()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod imp {
    use super::HeapPolicy;

    /// Heap growth per `brk`: fewer system calls while a step's first tensors are allocated.
    const TOP_PAD: libc::c_int = 64 << 20;

    pub(super) fn keep_freed_memory() -> HeapPolicy {
        // SAFETY: mallopt only sets allocator parameters; it is called before other threads
        // allocate (the function's documented contract) and its return value is checked.
        let ok = unsafe {
            libc::mallopt(libc::M_MMAP_MAX, 0) == 1
                // -1: never trim (mallopt(3)); any positive value caps what is kept.
                && libc::mallopt(libc::M_TRIM_THRESHOLD, -1) == 1
                && libc::mallopt(libc::M_TOP_PAD, TOP_PAD) == 1
        };
        if ok {
            HeapPolicy::Kept
        } else {
            HeapPolicy::Refused
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod imp {
    use super::HeapPolicy;

    pub(super) fn keep_freed_memory() -> HeapPolicy {
        HeapPolicy::Unchanged
    }
}

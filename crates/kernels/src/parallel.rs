//! How the CPU kernels split a buffer into rayon tasks.
//!
//! A buffer is cut into chunks of whole rows (or of plain elements for element-wise kernels) of
//! about [`TASK_ELEMS`] elements. The chunk boundaries depend only on the buffer's length and the
//! row length, never on the number of threads, and every kernel reduces within a chunk in a fixed
//! order, so results are bit-identical from run to run. Small buffers run the same chunks
//! serially on the calling thread.

use core::mem::MaybeUninit;

/// Defines a kernel function whose body runs compiled for AVX2 when the CPU has it (checked at
/// run time) and for the build's baseline otherwise. Both are the same Rust, and Rust never
/// fuses a multiply and an add on its own, so the two give bit-identical results. Everything
/// the body calls in its loops must be `#[inline(always)]` to be compiled for AVX2 too.
macro_rules! simd_kernel {
    (
        $(#[$meta:meta])*
        $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block
    ) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn body($($arg: $ty),*) $body

            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                fn avx2($($arg: $ty),*) {
                    body($($arg),*)
                }
                if std::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU supports AVX2, checked just above.
                    return unsafe { avx2($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}
pub(crate) use simd_kernel;

use rayon::prelude::*;

/// Elements per rayon task (64 KiB of f32): enough work to amortise a task's scheduling cost and
/// small enough for a chunk to stay in L2 between a kernel's passes.
pub(crate) const TASK_ELEMS: usize = 1 << 14;

/// Buffers of at most this many elements run serially.
pub(crate) const SERIAL_ELEMS: usize = 1 << 15;

/// Elements per chunk for rows of `row_len` elements: a whole number of rows, at least one.
pub(crate) fn row_chunk_len(row_len: usize) -> usize {
    let row_len = row_len.max(1);
    (TASK_ELEMS / row_len).max(1) * row_len
}

/// Runs `f(chunk_index, chunk)` over `data` cut into chunks of `chunk_len` elements (the last
/// one may be shorter), in parallel for large buffers, and returns the results in chunk order.
pub(crate) fn map_chunks<R, F>(data: &mut [f32], chunk_len: usize, f: F) -> Vec<R>
where
    R: Send,
    F: Fn(usize, &mut [f32]) -> R + Sync + Send,
{
    assert!(chunk_len > 0, "map_chunks: chunk length must be positive");
    if data.len() <= SERIAL_ELEMS {
        data.chunks_mut(chunk_len)
            .enumerate()
            .map(|(i, chunk)| f(i, chunk))
            .collect()
    } else {
        data.par_chunks_mut(chunk_len)
            .enumerate()
            .map(|(i, chunk)| f(i, chunk))
            .collect()
    }
}

/// Like [`map_chunks`] on a new buffer that starts as a copy of `src`: each task copies its own
/// chunk and processes it while it is still in cache. Returns the buffer and the results.
pub(crate) fn map_chunks_copied<R, F>(src: &[f32], chunk_len: usize, f: F) -> (Vec<f32>, Vec<R>)
where
    R: Send,
    F: Fn(usize, &mut [f32]) -> R + Sync + Send,
{
    let task = |i: usize, dst: &mut [MaybeUninit<f32>]| {
        let start = i * chunk_len;
        let end = start + dst.len();
        for (d, s) in dst.iter_mut().zip(&src[start..end]) {
            d.write(*s);
        }
        // SAFETY: every element of `dst` was initialised just above (`src` holds the buffer's
        // length, so the slice is as long as `dst`), and `MaybeUninit<f32>` has the layout of
        // `f32`.
        let chunk = unsafe { &mut *(dst as *mut [MaybeUninit<f32>] as *mut [f32]) };
        f(i, chunk)
    };
    // SAFETY: `task` initialises every element of its chunk before anything else.
    unsafe { fill_chunks(src.len(), chunk_len, task) }
}

/// A new buffer of `len` elements written chunk by chunk (chunks of `chunk_len` elements, the
/// last one may be shorter) by `fill(chunk_index, chunk)`, in parallel for large buffers; returns
/// the buffer and `fill`'s results in chunk order.
///
/// # Safety
///
/// `fill` must initialise every element of the chunk it is given.
pub(crate) unsafe fn fill_chunks<R, F>(len: usize, chunk_len: usize, fill: F) -> (Vec<f32>, Vec<R>)
where
    R: Send,
    F: Fn(usize, &mut [MaybeUninit<f32>]) -> R + Sync + Send,
{
    assert!(chunk_len > 0, "fill_chunks: chunk length must be positive");
    let mut out: Vec<f32> = Vec::with_capacity(len);
    let spare = &mut out.spare_capacity_mut()[..len];
    let results: Vec<R> = if len <= SERIAL_ELEMS {
        spare
            .chunks_mut(chunk_len)
            .enumerate()
            .map(|(i, dst)| fill(i, dst))
            .collect()
    } else {
        spare
            .par_chunks_mut(chunk_len)
            .enumerate()
            .map(|(i, dst)| fill(i, dst))
            .collect()
    };
    // SAFETY: the chunks cover the first `len` elements of the spare capacity, and the caller
    // guarantees `fill` initialised each whole chunk (a panic would have unwound past here).
    unsafe { out.set_len(len) };
    (out, results)
}

/// Sum of `xs` with eight interleaved accumulators (vectorisable, fixed order).
#[inline(always)]
pub(crate) fn sum(xs: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let chunks = xs.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        for k in 0..8 {
            acc[k] += c[k];
        }
    }
    let mut total = combine(acc);
    for &x in tail {
        total += x;
    }
    total
}

/// Dot product of `a` and `b` (same length) with eight interleaved accumulators.
#[inline(always)]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0.0f32; 8];
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let (ta, tb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let mut total = combine(acc);
    for (x, y) in ta.iter().zip(tb) {
        total += x * y;
    }
    total
}

/// `sum(a * (x - mean))` for `a` and `x` of the same length, with eight interleaved accumulators.
#[inline(always)]
pub(crate) fn dot_dev(a: &[f32], x: &[f32], mean: f32) -> f32 {
    debug_assert_eq!(a.len(), x.len());
    let mut acc = [0.0f32; 8];
    let ca = a.chunks_exact(8);
    let cx = x.chunks_exact(8);
    let (ta, tx) = (ca.remainder(), cx.remainder());
    for (p, q) in ca.zip(cx) {
        for k in 0..8 {
            acc[k] += p[k] * (q[k] - mean);
        }
    }
    let mut total = combine(acc);
    for (p, q) in ta.iter().zip(tx) {
        total += p * (q - mean);
    }
    total
}

/// Sum of squared deviations from `mean`, with eight interleaved accumulators.
#[inline(always)]
pub(crate) fn sum_sq_dev(xs: &[f32], mean: f32) -> f32 {
    let mut acc = [0.0f32; 8];
    let chunks = xs.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        for k in 0..8 {
            let d = c[k] - mean;
            acc[k] += d * d;
        }
    }
    let mut total = combine(acc);
    for &x in tail {
        let d = x - mean;
        total += d * d;
    }
    total
}

/// Maximum of `xs` (NaN-propagating: a NaN anywhere gives NaN), `-inf` when empty.
#[inline(always)]
pub(crate) fn max(xs: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; 8];
    let chunks = xs.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        for k in 0..8 {
            // `a > b || b.is_nan()` keeps a NaN once it is seen.
            acc[k] = if c[k] > acc[k] || c[k].is_nan() {
                c[k]
            } else {
                acc[k]
            };
        }
    }
    let mut m = f32::NEG_INFINITY;
    for x in acc.into_iter().chain(tail.iter().copied()) {
        if x > m || x.is_nan() {
            m = x;
        }
        if m.is_nan() {
            break;
        }
    }
    m
}

/// Pairwise sum of the eight accumulators, in a fixed order.
#[inline(always)]
fn combine(acc: [f32; 8]) -> f32 {
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}

//! A strided f32 view copied into a contiguous buffer, in parallel over rows of its last axis:
//! burn-flex makes a permuted tensor contiguous (before a reshape, say) with one serial loop.

use core::mem::MaybeUninit;

use crate::parallel::{fill_chunks, row_chunk_len};

/// The elements of the view `(shape, strides, offset)` of `src`, in row-major order.
///
/// Rows of the last axis are copied whole (a slice copy when that axis has stride 1, a gather
/// otherwise), in chunks of whole rows spread over rayon's threads. Every stride and the offset
/// must keep each index inside `src`, as a burn-flex layout does.
pub(crate) fn strided_to_contiguous(
    src: &[f32],
    shape: &[usize],
    strides: &[isize],
    offset: usize,
) -> Vec<f32> {
    let len: usize = shape.iter().product();
    if shape.is_empty() {
        return vec![src[offset]];
    }
    let rank = shape.len();
    let row = shape[rank - 1];
    if len == 0 {
        return Vec::new();
    }
    let chunk_len = row_chunk_len(row);
    let copy_chunk = |i: usize, dst: &mut [MaybeUninit<f32>]| {
        copy_rows(src, shape, strides, offset, i * chunk_len / row, dst);
    };
    // SAFETY: `copy_rows` writes every element of its chunk (whole rows).
    unsafe { fill_chunks(len, chunk_len, copy_chunk) }.0
}

/// Writes rows `first..` of the view into `dst` (a whole number of rows).
fn copy_rows(
    src: &[f32],
    shape: &[usize],
    strides: &[isize],
    offset: usize,
    first: usize,
    dst: &mut [MaybeUninit<f32>],
) {
    let rank = shape.len();
    let (row, step) = (shape[rank - 1], strides[rank - 1]);
    // The multi-index of the first row over the leading axes, and its source position.
    let mut index = vec![0usize; rank - 1];
    let mut rest = first;
    for axis in (0..rank - 1).rev() {
        index[axis] = rest % shape[axis];
        rest /= shape[axis];
    }
    let mut base = offset as isize
        + index
            .iter()
            .zip(strides)
            .map(|(&i, &s)| i as isize * s)
            .sum::<isize>();
    for out_row in dst.chunks_mut(row) {
        if step == 1 {
            let start = base as usize;
            for (d, s) in out_row.iter_mut().zip(&src[start..start + row]) {
                d.write(*s);
            }
        } else {
            for (k, d) in out_row.iter_mut().enumerate() {
                d.write(src[(base + k as isize * step) as usize]);
            }
        }
        // Next row: an odometer over the leading axes.
        for axis in (0..rank - 1).rev() {
            index[axis] += 1;
            base += strides[axis];
            if index[axis] < shape[axis] {
                break;
            }
            base -= strides[axis] * shape[axis] as isize;
            index[axis] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::strided_to_contiguous;

    /// The view's elements by walking every multi-index, the slow and obvious way.
    fn reference(src: &[f32], shape: &[usize], strides: &[isize], offset: usize) -> Vec<f32> {
        let len: usize = shape.iter().product();
        (0..len)
            .map(|flat| {
                let mut rest = flat;
                let mut at = offset as isize;
                for axis in (0..shape.len()).rev() {
                    at += (rest % shape[axis]) as isize * strides[axis];
                    rest /= shape[axis];
                }
                src[at as usize]
            })
            .collect()
    }

    #[test]
    fn permuted_narrowed_and_flipped_views_copy_exactly() {
        let src: Vec<f32> = (0..3 * 5 * 7 * 11).map(|v| v as f32).collect();
        // [3, 5, 7, 11] contiguous, strides [385, 77, 11, 1].
        let cases: Vec<(Vec<usize>, Vec<isize>, usize)> = vec![
            (vec![11, 7, 5, 3], vec![1, 11, 77, 385], 0),
            (vec![5, 3, 11, 7], vec![77, 385, 1, 11], 0),
            (vec![3, 2, 7, 11], vec![385, 77, 11, 1], 154),
            (vec![3, 5, 7, 4], vec![385, 77, 11, 2], 3),
            (vec![3, 5, 7, 11], vec![385, 77, -11, 1], 66),
            (vec![7, 1, 11], vec![11, 0, 1], 0),
            (vec![4, 9], vec![0, 1], 5),
        ];
        for (shape, strides, offset) in cases {
            assert_eq!(
                strided_to_contiguous(&src, &shape, &strides, offset),
                reference(&src, &shape, &strides, offset),
                "shape {shape:?} strides {strides:?} offset {offset}"
            );
        }
    }

    #[test]
    fn large_views_split_across_threads_copy_exactly() {
        let (a, b, c) = (64, 48, 40);
        let src: Vec<f32> = (0..a * b * c).map(|v| v as f32 * 0.5).collect();
        let shape = [c, a, b];
        let strides = [1, (b * c) as isize, c as isize];
        assert_eq!(
            strided_to_contiguous(&src, &shape, &strides, 0),
            reference(&src, &shape, &strides, 0)
        );
        assert!(strided_to_contiguous(&src, &[0, 3], &[3, 1], 0).is_empty());
        assert_eq!(strided_to_contiguous(&src, &[], &[], 7), vec![3.5]);
    }
}

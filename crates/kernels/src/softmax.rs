//! Softmax over contiguous rows of f32: the serial per-chunk kernels behind the Flex
//! implementation of [`FusedOps::fused_softmax`](crate::FusedOps::fused_softmax).

use crate::math::exp;
use crate::parallel::{dot, max, simd_kernel, sum};

simd_kernel! {
/// Overwrites each row of `data` (rows of `row_len` elements) with `softmax(row * scale + bias)`,
/// where `bias`, when given, holds the matching rows of the bias (same length as `data`).
///
/// Numerically stable (the row maximum is subtracted before the exponential). A row whose
/// maximum is +inf or NaN gives NaN, as the composed softmax does.
pub fn softmax_rows(data: &mut [f32], bias: Option<&[f32]>, row_len: usize, scale: f32) {
    assert!(
        row_len > 0 && data.len().is_multiple_of(row_len),
        "softmax_rows: {} elements are not whole rows of {row_len}",
        data.len()
    );
    if let Some(bias) = bias {
        assert_eq!(bias.len(), data.len(), "softmax_rows: bias length");
    }
    for (r, row) in data.chunks_exact_mut(row_len).enumerate() {
        match bias {
            Some(bias) => {
                let b = &bias[r * row_len..(r + 1) * row_len];
                for (v, b) in row.iter_mut().zip(b) {
                    *v = *v * scale + *b;
                }
            }
            None if scale != 1.0 => {
                for v in row.iter_mut() {
                    *v *= scale;
                }
            }
            None => {}
        }
        let m = max(row);
        for v in row.iter_mut() {
            *v = exp(*v - m);
        }
        let inv = 1.0 / sum(row);
        for v in row.iter_mut() {
            *v *= inv;
        }
    }
}
}

simd_kernel! {
/// Overwrites each row of `grad` (the gradient of a softmax output `y`, rows of `row_len`) with
/// `scale * y * (grad - sum(grad * y))`: the gradient of the softmax's input times `scale`.
pub fn softmax_backward_rows(grad: &mut [f32], y: &[f32], row_len: usize, scale: f32) {
    assert!(
        row_len > 0 && grad.len().is_multiple_of(row_len),
        "softmax_backward_rows: {} elements are not whole rows of {row_len}",
        grad.len()
    );
    assert_eq!(y.len(), grad.len(), "softmax_backward_rows: y length");
    for (g, y) in grad.chunks_exact_mut(row_len).zip(y.chunks_exact(row_len)) {
        let d = dot(g, y);
        if scale == 1.0 {
            for (g, y) in g.iter_mut().zip(y) {
                *g = *y * (*g - d);
            }
        } else {
            for (g, y) in g.iter_mut().zip(y) {
                *g = scale * (*y * (*g - d));
            }
        }
    }
}
}

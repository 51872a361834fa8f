//! Layer normalisation over contiguous rows of f32: the serial per-chunk kernels behind the Flex
//! implementation of [`FusedOps::fused_layer_norm`](crate::FusedOps::fused_layer_norm).

use crate::parallel::{dot_dev, simd_kernel, sum, sum_sq_dev};

/// Mean and reciprocal standard deviation (biased variance, two-pass) of one row.
#[inline(always)]
fn row_stats(x: &[f32], eps: f64) -> (f32, f32) {
    let n = x.len() as f32;
    let mean = sum(x) / n;
    let var = sum_sq_dev(x, mean) / n;
    let rstd = (1.0 / (f64::from(var) + eps).sqrt()) as f32;
    (mean, rstd)
}

simd_kernel! {
/// Overwrites each row of `data` (rows of `gamma.len()` elements) with
/// `(row - mean) / sqrt(var + eps) * gamma + beta`, the biased variance as PyTorch's
/// `nn.LayerNorm`.
pub fn layer_norm_rows(data: &mut [f32], gamma: &[f32], beta: Option<&[f32]>, eps: f64) {
    let c = gamma.len();
    assert!(
        c > 0 && data.len().is_multiple_of(c),
        "layer_norm_rows: {} elements are not whole rows of {c}",
        data.len()
    );
    if let Some(beta) = beta {
        assert_eq!(beta.len(), c, "layer_norm_rows: beta length");
    }
    for row in data.chunks_exact_mut(c) {
        let (mean, rstd) = row_stats(row, eps);
        match beta {
            Some(beta) => {
                for ((v, g), b) in row.iter_mut().zip(gamma).zip(beta) {
                    *v = (*v - mean) * rstd * *g + *b;
                }
            }
            None => {
                for (v, g) in row.iter_mut().zip(gamma) {
                    *v = (*v - mean) * rstd * *g;
                }
            }
        }
    }
}
}

simd_kernel! {
/// The backward of [`layer_norm_rows`] over the rows of one chunk.
///
/// `grad` holds the gradient of the output and is overwritten with the gradient of the input
/// `x` (same length, rows of `gamma.len()`). The chunk's contributions to the gradients of gamma
/// and beta, summed over its rows in order, are added to `grad_gamma` and `grad_beta`.
pub fn layer_norm_backward_rows(
    grad: &mut [f32],
    x: &[f32],
    gamma: &[f32],
    eps: f64,
    grad_gamma: &mut [f32],
    grad_beta: &mut [f32],
) {
    let c = gamma.len();
    assert!(
        c > 0 && grad.len().is_multiple_of(c),
        "layer_norm_backward_rows: {} elements are not whole rows of {c}",
        grad.len()
    );
    assert_eq!(x.len(), grad.len(), "layer_norm_backward_rows: x length");
    assert!(
        grad_gamma.len() == c && grad_beta.len() == c,
        "layer_norm_backward_rows: gamma/beta gradient lengths"
    );
    let n = c as f32;
    for (g, x) in grad.chunks_exact_mut(c).zip(x.chunks_exact(c)) {
        let (mean, rstd) = row_stats(x, eps);
        for ((gg, gb), (gv, xv)) in grad_gamma
            .iter_mut()
            .zip(grad_beta.iter_mut())
            .zip(g.iter().zip(x))
        {
            *gg += *gv * ((*xv - mean) * rstd);
            *gb += *gv;
        }
        // With xhat = (x - mean) * rstd and dxhat = g * gamma:
        // dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)).
        for (gv, gm) in g.iter_mut().zip(gamma) {
            *gv *= *gm;
        }
        let sum_dxhat = sum(g);
        let a = sum_dxhat / n;
        let b = rstd * dot_dev(g, x, mean) / n;
        for (gv, xv) in g.iter_mut().zip(x) {
            *gv = rstd * (*gv - a - (*xv - mean) * rstd * b);
        }
    }
}
}

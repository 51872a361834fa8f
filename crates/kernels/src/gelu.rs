//! Exact (erf) GELU on f32 slices: the serial per-chunk kernels behind the Flex implementation
//! of [`FusedOps::fused_gelu`](crate::FusedOps::fused_gelu).

use core::f32::consts::FRAC_1_SQRT_2;

use crate::math::erfc_and_gauss;
use crate::parallel::simd_kernel;

/// 1 / sqrt(2 pi), the standard normal density at 0.
const INV_SQRT_2PI: f32 = 0.398_942_3;

/// `(Phi(x), phi(x))`: the standard normal CDF (from erfc, without cancellation in the lower
/// tail) and density.
#[inline(always)]
fn cdf_and_pdf(x: f32) -> (f32, f32) {
    let (erfc, gauss) = erfc_and_gauss(x.abs() * FRAC_1_SQRT_2);
    let half = 0.5 * erfc;
    let cdf = if x < 0.0 { half } else { 1.0 - half };
    (cdf, INV_SQRT_2PI * gauss)
}

/// `x * Phi(x)` with `Phi` the standard normal CDF: PyTorch's default `nn.GELU()` (through an
/// erfc approximation within 6e-7, without cancellation for negative x).
#[inline(always)]
pub fn gelu(x: f32) -> f32 {
    x * cdf_and_pdf(x).0
}

/// The derivative of [`gelu`]: `Phi(x) + x * phi(x)` with `phi` the standard normal density.
#[inline(always)]
pub fn gelu_derivative(x: f32) -> f32 {
    let (cdf, pdf) = cdf_and_pdf(x);
    cdf + x * pdf
}

simd_kernel! {
/// Overwrites every element of `data` with its [`gelu`].
pub fn gelu_slice(data: &mut [f32]) {
    for v in data.iter_mut() {
        *v = gelu(*v);
    }
}
}

simd_kernel! {
/// Overwrites `grad` (the gradient of GELU's output) with the gradient of its input `x`
/// (same length): `grad * gelu'(x)`.
pub fn gelu_backward_slice(grad: &mut [f32], x: &[f32]) {
    assert_eq!(grad.len(), x.len(), "gelu_backward_slice: x length");
    for (g, x) in grad.iter_mut().zip(x) {
        *g *= gelu_derivative(*x);
    }
}
}

//! Exact (erf) GELU on f32 slices: the serial per-chunk kernels behind the Flex implementation
//! of [`FusedOps::fused_gelu`](crate::FusedOps::fused_gelu).

use core::f32::consts::FRAC_1_SQRT_2;

/// 1 / sqrt(2 pi), the standard normal density at 0.
const INV_SQRT_2PI: f32 = 0.398_942_3;

/// `x * Phi(x)` with `Phi` the standard normal CDF: PyTorch's default `nn.GELU()`.
#[inline]
pub fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + libm::erff(x * FRAC_1_SQRT_2))
}

/// The derivative of [`gelu`]: `Phi(x) + x * phi(x)` with `phi` the standard normal density.
#[inline]
pub fn gelu_derivative(x: f32) -> f32 {
    let cdf = 0.5 * (1.0 + libm::erff(x * FRAC_1_SQRT_2));
    let pdf = INV_SQRT_2PI * (-0.5 * x * x).exp();
    cdf + x * pdf
}

/// Overwrites every element of `data` with its [`gelu`].
pub fn gelu_slice(data: &mut [f32]) {
    for v in data.iter_mut() {
        *v = gelu(*v);
    }
}

/// Overwrites `grad` (the gradient of GELU's output) with the gradient of its input `x`
/// (same length): `grad * gelu'(x)`.
pub fn gelu_backward_slice(grad: &mut [f32], x: &[f32]) {
    assert_eq!(grad.len(), x.len(), "gelu_backward_slice: x length");
    for (g, x) in grad.iter_mut().zip(x) {
        *g *= gelu_derivative(*x);
    }
}

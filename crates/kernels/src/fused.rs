//! The backend extension: fused softmax, LayerNorm and GELU with their own backward.

use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensor;

use crate::composed::{
    composed_gelu, composed_gelu_backward, composed_layer_norm, composed_layer_norm_backward,
    composed_softmax, composed_softmax_backward,
};

/// Fused softmax, LayerNorm and GELU (forward and backward) on a backend's float primitives.
///
/// Every method has a default body composed of the backend's own ops (the `composed_*`
/// functions), so `impl FusedOps for MyBackend {}` is enough for any backend, under autodiff
/// too. `burn_flex::Flex` overrides them with rayon-parallel kernels, and
/// `burn_autodiff::Autodiff<B>` records one graph node per fused op whose backward calls the
/// inner backend's `*_backward` method.
pub trait FusedOps: Backend {
    /// `softmax(x * scale + bias)` over the last axis of `x` (rank ≥ 1); `bias`, when given,
    /// has the shape of `x` (a bias that only broadcasts to it takes the composed path).
    fn fused_softmax(
        x: FloatTensor<Self>,
        bias: Option<FloatTensor<Self>>,
        scale: f32,
    ) -> FloatTensor<Self> {
        composed_softmax::<Self>(x, bias, scale)
    }

    /// The gradient of a softmax's input from its output `y` and the output's gradient:
    /// `y * (grad_y - sum_last(grad_y * y, keepdim))`.
    fn fused_softmax_backward(
        y: FloatTensor<Self>,
        grad_y: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        Self::fused_softmax_backward_scaled(y, grad_y, 1.0)
    }

    /// [`fused_softmax_backward`](Self::fused_softmax_backward) times `scale` in the same pass:
    /// the gradient of `x` in `softmax(x * scale + bias)`.
    fn fused_softmax_backward_scaled(
        y: FloatTensor<Self>,
        grad_y: FloatTensor<Self>,
        scale: f32,
    ) -> FloatTensor<Self> {
        composed_softmax_backward::<Self>(y, grad_y, scale)
    }

    /// LayerNorm over the last axis of `x` (biased variance, as PyTorch's `nn.LayerNorm`):
    /// `(x - mean) / sqrt(var + eps) * gamma + beta`, `gamma` and `beta` of shape `[C]`.
    fn fused_layer_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: Option<FloatTensor<Self>>,
        eps: f64,
    ) -> FloatTensor<Self> {
        composed_layer_norm::<Self>(x, gamma, beta, eps)
    }

    /// The gradients `(x, gamma, beta)` of [`fused_layer_norm`](Self::fused_layer_norm) from
    /// its input, its `gamma` and the output's gradient; those of gamma and beta (`[C]`) are
    /// summed over all leading positions.
    fn fused_layer_norm_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        grad_y: FloatTensor<Self>,
        eps: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        composed_layer_norm_backward::<Self>(x, gamma, grad_y, eps)
    }

    /// Exact (erf) GELU, as PyTorch's default `nn.GELU()`.
    fn fused_gelu(x: FloatTensor<Self>) -> FloatTensor<Self> {
        composed_gelu::<Self>(x)
    }

    /// The gradient of GELU's input `x` from the gradient of its output.
    fn fused_gelu_backward(x: FloatTensor<Self>, grad_y: FloatTensor<Self>) -> FloatTensor<Self> {
        composed_gelu_backward::<Self>(x, grad_y)
    }
}

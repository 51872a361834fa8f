//! burn's `LayerNorm` modules run through echoone-kernels' fused LayerNorm.

use burn::module::Param;
use burn::nn::LayerNorm;
use burn::tensor::{Tensor, backend::Backend};

/// What `norm.forward(x)` computes, for a module built with epsilon `eps` (burn keeps it
/// private), as one fused op on burn-flex (`echoone_kernels::dispatch`).
pub fn layer_norm<B: Backend, const D: usize>(
    norm: &LayerNorm<B>,
    eps: f64,
    x: Tensor<B, D>,
) -> Tensor<B, D> {
    echoone_kernels::dispatch::layer_norm(
        x,
        norm.gamma.val(),
        norm.beta.as_ref().map(Param::val),
        eps,
    )
}

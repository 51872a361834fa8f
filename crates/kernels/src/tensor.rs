//! The fused ops on burn `Tensor`s, for model code.

use burn::tensor::{Tensor, TensorPrimitive};

use crate::fused::FusedOps;

/// `softmax(x * scale + bias)` over the last axis; `bias`, when given, has `x`'s shape.
pub fn softmax<B: FusedOps, const D: usize>(
    x: Tensor<B, D>,
    bias: Option<Tensor<B, D>>,
    scale: f32,
) -> Tensor<B, D> {
    let bias = bias.map(|b| b.into_primitive().tensor());
    let y = B::fused_softmax(x.into_primitive().tensor(), bias, scale);
    Tensor::from_primitive(TensorPrimitive::Float(y))
}

/// LayerNorm over the last axis (biased variance), `gamma` and `beta` of shape `[C]`.
pub fn layer_norm<B: FusedOps, const D: usize>(
    x: Tensor<B, D>,
    gamma: Tensor<B, 1>,
    beta: Option<Tensor<B, 1>>,
    eps: f64,
) -> Tensor<B, D> {
    let beta = beta.map(|b| b.into_primitive().tensor());
    let y = B::fused_layer_norm(
        x.into_primitive().tensor(),
        gamma.into_primitive().tensor(),
        beta,
        eps,
    );
    Tensor::from_primitive(TensorPrimitive::Float(y))
}

/// Exact (erf) GELU.
pub fn gelu<B: FusedOps, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    let y = B::fused_gelu(x.into_primitive().tensor());
    Tensor::from_primitive(TensorPrimitive::Float(y))
}

/// `x` laid out contiguously (see [`FusedOps::fused_contiguous`]).
pub fn contiguous<B: FusedOps, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    let y = B::fused_contiguous(x.into_primitive().tensor());
    Tensor::from_primitive(TensorPrimitive::Float(y))
}

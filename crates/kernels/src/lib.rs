//! EchoONE's CPU speed-ups for burn: how the process keeps freed tensor memory ([`heap`]), and
//! fused softmax, LayerNorm, GELU, conv2d and the 2×2 stride-2 transposed convolution with their
//! own backward and a parallel contiguous copy ([`FusedOps`]),
//! rayon-parallel on burn-flex (the conv2d backward as im2col and parallel GEMMs, the transposed
//! convolution as GEMMs around a pixel shuffle) and recorded
//! as single nodes under burn-autodiff. Model code calls them through [`dispatch`], generic over
//! any backend: the fused kernels where the backend has them, burn's own ops elsewhere.

pub mod heap;

mod autodiff;
pub mod composed;
mod conv;
mod conv_transpose;
mod copy;
pub mod dispatch;
mod flex;
pub mod fused;
pub mod gelu;
pub mod layer_norm;
pub mod math;
mod parallel;
pub mod softmax;
pub mod tensor;

pub use composed::{
    composed_conv2d_bias_backward, composed_gelu, composed_gelu_backward, composed_layer_norm,
    composed_layer_norm_backward, composed_softmax, composed_softmax_backward,
    conv_transpose2d_2x2_options,
};
pub use fused::FusedOps;

//! The fused kernels against burn's own ops: forward parity, backward parity, gradients under
//! autodiff (against the composed ops and finite differences), determinism, the vectorised
//! exp's accuracy, `dispatch`'s fused and composed paths agreeing, conv2d's backward, and the
//! 2×2 stride-2 transposed convolution.

mod common;
mod conv;
mod conv_transpose;
mod determinism;
mod dispatch;
mod exp;
mod forward;
mod gradients;
mod kernels_backward;

//! The fused kernels against burn's own ops: forward parity, backward parity, gradients under
//! autodiff (against the composed ops and finite differences), determinism, the vectorised
//! exp's accuracy, `dispatch`'s fused and composed paths agreeing, and conv2d's backward.

mod common;
mod conv;
mod determinism;
mod dispatch;
mod exp;
mod forward;
mod gradients;
mod kernels_backward;

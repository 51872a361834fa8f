//! The fused kernels against burn's own ops: forward parity, backward parity, gradients under
//! autodiff (against the composed ops and finite differences), determinism, the vectorised
//! exp's accuracy, and `dispatch`'s fused and composed paths agreeing.

mod common;
mod determinism;
mod dispatch;
mod exp;
mod forward;
mod gradients;
mod kernels_backward;

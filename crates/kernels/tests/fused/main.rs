//! The fused kernels against burn's own ops: forward parity, backward parity, gradients under
//! autodiff (against the composed ops and finite differences), determinism, and the vectorised
//! exp's accuracy.

mod common;
mod determinism;
mod exp;
mod forward;
mod gradients;
mod kernels_backward;

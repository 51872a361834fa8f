//! The bottleneck adapter (`input_Adapter`, `MLP_Adapter`): fc -> GELU -> fc, with or without a
//! skip connection.

// `D_fc1`, `D_fc2` are the authors' checkpoint names; burn's derives copy them into generated
// items, so the allowance is module-wide.
#![allow(non_snake_case)]

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Tensor, backend::Backend};
use echoone_kernels::dispatch::{gelu, linear};

/// Configuration of [`Adapter`]; EchoONE ViT-B: `dim` 768, hidden 192.
#[derive(Config, Debug)]
pub struct AdapterConfig {
    /// Token width in and out.
    pub dim: usize,
    /// Hidden width as a fraction of `dim` (truncated, as Python's `int`).
    #[config(default = 0.25)]
    pub mlp_ratio: f64,
    /// Add the input to the output (input adapter) or return the bottleneck alone (MLP adapter).
    #[config(default = true)]
    pub skip_connect: bool,
}

/// `x (+) D_fc2(GELU(D_fc1(x)))` over the last axis (keys `D_fc1`, `D_fc2`).
#[derive(Module, Debug)]
pub struct Adapter<B: Backend> {
    /// Down projection `dim -> hidden`.
    pub D_fc1: Linear<B>,
    /// Up projection `hidden -> dim`.
    pub D_fc2: Linear<B>,
    /// Whether the input is added to the output.
    pub skip_connect: bool,
}

impl AdapterConfig {
    /// The image encoder's input adapter: with the skip connection.
    pub fn input(dim: usize) -> Self {
        Self::new(dim)
    }

    /// A global block's MLP adapter: without the skip connection.
    pub fn mlp(dim: usize) -> Self {
        Self::new(dim).with_skip_connect(false)
    }

    /// The hidden width, `int(dim * mlp_ratio)`.
    pub fn hidden_dim(&self) -> usize {
        (self.dim as f64 * self.mlp_ratio) as usize
    }

    /// Builds the adapter with burn's default (PyTorch-like) initialisation.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Adapter<B> {
        let hidden = self.hidden_dim();
        Adapter {
            D_fc1: LinearConfig::new(self.dim, hidden).init(device),
            D_fc2: LinearConfig::new(hidden, self.dim).init(device),
            skip_connect: self.skip_connect,
        }
    }
}

impl<B: Backend> Adapter<B> {
    /// Maps `[..., dim]` (any rank, e.g. tokens `[B, H, W, dim]`) to the same shape.
    pub fn forward<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        let out = linear(&self.D_fc2, gelu(linear(&self.D_fc1, x.clone())));
        if self.skip_connect { x + out } else { out }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn_flex::Flex;

    #[test]
    fn vit_b_widths_and_skip_presets() {
        assert_eq!(AdapterConfig::input(768).hidden_dim(), 192);
        assert!(AdapterConfig::input(768).skip_connect);
        assert!(!AdapterConfig::mlp(768).skip_connect);
    }

    #[test]
    fn skip_connection_adds_the_input_and_only_then() {
        let device = Default::default();
        let x =
            Tensor::<Flex, 4>::random([2, 3, 3, 16], burn::tensor::Distribution::Default, &device);
        for skip in [true, false] {
            let adapter = AdapterConfig::new(16)
                .with_skip_connect(skip)
                .init::<Flex>(&device);
            let bottleneck = adapter
                .D_fc2
                .forward(gelu(adapter.D_fc1.forward(x.clone())));
            let expected = if skip {
                bottleneck + x.clone()
            } else {
                bottleneck
            };
            let out = adapter.forward(x.clone());
            assert_eq!(out.dims(), [2, 3, 3, 16]);
            let diff = (out - expected).abs().max().into_scalar();
            assert!(diff < 1e-6, "skip {skip}: {diff}");
        }
    }
}

//! The cross-branch attention adapter (`Space_Adapter`): ViT tokens attend to the CNN branch's
//! features, the ladder's way of injecting local detail into the global blocks.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Tensor, backend::Backend};
use echoone_kernels::dispatch::{attention, contiguous, linear};

use crate::error::LffaError;

/// Configuration of [`SpaceAdapter`]; EchoONE ViT-B: `dim` 768, 12 heads.
#[derive(Config, Debug)]
pub struct SpaceAdapterConfig {
    /// Token width (queries, keys and values alike).
    pub dim: usize,
    /// Number of attention heads; must divide `dim`.
    #[config(default = 12)]
    pub num_heads: usize,
    /// Whether the q, k and v projections have a bias (the output projection always has one).
    #[config(default = true)]
    pub qkv_bias: bool,
}

/// Multi-head cross-attention with separate projections (keys `q`, `k`, `v`, `proj`) and no
/// relative position bias.
#[derive(Module, Debug)]
pub struct SpaceAdapter<B: Backend> {
    /// Query projection, applied to the ViT tokens.
    pub q: Linear<B>,
    /// Key projection, applied to the CNN features.
    pub k: Linear<B>,
    /// Value projection, applied to the CNN features.
    pub v: Linear<B>,
    /// Output projection.
    pub proj: Linear<B>,
    /// Number of attention heads.
    pub num_heads: usize,
}

impl SpaceAdapterConfig {
    /// Builds the adapter; fails when `num_heads` is zero or does not divide `dim`.
    pub fn init<B: Backend>(&self, device: &B::Device) -> crate::Result<SpaceAdapter<B>> {
        if self.num_heads == 0 || !self.dim.is_multiple_of(self.num_heads) {
            return Err(LffaError::Config(format!(
                "space adapter: {} heads do not divide width {}",
                self.num_heads, self.dim
            )));
        }
        let linear = |bias: bool| {
            LinearConfig::new(self.dim, self.dim)
                .with_bias(bias)
                .init(device)
        };
        Ok(SpaceAdapter {
            q: linear(self.qkv_bias),
            k: linear(self.qkv_bias),
            v: linear(self.qkv_bias),
            proj: linear(true),
            num_heads: self.num_heads,
        })
    }
}

impl<B: Backend> SpaceAdapter<B> {
    /// Attends from `tokens: [B, H, W, C]` to `context: [B, Hc, Wc, C]` (the CNN features,
    /// channels last) and returns the projected attention output `[B, H, W, C]` (not added to
    /// the tokens). The authors' code needs `Hc x Wc = H x W`; any context size works here.
    pub fn forward(&self, tokens: Tensor<B, 4>, context: Tensor<B, 4>) -> Tensor<B, 4> {
        let [batch, height, width, dim] = tokens.dims();
        let [_, ctx_h, ctx_w, _] = context.dims();
        let heads = self.num_heads;
        let head_dim = dim / heads;
        let split =
            |x: Tensor<B, 4>, len: usize| x.reshape([batch, len, heads, head_dim]).swap_dims(1, 2);
        let q = split(linear(&self.q, tokens), height * width);
        let k = split(linear(&self.k, context.clone()), ctx_h * ctx_w);
        let v = split(linear(&self.v, context), ctx_h * ctx_w);
        let scale = (head_dim as f32).powf(-0.5);
        let out = contiguous(attention(q, k, v, None, scale).swap_dims(1, 2))
            .reshape([batch, height, width, dim]);
        linear(&self.proj, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn_flex::Flex;

    #[test]
    fn output_follows_the_tokens_for_any_context_size() {
        let device = Default::default();
        let adapter = SpaceAdapterConfig::new(24)
            .with_num_heads(4)
            .init::<Flex>(&device)
            .unwrap();
        let tokens = Tensor::<Flex, 4>::ones([2, 4, 3, 24], &device);
        let same = Tensor::<Flex, 4>::ones([2, 4, 3, 24], &device);
        let other = Tensor::<Flex, 4>::ones([2, 5, 5, 24], &device);
        assert_eq!(adapter.forward(tokens.clone(), same).dims(), [2, 4, 3, 24]);
        assert_eq!(adapter.forward(tokens, other).dims(), [2, 4, 3, 24]);
    }

    #[test]
    fn heads_must_divide_the_width() {
        let device = Default::default();
        for heads in [0, 5] {
            let result = SpaceAdapterConfig::new(24)
                .with_num_heads(heads)
                .init::<Flex>(&device);
            assert!(matches!(result, Err(LffaError::Config(_))), "{heads} heads");
        }
    }

    #[test]
    fn qkv_bias_is_optional() {
        let device = Default::default();
        let adapter = SpaceAdapterConfig::new(24)
            .with_qkv_bias(false)
            .init::<Flex>(&device)
            .unwrap();
        assert!(adapter.q.bias.is_none() && adapter.v.bias.is_none());
        assert!(adapter.proj.bias.is_some());
    }
}

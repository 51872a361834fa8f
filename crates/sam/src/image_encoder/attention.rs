//! Multi-head self-attention of the image encoder, with SAM's decomposed rel-pos bias.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Tensor, backend::Backend};
use echoone_kernels::dispatch::{attention, contiguous, linear};

use super::rel_pos::decomposed_rel_pos_bias;

/// Configuration of [`Attention`].
#[derive(Config, Debug)]
pub struct AttentionConfig {
    /// Token width.
    pub dim: usize,
    /// Number of heads.
    pub num_heads: usize,
    /// Whether the qkv projection has a bias.
    #[config(default = true)]
    pub qkv_bias: bool,
    /// Whether the decomposed relative position bias is added.
    #[config(default = true)]
    pub use_rel_pos: bool,
    /// Token grid `(H, W)` the rel-pos tables are sized for (`2 * size - 1` rows each).
    pub input_size: [usize; 2],
}

/// Self-attention over a `[B, H, W, C]` token map (keys `qkv`, `proj`, `rel_pos_h`, `rel_pos_w`).
#[derive(Module, Debug)]
pub struct Attention<B: Backend> {
    /// Joint query/key/value projection.
    pub qkv: Linear<B>,
    /// Output projection.
    pub proj: Linear<B>,
    /// Relative position table along the height, `[2 H - 1, head_dim]`.
    pub rel_pos_h: Option<Param<Tensor<B, 2>>>,
    /// Relative position table along the width, `[2 W - 1, head_dim]`.
    pub rel_pos_w: Option<Param<Tensor<B, 2>>>,
    /// Number of heads.
    pub num_heads: usize,
}

impl AttentionConfig {
    /// Builds the module (rel-pos tables zero-initialised, as SAM).
    pub fn init<B: Backend>(&self, device: &B::Device) -> Attention<B> {
        let head_dim = self.dim / self.num_heads;
        let table =
            |size: usize| Param::from_tensor(Tensor::zeros([2 * size - 1, head_dim], device));
        Attention {
            qkv: LinearConfig::new(self.dim, 3 * self.dim)
                .with_bias(self.qkv_bias)
                .init(device),
            proj: LinearConfig::new(self.dim, self.dim).init(device),
            rel_pos_h: self.use_rel_pos.then(|| table(self.input_size[0])),
            rel_pos_w: self.use_rel_pos.then(|| table(self.input_size[1])),
            num_heads: self.num_heads,
        }
    }
}

impl<B: Backend> Attention<B> {
    /// Attends within each `[H, W]` map of `x: [B, H, W, C]`.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let [batch, height, width, dim] = x.dims();
        let tokens = height * width;
        let heads = self.num_heads;
        let head_dim = dim / heads;
        let qkv = contiguous(
            linear(&self.qkv, x.reshape([batch, tokens, dim]))
                .reshape([batch, tokens, 3, heads, head_dim])
                .permute([2, 0, 3, 1, 4]),
        );
        let part = |i: usize| {
            qkv.clone()
                .narrow(0, i, 1)
                .reshape([batch, heads, tokens, head_dim])
        };
        let (q, k, v) = (part(0), part(1), part(2));
        let bias = match (&self.rel_pos_h, &self.rel_pos_w) {
            (Some(rel_h), Some(rel_w)) => Some(
                decomposed_rel_pos_bias(
                    q.clone().reshape([batch * heads, tokens, head_dim]),
                    rel_h.val(),
                    rel_w.val(),
                    (height, width),
                    (height, width),
                )
                .reshape([batch, heads, tokens, tokens]),
            ),
            _ => None,
        };
        let out = attention(q, k, v, bias, (head_dim as f32).powf(-0.5));
        let out = contiguous(
            out.reshape([batch, heads, height, width, head_dim])
                .permute([0, 2, 3, 1, 4]),
        )
        .reshape([batch, height, width, dim]);
        linear(&self.proj, out)
    }
}

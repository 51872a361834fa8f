//! The two-way transformer's attention, with an optional downscaled internal width.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Tensor, backend::Backend};
use echoone_kernels::dispatch::{attention, linear};

/// Configuration of [`DecoderAttention`].
#[derive(Config, Debug)]
pub struct DecoderAttentionConfig {
    /// Token width.
    pub embedding_dim: usize,
    /// Number of heads.
    pub num_heads: usize,
    /// The internal width is `embedding_dim / downsample_rate`.
    #[config(default = 1)]
    pub downsample_rate: usize,
}

/// SAM's transformer `Attention` (keys `q_proj`, `k_proj`, `v_proj`, `out_proj`).
#[derive(Module, Debug)]
pub struct DecoderAttention<B: Backend> {
    /// Query projection.
    pub q_proj: Linear<B>,
    /// Key projection.
    pub k_proj: Linear<B>,
    /// Value projection.
    pub v_proj: Linear<B>,
    /// Output projection.
    pub out_proj: Linear<B>,
    /// Number of heads.
    pub num_heads: usize,
}

impl DecoderAttentionConfig {
    /// Builds the module.
    pub fn init<B: Backend>(&self, device: &B::Device) -> DecoderAttention<B> {
        let internal = self.embedding_dim / self.downsample_rate;
        let linear = |i, o| LinearConfig::new(i, o).init(device);
        DecoderAttention {
            q_proj: linear(self.embedding_dim, internal),
            k_proj: linear(self.embedding_dim, internal),
            v_proj: linear(self.embedding_dim, internal),
            out_proj: linear(internal, self.embedding_dim),
            num_heads: self.num_heads,
        }
    }
}

impl<B: Backend> DecoderAttention<B> {
    fn separate_heads(&self, x: Tensor<B, 3>) -> Tensor<B, 4> {
        let [b, n, c] = x.dims();
        x.reshape([b, n, self.num_heads, c / self.num_heads])
            .swap_dims(1, 2)
    }

    /// Attends queries `[B, Nq, D]` to keys `[B, Nk, D]` with values `[B, Nk, D]`.
    pub fn forward(&self, q: Tensor<B, 3>, k: Tensor<B, 3>, v: Tensor<B, 3>) -> Tensor<B, 3> {
        let q = self.separate_heads(linear(&self.q_proj, q));
        let k = self.separate_heads(linear(&self.k_proj, k));
        let v = self.separate_heads(linear(&self.v_proj, v));
        let scale = (q.dims()[3] as f32).powf(-0.5);
        let out = attention(q, k, v, None, scale);
        let [b, heads, n, c] = out.dims();
        linear(
            &self.out_proj,
            out.swap_dims(1, 2).reshape([b, n, heads * c]),
        )
    }
}

//! A transformer block of the image encoder: windowed or global attention, then an MLP.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{LayerNorm, LayerNormConfig};
use burn::tensor::ops::PadMode;
use burn::tensor::{Tensor, backend::Backend};
use echoone_kernels::dispatch::contiguous;

use super::attention::{Attention, AttentionConfig};
use crate::mlp::{Activation, MlpBlock, MlpBlockConfig};
use crate::norm::layer_norm;

/// Configuration of [`Block`].
#[derive(Config, Debug)]
pub struct BlockConfig {
    /// Token width.
    pub dim: usize,
    /// Number of attention heads.
    pub num_heads: usize,
    /// MLP hidden width as a multiple of `dim`.
    #[config(default = 4.0)]
    pub mlp_ratio: f64,
    /// Whether the qkv projection has a bias.
    #[config(default = true)]
    pub qkv_bias: bool,
    /// Whether the decomposed relative position bias is used.
    #[config(default = true)]
    pub use_rel_pos: bool,
    /// Window size; 0 means global attention.
    pub window_size: usize,
    /// Token grid of a global block (its rel-pos tables are sized for it).
    pub input_size: [usize; 2],
    /// LayerNorm epsilon (SAM: 1e-6).
    #[config(default = 1e-6)]
    pub layer_norm_eps: f64,
}

/// SAM's image-encoder `Block` (keys `norm1`, `attn`, `norm2`, `mlp`).
#[derive(Module, Debug)]
pub struct Block<B: Backend> {
    /// Normalisation before attention.
    pub norm1: LayerNorm<B>,
    /// Attention, windowed or global.
    pub attn: Attention<B>,
    /// Normalisation before the MLP.
    pub norm2: LayerNorm<B>,
    /// The MLP.
    pub mlp: MlpBlock<B>,
    /// Window size; 0 for a global block.
    pub window_size: usize,
    /// The epsilon of `norm1` and `norm2`.
    pub layer_norm_eps: f64,
}

impl BlockConfig {
    /// Builds the block.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Block<B> {
        let attn_size = if self.window_size > 0 {
            [self.window_size, self.window_size]
        } else {
            self.input_size
        };
        let norm = || {
            LayerNormConfig::new(self.dim)
                .with_epsilon(self.layer_norm_eps)
                .init(device)
        };
        Block {
            norm1: norm(),
            attn: AttentionConfig::new(self.dim, self.num_heads, attn_size)
                .with_qkv_bias(self.qkv_bias)
                .with_use_rel_pos(self.use_rel_pos)
                .init(device),
            norm2: norm(),
            mlp: MlpBlockConfig::new(
                self.dim,
                (self.dim as f64 * self.mlp_ratio) as usize,
                Activation::Gelu,
            )
            .init(device),
            window_size: self.window_size,
            layer_norm_eps: self.layer_norm_eps,
        }
    }
}

impl<B: Backend> Block<B> {
    /// Applies the block to `x: [B, H, W, C]`.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let shortcut = x.clone();
        let h = layer_norm(&self.norm1, self.layer_norm_eps, x);
        let h = if self.window_size > 0 {
            let [_, height, width, _] = h.dims();
            let (windows, padded) = window_partition(h, self.window_size);
            let attended = self.attn.forward(windows);
            window_unpartition(attended, self.window_size, padded, (height, width))
        } else {
            self.attn.forward(h)
        };
        let x = shortcut + h;
        let h = layer_norm(&self.norm2, self.layer_norm_eps, x.clone());
        x + self.mlp.forward(h)
    }
}

/// Splits `[B, H, W, C]` into `[B * nW, ws, ws, C]` windows, zero-padding H and W to multiples
/// of `ws`; returns the windows and the padded size.
pub fn window_partition<B: Backend>(
    x: Tensor<B, 4>,
    window_size: usize,
) -> (Tensor<B, 4>, (usize, usize)) {
    let [batch, height, width, channels] = x.dims();
    let pad_h = (window_size - height % window_size) % window_size;
    let pad_w = (window_size - width % window_size) % window_size;
    let x = if pad_h > 0 || pad_w > 0 {
        x.pad([(0, pad_h), (0, pad_w), (0, 0)], PadMode::Constant(0.0))
    } else {
        x
    };
    let (hp, wp) = (height + pad_h, width + pad_w);
    let (nh, nw) = (hp / window_size, wp / window_size);
    let windows = contiguous(
        x.reshape([batch, nh, window_size, nw, window_size, channels])
            .permute([0, 1, 3, 2, 4, 5]),
    )
    .reshape([batch * nh * nw, window_size, window_size, channels]);
    (windows, (hp, wp))
}

/// Reassembles windows from [`window_partition`] into `[B, H, W, C]`, dropping the padding.
pub fn window_unpartition<B: Backend>(
    windows: Tensor<B, 4>,
    window_size: usize,
    padded: (usize, usize),
    original: (usize, usize),
) -> Tensor<B, 4> {
    let (hp, wp) = padded;
    let (height, width) = original;
    let [count, _, _, channels] = windows.dims();
    let (nh, nw) = (hp / window_size, wp / window_size);
    let batch = count / (nh * nw);
    let x = contiguous(
        windows
            .reshape([batch, nh, nw, window_size, window_size, channels])
            .permute([0, 1, 3, 2, 4, 5]),
    )
    .reshape([batch, hp, wp, channels]);
    if hp > height || wp > width {
        x.slice([0..batch, 0..height, 0..width, 0..channels])
    } else {
        x
    }
}

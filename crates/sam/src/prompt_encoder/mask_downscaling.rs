//! The prompt encoder's mask downscaling stack (`mask_downscaling.{0,1,3,4,6}`).

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::{Tensor, backend::Backend};
use echoone_kernels::dispatch::gelu;

use crate::layer_norm2d::{LayerNorm2d, LayerNorm2dConfig};
use echoone_kernels::dispatch::conv2d;

/// Configuration of [`MaskDownscaling`].
#[derive(Config, Debug)]
pub struct MaskDownscalingConfig {
    /// Hidden channels (SAM: 16; the first conv has a quarter of them).
    pub mask_in_chans: usize,
    /// Output channels (the prompt embedding width).
    pub embed_dim: usize,
}

/// Conv k2s2 -> LN2d -> GELU -> Conv k2s2 -> LN2d -> GELU -> Conv 1x1: a `[B, 1, 4h, 4w]` mask to
/// a `[B, D, h, w]` dense embedding. Checkpoint indices 0, 1, 3, 4, 6 map to
/// `conv1`, `ln1`, `conv2`, `ln2`, `conv3`.
#[derive(Module, Debug)]
pub struct MaskDownscaling<B: Backend> {
    /// First strided convolution (`mask_downscaling.0`).
    pub conv1: Conv2d<B>,
    /// First channel LayerNorm (`mask_downscaling.1`).
    pub ln1: LayerNorm2d<B>,
    /// Second strided convolution (`mask_downscaling.3`).
    pub conv2: Conv2d<B>,
    /// Second channel LayerNorm (`mask_downscaling.4`).
    pub ln2: LayerNorm2d<B>,
    /// Final 1x1 convolution (`mask_downscaling.6`).
    pub conv3: Conv2d<B>,
}

impl MaskDownscalingConfig {
    /// Builds the stack.
    pub fn init<B: Backend>(&self, device: &B::Device) -> MaskDownscaling<B> {
        let quarter = self.mask_in_chans / 4;
        MaskDownscaling {
            conv1: Conv2dConfig::new([1, quarter], [2, 2])
                .with_stride([2, 2])
                .init(device),
            ln1: LayerNorm2dConfig::new(quarter).init(device),
            conv2: Conv2dConfig::new([quarter, self.mask_in_chans], [2, 2])
                .with_stride([2, 2])
                .init(device),
            ln2: LayerNorm2dConfig::new(self.mask_in_chans).init(device),
            conv3: Conv2dConfig::new([self.mask_in_chans, self.embed_dim], [1, 1]).init(device),
        }
    }
}

impl<B: Backend> MaskDownscaling<B> {
    /// Embeds `[B, 1, 4h, 4w]` mask logits as `[B, D, h, w]`.
    pub fn forward(&self, mask: Tensor<B, 4>) -> Tensor<B, 4> {
        let x = gelu(self.ln1.forward(conv2d(&self.conv1, mask)));
        let x = gelu(self.ln2.forward(conv2d(&self.conv2, x)));
        conv2d(&self.conv3, x)
    }
}

//! Patch embedding: a strided convolution from pixels to tokens.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::{Tensor, backend::Backend};
use echoone_kernels::dispatch::conv2d;

/// Configuration of [`PatchEmbed`].
#[derive(Config, Debug)]
pub struct PatchEmbedConfig {
    /// Input channels.
    pub in_chans: usize,
    /// Token width.
    pub embed_dim: usize,
    /// Kernel size (SAM: 16).
    pub patch_size: usize,
    /// Stride (SAM: equal to the patch size; EchoONE: 8).
    pub stride: usize,
}

/// SAM's `PatchEmbed` (key `proj`): `[B, C, H, W]` pixels to `[B, H', W', D]` tokens.
#[derive(Module, Debug)]
pub struct PatchEmbed<B: Backend> {
    /// The patch convolution, no padding.
    pub proj: Conv2d<B>,
}

impl PatchEmbedConfig {
    /// Builds the module.
    pub fn init<B: Backend>(&self, device: &B::Device) -> PatchEmbed<B> {
        PatchEmbed {
            proj: Conv2dConfig::new(
                [self.in_chans, self.embed_dim],
                [self.patch_size, self.patch_size],
            )
            .with_stride([self.stride, self.stride])
            .init(device),
        }
    }
}

impl<B: Backend> PatchEmbed<B> {
    /// Embeds `[B, C, H, W]` into channels-last tokens `[B, H', W', D]`.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        conv2d(&self.proj, x).permute([0, 2, 3, 1])
    }
}

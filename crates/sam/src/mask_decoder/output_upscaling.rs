//! The mask decoder's upscaling of the image tokens (`output_upscaling.{0,1,3}`).

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{ConvTranspose2d, ConvTranspose2dConfig};
use burn::tensor::{Tensor, backend::Backend};
use echoone_kernels::dispatch::{conv_transpose2d, gelu};

use crate::layer_norm2d::{LayerNorm2d, LayerNorm2dConfig};

/// Configuration of [`OutputUpscaling`].
#[derive(Config, Debug)]
pub struct OutputUpscalingConfig {
    /// Input channels (the transformer width).
    pub transformer_dim: usize,
}

/// ConvT k2s2 (D -> D/4) -> LN2d -> GELU -> ConvT k2s2 (D/4 -> D/8) -> GELU. Checkpoint indices
/// 0, 1, 3 map to `deconv1`, `ln`, `deconv2`.
#[derive(Module, Debug)]
pub struct OutputUpscaling<B: Backend> {
    /// First transposed convolution (`output_upscaling.0`).
    pub deconv1: ConvTranspose2d<B>,
    /// Channel LayerNorm (`output_upscaling.1`).
    pub ln: LayerNorm2d<B>,
    /// Second transposed convolution (`output_upscaling.3`).
    pub deconv2: ConvTranspose2d<B>,
}

impl OutputUpscalingConfig {
    /// Builds the stack.
    pub fn init<B: Backend>(&self, device: &B::Device) -> OutputUpscaling<B> {
        let d = self.transformer_dim;
        OutputUpscaling {
            deconv1: ConvTranspose2dConfig::new([d, d / 4], [2, 2])
                .with_stride([2, 2])
                .init(device),
            ln: LayerNorm2dConfig::new(d / 4).init(device),
            deconv2: ConvTranspose2dConfig::new([d / 4, d / 8], [2, 2])
                .with_stride([2, 2])
                .init(device),
        }
    }
}

impl<B: Backend> OutputUpscaling<B> {
    /// Upscales `[B, D, h, w]` to `[B, D / 8, 4 h, 4 w]`.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let x = gelu(self.ln.forward(conv_transpose2d(&self.deconv1, x)));
        gelu(conv_transpose2d(&self.deconv2, x))
    }
}

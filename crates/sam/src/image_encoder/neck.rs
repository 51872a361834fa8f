//! The image encoder's neck: 1x1 conv, LayerNorm2d, 3x3 conv, LayerNorm2d.

use burn::config::Config;
use burn::module::Module;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::{Tensor, backend::Backend};

use crate::layer_norm2d::{LayerNorm2d, LayerNorm2dConfig};
use echoone_kernels::dispatch::conv2d;

/// Configuration of [`Neck`].
#[derive(Config, Debug)]
pub struct NeckConfig {
    /// Channels in (the encoder width).
    pub in_channels: usize,
    /// Channels out (the prompt embedding width).
    pub out_channels: usize,
}

/// SAM's `neck` (checkpoint keys `neck.0..3` map to `conv1`, `ln1`, `conv2`, `ln2`).
#[derive(Module, Debug)]
pub struct Neck<B: Backend> {
    /// 1x1 convolution, no bias (`neck.0`).
    pub conv1: Conv2d<B>,
    /// Channel LayerNorm (`neck.1`).
    pub ln1: LayerNorm2d<B>,
    /// 3x3 convolution, padding 1, no bias (`neck.2`).
    pub conv2: Conv2d<B>,
    /// Channel LayerNorm (`neck.3`).
    pub ln2: LayerNorm2d<B>,
}

impl NeckConfig {
    /// Builds the neck.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Neck<B> {
        Neck {
            conv1: Conv2dConfig::new([self.in_channels, self.out_channels], [1, 1])
                .with_bias(false)
                .init(device),
            ln1: LayerNorm2dConfig::new(self.out_channels).init(device),
            conv2: Conv2dConfig::new([self.out_channels, self.out_channels], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .with_bias(false)
                .init(device),
            ln2: LayerNorm2dConfig::new(self.out_channels).init(device),
        }
    }
}

impl<B: Backend> Neck<B> {
    /// Maps `[B, C_in, H, W]` to `[B, C_out, H, W]`.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let x = self.ln1.forward(conv2d(&self.conv1, x));
        self.ln2.forward(conv2d(&self.conv2, x))
    }
}

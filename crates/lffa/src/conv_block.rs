//! The convolution block the CNN branch and the position-embedding reducer are built from:
//! optional 2x2 max pool -> Conv3x3 (no bias) -> LayerNorm2d -> GELU, plus an optional 1x1
//! convolution shortcut (the authors' `SingleConv`, `SingleDown` and their `_ResNet` variants).

use burn::config::Config;
use burn::module::Module;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::module::max_pool2d;
use burn::tensor::{Tensor, backend::Backend};
use echoone_kernels::dispatch::gelu;

use echoone_kernels::dispatch::conv2d;
use echoone_sam::{LayerNorm2d, LayerNorm2dConfig};

/// Configuration of [`ConvBlock`].
#[derive(Config, Debug)]
pub struct ConvBlockConfig {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Halve height and width with a 2x2 max pool before the convolution.
    #[config(default = false)]
    pub downsample: bool,
    /// Add a 1x1 convolution (no bias) of the block input to the output; stride 2 when
    /// downsampling.
    #[config(default = false)]
    pub shortcut: bool,
}

/// Max pool (optional) -> Conv3x3 -> LayerNorm2d -> GELU, plus an optional 1x1 shortcut
/// (keys `conv`, `norm`, `residual`).
#[derive(Module, Debug)]
pub struct ConvBlock<B: Backend> {
    /// The 3x3 convolution, padding 1, no bias.
    pub conv: Conv2d<B>,
    /// Channels-first layer norm after the convolution.
    pub norm: LayerNorm2d<B>,
    /// The 1x1 shortcut convolution (no bias), when the block has one.
    pub residual: Option<Conv2d<B>>,
    /// Whether a 2x2 max pool precedes the convolution.
    pub downsample: bool,
}

impl ConvBlockConfig {
    /// Builds the block with burn's default (PyTorch-like) initialisation.
    pub fn init<B: Backend>(&self, device: &B::Device) -> ConvBlock<B> {
        let channels = [self.in_channels, self.out_channels];
        let stride = if self.downsample { 2 } else { 1 };
        ConvBlock {
            conv: Conv2dConfig::new(channels, [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .with_bias(false)
                .init(device),
            norm: LayerNorm2dConfig::new(self.out_channels).init(device),
            residual: self.shortcut.then(|| {
                Conv2dConfig::new(channels, [1, 1])
                    .with_stride([stride, stride])
                    .with_bias(false)
                    .init(device)
            }),
            downsample: self.downsample,
        }
    }
}

impl<B: Backend> ConvBlock<B> {
    /// Maps `[B, C_in, H, W]` to `[B, C_out, H, W]`, or `[B, C_out, H/2, W/2]` when
    /// downsampling (H and W even).
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let identity = self.residual.as_ref().map(|conv| conv2d(conv, x.clone()));
        let pooled = if self.downsample {
            max_pool2d(x, [2, 2], [2, 2], [0, 0], [1, 1], false)
        } else {
            x
        };
        let out = gelu(self.norm.forward(conv2d(&self.conv, pooled)));
        match identity {
            Some(identity) => out + identity,
            None => out,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn_flex::Flex;

    #[test]
    fn shapes_with_and_without_downsampling() {
        let device = Default::default();
        let x = Tensor::<Flex, 4>::ones([2, 3, 8, 6], &device);
        for shortcut in [false, true] {
            let keep = ConvBlockConfig::new(3, 5)
                .with_shortcut(shortcut)
                .init::<Flex>(&device);
            assert_eq!(keep.forward(x.clone()).dims(), [2, 5, 8, 6]);
            assert_eq!(keep.residual.is_some(), shortcut);
            let down = ConvBlockConfig::new(3, 5)
                .with_downsample(true)
                .with_shortcut(shortcut)
                .init::<Flex>(&device);
            assert_eq!(down.forward(x.clone()).dims(), [2, 5, 4, 3]);
        }
    }
}

//! The refine adapter (`refine_Adapter`): a Conv3x3 -> LayerNorm2d -> GELU that each global
//! block applies to the CNN features before passing them on.

use burn::config::Config;
use burn::module::Module;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::{Tensor, backend::Backend};
use echoone_kernels::dispatch::gelu;

use echoone_kernels::dispatch::conv2d;
use echoone_sam::{LayerNorm2d, LayerNorm2dConfig};

/// Configuration of [`RefineAdapter`]; EchoONE ViT-B: 768 channels.
#[derive(Config, Debug)]
pub struct RefineAdapterConfig {
    /// Channels in and out.
    pub channels: usize,
}

/// Conv3x3 (padding 1, no bias) -> LayerNorm2d -> GELU (keys `conv`, `norm`; the authors'
/// `conv.0`, `conv.1`).
#[derive(Module, Debug)]
pub struct RefineAdapter<B: Backend> {
    /// The 3x3 convolution.
    pub conv: Conv2d<B>,
    /// Channels-first layer norm after the convolution.
    pub norm: LayerNorm2d<B>,
}

impl RefineAdapterConfig {
    /// Builds the adapter with burn's default (PyTorch-like) initialisation.
    pub fn init<B: Backend>(&self, device: &B::Device) -> RefineAdapter<B> {
        RefineAdapter {
            conv: Conv2dConfig::new([self.channels, self.channels], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .with_bias(false)
                .init(device),
            norm: LayerNorm2dConfig::new(self.channels).init(device),
        }
    }
}

impl<B: Backend> RefineAdapter<B> {
    /// Maps CNN features `[B, C, H, W]` (channels first) to `[B, C, H, W]`.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        gelu(self.norm.forward(conv2d(&self.conv, x)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn_flex::Flex;

    #[test]
    fn keeps_the_shape() {
        let device = Default::default();
        let adapter = RefineAdapterConfig::new(8).init::<Flex>(&device);
        let x = Tensor::<Flex, 4>::ones([2, 8, 5, 7], &device);
        assert_eq!(adapter.forward(x).dims(), [2, 8, 5, 7]);
    }
}

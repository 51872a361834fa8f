//! The decoder fusion convolutions (`neck_down_sample{1..4}`): before decoder blocks 1..4 the
//! image keys are concatenated with a CNN feature map and squeezed back by a 1x1 convolution.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::{Tensor, backend::Backend};

use crate::error::LffaError;
use echoone_kernels::dispatch::conv2d;
use echoone_sam::{LayerNorm2d, LayerNorm2dConfig};

/// Configuration of [`FusionConv`]; EchoONE ViT-B: 512 -> 256, with the norm only for
/// `neck_down_sample1` (the one before the last decoder block).
#[derive(Config, Debug)]
pub struct FusionConvConfig {
    /// Channels of the concatenated input (keys plus CNN feature).
    #[config(default = 512)]
    pub in_channels: usize,
    /// Channels of the output (the decoder width).
    #[config(default = 256)]
    pub out_channels: usize,
    /// Follow the convolution with a LayerNorm2d.
    #[config(default = false)]
    pub norm: bool,
}

/// Conv1x1 (no bias), optionally followed by LayerNorm2d (keys `conv`, `norm`; the authors'
/// `neck_down_sampleN` or `neck_down_sampleN.0`, `.1`).
#[derive(Module, Debug)]
pub struct FusionConv<B: Backend> {
    /// The 1x1 convolution.
    pub conv: Conv2d<B>,
    /// The layer norm after it, when configured.
    pub norm: Option<LayerNorm2d<B>>,
}

impl FusionConvConfig {
    /// Builds the convolution with burn's default (PyTorch-like) initialisation.
    pub fn init<B: Backend>(&self, device: &B::Device) -> FusionConv<B> {
        FusionConv {
            conv: Conv2dConfig::new([self.in_channels, self.out_channels], [1, 1])
                .with_bias(false)
                .init(device),
            norm: self
                .norm
                .then(|| LayerNorm2dConfig::new(self.out_channels).init(device)),
        }
    }
}

impl<B: Backend> FusionConv<B> {
    /// Maps `[B, in_channels, H, W]` to `[B, out_channels, H, W]`.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let x = conv2d(&self.conv, x);
        match &self.norm {
            Some(norm) => norm.forward(x),
            None => x,
        }
    }

    /// Fuses decoder keys `[B, H*W, Ck]` (row-major tokens) with a CNN feature map
    /// `[B, Cf, H, W]`: concatenates them along channels (keys first), applies
    /// [`forward`](Self::forward) and returns tokens `[B, H*W, out_channels]`.
    pub fn fuse(&self, keys: Tensor<B, 3>, feature: Tensor<B, 4>) -> crate::Result<Tensor<B, 3>> {
        let [batch, tokens, key_channels] = keys.dims();
        let [feature_batch, feature_channels, height, width] = feature.dims();
        let in_channels = self.conv.weight.dims()[1];
        if feature_batch != batch
            || tokens != height * width
            || key_channels + feature_channels != in_channels
        {
            return Err(LffaError::Shape(format!(
                "fusion of keys {:?} with feature {:?} into {in_channels} channels",
                keys.dims(),
                feature.dims()
            )));
        }
        let keys = keys
            .swap_dims(1, 2)
            .reshape([batch, key_channels, height, width]);
        let fused = self.forward(Tensor::cat(vec![keys, feature], 1));
        let out_channels = fused.dims()[1];
        Ok(fused.reshape([batch, out_channels, tokens]).swap_dims(1, 2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn_flex::Flex;

    #[test]
    fn fuse_maps_tokens_to_tokens() {
        let device = Default::default();
        for norm in [false, true] {
            let fusion = FusionConvConfig::new()
                .with_in_channels(16)
                .with_out_channels(8)
                .with_norm(norm)
                .init::<Flex>(&device);
            assert_eq!(fusion.norm.is_some(), norm);
            let keys = Tensor::<Flex, 3>::ones([2, 12, 8], &device);
            let feature = Tensor::<Flex, 4>::ones([2, 8, 3, 4], &device);
            let fused = fusion.fuse(keys, feature.clone()).unwrap();
            assert_eq!(fused.dims(), [2, 12, 8]);
            let maps = Tensor::cat(vec![feature.clone(), feature], 1);
            assert_eq!(fusion.forward(maps).dims(), [2, 8, 3, 4]);
        }
    }

    #[test]
    fn fuse_equals_forward_on_the_concatenated_maps() {
        let device = Default::default();
        let fusion = FusionConvConfig::new()
            .with_in_channels(6)
            .with_out_channels(5)
            .with_norm(true)
            .init::<Flex>(&device);
        let dist = burn::tensor::Distribution::Default;
        let key_maps = Tensor::<Flex, 4>::random([2, 4, 3, 2], dist, &device);
        let feature = Tensor::<Flex, 4>::random([2, 2, 3, 2], dist, &device);
        let keys = key_maps.clone().reshape([2, 4, 6]).swap_dims(1, 2);
        let fused = fusion.fuse(keys, feature.clone()).unwrap();
        let expected = fusion
            .forward(Tensor::cat(vec![key_maps, feature], 1))
            .reshape([2, 5, 6])
            .swap_dims(1, 2);
        let diff = (fused - expected).abs().max().into_scalar();
        assert!(diff < 1e-6, "{diff}");
    }

    #[test]
    fn fuse_rejects_mismatched_shapes() {
        let device = Default::default();
        let fusion = FusionConvConfig::new()
            .with_in_channels(16)
            .with_out_channels(8)
            .init::<Flex>(&device);
        let feature = Tensor::<Flex, 4>::ones([2, 8, 3, 4], &device);
        let cases = [[2, 11, 8], [1, 12, 8], [2, 12, 7]];
        for dims in cases {
            let keys = Tensor::<Flex, 3>::ones(dims, &device);
            let result = fusion.fuse(keys, feature.clone());
            assert!(matches!(result, Err(LffaError::Shape(_))), "{dims:?}");
        }
    }
}

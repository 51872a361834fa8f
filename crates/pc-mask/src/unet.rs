//! The prior U-Net: the K-channel prior to a coarse mask logit (authors' `cls_sim_avg_label_*`).

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Tensor, backend::Backend};

use crate::batch_norm::batch_norm;
use echoone_kernels::dispatch::{conv_transpose2d, conv2d};

/// Regex key remappings from the authors' checkpoint names (under `prompt_encoder.`) to the
/// fields of [`PriorUNet`] placed at `prompt_encoder.prior_unet` (BatchNorm `weight`/`bias` to
/// burn's `gamma`/`beta`; PyTorch's `num_batches_tracked` counters have no burn counterpart).
pub const PRIOR_UNET_KEY_REMAP: &[(&str, &str)] = &[
    (r"cls_sim_avg_label_(\w+)\.0\.", "prior_unet.${1}.conv1."),
    (r"cls_sim_avg_label_(\w+)\.1\.", "prior_unet.${1}.bn."),
    (r"cls_sim_avg_label_(\w+)\.3\.", "prior_unet.${1}.conv2."),
    (
        r"cls_sim_avg_label_(upconv[12]|conv_last)\.",
        "prior_unet.${1}.",
    ),
    (r"(prior_unet\.\w+\.bn)\.weight$", "${1}.gamma"),
    (r"(prior_unet\.\w+\.bn)\.bias$", "${1}.beta"),
];

/// Configuration of [`Cbr`].
#[derive(Config, Debug)]
pub struct CbrConfig {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
}

/// Conv3x3 (+bias) -> BatchNorm -> ReLU -> Conv3x3 (+bias) -> ReLU (indices 0, 1, 3 in the
/// authors' `nn.Sequential`: `conv1`, `bn`, `conv2`).
#[derive(Module, Debug)]
pub struct Cbr<B: Backend> {
    /// First convolution.
    pub conv1: Conv2d<B>,
    /// Batch normalisation after it.
    pub bn: BatchNorm<B>,
    /// Second convolution.
    pub conv2: Conv2d<B>,
}

impl CbrConfig {
    /// Builds the block.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Cbr<B> {
        let conv = |i, o| {
            Conv2dConfig::new([i, o], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(device)
        };
        Cbr {
            conv1: conv(self.in_channels, self.out_channels),
            bn: BatchNormConfig::new(self.out_channels).init(device),
            conv2: conv(self.out_channels, self.out_channels),
        }
    }
}

impl<B: Backend> Cbr<B> {
    /// Applies the block (spatial size kept).
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let x = relu(batch_norm(&self.bn, conv2d(&self.conv1, x)));
        relu(conv2d(&self.conv2, x))
    }
}

/// Configuration of [`PriorUNet`].
#[derive(Config, Debug)]
pub struct PriorUNetConfig {
    /// Input channels: the number of clusters K.
    #[config(default = 4)]
    pub in_channels: usize,
}

/// Two-level U-Net: enc1 (K->32), enc2 (32->64), bottleneck (64->128), two up-steps with skips,
/// and a 1x1 convolution to one logit channel. Input sides must be multiples of 4.
#[derive(Module, Debug)]
pub struct PriorUNet<B: Backend> {
    /// Encoder level 1.
    pub enc1: Cbr<B>,
    /// Encoder level 2.
    pub enc2: Cbr<B>,
    /// Bottleneck.
    pub bottleneck: Cbr<B>,
    /// Up-convolution 128 -> 64.
    pub upconv2: ConvTranspose2d<B>,
    /// Decoder level 2 (after the skip from enc2).
    pub dec2: Cbr<B>,
    /// Up-convolution 64 -> 32.
    pub upconv1: ConvTranspose2d<B>,
    /// Decoder level 1 (after the skip from enc1).
    pub dec1: Cbr<B>,
    /// 1x1 convolution to the logit.
    pub conv_last: Conv2d<B>,
    /// 2x2 max pooling.
    pub pool: MaxPool2d,
}

impl PriorUNetConfig {
    /// Builds the U-Net.
    pub fn init<B: Backend>(&self, device: &B::Device) -> PriorUNet<B> {
        let cbr = |i, o| CbrConfig::new(i, o).init(device);
        let up = |i, o| {
            ConvTranspose2dConfig::new([i, o], [2, 2])
                .with_stride([2, 2])
                .init(device)
        };
        PriorUNet {
            enc1: cbr(self.in_channels, 32),
            enc2: cbr(32, 64),
            bottleneck: cbr(64, 128),
            upconv2: up(128, 64),
            dec2: cbr(128, 64),
            upconv1: up(64, 32),
            dec1: cbr(64, 32),
            conv_last: Conv2dConfig::new([32, 1], [1, 1]).init(device),
            pool: MaxPool2dConfig::new([2, 2]).init(),
        }
    }
}

impl<B: Backend> PriorUNet<B> {
    /// Maps a prior `[B, K, H, W]` to coarse logits `[B, 1, H, W]`.
    pub fn forward(&self, prior: Tensor<B, 4>) -> Tensor<B, 4> {
        let e1 = self.enc1.forward(prior);
        let e2 = self.enc2.forward(self.pool.forward(e1.clone()));
        let b = self.bottleneck.forward(self.pool.forward(e2.clone()));
        let d2 = self
            .dec2
            .forward(Tensor::cat(vec![conv_transpose2d(&self.upconv2, b), e2], 1));
        let d1 = self.dec1.forward(Tensor::cat(
            vec![conv_transpose2d(&self.upconv1, d2), e1],
            1,
        ));
        conv2d(&self.conv_last, d1)
    }
}

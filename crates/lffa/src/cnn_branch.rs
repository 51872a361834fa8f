//! The CNN branch (`cnn_embed`): a small convolutional encoder beside the ViT whose features
//! the global blocks attend to (EchoONE: residual blocks; SAMUS: the same without shortcuts).

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Tensor, backend::Backend};

use crate::conv_block::{ConvBlock, ConvBlockConfig};

/// Configuration of [`CnnBranch`]; the defaults are EchoONE's ViT-B branch.
#[derive(Config, Debug)]
pub struct CnnBranchConfig {
    /// Image channels (the grey input repeated to 3).
    #[config(default = 3)]
    pub in_channels: usize,
    /// Channels of the first block; each downsampling block doubles them.
    #[config(default = 64)]
    pub base_channels: usize,
    /// Channels of the last downsampling block (the ViT's token width).
    #[config(default = 768)]
    pub embed_dim: usize,
    /// Number of downsampling blocks, log2 of the ViT's patch stride (8 -> 3).
    #[config(default = 3)]
    pub num_downs: usize,
    /// 1x1 convolution shortcuts in every block (EchoONE); `false` is SAMUS's plain branch.
    #[config(default = true)]
    pub residual: bool,
}

/// The CNN branch: `inc` (Conv3x3 block at full resolution) then `downs` (max pool + Conv3x3
/// blocks), each with a 1x1 shortcut when residual (keys `inc`, `downs.{i}`).
#[derive(Module, Debug)]
pub struct CnnBranch<B: Backend> {
    /// The full-resolution block, `in_channels -> base_channels`.
    pub inc: ConvBlock<B>,
    /// The downsampling blocks, each halving the resolution.
    pub downs: Vec<ConvBlock<B>>,
}

impl CnnBranchConfig {
    /// SAMUS's plain branch: EchoONE's without the shortcuts.
    pub fn samus() -> Self {
        Self::new().with_residual(false)
    }

    /// Channels of the branch output: `embed_dim`, or `base_channels` with no downsampling.
    pub fn out_channels(&self) -> usize {
        if self.num_downs == 0 {
            self.base_channels
        } else {
            self.embed_dim
        }
    }

    /// Builds the branch with burn's default (PyTorch-like) initialisation.
    pub fn init<B: Backend>(&self, device: &B::Device) -> CnnBranch<B> {
        let inc = ConvBlockConfig::new(self.in_channels, self.base_channels)
            .with_shortcut(self.residual)
            .init(device);
        let mut channels = self.base_channels;
        let downs = (0..self.num_downs)
            .map(|i| {
                let out = if i + 1 == self.num_downs {
                    self.embed_dim
                } else {
                    channels * 2
                };
                let block = ConvBlockConfig::new(channels, out)
                    .with_downsample(true)
                    .with_shortcut(self.residual)
                    .init(device);
                channels *= 2;
                block
            })
            .collect();
        CnnBranch { inc, downs }
    }
}

impl<B: Backend> CnnBranch<B> {
    /// Maps images `[B, in_channels, H, W]` to features `[B, out_channels, H / 2^n, W / 2^n]`
    /// (channels first; `n = num_downs`, H and W multiples of 2^n).
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        self.downs
            .iter()
            .fold(self.inc.forward(x), |x, down| down.forward(x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn_flex::Flex;

    #[test]
    fn small_branch_shapes_for_both_variants() {
        let device = Default::default();
        let x = Tensor::<Flex, 4>::ones([2, 3, 32, 16], &device);
        for residual in [true, false] {
            let config = CnnBranchConfig::new()
                .with_base_channels(4)
                .with_embed_dim(12)
                .with_residual(residual);
            let branch = config.init::<Flex>(&device);
            assert_eq!(branch.downs.len(), 3);
            assert_eq!(branch.inc.residual.is_some(), residual);
            assert_eq!(branch.forward(x.clone()).dims(), [2, 12, 4, 2]);
        }
    }

    #[test]
    fn channels_double_per_block_and_end_at_embed_dim() {
        let device = Default::default();
        let branch = CnnBranchConfig::new().init::<Flex>(&device);
        let outs: Vec<usize> = std::iter::once(&branch.inc)
            .chain(&branch.downs)
            .map(|b| b.conv.weight.dims()[0])
            .collect();
        assert_eq!(outs, [64, 128, 256, 768]);
        assert!(!CnnBranchConfig::samus().residual);
        let flat = CnnBranchConfig::new().with_num_downs(0);
        assert_eq!(flat.out_channels(), 64);
        let x = Tensor::<Flex, 4>::ones([1, 3, 4, 4], &device);
        assert_eq!(flat.init::<Flex>(&device).forward(x).dims(), [1, 64, 4, 4]);
    }
}

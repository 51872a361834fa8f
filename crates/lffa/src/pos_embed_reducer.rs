//! The position-embedding reducer (`post_pos_embed`): shrinks SAM's absolute position table
//! (64 x 64 at 1024 input) to the token grid of a smaller input (32 x 32 at 256, stride 8).

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Tensor, backend::Backend};

use crate::conv_block::{ConvBlock, ConvBlockConfig};
use crate::error::LffaError;

/// Configuration of [`PosEmbedReducer`]; the defaults are EchoONE's ViT-B at 256 input.
#[derive(Config, Debug)]
pub struct PosEmbedReducerConfig {
    /// Channels of the position table.
    #[config(default = 768)]
    pub embed_dim: usize,
    /// Side of the pretrained table (SAM: 1024 / 16 = 64).
    #[config(default = 64)]
    pub source_size: usize,
    /// Side of the token grid (256 / 8 = 32); `source_size / target_size` a power of two.
    #[config(default = 32)]
    pub target_size: usize,
}

/// One max pool + Conv3x3 + LayerNorm2d + GELU block per halving (keys `downs.{i}.conv`,
/// `downs.{i}.norm`; the authors' `downs.{i}.maxpool_conv.1`, `.2`).
#[derive(Module, Debug)]
pub struct PosEmbedReducer<B: Backend> {
    /// The halving blocks, `log2(source_size / target_size)` of them.
    pub downs: Vec<ConvBlock<B>>,
}

impl PosEmbedReducerConfig {
    /// Number of halving blocks; fails unless `source_size / target_size` is a power of two.
    pub fn num_downs(&self) -> crate::Result<usize> {
        let ratio = self.source_size.checked_div(self.target_size).unwrap_or(0);
        if ratio == 0 || ratio * self.target_size != self.source_size || !ratio.is_power_of_two() {
            return Err(LffaError::Config(format!(
                "position-embedding reducer: {} -> {} is not a halving by a power of two",
                self.source_size, self.target_size
            )));
        }
        Ok(ratio.trailing_zeros() as usize)
    }

    /// Builds the reducer with burn's default (PyTorch-like) initialisation.
    pub fn init<B: Backend>(&self, device: &B::Device) -> crate::Result<PosEmbedReducer<B>> {
        let block = ConvBlockConfig::new(self.embed_dim, self.embed_dim).with_downsample(true);
        Ok(PosEmbedReducer {
            downs: (0..self.num_downs()?).map(|_| block.init(device)).collect(),
        })
    }
}

impl<B: Backend> PosEmbedReducer<B> {
    /// Maps a position table `[1, S, S, C]` (channels last, as SAM stores `pos_embed`) to
    /// `[1, T, T, C]`; any leading batch size works.
    pub fn forward(&self, pos_embed: Tensor<B, 4>) -> Tensor<B, 4> {
        self.downs
            .iter()
            .fold(pos_embed.permute([0, 3, 1, 2]), |x, down| down.forward(x))
            .permute([0, 2, 3, 1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn_flex::Flex;

    #[test]
    fn halvings_follow_the_sizes() {
        let device = Default::default();
        let table = Tensor::<Flex, 4>::ones([1, 16, 16, 8], &device);
        for (target, downs) in [(16, 0), (8, 1), (4, 2)] {
            let reducer = PosEmbedReducerConfig::new()
                .with_embed_dim(8)
                .with_source_size(16)
                .with_target_size(target)
                .init::<Flex>(&device)
                .unwrap();
            assert_eq!(reducer.downs.len(), downs);
            assert_eq!(
                reducer.forward(table.clone()).dims(),
                [1, target, target, 8]
            );
        }
        assert_eq!(PosEmbedReducerConfig::new().num_downs().unwrap(), 1);
    }

    #[test]
    fn rejects_sizes_that_are_not_power_of_two_halvings() {
        for (source, target) in [(64, 24), (64, 0), (48, 16), (16, 32)] {
            let config = PosEmbedReducerConfig::new()
                .with_source_size(source)
                .with_target_size(target);
            assert!(
                matches!(config.num_downs(), Err(LffaError::Config(_))),
                "{source} -> {target}"
            );
        }
    }
}

//! Channels-first layer normalisation, as SAM's `LayerNorm2d`.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Tensor, backend::Backend};

/// Configuration of [`LayerNorm2d`].
#[derive(Config, Debug)]
pub struct LayerNorm2dConfig {
    /// Number of channels.
    pub channels: usize,
    /// Added to the variance for stability (SAM: 1e-6).
    #[config(default = 1e-6)]
    pub eps: f64,
}

/// Layer normalisation over the channel axis of `[B, C, H, W]` maps (keys `weight`, `bias`).
#[derive(Module, Debug)]
pub struct LayerNorm2d<B: Backend> {
    /// Per-channel scale.
    pub weight: Param<Tensor<B, 1>>,
    /// Per-channel shift.
    pub bias: Param<Tensor<B, 1>>,
    /// Added to the variance for stability.
    pub eps: f64,
}

impl LayerNorm2dConfig {
    /// Builds the module with unit scale and zero shift.
    pub fn init<B: Backend>(&self, device: &B::Device) -> LayerNorm2d<B> {
        LayerNorm2d {
            weight: Param::from_tensor(Tensor::ones([self.channels], device)),
            bias: Param::from_tensor(Tensor::zeros([self.channels], device)),
            eps: self.eps,
        }
    }
}

impl<B: Backend> LayerNorm2d<B> {
    /// Normalises `[B, C, H, W]` over `C` (biased variance), then scales and shifts per channel.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let channels = self.weight.dims()[0];
        let mean = x.clone().mean_dim(1);
        let centred = x - mean;
        let var = centred.clone().square().mean_dim(1);
        let normed = centred / (var + self.eps).sqrt();
        normed * self.weight.val().reshape([1, channels, 1, 1])
            + self.bias.val().reshape([1, channels, 1, 1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn_flex::Flex;

    #[test]
    fn normalises_each_pixel_over_channels() {
        let device = Default::default();
        let norm = LayerNorm2dConfig::new(3).init::<Flex>(&device);
        let x = Tensor::<Flex, 1>::from_floats([1.0, 2.0, 6.0, -1.0, 0.0, 4.0], &device)
            .reshape([1, 3, 1, 2]);
        let y = norm.forward(x);
        assert_eq!(y.dims(), [1, 3, 1, 2]);
        let mean = y.clone().mean_dim(1).abs().max().into_scalar();
        let var = y.square().mean_dim(1).into_data().to_vec::<f32>().unwrap();
        assert!(mean < 1e-6, "mean {mean}");
        for v in var {
            assert!((v - 1.0).abs() < 1e-4, "variance {v}");
        }
    }
}

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
    /// Normalises `[B, C, H, W]` over `C`.
    ///
    /// The channel mean and the broadcasts over `C` are batched matrix products with constant
    /// `[C]` vectors, and the affine step runs on `[B * C, H * W]` rows: every element-wise op
    /// then sees equal shapes or one value per row, which CPU backends run as contiguous SIMD
    /// loops instead of a strided walk over a `[B, 1, H, W]` broadcast.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let [batch, channels, h, w] = x.dims();
        let device = x.device();
        let x = x.reshape([batch, channels, h * w]);
        let average = Tensor::<B, 3>::full([1, 1, channels], 1.0 / channels as f64, &device);
        let spread = Tensor::<B, 3>::ones([1, channels, 1], &device);
        let mean = average.clone().matmul(x.clone());
        let centred = x - spread.clone().matmul(mean);
        let var = average.matmul(centred.clone().square());
        let normed = centred * spread.matmul((var + self.eps).sqrt().recip());
        let per_row = |p: &Param<Tensor<B, 1>>| {
            p.val()
                .reshape([1, channels])
                .repeat_dim(0, batch)
                .reshape([batch * channels, 1])
        };
        (normed.reshape([batch * channels, h * w]) * per_row(&self.weight) + per_row(&self.bias))
            .reshape([batch, channels, h, w])
    }
}

//! Latent features of images for clustering: the mean-pooled embedding of the frozen SAM image
//! encoder, or a cheap thumbnail for CPU runs.

use burn::tensor::module::adaptive_avg_pool2d;
use burn::tensor::{Tensor, backend::Backend};
use echoone_sam::ImageEncoderViT;
use serde::{Deserialize, Serialize};

/// How images are turned into latent vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LatentExtractor {
    /// Mean over the grid of the frozen, unmodified SAM encoder's embedding (`out_chans` values).
    SamEncoder,
    /// The grey image average-pooled to `side x side`, centred and scaled to unit norm.
    Thumbnail {
        /// Side of the thumbnail.
        side: usize,
    },
}

impl LatentExtractor {
    /// Length of the latent vectors for an encoder with `out_chans` output channels.
    pub fn dim(&self, out_chans: usize) -> usize {
        match self {
            Self::SamEncoder => out_chans,
            Self::Thumbnail { side } => side * side,
        }
    }
}

/// Mean-pooled SAM embedding `[B, D]` of encoder-ready images `[B, 3, S, S]`.
pub fn sam_latent<B: Backend>(encoder: &ImageEncoderViT<B>, images: Tensor<B, 4>) -> Tensor<B, 2> {
    let embedding = encoder.forward(images);
    let [b, d, _, _] = embedding.dims();
    embedding.mean_dim(3).mean_dim(2).reshape([b, d])
}

/// Thumbnail latent `[B, side * side]` of images `[B, C, H, W]` (channels averaged).
pub fn thumbnail_latent<B: Backend>(images: Tensor<B, 4>, side: usize) -> Tensor<B, 2> {
    let [b, ..] = images.dims();
    let grey = images.mean_dim(1);
    let small = adaptive_avg_pool2d(grey, [side, side]).reshape([b, side * side]);
    let centred = small.clone() - small.mean_dim(1);
    let norm = centred.clone().square().sum_dim(1).sqrt() + 1e-8;
    centred / norm
}

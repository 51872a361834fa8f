//! PC-Mask in a run: the latent of every image (the extractor recorded in the fitted prior),
//! the fitted prior read back, and the K-channel prior of a batch.

use std::path::Path;

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use echoone_data::resize::{Plane32, bilinear};
use echoone_data::{Sample, Structure};
use echoone_pc_mask::{FittedPrior, LatentExtractor, sam_latent, thumbnail_latent};
use echoone_sam::ImageEncoderViT;
use echoone_sam::sam::{PIXEL_MEAN, PIXEL_STD};

use crate::error::{InferError, Result};

/// Images per latent-extraction batch.
const LATENT_BATCH: usize = 16;

/// What turns images into latents: a thumbnail, or the frozen official SAM encoder.
pub enum Extractor<B: Backend> {
    /// The image pooled to `side x side`.
    Thumbnail(usize),
    /// The official, unmodified SAM image encoder with its input side (SAM's own input size
    /// and normalisation).
    Sam(Box<ImageEncoderViT<B>>, usize),
}

impl<B: Backend> Extractor<B> {
    /// How the fitted prior records this extractor.
    pub fn kind(&self) -> LatentExtractor {
        match self {
            Self::Thumbnail(side) => LatentExtractor::Thumbnail { side: *side },
            Self::Sam(..) => LatentExtractor::SamEncoder,
        }
    }

    /// The latents `[N][D]` of grey images at the model size (`side x side`, values in [0, 1]).
    pub fn latents(&self, images: &[Vec<f32>], side: usize, device: &B::Device) -> Vec<Vec<f32>> {
        let mut out = Vec::with_capacity(images.len());
        for chunk in images.chunks(LATENT_BATCH) {
            let n = chunk.len();
            let flat: Vec<f32> = chunk.iter().flatten().copied().collect();
            let x = Tensor::<B, 4>::from_data(TensorData::new(flat, [n, 1, side, side]), device);
            let latent = match self {
                Self::Thumbnail(t) => thumbnail_latent(x, *t),
                Self::Sam(encoder, input) => sam_latent(encoder, sam_input(x, *input)),
            };
            let [_, d] = latent.dims();
            let values: Vec<f32> = latent.into_data().iter::<f32>().collect();
            out.extend(values.chunks(d).map(<[f32]>::to_vec));
        }
        out
    }
}

/// SAM's preprocessing of grey images in [0, 1]: three channels, 0..255, normalised by SAM's
/// pixel mean and std, resized to the encoder's input side.
fn sam_input<B: Backend>(grey: Tensor<B, 4>, side: usize) -> Tensor<B, 4> {
    use burn::tensor::module::interpolate;
    use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
    let device = grey.device();
    let rgb = grey.mul_scalar(255.0).repeat_dim(1, 3);
    let channel = |v: [f32; 3]| Tensor::<B, 1>::from_floats(v, &device).reshape([1, 3, 1, 1]);
    let (mean, std) = (channel(PIXEL_MEAN), channel(PIXEL_STD));
    let x = (rgb - mean) / std;
    interpolate(
        x,
        [side, side],
        InterpolateOptions::new(InterpolateMode::Bilinear).with_align_corners(false),
    )
}

/// Images of `samples` at the model size, grey in [0, 1].
pub fn model_images(samples: &[Sample], side: usize) -> Vec<Vec<f32>> {
    samples
        .iter()
        .map(|s| {
            bilinear(&Plane32::from_gray(&s.image), side, side)
                .data
                .iter()
                .map(|v| (v / 255.0).clamp(0.0, 1.0))
                .collect()
        })
        .collect()
}

/// A fitted prior with the latents of one dataset's samples, ready to make batch priors.
pub struct BatchPrior<'a> {
    /// The fitted prior.
    pub fitted: &'a FittedPrior,
    /// Latent of each sample of the dataset, by `ItemMeta::sample`.
    pub latents: &'a [Vec<f32>],
}

impl BatchPrior<'_> {
    /// The prior `[B, K, side, side]` of a batch: sample indices and prompted structures.
    pub fn tensor<B: Backend>(
        &self,
        samples: &[usize],
        structures: &[Structure],
        device: &B::Device,
    ) -> Result<Tensor<B, 4>> {
        let d = self.latents.first().map_or(0, Vec::len);
        let mut flat = Vec::with_capacity(samples.len() * d);
        for &i in samples {
            let latent = self.latents.get(i).ok_or_else(|| {
                InferError::Config(format!("no latent for sample {i} (internal indexing)"))
            })?;
            flat.extend_from_slice(latent);
        }
        let latents = Tensor::<B, 2>::from_data(TensorData::new(flat, [samples.len(), d]), device);
        let index: Vec<usize> = structures.iter().map(|s| s.label() as usize - 1).collect();
        Ok(self.fitted.prior_tensor(latents, &index)?)
    }
}

/// Loads the fitted prior saved in `dir` (a checkpoint's `prior/`).
pub fn load(dir: &Path) -> Result<FittedPrior> {
    Ok(FittedPrior::load(dir)?)
}

#[cfg(test)]
mod tests {
    use burn::module::Module;
    use burn::tensor::module::interpolate;
    use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
    use burn_flex::{Flex, FlexDevice};
    use echoone_model::EchoOneConfig;

    use super::*;

    #[test]
    fn sam_latents_are_the_encoders_mean_embedding_of_sams_own_input() {
        let device = FlexDevice;
        let sam = EchoOneConfig::tiny().sam_config();
        let input = sam.image_encoder.img_size;
        // Forked: its lazy parameters are drawn once, not again in each clone.
        let encoder = sam
            .init::<Flex>(&device)
            .unwrap()
            .image_encoder
            .fork(&device);
        // Model-size images of another side than SAM's input, so the resize counts.
        let side = input / 2 + 3;
        let images: Vec<Vec<f32>> = (0..3)
            .map(|k| {
                (0..side * side)
                    .map(|i| ((i * (k + 3)) % 17) as f32 / 16.0)
                    .collect()
            })
            .collect();
        let extractor = Extractor::Sam(Box::new(encoder.clone()), input);
        assert_eq!(extractor.kind(), LatentExtractor::SamEncoder);
        let latents = extractor.latents(&images, side, &device);
        assert_eq!(latents.len(), 3);
        for (image, latent) in images.iter().zip(&latents) {
            // As SAM's predictor sees an image: 0..255 in three channels, each normalised by
            // SAM's pixel mean and std, resized to the encoder's input; the latent is the
            // embedding averaged over its grid, per channel.
            let rgb: Vec<f32> = (0..3)
                .flat_map(|c| {
                    image
                        .iter()
                        .map(move |g| (g * 255.0 - PIXEL_MEAN[c]) / PIXEL_STD[c])
                })
                .collect();
            let x = Tensor::<Flex, 4>::from_data(TensorData::new(rgb, [1, 3, side, side]), &device);
            let x = interpolate(
                x,
                [input, input],
                InterpolateOptions::new(InterpolateMode::Bilinear).with_align_corners(false),
            );
            let embedding = encoder.forward(x);
            let [_, d, h, w] = embedding.dims();
            let values: Vec<f32> = embedding.into_data().iter::<f32>().collect();
            assert_eq!(latent.len(), d);
            for (c, &got) in latent.iter().enumerate() {
                let grid = &values[c * h * w..(c + 1) * h * w];
                let mean = grid.iter().sum::<f32>() / (h * w) as f32;
                assert!((got - mean).abs() < 1e-5, "channel {c}: {got} vs {mean}");
            }
        }
        assert_ne!(latents[0], latents[1], "other images, other latents");
    }
}

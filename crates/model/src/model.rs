//! The composed EchoONE model: image encoder, prompt encoder with PC-Mask, and the mask decoder
//! with LFFA fusion.

use burn::module::Module;
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
use burn::tensor::{Int, Tensor, TensorData, backend::Backend};
use echoone_lffa::{FusionConv, FusionConvConfig};
use echoone_pc_mask::{PriorUNet, PriorUNetConfig};
use echoone_sam::mask_decoder::transformer::TwoWayTransformerConfig;
use echoone_sam::{MaskDecoder, MaskDecoderConfig, PromptEncoder, PromptEncoderConfig, Prompts};

use crate::config::EchoOneConfig;
use crate::error::{EchoOneError, Result};
use crate::image_encoder::{EchoImageEncoder, EncoderOutput};

/// What the model predicts for a batch of `B` (image, structure) samples.
#[derive(Debug, Clone)]
pub struct EchoOutput<B: Backend> {
    /// Mask logits at the low resolution `[B, 1, 128, 128]` (the training target's size).
    pub logits: Tensor<B, 4>,
    /// Mask logits resized to the input `[B, 1, 256, 256]` (bilinear).
    pub masks: Tensor<B, 4>,
    /// PC-Mask's coarse logits `[B, 1, 128, 128]`, when PC-Mask is on.
    pub coarse_logits: Option<Tensor<B, 4>>,
    /// Predicted IoU `[B, 1]`.
    pub iou: Tensor<B, 2>,
}

/// EchoONE (keys as the authors' checkpoint, see [`crate::keys`] for the few remappings).
///
/// Built by [`EchoOneConfig::init`]; starts from official SAM with
/// [`load_sam_checkpoint`](Self::load_sam_checkpoint) or loads the authors' weights with
/// [`load_authors_checkpoint`](Self::load_authors_checkpoint).
///
/// ```
/// use burn::tensor::{Int, Tensor};
/// use burn_flex::Flex;
/// use echoone_model::EchoOneConfig;
///
/// let device = Default::default();
/// let model = EchoOneConfig::small().init::<Flex>(&device)?;
///
/// // One grey image in [0, 1], one foreground click at (128, 96) in input pixels, and
/// // PC-Mask's K = 4 channel prior (from a `FittedPrior` of echoone-pc-mask).
/// let image = Tensor::<Flex, 4>::zeros([1, 1, 256, 256], &device);
/// let point = Tensor::<Flex, 1>::from_floats([128.0, 96.0], &device).reshape([1, 1, 2]);
/// let label = Tensor::<Flex, 2, Int>::ones([1, 1], &device);
/// let prior = Tensor::<Flex, 4>::zeros([1, 4, 128, 128], &device);
/// let out = model.forward(image, point, label, Some(prior))?;
/// assert_eq!(out.logits.dims(), [1, 1, 128, 128]); // the training target's size
/// assert_eq!(out.masks.dims(), [1, 1, 256, 256]); // mask = logit > 0
/// assert!(out.coarse_logits.is_some());
/// # Ok::<(), echoone_model::EchoOneError>(())
/// ```
#[derive(Module, Debug)]
pub struct EchoOne<B: Backend> {
    /// Image encoder with the CNN branch and adapters.
    pub image_encoder: EchoImageEncoder<B>,
    /// SAM's prompt encoder.
    pub prompt_encoder: PromptEncoder<B>,
    /// SAM's mask decoder, with `decoder_depth` two-way blocks.
    pub mask_decoder: MaskDecoder<B>,
    /// PC-Mask's prior U-Net (authors' `prompt_encoder.cls_sim_avg_label_*`).
    pub prior_unet: Option<PriorUNet<B>>,
    /// LFFA fusion before decoder blocks 1.. (authors' `mask_decoder.transformer.neck_down_sample*`).
    pub fusion: Vec<FusionConv<B>>,
    /// Side of the input images.
    pub input_size: usize,
}

impl EchoOneConfig {
    /// Builds the model with default initialisation.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Result<EchoOne<B>> {
        self.validate()?;
        let grid = self.token_grid();
        let dim = self.prompt_dim;
        let count = self.fusion_count();
        Ok(EchoOne {
            image_encoder: self.init_image_encoder(device)?,
            prompt_encoder: PromptEncoderConfig::new()
                .with_embed_dim(dim)
                .with_image_embedding_size(grid)
                .with_input_image_size(self.input_size)
                .init(device),
            mask_decoder: MaskDecoderConfig::new()
                .with_transformer_dim(dim)
                .with_iou_head_hidden_dim(dim)
                .with_transformer(
                    TwoWayTransformerConfig::new()
                        .with_depth(self.decoder_depth)
                        .with_embedding_dim(dim)
                        .with_num_heads(self.decoder_heads)
                        .with_mlp_dim(self.decoder_mlp_dim),
                )
                .init(device),
            prior_unet: self.pc_mask.then(|| {
                PriorUNetConfig::new()
                    .with_in_channels(self.prior_k)
                    .init(device)
            }),
            fusion: (0..count)
                .map(|i| {
                    FusionConvConfig::new()
                        .with_in_channels(2 * dim)
                        .with_out_channels(dim)
                        .with_norm(i + 1 == count)
                        .init(device)
                })
                .collect(),
            input_size: self.input_size,
        })
    }
}

fn bilinear<B: Backend>(x: Tensor<B, 4>, side: usize) -> Tensor<B, 4> {
    let [.., h, w] = x.dims();
    if (h, w) == (side, side) {
        return x;
    }
    interpolate(
        x,
        [side, side],
        InterpolateOptions::new(InterpolateMode::Bilinear).with_align_corners(false),
    )
}

impl<B: Backend> EchoOne<B> {
    /// Runs the model on grey images `[B, 1, S, S]` in [0, 1] with one point prompt each
    /// (`points [B, P, 2]` in input pixels, `labels [B, P]`: 1, 0 or -1) and, when PC-Mask is
    /// on, the K-channel prior `[B, K, h, w]` of each sample.
    pub fn forward(
        &self,
        images: Tensor<B, 4>,
        points: Tensor<B, 3>,
        labels: Tensor<B, 2, Int>,
        prior: Option<Tensor<B, 4>>,
    ) -> Result<EchoOutput<B>> {
        let all: Vec<usize> = (0..images.dims()[0]).collect();
        self.forward_shared(images, &all, points, labels, prior)
    }

    /// [`forward`](Self::forward) for prompts that share images, as SAM decodes several prompts
    /// per image embedding: the `N` distinct images `[N, 1, S, S]` are encoded once and prompt
    /// `i` of the `B` decodes image `image_of[i]`. Same result as `forward` on the images
    /// repeated per prompt, at the encoder cost of `N` images.
    pub fn forward_shared(
        &self,
        images: Tensor<B, 4>,
        image_of: &[usize],
        points: Tensor<B, 3>,
        labels: Tensor<B, 2, Int>,
        prior: Option<Tensor<B, 4>>,
    ) -> Result<EchoOutput<B>> {
        let encoded = self.encode(images)?;
        self.forward_encoded(&encoded, image_of, points, labels, prior)
    }

    /// The image encoder alone, on grey images `[N, 1, S, S]` in [0, 1]: its output serves any
    /// number of prompts through [`forward_encoded`](Self::forward_encoded) (new clicks on the
    /// same images, say) without encoding the images again.
    pub fn encode(&self, images: Tensor<B, 4>) -> Result<EncoderOutput<B>> {
        let [_, channels, h, w] = images.dims();
        if channels != 1 || h != self.input_size || w != self.input_size {
            return Err(EchoOneError::Input(format!(
                "images must be [N, 1, {0}, {0}], got {1:?}",
                self.input_size,
                images.dims()
            )));
        }
        Ok(self.image_encoder.forward(images.repeat_dim(1, 3)))
    }

    /// [`forward_shared`](Self::forward_shared) on images already [`encode`](Self::encode)d:
    /// prompt `i` decodes image `image_of[i]` of `encoded`.
    pub fn forward_encoded(
        &self,
        encoded: &EncoderOutput<B>,
        image_of: &[usize],
        points: Tensor<B, 3>,
        labels: Tensor<B, 2, Int>,
        prior: Option<Tensor<B, 4>>,
    ) -> Result<EchoOutput<B>> {
        let n = encoded.embedding.dims()[0];
        let b = image_of.len();
        if let Some(bad) = image_of.iter().find(|&&i| i >= n) {
            return Err(EchoOneError::Input(format!(
                "prompt image index {bad} out of range for {n} images"
            )));
        }
        let [pb, p, _] = points.dims();
        if pb != b || labels.dims() != [b, p] {
            return Err(EchoOneError::Input(format!(
                "points {:?} and labels {:?} do not match {b} prompts",
                points.dims(),
                labels.dims()
            )));
        }
        let device = encoded.embedding.device();
        let mut encoded = encoded.clone();
        if image_of.len() != n || image_of.iter().enumerate().any(|(k, &i)| k != i) {
            let index: Vec<i64> = image_of.iter().map(|&i| i as i64).collect();
            let index = Tensor::<B, 1, Int>::from_data(TensorData::new(index, [b]), &device);
            encoded.embedding = encoded.embedding.select(0, index.clone());
            for f in encoded.cnn_features.iter_mut() {
                *f = f.clone().select(0, index.clone());
            }
        }
        let low_res = self.prompt_encoder.mask_input_size();
        let (coarse_logits, masks) = match (&self.prior_unet, prior) {
            (Some(unet), Some(prior)) => {
                let coarse = bilinear(unet.forward(prior), low_res);
                let binary = coarse.clone().detach().greater_elem(0.0).float();
                (
                    Some(coarse),
                    Some(binary.reshape([b, 1, 1, low_res, low_res])),
                )
            }
            (Some(_), None) => {
                return Err(EchoOneError::Input(
                    "PC-Mask is on: a prior is required".into(),
                ));
            }
            (None, _) => (None, None),
        };
        let prompts = Prompts {
            points: Some((points.reshape([b, 1, p, 2]), labels.reshape([b, 1, p]))),
            boxes: None,
            masks,
        };
        let (sparse, dense) = self.prompt_encoder.forward(&prompts)?;
        let (logits, iou) = self.decode(encoded.embedding, &encoded.cnn_features, sparse, dense)?;
        let masks = bilinear(logits.clone(), self.input_size);
        Ok(EchoOutput {
            logits,
            masks,
            coarse_logits,
            iou,
        })
    }

    /// The mask decoder with LFFA: before block `i >= 1` the image keys are fused with the CNN
    /// feature of the `i`-th global block counted from the last.
    fn decode(
        &self,
        embedding: Tensor<B, 4>,
        cnn_features: &[Tensor<B, 4>],
        sparse: Tensor<B, 4>,
        dense: Tensor<B, 5>,
    ) -> Result<(Tensor<B, 4>, Tensor<B, 2>)> {
        let decoder = &self.mask_decoder;
        let [b, dim, gh, gw] = embedding.dims();
        let [_, _, t, _] = sparse.dims();
        let src = embedding + dense.reshape([b, dim, gh, gw]);
        let key_pe = self
            .prompt_encoder
            .dense_pe()
            .expand([b, dim, gh, gw])
            .flatten::<3>(2, 3)
            .swap_dims(1, 2);
        let tokens = decoder.tokens(sparse.reshape([b, t, dim]));
        let mut keys = src.flatten::<3>(2, 3).swap_dims(1, 2);
        let mut queries = tokens.clone();
        for (i, layer) in decoder.transformer.layers.iter().enumerate() {
            if let Some(conv) = i.checked_sub(1).and_then(|j| self.fusion.get(j)) {
                let feature = cnn_features.iter().rev().nth(i - 1).ok_or_else(|| {
                    EchoOneError::Config("fewer CNN features than fusions".into())
                })?;
                keys = conv.fuse(keys, feature.clone())?;
            }
            (queries, keys) = layer.forward(queries, keys, tokens.clone(), key_pe.clone());
        }
        let (hs, src) = decoder.transformer.finish(queries, keys, tokens, key_pe);
        let (masks, iou) = decoder.heads(hs, src, [gh, gw]);
        Ok((masks.narrow(1, 0, 1), iou.narrow(1, 0, 1)))
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Distribution, Int, Tensor, TensorData};
    use burn_flex::Flex;

    use crate::EchoOneConfig;

    #[test]
    fn images_encoded_once_serve_new_clicks_as_a_full_forward_does() {
        let device = Default::default();
        let config = EchoOneConfig::tiny();
        let model = config.init::<Flex>(&device).unwrap();
        let side = config.input_size;
        let images = Tensor::<Flex, 4>::random([2, 1, side, side], Distribution::Default, &device);
        let image_of = [1, 0, 1];
        let labels = Tensor::<Flex, 2, Int>::ones([3, 1], &device);
        let prior =
            Tensor::<Flex, 4>::random([3, config.prior_k, 32, 32], Distribution::Default, &device);
        let encoded = model.encode(images.clone()).unwrap();
        let mut masks = Vec::new();
        for xy in [
            [10.0, 20.0, 30.0, 40.0, 50.0, 12.0],
            [40.0, 41.0, 5.0, 60.0, 33.0, 33.0],
        ] {
            let points =
                Tensor::<Flex, 3>::from_data(TensorData::new(xy.to_vec(), [3, 1, 2]), &device);
            let reused = model
                .forward_encoded(
                    &encoded,
                    &image_of,
                    points.clone(),
                    labels.clone(),
                    Some(prior.clone()),
                )
                .unwrap();
            let full = model
                .forward_shared(
                    images.clone(),
                    &image_of,
                    points,
                    labels.clone(),
                    Some(prior.clone()),
                )
                .unwrap();
            let mask = reused.masks.into_data();
            mask.assert_eq(&full.masks.into_data(), true);
            reused
                .iou
                .into_data()
                .assert_eq(&full.iou.into_data(), true);
            masks.push(mask);
        }
        // The clicks reach the decoder: other clicks, other masks.
        assert_ne!(masks[0], masks[1]);
    }
}

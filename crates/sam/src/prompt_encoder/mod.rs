//! SAM's prompt encoder: points, boxes and masks to sparse and dense embeddings.

pub mod mask_downscaling;
pub mod position_encoding;

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig};
use burn::tensor::{Int, Tensor, backend::Backend};

use self::mask_downscaling::{MaskDownscaling, MaskDownscalingConfig};
use self::position_encoding::{PositionEmbeddingRandom, PositionEmbeddingRandomConfig};
use crate::error::{self, SamError};

/// Configuration of [`PromptEncoder`].
#[derive(Config, Debug)]
pub struct PromptEncoderConfig {
    /// Prompt embedding width (SAM: 256).
    #[config(default = 256)]
    pub embed_dim: usize,
    /// Side of the image embedding grid (SAM: 64).
    #[config(default = 64)]
    pub image_embedding_size: usize,
    /// Side of the padded model input in pixels (SAM: 1024).
    #[config(default = 1024)]
    pub input_image_size: usize,
    /// Hidden channels of the mask downscaling (SAM: 16).
    #[config(default = 16)]
    pub mask_in_chans: usize,
}

/// A batch of prompts: `B` images, each with `N` prompts, as explicit dimensions.
///
/// Coordinates are pixels of the padded model input (after [`crate::ResizeLongestSide`]).
#[derive(Debug, Clone)]
pub struct Prompts<B: Backend> {
    /// Point coordinates `[B, N, P, 2]` (x, y) and labels `[B, N, P]`: 1 foreground,
    /// 0 background, -1 padding.
    pub points: Option<(Tensor<B, 4>, Tensor<B, 3, Int>)>,
    /// Boxes `[B, N, 4]` as (x0, y0, x1, y1).
    pub boxes: Option<Tensor<B, 3>>,
    /// Low-resolution mask logits `[B, N, 1, 4 h, 4 w]`.
    pub masks: Option<Tensor<B, 5>>,
}

impl<B: Backend> Prompts<B> {
    /// The `(B, N)` the prompts are laid out as, checking that every part agrees.
    pub fn batch_dims(&self) -> error::Result<(usize, usize)> {
        let mut dims: Vec<(&str, [usize; 2])> = Vec::new();
        if let Some((coords, labels)) = &self.points {
            let [b, n, p, two] = coords.dims();
            if two != 2 || labels.dims() != [b, n, p] {
                return Err(SamError::Prompt(format!(
                    "points must be [B, N, P, 2] with labels [B, N, P], got {:?} and {:?}",
                    coords.dims(),
                    labels.dims()
                )));
            }
            dims.push(("points", [b, n]));
        }
        if let Some(boxes) = &self.boxes {
            let [b, n, four] = boxes.dims();
            if four != 4 {
                return Err(SamError::Prompt(format!(
                    "boxes must be [B, N, 4], got {:?}",
                    boxes.dims()
                )));
            }
            dims.push(("boxes", [b, n]));
        }
        if let Some(masks) = &self.masks {
            let [b, n, ..] = masks.dims();
            dims.push(("masks", [b, n]));
        }
        let Some((_, first)) = dims.first().copied() else {
            return Err(SamError::Prompt("no point, box or mask given".into()));
        };
        if let Some((name, other)) = dims.iter().find(|(_, d)| *d != first) {
            return Err(SamError::Prompt(format!(
                "{name} are laid out as [B, N] = {other:?} but {} as {first:?}",
                dims[0].0
            )));
        }
        Ok((first[0], first[1]))
    }
}

/// SAM's `PromptEncoder`.
#[derive(Module, Debug)]
pub struct PromptEncoder<B: Backend> {
    /// Random Fourier features of positions.
    pub pe_layer: PositionEmbeddingRandom<B>,
    /// Learned offsets: negative point, positive point, box corner 1, box corner 2.
    pub point_embeddings: Vec<Embedding<B>>,
    /// Embedding of a padding point.
    pub not_a_point_embed: Embedding<B>,
    /// Mask prompt encoder.
    pub mask_downscaling: MaskDownscaling<B>,
    /// Dense embedding used when no mask is given.
    pub no_mask_embed: Embedding<B>,
    /// Side of the image embedding grid.
    pub image_embedding_size: usize,
    /// Side of the padded model input in pixels.
    pub input_image_size: usize,
}

impl PromptEncoderConfig {
    /// Builds the encoder.
    pub fn init<B: Backend>(&self, device: &B::Device) -> PromptEncoder<B> {
        let embedding = || EmbeddingConfig::new(1, self.embed_dim).init(device);
        PromptEncoder {
            pe_layer: PositionEmbeddingRandomConfig::new(self.embed_dim / 2).init(device),
            point_embeddings: (0..4).map(|_| embedding()).collect(),
            not_a_point_embed: embedding(),
            mask_downscaling: MaskDownscalingConfig::new(self.mask_in_chans, self.embed_dim)
                .init(device),
            no_mask_embed: embedding(),
            image_embedding_size: self.image_embedding_size,
            input_image_size: self.input_image_size,
        }
    }
}

impl<B: Backend> PromptEncoder<B> {
    /// The dense positional encoding of the image embedding grid: `[1, D, h, w]`.
    pub fn dense_pe(&self) -> Tensor<B, 4> {
        let side = self.image_embedding_size;
        self.pe_layer.grid([side, side]).unsqueeze()
    }

    /// Side of the mask prompts this encoder takes (`4 * image_embedding_size`).
    pub fn mask_input_size(&self) -> usize {
        4 * self.image_embedding_size
    }

    fn embedding_row(embedding: &Embedding<B>) -> Tensor<B, 3> {
        embedding.weight.val().unsqueeze()
    }

    /// Embeds points `[M, P, 2]` with labels `[M, P]`, appending a padding point if `pad`.
    pub fn embed_points(
        &self,
        coords: Tensor<B, 3>,
        labels: Tensor<B, 2, Int>,
        pad: bool,
    ) -> Tensor<B, 3> {
        let [m, _, _] = coords.dims();
        let device = coords.device();
        let mut coords = coords + 0.5;
        let mut labels = labels;
        if pad {
            coords = Tensor::cat(vec![coords, Tensor::zeros([m, 1, 2], &device)], 1);
            labels = Tensor::cat(vec![labels, Tensor::full([m, 1], -1, &device)], 1);
        }
        let side = self.input_image_size;
        let pe = self.pe_layer.encode_pixels(coords, [side, side]);
        let is = |value: i64| {
            labels
                .clone()
                .equal_elem(value)
                .float()
                .unsqueeze_dim::<3>(2)
        };
        let padding = is(-1);
        pe * (padding.clone().neg() + 1.0)
            + padding * Self::embedding_row(&self.not_a_point_embed)
            + is(0) * Self::embedding_row(&self.point_embeddings[0])
            + is(1) * Self::embedding_row(&self.point_embeddings[1])
    }

    /// Embeds boxes `[M, 4]` as two corner tokens `[M, 2, D]`.
    pub fn embed_boxes(&self, boxes: Tensor<B, 2>) -> Tensor<B, 3> {
        let [m, _] = boxes.dims();
        let corners = (boxes + 0.5).reshape([m, 2, 2]);
        let side = self.input_image_size;
        let pe = self.pe_layer.encode_pixels(corners, [side, side]);
        let offsets = Tensor::cat(
            vec![
                Self::embedding_row(&self.point_embeddings[2]),
                Self::embedding_row(&self.point_embeddings[3]),
            ],
            1,
        );
        pe + offsets
    }

    /// Embeds the prompts: sparse `[B, N, T, D]` and dense `[B, N, D, h, w]` embeddings.
    ///
    /// As SAM, a padding point is appended to the points when no box is given.
    pub fn forward(&self, prompts: &Prompts<B>) -> error::Result<(Tensor<B, 4>, Tensor<B, 5>)> {
        let (b, n) = prompts.batch_dims()?;
        let m = b * n;
        let dim = self.no_mask_embed.weight.dims()[1];
        let side = self.image_embedding_size;
        let mut sparse = Vec::new();
        if let Some((coords, labels)) = &prompts.points {
            let [_, _, p, _] = coords.dims();
            sparse.push(self.embed_points(
                coords.clone().reshape([m, p, 2]),
                labels.clone().reshape([m, p]),
                prompts.boxes.is_none(),
            ));
        }
        if let Some(boxes) = &prompts.boxes {
            sparse.push(self.embed_boxes(boxes.clone().reshape([m, 4])));
        }
        let sparse = if sparse.is_empty() {
            Tensor::zeros([m, 0, dim], &self.no_mask_embed.weight.device())
        } else {
            Tensor::cat(sparse, 1)
        };
        let tokens = sparse.dims()[1];
        let dense = match &prompts.masks {
            Some(masks) => {
                let [_, _, channels, h, w] = masks.dims();
                let expected = self.mask_input_size();
                if channels != 1 || h != expected || w != expected {
                    return Err(SamError::Prompt(format!(
                        "mask inputs must be [B, N, 1, {expected}, {expected}], got {:?}",
                        masks.dims()
                    )));
                }
                self.mask_downscaling
                    .forward(masks.clone().reshape([m, 1, h, w]))
                    .reshape([b, n, dim, side, side])
            }
            None => self
                .no_mask_embed
                .weight
                .val()
                .reshape([1, 1, dim, 1, 1])
                .expand([b, n, dim, side, side]),
        };
        Ok((sparse.reshape([b, n, tokens, dim]), dense))
    }
}

//! SAM's mask decoder: prompt tokens and the image embedding to masks and IoU predictions.

pub mod attention;
pub mod output_upscaling;
pub mod transformer;

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig};
use burn::tensor::{Tensor, backend::Backend};

use self::output_upscaling::{OutputUpscaling, OutputUpscalingConfig};
use self::transformer::{TwoWayTransformer, TwoWayTransformerConfig};
use crate::mlp::{Mlp, MlpConfig};

/// Configuration of [`MaskDecoder`].
#[derive(Config, Debug)]
pub struct MaskDecoderConfig {
    /// Token width (SAM: 256).
    #[config(default = 256)]
    pub transformer_dim: usize,
    /// The two-way transformer.
    #[config(default = "TwoWayTransformerConfig::new()")]
    pub transformer: TwoWayTransformerConfig,
    /// Masks predicted besides the single-mask output (SAM: 3).
    #[config(default = 3)]
    pub num_multimask_outputs: usize,
    /// Layers of the IoU head (SAM: 3).
    #[config(default = 3)]
    pub iou_head_depth: usize,
    /// Hidden width of the IoU head (SAM: 256).
    #[config(default = 256)]
    pub iou_head_hidden_dim: usize,
}

/// Masks and their predicted IoU for `B` images with `N` prompts each.
#[derive(Debug, Clone)]
pub struct MaskPrediction<B: Backend> {
    /// Low-resolution mask logits `[B, N, M, 4 h, 4 w]`.
    pub low_res_masks: Tensor<B, 5>,
    /// Predicted IoU of each mask `[B, N, M]`.
    pub iou_predictions: Tensor<B, 3>,
}

/// SAM's `MaskDecoder`.
#[derive(Module, Debug)]
pub struct MaskDecoder<B: Backend> {
    /// The two-way transformer.
    pub transformer: TwoWayTransformer<B>,
    /// The IoU token.
    pub iou_token: Embedding<B>,
    /// The mask tokens (1 + multimask outputs).
    pub mask_tokens: Embedding<B>,
    /// Image-token upscaling.
    pub output_upscaling: OutputUpscaling<B>,
    /// One hypernetwork MLP per mask token.
    pub output_hypernetworks_mlps: Vec<Mlp<B>>,
    /// The IoU head.
    pub iou_prediction_head: Mlp<B>,
}

impl MaskDecoderConfig {
    /// Builds the decoder.
    pub fn init<B: Backend>(&self, device: &B::Device) -> MaskDecoder<B> {
        let dim = self.transformer_dim;
        let tokens = self.num_multimask_outputs + 1;
        MaskDecoder {
            transformer: self
                .transformer
                .clone()
                .with_embedding_dim(dim)
                .init(device),
            iou_token: EmbeddingConfig::new(1, dim).init(device),
            mask_tokens: EmbeddingConfig::new(tokens, dim).init(device),
            output_upscaling: OutputUpscalingConfig::new(dim).init(device),
            output_hypernetworks_mlps: (0..tokens)
                .map(|_| MlpConfig::new(dim, dim, dim / 8, 3).init(device))
                .collect(),
            iou_prediction_head: MlpConfig::new(
                dim,
                self.iou_head_hidden_dim,
                tokens,
                self.iou_head_depth,
            )
            .init(device),
        }
    }
}

impl<B: Backend> MaskDecoder<B> {
    /// The output tokens (IoU, then masks) followed by the prompt tokens: `[M, 1 + K + T, D]`.
    pub fn tokens(&self, sparse: Tensor<B, 3>) -> Tensor<B, 3> {
        let [m, _, dim] = sparse.dims();
        let output = Tensor::cat(
            vec![self.iou_token.weight.val(), self.mask_tokens.weight.val()],
            0,
        );
        let count = output.dims()[0];
        let output = output.unsqueeze::<3>().expand([m, count, dim]);
        Tensor::cat(vec![output, sparse], 1)
    }

    /// Mask logits `[M, K, 4 h, 4 w]` and IoU `[M, K]` from the transformer's output tokens
    /// `[M, 1 + K + T, D]` and image tokens `[M, h w, D]` (all K mask tokens).
    pub fn heads(
        &self,
        hs: Tensor<B, 3>,
        src: Tensor<B, 3>,
        side: [usize; 2],
    ) -> (Tensor<B, 4>, Tensor<B, 2>) {
        let [m, _, dim] = hs.dims();
        let count = self.output_hypernetworks_mlps.len();
        let iou_token_out = hs.clone().narrow(1, 0, 1).reshape([m, dim]);
        let src = src.swap_dims(1, 2).reshape([m, dim, side[0], side[1]]);
        let upscaled = self.output_upscaling.forward(src);
        let [_, channels, height, width] = upscaled.dims();
        let hyper_in: Vec<Tensor<B, 2>> = self
            .output_hypernetworks_mlps
            .iter()
            .enumerate()
            .map(|(i, mlp)| mlp.forward(hs.clone().narrow(1, 1 + i, 1).reshape([m, dim])))
            .collect();
        let hyper_in: Tensor<B, 3> = Tensor::stack(hyper_in, 1);
        let masks = hyper_in
            .matmul(upscaled.reshape([m, channels, height * width]))
            .reshape([m, count, height, width]);
        (masks, self.iou_prediction_head.forward(iou_token_out))
    }

    /// Predicts masks for `B` images `[B, D, h, w]` (with the dense positional encoding
    /// `[1, D, h, w]`) and `N` prompts per image (sparse `[B, N, T, D]`, dense
    /// `[B, N, D, h, w]`). With `multimask_output` the 3 multimask outputs are returned, else the
    /// single-mask output.
    pub fn forward(
        &self,
        image_embeddings: Tensor<B, 4>,
        image_pe: Tensor<B, 4>,
        sparse: Tensor<B, 4>,
        dense: Tensor<B, 5>,
        multimask_output: bool,
    ) -> MaskPrediction<B> {
        let [b, dim, h, w] = image_embeddings.dims();
        let [_, n, tokens, _] = sparse.dims();
        let m = b * n;
        let src = image_embeddings
            .unsqueeze_dim::<5>(1)
            .expand([b, n, dim, h, w])
            .reshape([m, dim, h, w])
            + dense.reshape([m, dim, h, w]);
        let pos = image_pe.expand([m, dim, h, w]);
        let tokens = self.tokens(sparse.reshape([m, tokens, dim]));
        let (hs, src) = self.transformer.forward(src, pos, tokens);
        let (masks, iou) = self.heads(hs, src, [h, w]);
        let count = masks.dims()[1];
        let (start, len) = if multimask_output {
            (1, count - 1)
        } else {
            (0, 1)
        };
        let masks = masks.narrow(1, start, len);
        let [_, _, mh, mw] = masks.dims();
        MaskPrediction {
            low_res_masks: masks.reshape([b, n, len, mh, mw]),
            iou_predictions: iou.narrow(1, start, len).reshape([b, n, len]),
        }
    }
}

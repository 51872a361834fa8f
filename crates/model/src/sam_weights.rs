//! Starting EchoONE from official SAM weights, as the authors do: SAM's tensors go where the
//! spec says, the global blocks' rel-pos tables are resized from `2 * 64 - 1` to
//! `2 * 32 - 1` rows (linear, align_corners = false), and every new layer keeps its default
//! initialisation.

use std::path::Path;

use burn::module::Param;
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;
use echoone_sam::image_encoder::rel_pos::resize_rel_pos;
use echoone_sam::mask_decoder::transformer::TwoWayTransformerConfig;
use echoone_sam::{
    ImageEncoderConfig, LoadOptions, LoadReport, MaskDecoderConfig, Sam, SamConfig, load_checkpoint,
};

use crate::config::EchoOneConfig;
use crate::error::Result;
use crate::model::EchoOne;

impl EchoOneConfig {
    /// The official SAM whose weights this EchoONE starts from (SAM ViT-B at 1024 for `vit_b`).
    pub fn sam_config(&self) -> SamConfig {
        let encoder = ImageEncoderConfig::new()
            .with_img_size(self.pos_table_size * self.patch_size)
            .with_patch_size(self.patch_size)
            .with_embed_dim(self.embed_dim)
            .with_depth(self.depth)
            .with_num_heads(self.num_heads)
            .with_window_size(self.window_size)
            .with_global_attn_indexes(self.global_attn_indexes.clone())
            .with_out_chans(self.prompt_dim);
        let mut sam = SamConfig::with_encoder(encoder);
        sam.mask_decoder = MaskDecoderConfig::new()
            .with_transformer_dim(self.prompt_dim)
            .with_iou_head_hidden_dim(self.prompt_dim)
            .with_transformer(
                TwoWayTransformerConfig::new()
                    .with_embedding_dim(self.prompt_dim)
                    .with_num_heads(self.decoder_heads)
                    .with_mlp_dim(self.decoder_mlp_dim),
            );
        sam
    }
}

fn resized<B: Backend>(table: Param<Tensor<B, 2>>, rows: usize) -> Param<Tensor<B, 2>> {
    Param::from_tensor(resize_rel_pos(table.val(), rows))
}

impl<B: Backend> EchoOne<B> {
    /// Copies an official SAM model's weights into this EchoONE (see the module docs).
    pub fn with_sam_weights(mut self, sam: Sam<B>) -> Self {
        let enc = &mut self.image_encoder;
        let vit = sam.image_encoder;
        enc.patch_embed = vit.patch_embed;
        if let Some(pos) = vit.pos_embed {
            enc.pos_embed = pos;
        }
        enc.neck = vit.neck;
        for (ours, mut theirs) in enc.blocks.iter_mut().zip(vit.blocks) {
            if ours.window_size == 0 {
                let rows = ours
                    .attn
                    .rel_pos_h
                    .as_ref()
                    .map(|p| p.dims()[0])
                    .unwrap_or(0);
                theirs.attn.rel_pos_h = theirs.attn.rel_pos_h.map(|t| resized(t, rows));
                theirs.attn.rel_pos_w = theirs.attn.rel_pos_w.map(|t| resized(t, rows));
                theirs.window_size = 0;
            }
            *ours = theirs;
        }
        let mut prompt = sam.prompt_encoder;
        prompt.image_embedding_size = self.prompt_encoder.image_embedding_size;
        prompt.input_image_size = self.prompt_encoder.input_image_size;
        self.prompt_encoder = prompt;
        let dec = &mut self.mask_decoder;
        let theirs = sam.mask_decoder;
        for (ours, layer) in dec
            .transformer
            .layers
            .iter_mut()
            .zip(theirs.transformer.layers)
        {
            *ours = layer;
        }
        dec.transformer.final_attn_token_to_image = theirs.transformer.final_attn_token_to_image;
        dec.transformer.norm_final_attn = theirs.transformer.norm_final_attn;
        dec.iou_token = theirs.iou_token;
        dec.mask_tokens = theirs.mask_tokens;
        dec.output_upscaling = theirs.output_upscaling;
        dec.output_hypernetworks_mlps = theirs.output_hypernetworks_mlps;
        dec.iou_prediction_head = theirs.iou_prediction_head;
        self
    }

    /// Loads an official SAM checkpoint (`sam_vit_b_01ec64.pth` for the ViT-B preset) with
    /// [`with_sam_weights`](Self::with_sam_weights).
    pub fn load_sam_checkpoint(
        self,
        config: &EchoOneConfig,
        path: &Path,
    ) -> Result<(Self, LoadReport)> {
        let device = self.prompt_encoder.no_mask_embed.weight.device();
        let mut sam = config.sam_config().init::<B>(&device)?;
        let report = load_checkpoint(&mut sam, path, &LoadOptions::default())?;
        Ok((self.with_sam_weights(sam), report))
    }
}

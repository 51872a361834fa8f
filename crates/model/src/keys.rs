//! Loading the authors' checkpoint names, and the authors' split of trainable and frozen
//! parameters.

use burn::module::Module;
use burn::tensor::backend::Backend;
use echoone_lffa::LFFA_KEY_REMAP;
use echoone_pc_mask::PRIOR_UNET_KEY_REMAP;
use echoone_sam::SAM_KEY_REMAP;

use crate::config::EchoOneConfig;
use crate::model::EchoOne;

/// The `(regex, replacement)` pairs, applied in order, that map a state-dict key of the authors'
/// EchoONE (`build_echoone_vit_b`) to this model's parameter path: SAM's and LFFA's
/// `nn.Sequential` indices, the prior U-Net moved to `prior_unet`, the global blocks' adapters
/// to `image_encoder.global.{i}` and `neck_down_sample{N}` to `fusion.{depth - 1 - N}`.
pub fn authors_key_remap(config: &EchoOneConfig) -> Vec<(String, String)> {
    let fixed = SAM_KEY_REMAP
        .iter()
        .chain(LFFA_KEY_REMAP)
        .chain(PRIOR_UNET_KEY_REMAP)
        .map(|(a, b)| (a.to_string(), b.to_string()));
    let mut pairs: Vec<(String, String)> = fixed.collect();
    pairs.push((
        r"^prompt_encoder\.prior_unet\.".into(),
        "prior_unet.".into(),
    ));
    for (i, g) in config.global_attn_indexes.iter().enumerate() {
        pairs.push((
            format!(r"^image_encoder\.blocks\.{g}\.(Space_Adapter|refine_Adapter|MLP_Adapter)\."),
            format!("image_encoder.global.{i}.${{1}}."),
        ));
    }
    let count = config.fusion_count();
    for i in 0..count {
        let n = count - i;
        pairs.push((
            format!(r"^mask_decoder\.transformer\.neck_down_sample{n}\."),
            format!("fusion.{i}."),
        ));
    }
    pairs
}

impl<B: Backend> EchoOne<B> {
    /// Freezes what the authors freeze: SAM's patch embedding, position table, the ViT blocks
    /// (but the global blocks' rel-pos tables), the neck, the prompt encoder, decoder blocks 0-1
    /// and the decoder's heads. The CNN branch, adapters, position reducer, prior U-Net, fusion
    /// convolutions and decoder blocks 2.. stay trainable.
    pub fn freeze_as_authors(self) -> Self {
        let mut model = self;
        let enc = &mut model.image_encoder;
        enc.patch_embed = enc.patch_embed.clone().no_grad();
        enc.pos_embed = enc.pos_embed.clone().set_require_grad(false);
        enc.neck = enc.neck.clone().no_grad();
        for block in enc.blocks.iter_mut() {
            let global = block.window_size == 0;
            block.norm1 = block.norm1.clone().no_grad();
            block.norm2 = block.norm2.clone().no_grad();
            block.mlp = block.mlp.clone().no_grad();
            block.attn.qkv = block.attn.qkv.clone().no_grad();
            block.attn.proj = block.attn.proj.clone().no_grad();
            if !global {
                block.attn.rel_pos_h = block
                    .attn
                    .rel_pos_h
                    .take()
                    .map(|p| p.set_require_grad(false));
                block.attn.rel_pos_w = block
                    .attn
                    .rel_pos_w
                    .take()
                    .map(|p| p.set_require_grad(false));
            }
        }
        model.prompt_encoder = model.prompt_encoder.no_grad();
        let dec = &mut model.mask_decoder;
        for layer in dec.transformer.layers.iter_mut().take(2) {
            *layer = layer.clone().no_grad();
        }
        let t = &mut dec.transformer;
        t.final_attn_token_to_image = t.final_attn_token_to_image.clone().no_grad();
        t.norm_final_attn = t.norm_final_attn.clone().no_grad();
        dec.iou_token = dec.iou_token.clone().no_grad();
        dec.mask_tokens = dec.mask_tokens.clone().no_grad();
        dec.output_upscaling = dec.output_upscaling.clone().no_grad();
        dec.output_hypernetworks_mlps = dec
            .output_hypernetworks_mlps
            .drain(..)
            .map(|m| m.no_grad())
            .collect();
        dec.iou_prediction_head = dec.iou_prediction_head.clone().no_grad();
        model
    }
}

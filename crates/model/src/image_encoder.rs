//! EchoONE's image encoder: SAM's ViT at 264 input with stride 8, the input adapter, the
//! position-table reducer, the CNN branch, and in each global block the cross-branch attention,
//! refine and MLP adapters; it also emits one CNN feature map per global block for LFFA.

#![allow(non_snake_case)]

use burn::module::{Module, Param};
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
use burn::tensor::{Tensor, backend::Backend};
use echoone_lffa::{
    Adapter, AdapterConfig, CnnBranch, CnnBranchConfig, PosEmbedReducer, PosEmbedReducerConfig,
    RefineAdapter, RefineAdapterConfig, SpaceAdapter, SpaceAdapterConfig,
};
use echoone_sam::image_encoder::block::Block;
use echoone_sam::image_encoder::neck::Neck;
use echoone_sam::image_encoder::patch_embed::PatchEmbed;

use crate::config::EchoOneConfig;
use crate::error::Result;

/// The adapters EchoONE adds to one global block (authors' `blocks.{i}.*_Adapter`).
#[derive(Module, Debug)]
pub struct GlobalAdapters<B: Backend> {
    /// Cross-branch attention from the tokens to the CNN features.
    pub Space_Adapter: SpaceAdapter<B>,
    /// Refinement of the CNN features.
    pub refine_Adapter: RefineAdapter<B>,
    /// Parallel adapter beside the block's MLP (scaled by 0.5).
    pub MLP_Adapter: Adapter<B>,
}

/// The encoder's outputs.
#[derive(Debug, Clone)]
pub struct EncoderOutput<B: Backend> {
    /// Image embedding `[B, D, G, G]`.
    pub embedding: Tensor<B, 4>,
    /// One CNN feature map `[B, D, G, G]` per global block, in block order.
    pub cnn_features: Vec<Tensor<B, 4>>,
}

/// EchoONE's image encoder (keys as the authors' `image_encoder.*`; the adapters of global block
/// `blocks.{g}` live in `global.{i}`, see [`crate::keys`]).
#[derive(Module, Debug)]
pub struct EchoImageEncoder<B: Backend> {
    /// SAM's patch embedding (stride 8).
    pub patch_embed: PatchEmbed<B>,
    /// SAM's 64x64 position table.
    pub pos_embed: Param<Tensor<B, 4>>,
    /// Reducer of the table to the token grid.
    pub post_pos_embed: PosEmbedReducer<B>,
    /// Adapter on the tokens after the patch embedding.
    pub input_Adapter: Adapter<B>,
    /// The CNN branch.
    pub cnn_embed: CnnBranch<B>,
    /// SAM's transformer blocks.
    pub blocks: Vec<Block<B>>,
    /// The adapters of the global blocks, in block order.
    pub global: Vec<GlobalAdapters<B>>,
    /// SAM's neck.
    pub neck: Neck<B>,
    /// Side the input is resized to before the patch embedding.
    pub encoder_input_size: usize,
}

impl EchoOneConfig {
    /// Builds the image encoder.
    pub fn init_image_encoder<B: Backend>(
        &self,
        device: &B::Device,
    ) -> Result<EchoImageEncoder<B>> {
        let vit = self.sam_encoder().init::<B>(device)?;
        let dim = self.embed_dim;
        let global = self
            .global_attn_indexes
            .iter()
            .map(|_| {
                Ok(GlobalAdapters {
                    Space_Adapter: SpaceAdapterConfig::new(dim)
                        .with_num_heads(self.num_heads)
                        .init(device)?,
                    refine_Adapter: RefineAdapterConfig::new(dim).init(device),
                    MLP_Adapter: AdapterConfig::mlp(dim).init(device),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let table = self.pos_table_size;
        Ok(EchoImageEncoder {
            patch_embed: vit.patch_embed,
            pos_embed: Param::from_tensor(Tensor::zeros([1, table, table, dim], device)),
            post_pos_embed: PosEmbedReducerConfig::new()
                .with_embed_dim(dim)
                .with_source_size(table)
                .with_target_size(self.token_grid())
                .init(device)?,
            input_Adapter: AdapterConfig::input(dim).init(device),
            cnn_embed: CnnBranchConfig::new()
                .with_base_channels(self.cnn_base_channels)
                .with_embed_dim(dim)
                .with_num_downs(self.patch_stride.trailing_zeros() as usize)
                .with_residual(self.residual_cnn)
                .init(device),
            blocks: vit.blocks,
            global,
            neck: vit.neck,
            encoder_input_size: self.encoder_input_size,
        })
    }
}

impl<B: Backend> EchoImageEncoder<B> {
    /// Encodes `[B, 3, S, S]` images (S = 256) into the embedding and the per-global-block CNN
    /// features.
    pub fn forward(&self, images: Tensor<B, 4>) -> EncoderOutput<B> {
        let side = self.encoder_input_size;
        let mut cnnx = self.cnn_embed.forward(images.clone()).permute([0, 2, 3, 1]);
        let resized = interpolate(
            images,
            [side, side],
            InterpolateOptions::new(InterpolateMode::Bilinear).with_align_corners(false),
        );
        let tokens = self
            .input_Adapter
            .forward(self.patch_embed.forward(resized));
        let mut x = tokens + self.post_pos_embed.forward(self.pos_embed.val());
        let mut global = self.global.iter();
        let mut cnn_features = Vec::new();
        for block in &self.blocks {
            let adapters = if block.window_size > 0 {
                None
            } else {
                global.next()
            };
            let Some(adapters) = adapters else {
                x = block.forward(x);
                continue;
            };
            let shortcut = x.clone();
            let h = block.norm1.forward(x);
            let h = h.clone() + adapters.Space_Adapter.forward(h, cnnx.clone());
            cnnx = adapters
                .refine_Adapter
                .forward(cnnx.permute([0, 3, 1, 2]))
                .permute([0, 2, 3, 1]);
            let x1 = shortcut + block.attn.forward(h);
            let xn = block.norm2.forward(x1.clone());
            x = x1 + block.mlp.forward(xn.clone()) + adapters.MLP_Adapter.forward(xn) * 0.5;
            cnn_features.push(self.neck.forward(cnnx.clone().permute([0, 3, 1, 2])));
        }
        let embedding = self.neck.forward((x + cnnx * 0.5).permute([0, 3, 1, 2]));
        EncoderOutput {
            embedding,
            cnn_features,
        }
    }
}

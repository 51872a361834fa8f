//! SAM's two-way transformer: tokens attend to the image and the image attends back.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{LayerNorm, LayerNormConfig};
use burn::tensor::{Tensor, backend::Backend};

use super::attention::{DecoderAttention, DecoderAttentionConfig};
use crate::mlp::{Activation, MlpBlock, MlpBlockConfig};
use crate::norm::layer_norm;

/// The epsilon of the decoder's LayerNorms (PyTorch's default, as SAM leaves it).
const EPS: f64 = 1e-5;

/// Configuration of [`TwoWayAttentionBlock`].
#[derive(Config, Debug)]
pub struct TwoWayAttentionBlockConfig {
    /// Token width.
    pub embedding_dim: usize,
    /// Number of heads.
    pub num_heads: usize,
    /// MLP hidden width.
    pub mlp_dim: usize,
    /// Downsampling of the cross-attentions' internal width.
    #[config(default = 2)]
    pub attention_downsample_rate: usize,
    /// Whether the first self-attention skips the query position encoding (block 0).
    #[config(default = false)]
    pub skip_first_layer_pe: bool,
}

/// SAM's `TwoWayAttentionBlock`.
#[derive(Module, Debug)]
pub struct TwoWayAttentionBlock<B: Backend> {
    /// Self-attention of the tokens.
    pub self_attn: DecoderAttention<B>,
    /// Norm after self-attention.
    pub norm1: LayerNorm<B>,
    /// Tokens attend to the image.
    pub cross_attn_token_to_image: DecoderAttention<B>,
    /// Norm after token-to-image attention.
    pub norm2: LayerNorm<B>,
    /// Token MLP (ReLU).
    pub mlp: MlpBlock<B>,
    /// Norm after the MLP.
    pub norm3: LayerNorm<B>,
    /// Norm after image-to-token attention.
    pub norm4: LayerNorm<B>,
    /// The image attends to the tokens.
    pub cross_attn_image_to_token: DecoderAttention<B>,
    /// Whether the first self-attention skips the query position encoding.
    pub skip_first_layer_pe: bool,
}

impl TwoWayAttentionBlockConfig {
    /// Builds the block.
    pub fn init<B: Backend>(&self, device: &B::Device) -> TwoWayAttentionBlock<B> {
        let cross = || {
            DecoderAttentionConfig::new(self.embedding_dim, self.num_heads)
                .with_downsample_rate(self.attention_downsample_rate)
                .init(device)
        };
        let norm = || {
            LayerNormConfig::new(self.embedding_dim)
                .with_epsilon(EPS)
                .init(device)
        };
        TwoWayAttentionBlock {
            self_attn: DecoderAttentionConfig::new(self.embedding_dim, self.num_heads).init(device),
            norm1: norm(),
            cross_attn_token_to_image: cross(),
            norm2: norm(),
            mlp: MlpBlockConfig::new(self.embedding_dim, self.mlp_dim, Activation::Relu)
                .init(device),
            norm3: norm(),
            norm4: norm(),
            cross_attn_image_to_token: cross(),
            skip_first_layer_pe: self.skip_first_layer_pe,
        }
    }
}

impl<B: Backend> TwoWayAttentionBlock<B> {
    /// Updates `(queries [B, Nq, D], keys [B, Nk, D])` given their position encodings.
    pub fn forward(
        &self,
        queries: Tensor<B, 3>,
        keys: Tensor<B, 3>,
        query_pe: Tensor<B, 3>,
        key_pe: Tensor<B, 3>,
    ) -> (Tensor<B, 3>, Tensor<B, 3>) {
        let queries = if self.skip_first_layer_pe {
            self.self_attn
                .forward(queries.clone(), queries.clone(), queries)
        } else {
            let q = queries.clone() + query_pe.clone();
            queries.clone() + self.self_attn.forward(q.clone(), q, queries)
        };
        let queries = layer_norm(&self.norm1, EPS, queries);

        let q = queries.clone() + query_pe.clone();
        let k = keys.clone() + key_pe.clone();
        let queries = queries + self.cross_attn_token_to_image.forward(q, k, keys.clone());
        let queries = layer_norm(&self.norm2, EPS, queries);

        let queries = queries.clone() + self.mlp.forward(queries);
        let queries = layer_norm(&self.norm3, EPS, queries);

        let q = queries.clone() + query_pe;
        let k = keys.clone() + key_pe;
        let keys = keys
            + self
                .cross_attn_image_to_token
                .forward(k, q, queries.clone());
        let keys = layer_norm(&self.norm4, EPS, keys);
        (queries, keys)
    }
}

/// Configuration of [`TwoWayTransformer`].
#[derive(Config, Debug)]
pub struct TwoWayTransformerConfig {
    /// Number of two-way blocks (SAM: 2).
    #[config(default = 2)]
    pub depth: usize,
    /// Token width (SAM: 256).
    #[config(default = 256)]
    pub embedding_dim: usize,
    /// Number of heads (SAM: 8).
    #[config(default = 8)]
    pub num_heads: usize,
    /// MLP hidden width (SAM: 2048).
    #[config(default = 2048)]
    pub mlp_dim: usize,
    /// Downsampling of the cross-attentions' internal width (SAM: 2).
    #[config(default = 2)]
    pub attention_downsample_rate: usize,
}

/// SAM's `TwoWayTransformer` (keys `layers`, `final_attn_token_to_image`, `norm_final_attn`).
#[derive(Module, Debug)]
pub struct TwoWayTransformer<B: Backend> {
    /// The two-way blocks.
    pub layers: Vec<TwoWayAttentionBlock<B>>,
    /// Final token-to-image attention.
    pub final_attn_token_to_image: DecoderAttention<B>,
    /// Norm after the final attention.
    pub norm_final_attn: LayerNorm<B>,
}

impl TwoWayTransformerConfig {
    /// Builds the transformer.
    pub fn init<B: Backend>(&self, device: &B::Device) -> TwoWayTransformer<B> {
        TwoWayTransformer {
            layers: (0..self.depth)
                .map(|i| {
                    TwoWayAttentionBlockConfig::new(
                        self.embedding_dim,
                        self.num_heads,
                        self.mlp_dim,
                    )
                    .with_attention_downsample_rate(self.attention_downsample_rate)
                    .with_skip_first_layer_pe(i == 0)
                    .init(device)
                })
                .collect(),
            final_attn_token_to_image: DecoderAttentionConfig::new(
                self.embedding_dim,
                self.num_heads,
            )
            .with_downsample_rate(self.attention_downsample_rate)
            .init(device),
            norm_final_attn: LayerNormConfig::new(self.embedding_dim)
                .with_epsilon(EPS)
                .init(device),
        }
    }
}

impl<B: Backend> TwoWayTransformer<B> {
    /// Runs the transformer on an image `[B, D, h, w]` with its encoding `[B, D, h, w]` and the
    /// tokens `[B, T, D]`; returns the updated tokens `[B, T, D]` and image `[B, h w, D]`.
    pub fn forward(
        &self,
        image_embedding: Tensor<B, 4>,
        image_pe: Tensor<B, 4>,
        point_embedding: Tensor<B, 3>,
    ) -> (Tensor<B, 3>, Tensor<B, 3>) {
        let keys = image_embedding.flatten::<3>(2, 3).swap_dims(1, 2);
        let key_pe = image_pe.flatten::<3>(2, 3).swap_dims(1, 2);
        self.forward_tokens(keys, key_pe, point_embedding)
    }

    /// As [`forward`](Self::forward), with the image already flattened to `[B, h w, D]`.
    pub fn forward_tokens(
        &self,
        keys: Tensor<B, 3>,
        key_pe: Tensor<B, 3>,
        point_embedding: Tensor<B, 3>,
    ) -> (Tensor<B, 3>, Tensor<B, 3>) {
        let mut queries = point_embedding.clone();
        let mut keys = keys;
        for layer in &self.layers {
            (queries, keys) = layer.forward(queries, keys, point_embedding.clone(), key_pe.clone());
        }
        self.finish(queries, keys, point_embedding, key_pe)
    }

    /// The final token-to-image attention and norm after the blocks; returns the tokens and
    /// the image tokens `[B, h w, D]` (for models that run the blocks themselves).
    pub fn finish(
        &self,
        queries: Tensor<B, 3>,
        keys: Tensor<B, 3>,
        point_embedding: Tensor<B, 3>,
        key_pe: Tensor<B, 3>,
    ) -> (Tensor<B, 3>, Tensor<B, 3>) {
        let q = queries.clone() + point_embedding;
        let k = keys.clone() + key_pe;
        let queries = queries + self.final_attn_token_to_image.forward(q, k, keys.clone());
        (layer_norm(&self.norm_final_attn, EPS, queries), keys)
    }
}

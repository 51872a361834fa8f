//! SAM's ViT image encoder, with configurable patch stride and input size.

pub mod attention;
pub mod block;
pub mod neck;
pub mod patch_embed;
pub mod rel_pos;

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
use burn::tensor::{Tensor, backend::Backend};

use self::block::{Block, BlockConfig};
use self::neck::{Neck, NeckConfig};
use self::patch_embed::{PatchEmbed, PatchEmbedConfig};
use crate::error::{self, SamError};

/// Configuration of [`ImageEncoderViT`]; presets [`vit_b`](Self::vit_b),
/// [`vit_l`](Self::vit_l), [`vit_h`](Self::vit_h).
#[derive(Config, Debug)]
pub struct ImageEncoderConfig {
    /// Side of the square input image in pixels.
    #[config(default = 1024)]
    pub img_size: usize,
    /// Patch (kernel) size of the patch embedding.
    #[config(default = 16)]
    pub patch_size: usize,
    /// Stride of the patch embedding; `None` means the patch size (SAM).
    #[config(default = "None")]
    pub patch_stride: Option<usize>,
    /// Input channels.
    #[config(default = 3)]
    pub in_chans: usize,
    /// Token width.
    #[config(default = 768)]
    pub embed_dim: usize,
    /// Number of blocks.
    #[config(default = 12)]
    pub depth: usize,
    /// Attention heads per block.
    #[config(default = 12)]
    pub num_heads: usize,
    /// MLP hidden width as a multiple of the token width.
    #[config(default = 4.0)]
    pub mlp_ratio: f64,
    /// Output channels of the neck.
    #[config(default = 256)]
    pub out_chans: usize,
    /// Whether the qkv projections have a bias.
    #[config(default = true)]
    pub qkv_bias: bool,
    /// Whether an absolute position embedding is added.
    #[config(default = true)]
    pub use_abs_pos: bool,
    /// Whether attention adds the decomposed relative position bias.
    #[config(default = true)]
    pub use_rel_pos: bool,
    /// Window size of the windowed blocks.
    #[config(default = 14)]
    pub window_size: usize,
    /// Indices of the blocks with global attention.
    #[config(default = "vec![2, 5, 8, 11]")]
    pub global_attn_indexes: Vec<usize>,
    /// Side of the position-embedding table and of the global blocks' rel-pos grid;
    /// `None` means `img_size / patch_size` (SAM). Other token grids are resized at run time.
    #[config(default = "None")]
    pub table_grid: Option<usize>,
    /// LayerNorm epsilon of the blocks.
    #[config(default = 1e-6)]
    pub layer_norm_eps: f64,
}

impl ImageEncoderConfig {
    /// SAM ViT-B: 768 wide, 12 blocks, 12 heads, global attention at 2, 5, 8, 11.
    pub fn vit_b() -> Self {
        Self::new()
    }

    /// SAM ViT-L: 1024 wide, 24 blocks, 16 heads, global attention at 5, 11, 17, 23.
    pub fn vit_l() -> Self {
        Self::new()
            .with_embed_dim(1024)
            .with_depth(24)
            .with_num_heads(16)
            .with_global_attn_indexes(vec![5, 11, 17, 23])
    }

    /// SAM ViT-H: 1280 wide, 32 blocks, 16 heads, global attention at 7, 15, 23, 31.
    pub fn vit_h() -> Self {
        Self::new()
            .with_embed_dim(1280)
            .with_depth(32)
            .with_num_heads(16)
            .with_global_attn_indexes(vec![7, 15, 23, 31])
    }

    /// The patch-embedding stride.
    pub fn stride(&self) -> usize {
        self.patch_stride.unwrap_or(self.patch_size)
    }

    /// Side of the position tables (the pretraining token grid).
    pub fn table_side(&self) -> usize {
        self.table_grid.unwrap_or(self.img_size / self.patch_size)
    }

    /// Side of the token grid the input image produces: `(img_size - patch) / stride + 1`.
    pub fn token_grid(&self) -> usize {
        (self.img_size - self.patch_size) / self.stride() + 1
    }

    /// Checks that the shape is buildable.
    pub fn validate(&self) -> error::Result<()> {
        let bad = |what: &str| Err(SamError::Config(format!("image encoder: {what}")));
        if self.patch_size == 0 || self.stride() == 0 || self.img_size < self.patch_size {
            return bad("the image must hold at least one patch, with a positive stride");
        }
        if self.num_heads == 0 || !self.embed_dim.is_multiple_of(self.num_heads) {
            return bad("embed_dim must be a positive multiple of num_heads");
        }
        if self.window_size == 0 {
            return bad("window_size must be positive");
        }
        if self.table_side() == 0 {
            return bad("the position table must have at least one row");
        }
        if let Some(i) = self.global_attn_indexes.iter().find(|&&i| i >= self.depth) {
            return bad(&format!(
                "global block index {i} is not below depth {}",
                self.depth
            ));
        }
        Ok(())
    }

    /// Builds the encoder (position table zero-initialised, as SAM).
    pub fn init<B: Backend>(&self, device: &B::Device) -> error::Result<ImageEncoderViT<B>> {
        self.validate()?;
        let table = self.table_side();
        let blocks = (0..self.depth)
            .map(|i| {
                let global = self.global_attn_indexes.contains(&i);
                BlockConfig::new(
                    self.embed_dim,
                    self.num_heads,
                    if global { 0 } else { self.window_size },
                    [table, table],
                )
                .with_mlp_ratio(self.mlp_ratio)
                .with_qkv_bias(self.qkv_bias)
                .with_use_rel_pos(self.use_rel_pos)
                .with_layer_norm_eps(self.layer_norm_eps)
                .init(device)
            })
            .collect();
        Ok(ImageEncoderViT {
            patch_embed: PatchEmbedConfig::new(
                self.in_chans,
                self.embed_dim,
                self.patch_size,
                self.stride(),
            )
            .init(device),
            pos_embed: self.use_abs_pos.then(|| {
                Param::from_tensor(Tensor::zeros([1, table, table, self.embed_dim], device))
            }),
            blocks,
            neck: NeckConfig::new(self.embed_dim, self.out_chans).init(device),
        })
    }
}

/// SAM's `ImageEncoderViT`: `[B, 3, S, S]` normalised pixels to a `[B, 256, G, G]` embedding.
#[derive(Module, Debug)]
pub struct ImageEncoderViT<B: Backend> {
    /// Pixels to tokens.
    pub patch_embed: PatchEmbed<B>,
    /// Absolute position table `[1, T, T, D]`, resized bilinearly to other token grids.
    pub pos_embed: Option<Param<Tensor<B, 4>>>,
    /// The transformer blocks.
    pub blocks: Vec<Block<B>>,
    /// Tokens to the output embedding.
    pub neck: Neck<B>,
}

impl<B: Backend> ImageEncoderViT<B> {
    /// Tokens after patch embedding and position embedding: `[B, G, G, D]`.
    pub fn embed(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let tokens = self.patch_embed.forward(x);
        match &self.pos_embed {
            Some(pos) => {
                let [_, height, width, _] = tokens.dims();
                tokens + resize_pos_embed(pos.val(), [height, width])
            }
            None => tokens,
        }
    }

    /// Encodes `[B, 3, S, S]` into `[B, out_chans, G, G]`.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let mut x = self.embed(x);
        for block in &self.blocks {
            x = block.forward(x);
        }
        self.neck.forward(x.permute([0, 3, 1, 2]))
    }
}

/// Resizes a `[1, T, T, D]` position table to `[1, H, W, D]` (bilinear, align_corners = false);
/// returns it unchanged when the grid already matches.
pub fn resize_pos_embed<B: Backend>(table: Tensor<B, 4>, grid: [usize; 2]) -> Tensor<B, 4> {
    let [_, height, width, _] = table.dims();
    if [height, width] == grid {
        return table;
    }
    interpolate(
        table.permute([0, 3, 1, 2]),
        grid,
        InterpolateOptions::new(InterpolateMode::Bilinear).with_align_corners(false),
    )
    .permute([0, 2, 3, 1])
}

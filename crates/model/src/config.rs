//! `EchoOneConfig`: the architecture and every ablation toggle, with presets.

use burn::config::Config;
use echoone_sam::ImageEncoderConfig;

use crate::error::{self, EchoOneError};

/// Configuration of [`crate::EchoOne`]; presets [`vit_b`](Self::vit_b) and
/// [`small`](Self::small), toggles [`with_lffa`](Self::with_lffa) and `pc_mask`.
///
/// ```
/// use burn::config::Config;
/// use echoone_model::EchoOneConfig;
///
/// // The paper's model: SAM ViT-B at 264 px with patch stride 8, so 32x32 tokens.
/// let paper = EchoOneConfig::vit_b();
/// assert_eq!((paper.token_grid(), paper.low_res_size()), (32, 128));
/// assert_eq!(paper.fusion_count(), 4); // before decoder blocks 1 to 4
///
/// // An ablation: LFFA off (plain CNN branch, SAM's 2-block decoder, no fusion), no PC-Mask.
/// let ablation = EchoOneConfig::small().with_lffa(false).with_pc_mask(false);
/// ablation.validate()?;
/// assert_eq!((ablation.decoder_depth, ablation.fusion_count()), (2, 0));
///
/// // Configurations are JSON (burn's `Config`), and bad ones are errors before any weight exists.
/// let json = ablation.to_string();
/// assert_eq!(EchoOneConfig::load_binary(json.as_bytes())?.decoder_depth, 2);
/// assert!(EchoOneConfig::small().with_decoder_depth(0).validate().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Config, Debug)]
pub struct EchoOneConfig {
    /// Side of the grey input image (EchoONE: 256).
    #[config(default = 256)]
    pub input_size: usize,
    /// Side the input is resized to before the patch embedding (EchoONE: 264).
    #[config(default = 264)]
    pub encoder_input_size: usize,
    /// Patch size of SAM's patch embedding.
    #[config(default = 16)]
    pub patch_size: usize,
    /// Patch stride (EchoONE: 8, so 264 gives 32x32 tokens).
    #[config(default = 8)]
    pub patch_stride: usize,
    /// ViT width.
    #[config(default = 768)]
    pub embed_dim: usize,
    /// ViT blocks.
    #[config(default = 12)]
    pub depth: usize,
    /// ViT heads.
    #[config(default = 12)]
    pub num_heads: usize,
    /// Window size of the windowed blocks.
    #[config(default = 14)]
    pub window_size: usize,
    /// Blocks with global attention (and EchoONE's adapters).
    #[config(default = "vec![2, 5, 8, 11]")]
    pub global_attn_indexes: Vec<usize>,
    /// Side of SAM's absolute position table (64 for the official weights).
    #[config(default = 64)]
    pub pos_table_size: usize,
    /// First-level channels of the CNN branch.
    #[config(default = 64)]
    pub cnn_base_channels: usize,
    /// Width of prompts, image embedding and mask decoder (SAM: 256).
    #[config(default = 256)]
    pub prompt_dim: usize,
    /// Two-way blocks in the mask decoder (EchoONE: 5, SAM: 2).
    #[config(default = 5)]
    pub decoder_depth: usize,
    /// Heads of the mask decoder.
    #[config(default = 8)]
    pub decoder_heads: usize,
    /// MLP width of the mask decoder.
    #[config(default = 2048)]
    pub decoder_mlp_dim: usize,
    /// Residual (EchoONE) or plain (SAMUS) CNN branch.
    #[config(default = true)]
    pub residual_cnn: bool,
    /// LFFA fusion of the CNN features into the decoder before blocks 1.. (EchoONE).
    #[config(default = true)]
    pub fusion: bool,
    /// PC-Mask: a prior-driven coarse mask as SAM's dense prompt.
    #[config(default = true)]
    pub pc_mask: bool,
    /// Clusters (prior channels) of PC-Mask.
    #[config(default = 4)]
    pub prior_k: usize,
}

impl EchoOneConfig {
    /// EchoONE with SAM ViT-B, as the authors build it.
    pub fn vit_b() -> Self {
        Self::new()
    }

    /// A small EchoONE for tests and CPU training: same layout, narrow and shallow.
    pub fn small() -> Self {
        Self::new()
            .with_embed_dim(96)
            .with_depth(8)
            .with_num_heads(4)
            .with_global_attn_indexes(vec![1, 3, 5, 7])
            .with_cnn_base_channels(16)
            .with_prompt_dim(64)
            .with_decoder_heads(4)
            .with_decoder_mlp_dim(256)
    }

    /// A tiny EchoONE at 64 pixels (8x8 tokens, 32x32 logits) with every module on, for tests
    /// and examples: seconds per epoch on a CPU, nothing it learns is meant to be good.
    pub fn tiny() -> Self {
        Self::new()
            .with_input_size(64)
            .with_encoder_input_size(72)
            .with_embed_dim(32)
            .with_depth(4)
            .with_num_heads(2)
            .with_window_size(4)
            .with_global_attn_indexes(vec![1, 3])
            .with_pos_table_size(8)
            .with_cnn_base_channels(8)
            .with_prompt_dim(32)
            .with_decoder_depth(3)
            .with_decoder_heads(2)
            .with_decoder_mlp_dim(64)
    }

    /// LFFA on (residual CNN branch, 5-block decoder with fusion) or off (SAMUS-style branch,
    /// SAM's 2-block decoder, no fusion): the paper's ablation axis.
    pub fn with_lffa(self, on: bool) -> Self {
        self.with_residual_cnn(on)
            .with_fusion(on)
            .with_decoder_depth(if on { 5 } else { 2 })
    }

    /// Side of the token grid.
    pub fn token_grid(&self) -> usize {
        // Saturating: a configuration read from a file may hold anything; `validate` refuses it.
        self.encoder_input_size.saturating_sub(self.patch_size) / self.patch_stride.max(1) + 1
    }

    /// Side of the low-resolution logits (4x the token grid: 128).
    pub fn low_res_size(&self) -> usize {
        4 * self.token_grid()
    }

    /// The SAM image-encoder configuration of the ViT part (position table handled apart).
    pub fn sam_encoder(&self) -> ImageEncoderConfig {
        ImageEncoderConfig::new()
            .with_img_size(self.encoder_input_size)
            .with_patch_size(self.patch_size)
            .with_patch_stride(Some(self.patch_stride))
            .with_embed_dim(self.embed_dim)
            .with_depth(self.depth)
            .with_num_heads(self.num_heads)
            .with_window_size(self.window_size)
            .with_global_attn_indexes(self.global_attn_indexes.clone())
            .with_out_chans(self.prompt_dim)
            .with_use_abs_pos(false)
            .with_table_grid(Some(self.token_grid()))
    }

    /// The number of fusion convolutions (one before each decoder block after the first).
    pub fn fusion_count(&self) -> usize {
        if self.fusion {
            self.decoder_depth.saturating_sub(1)
        } else {
            0
        }
    }

    /// Checks the configuration.
    pub fn validate(&self) -> error::Result<()> {
        let bad = |m: String| Err(EchoOneError::Config(m));
        if self.patch_size == 0
            || self.patch_stride == 0
            || self.encoder_input_size < self.patch_size
        {
            return bad(format!(
                "patch size {} and stride {} must be positive and the encoder input {} at least a patch",
                self.patch_size, self.patch_stride, self.encoder_input_size
            ));
        }
        self.sam_encoder().validate()?;
        let stride_levels = self.patch_stride.trailing_zeros() as usize;
        if !self.patch_stride.is_power_of_two()
            || self.input_size >> stride_levels != self.token_grid()
        {
            return bad(format!(
                "the CNN branch must reach the {0}x{0} token grid from {1} input with stride {2}",
                self.token_grid(),
                self.input_size,
                self.patch_stride
            ));
        }
        if self.fusion_count() > self.global_attn_indexes.len() {
            return bad(format!(
                "{} fusion convolutions need as many global blocks (have {})",
                self.fusion_count(),
                self.global_attn_indexes.len()
            ));
        }
        if self.decoder_depth == 0 || !self.prompt_dim.is_multiple_of(8) {
            return bad("the decoder needs a depth and a width that is a multiple of 8".into());
        }
        if self.pc_mask && self.prior_k == 0 {
            return bad("PC-Mask needs at least one prior channel".into());
        }
        Ok(())
    }
}

//! The whole SAM model: image encoder, prompt encoder and mask decoder, with presets.

use std::fmt;
use std::str::FromStr;

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Tensor, backend::Backend};

use crate::error::{self, SamError};
use crate::image_encoder::{ImageEncoderConfig, ImageEncoderViT};
use crate::mask_decoder::{MaskDecoder, MaskDecoderConfig, MaskPrediction};
use crate::prompt_encoder::{PromptEncoder, PromptEncoderConfig, Prompts};

/// The official SAM checkpoints' architectures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SamVariant {
    /// ViT-B (`sam_vit_b_01ec64.pth`).
    VitB,
    /// ViT-L (`sam_vit_l_0b3195.pth`).
    VitL,
    /// ViT-H (`sam_vit_h_4b8939.pth`).
    VitH,
}

impl SamVariant {
    /// The model configuration of this variant.
    pub fn config(self) -> SamConfig {
        match self {
            Self::VitB => SamConfig::vit_b(),
            Self::VitL => SamConfig::vit_l(),
            Self::VitH => SamConfig::vit_h(),
        }
    }
}

impl FromStr for SamVariant {
    type Err = SamError;

    fn from_str(s: &str) -> error::Result<Self> {
        match s {
            "vit_b" => Ok(Self::VitB),
            "vit_l" => Ok(Self::VitL),
            "vit_h" => Ok(Self::VitH),
            other => Err(SamError::Config(format!(
                "unknown SAM variant `{other}` (expected vit_b, vit_l or vit_h)"
            ))),
        }
    }
}

impl fmt::Display for SamVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::VitB => "vit_b",
            Self::VitL => "vit_l",
            Self::VitH => "vit_h",
        })
    }
}

/// SAM's per-channel pixel mean (RGB, 0-255 scale).
pub const PIXEL_MEAN: [f32; 3] = [123.675, 116.28, 103.53];
/// SAM's per-channel pixel standard deviation (RGB, 0-255 scale).
pub const PIXEL_STD: [f32; 3] = [58.395, 57.12, 57.375];

/// Configuration of [`Sam`]; presets [`vit_b`](Self::vit_b), [`vit_l`](Self::vit_l),
/// [`vit_h`](Self::vit_h).
#[derive(Config, Debug)]
pub struct SamConfig {
    /// The image encoder.
    pub image_encoder: ImageEncoderConfig,
    /// The prompt encoder (its width and grid must match the encoder's output).
    pub prompt_encoder: PromptEncoderConfig,
    /// The mask decoder.
    pub mask_decoder: MaskDecoderConfig,
    /// Per-channel pixel mean (RGB, 0-255 scale).
    #[config(default = "PIXEL_MEAN")]
    pub pixel_mean: [f32; 3],
    /// Per-channel pixel standard deviation (RGB, 0-255 scale).
    #[config(default = "PIXEL_STD")]
    pub pixel_std: [f32; 3],
}

impl SamConfig {
    /// A SAM with the given image encoder and the official prompt encoder and decoder.
    pub fn with_encoder(image_encoder: ImageEncoderConfig) -> Self {
        let grid = image_encoder.token_grid();
        let prompt_encoder = PromptEncoderConfig::new()
            .with_embed_dim(image_encoder.out_chans)
            .with_image_embedding_size(grid)
            .with_input_image_size(image_encoder.img_size);
        Self::new(image_encoder, prompt_encoder, MaskDecoderConfig::new())
    }

    /// Official SAM ViT-B at 1024 input.
    pub fn vit_b() -> Self {
        Self::with_encoder(ImageEncoderConfig::vit_b())
    }

    /// Official SAM ViT-L at 1024 input.
    pub fn vit_l() -> Self {
        Self::with_encoder(ImageEncoderConfig::vit_l())
    }

    /// Official SAM ViT-H at 1024 input.
    pub fn vit_h() -> Self {
        Self::with_encoder(ImageEncoderConfig::vit_h())
    }

    /// Checks that the three parts fit together.
    pub fn validate(&self) -> error::Result<()> {
        self.image_encoder.validate()?;
        let enc = &self.image_encoder;
        let prompt = &self.prompt_encoder;
        let checks = [
            (
                prompt.embed_dim == enc.out_chans,
                "prompt embed_dim must equal the encoder's out_chans",
            ),
            (
                self.mask_decoder.transformer_dim == enc.out_chans,
                "decoder transformer_dim must equal the encoder's out_chans",
            ),
            (
                prompt.image_embedding_size == enc.token_grid(),
                "prompt image_embedding_size must equal the encoder's token grid",
            ),
            (
                prompt.input_image_size == enc.img_size,
                "prompt input_image_size must equal img_size",
            ),
            (
                self.mask_decoder.transformer_dim.is_multiple_of(8),
                "transformer_dim must be a multiple of 8",
            ),
        ];
        match checks.iter().find(|(ok, _)| !ok) {
            Some((_, message)) => Err(SamError::Config((*message).into())),
            None => Ok(()),
        }
    }

    /// Builds the model with default initialisation.
    pub fn init<B: Backend>(&self, device: &B::Device) -> error::Result<Sam<B>> {
        self.validate()?;
        Ok(Sam {
            image_encoder: self.image_encoder.init(device)?,
            prompt_encoder: self.prompt_encoder.init(device),
            mask_decoder: self.mask_decoder.init(device),
            pixel_mean: self.pixel_mean,
            pixel_std: self.pixel_std,
        })
    }
}

/// SAM (keys `image_encoder`, `prompt_encoder`, `mask_decoder`, as the official `Sam`).
///
/// Batched use: `B` images embedded once, each with its own `N` prompts. With official weights,
/// build [`SamConfig::vit_b`] (or `vit_l`, `vit_h`) and load the `.pth` with
/// [`load_checkpoint`](crate::load_checkpoint); for one image at a time in its own
/// coordinates, see [`Predictor`](crate::Predictor).
///
/// ```
/// use burn::tensor::{Int, Tensor};
/// use burn_flex::Flex;
/// use echoone_sam::{ImageEncoderConfig, Prompts, SamConfig};
///
/// // A small SAM: the official layout at 64 px input, 2 blocks of width 32.
/// let encoder = ImageEncoderConfig::new()
///     .with_img_size(64)
///     .with_embed_dim(32)
///     .with_depth(2)
///     .with_num_heads(2)
///     .with_window_size(2)
///     .with_global_attn_indexes(vec![1]);
/// let device = Default::default();
/// let sam = SamConfig::with_encoder(encoder).init::<Flex>(&device)?;
///
/// // Two RGB images (0-255, 64x48), normalised, padded to 64x64 and embedded once.
/// let pixels = Tensor::<Flex, 4>::full([2, 3, 64, 48], 128.0, &device);
/// let embeddings = sam.embed_images(sam.preprocess(pixels));
/// assert_eq!(embeddings.dims(), [2, 256, 4, 4]);
///
/// // One foreground click per image, in model-input pixels: points [B, N, P, 2], labels [B, N, P].
/// let points = Tensor::<Flex, 1>::from_floats([20.0, 30.0, 10.0, 5.0], &device);
/// let labels = Tensor::<Flex, 3, Int>::ones([2, 1, 1], &device);
/// let prompts = Prompts {
///     points: Some((points.reshape([2, 1, 1, 2]), labels)),
///     boxes: None,
///     masks: None,
/// };
/// let out = sam.predict(embeddings, &prompts, false)?;
/// assert_eq!(out.low_res_masks.dims(), [2, 1, 1, 16, 16]); // [B, N, M, 4h, 4w] logits
/// assert_eq!(out.iou_predictions.dims(), [2, 1, 1]);
/// # Ok::<(), echoone_sam::SamError>(())
/// ```
#[derive(Module, Debug)]
pub struct Sam<B: Backend> {
    /// The ViT image encoder.
    pub image_encoder: ImageEncoderViT<B>,
    /// The prompt encoder.
    pub prompt_encoder: PromptEncoder<B>,
    /// The mask decoder.
    pub mask_decoder: MaskDecoder<B>,
    /// Per-channel pixel mean (not a checkpoint tensor, as in SAM).
    #[module(skip)]
    pub pixel_mean: [f32; 3],
    /// Per-channel pixel standard deviation (not a checkpoint tensor).
    #[module(skip)]
    pub pixel_std: [f32; 3],
}

impl<B: Backend> Sam<B> {
    /// Side of the square model input in pixels.
    pub fn img_size(&self) -> usize {
        self.prompt_encoder.input_image_size
    }

    /// Normalises `[B, 3, H, W]` RGB pixels (0-255) and zero-pads them to the model size.
    pub fn preprocess(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let [_, _, height, width] = x.dims();
        let device = x.device();
        let mean = Tensor::<B, 1>::from_floats(self.pixel_mean, &device).reshape([1, 3, 1, 1]);
        let std = Tensor::<B, 1>::from_floats(self.pixel_std, &device).reshape([1, 3, 1, 1]);
        let x = (x - mean) / std;
        let size = self.img_size();
        let (pad_h, pad_w) = (size.saturating_sub(height), size.saturating_sub(width));
        if pad_h == 0 && pad_w == 0 {
            return x;
        }
        x.pad(
            [(0, pad_h), (0, pad_w)],
            burn::tensor::ops::PadMode::Constant(0.0),
        )
    }

    /// Image embeddings `[B, D, h, w]` of preprocessed images `[B, 3, S, S]`.
    pub fn embed_images(&self, images: Tensor<B, 4>) -> Tensor<B, 4> {
        self.image_encoder.forward(images)
    }

    /// Masks for `B` cached image embeddings and `N` prompts per image.
    pub fn predict(
        &self,
        image_embeddings: Tensor<B, 4>,
        prompts: &Prompts<B>,
        multimask_output: bool,
    ) -> error::Result<MaskPrediction<B>> {
        let (b, _) = prompts.batch_dims()?;
        let [eb, ..] = image_embeddings.dims();
        if eb != b {
            return Err(SamError::Prompt(format!(
                "prompts are for {b} images but {eb} image embeddings were given"
            )));
        }
        let (sparse, dense) = self.prompt_encoder.forward(prompts)?;
        Ok(self.mask_decoder.forward(
            image_embeddings,
            self.prompt_encoder.dense_pe(),
            sparse,
            dense,
            multimask_output,
        ))
    }
}

//! Segment Anything (SAM) in burn, faithful to facebookresearch/segment-anything.
//!
//! * [`ImageEncoderViT`], [`PromptEncoder`], [`MaskDecoder`] and the [`Sam`] model, generic over
//!   the backend, with the official ViT-B/L/H presets and any smaller shape;
//! * a configurable patch stride and input size (position tables resized at run time);
//! * batching as explicit dimensions: `B` images, each with its own `N` prompts;
//! * loading of the official checkpoints ([`load_checkpoint`]);
//! * the official pre- and post-processing and a caching [`Predictor`].

pub mod error;
pub mod image_encoder;
pub mod inspect;
pub mod layer_norm2d;
pub mod mask_decoder;
pub mod mlp;
pub mod norm;
pub mod npy;
pub mod official_weights;
pub mod output_folder;
pub mod peak_memory;
pub mod predictor;
pub mod prompt_encoder;
pub mod prompt_text;
pub mod sam;
pub mod transforms;

pub use error::{Result, SamError};
pub use image_encoder::{ImageEncoderConfig, ImageEncoderViT};
pub use layer_norm2d::{LayerNorm2d, LayerNorm2dConfig};
pub use mask_decoder::{MaskDecoder, MaskDecoderConfig, MaskPrediction};
pub use official_weights::{LoadOptions, LoadReport, SAM_KEY_REMAP, load_checkpoint};
pub use predictor::{Prediction, Predictor, Prompt};
pub use prompt_encoder::{PromptEncoder, PromptEncoderConfig, Prompts};
pub use sam::{Sam, SamConfig, SamVariant};
pub use transforms::ResizeLongestSide;

//! Choosing PC-Mask's latent extractor for a run, and rebuilding the one a fitted prior records.

use std::path::Path;

use burn::tensor::backend::Backend;
use echoone_model::EchoOneConfig;
use echoone_pc_mask::LatentExtractor;
use echoone_sam::{LoadOptions, load_checkpoint};

use crate::error::{InferError, Result};
use crate::run_prior::Extractor;
use echoone_run::config::{ExtractorChoice, TrainConfig};

/// Thumbnail side used when a thumbnail is chosen automatically.
pub const DEFAULT_THUMBNAIL: usize = 16;

/// The extractor kind a run uses: its choice, with `Auto` resolved by whether SAM weights are
/// given.
pub fn choose(config: &TrainConfig, sam: Option<&Path>) -> LatentExtractor {
    match (config.extractor, sam) {
        (ExtractorChoice::Thumbnail { side }, _) => LatentExtractor::Thumbnail { side },
        (ExtractorChoice::Auto, None) => LatentExtractor::Thumbnail {
            side: DEFAULT_THUMBNAIL,
        },
        (ExtractorChoice::Auto | ExtractorChoice::SamEncoder, Some(_))
        | (ExtractorChoice::SamEncoder, None) => LatentExtractor::SamEncoder,
    }
}

/// Builds the extractor of `kind`; the SAM encoder is the official one of `model`'s size,
/// loaded from `sam`.
pub fn build<B: Backend>(
    kind: LatentExtractor,
    model: &EchoOneConfig,
    sam: Option<&Path>,
    device: &B::Device,
) -> Result<Extractor<B>> {
    match (kind, sam) {
        (LatentExtractor::Thumbnail { side }, _) => Ok(Extractor::Thumbnail(side)),
        (LatentExtractor::SamEncoder, Some(path)) => {
            let sam_config = model.sam_config();
            let side = sam_config.image_encoder.img_size;
            let mut sam = sam_config.init::<B>(device)?;
            load_checkpoint(&mut sam, path, &LoadOptions::default())?;
            Ok(Extractor::Sam(Box::new(sam.image_encoder), side))
        }
        (LatentExtractor::SamEncoder, None) => Err(InferError::Config(
            "PC-Mask's prior uses latents of the official SAM encoder: pass --sam-weights \
             with the SAM weights"
                .into(),
        )),
    }
}

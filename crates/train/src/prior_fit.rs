//! The PC-Mask prior fitted on the training split's latents (centre masks per cluster).

use echoone_data::{Sample, Structure};
use echoone_pc_mask::{FittedPrior, PriorConfig, PriorSample};

use crate::error::Result;

/// Fits the prior on training samples and their latents.
pub fn fit(samples: &[Sample], latents: &[Vec<f32>], config: &PriorConfig) -> Result<FittedPrior> {
    let planes: Vec<&'static str> = samples.iter().map(|s| s.info.plane.name()).collect();
    let fit_samples: Vec<PriorSample<'_>> = samples
        .iter()
        .zip(latents)
        .zip(&planes)
        .map(|((s, latent), plane)| PriorSample {
            latent,
            label_map: s.label.as_raw(),
            size: (s.label.height() as usize, s.label.width() as usize),
            annotated: [Structure::Lv, Structure::Myo, Structure::La]
                .map(|st| s.annotated.contains(st)),
            plane: (*plane != "unknown").then_some(*plane),
        })
        .collect();
    Ok(FittedPrior::fit(&fit_samples, config)?)
}

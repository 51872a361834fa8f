//! PC-Mask's fitted prior on echoone-data's synthetic multi-plane echoes: k-means on the
//! cheap thumbnail latents recovers the planes well above chance (measured: purity 0.625 against
//! 0.25, PSAX in a cluster of its own, the three apical views partly mixed).

use burn::tensor::{Tensor, TensorData};
use burn_flex::Flex;
use echoone_data::{Sample, SyntheticConfig};
use echoone_pc_mask::{FittedPrior, LatentExtractor, PriorConfig, PriorSample, thumbnail_latent};

const THUMB: usize = 8;

fn latent(sample: &Sample) -> Vec<f32> {
    let (w, h) = sample.image.dimensions();
    let pixels: Vec<f32> = sample.image.pixels().map(|p| p[0] as f32 / 255.0).collect();
    let image = Tensor::<Flex, 4>::from_data(
        TensorData::new(pixels, [1, 1, h as usize, w as usize]),
        &Default::default(),
    );
    thumbnail_latent(image, THUMB)
        .into_data()
        .into_vec::<f32>()
        .expect("latent")
}

#[test]
fn fitted_prior_recovers_the_synthetic_planes() {
    let data = SyntheticConfig {
        cases: 6,
        width: 64,
        height: 64,
        ..SyntheticConfig::default()
    }
    .generate(2)
    .expect("synthetic data");
    let latents: Vec<Vec<f32>> = data.iter().map(latent).collect();
    let planes: Vec<&str> = data.iter().map(|s| s.info.plane.name()).collect();
    let samples: Vec<PriorSample> = data
        .iter()
        .zip(&latents)
        .zip(&planes)
        .map(|((sample, latent), plane)| PriorSample {
            latent,
            label_map: sample.label.as_raw(),
            size: (
                sample.label.height() as usize,
                sample.label.width() as usize,
            ),
            annotated: [true; 3],
            plane: Some(plane),
        })
        .collect();
    let config = PriorConfig::new()
        .with_side(32)
        .with_extractor(LatentExtractor::Thumbnail { side: THUMB });
    let prior = FittedPrior::fit(&samples, &config).expect("fit");
    let report = &prior.purity;
    println!("{}", report.markdown());
    assert_eq!(report.labelled, 48);
    assert!((report.chance - 0.25).abs() < 1e-9);
    assert!(
        report.purity >= 2.0 * report.chance,
        "purity {} (chance {})",
        report.purity,
        report.chance
    );
    // Online similarities of an image to the prototypes are cosines.
    let sims = prior.similarities(&latents[0]).expect("similarities");
    assert_eq!(sims.len(), 4);
    assert!(sims.iter().all(|s| s.is_finite() && s.abs() <= 1.0 + 1e-6));
}

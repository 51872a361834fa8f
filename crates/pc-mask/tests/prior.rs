//! Fitting the prior on a small in-test generator of four "planes" whose structures sit in
//! different places: the clusters recover the planes, the centre masks sit where the structures
//! are, the batched prior equals the per-image one, and the artefact round-trips.

use burn::tensor::{Tensor, TensorData};
use burn_flex::Flex;
use echoone_pc_mask::{
    FittedPrior, LatentExtractor, PcMaskError, PriorConfig, PriorMode, PriorSample,
    thumbnail_latent,
};

const SIDE: usize = 64;
const PLANES: [&str; 4] = ["2CH", "3CH", "4CH", "PSAX"];

/// A tiny deterministic generator (xorshift), so the test needs no data crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// One image and label map of `plane`: LV (1) an ellipse whose place depends on the plane,
/// MYO (2) a ring around it, LA (3) below it (not on PSAX); the image is bright on the
/// structures, with noise.
fn sample(plane: usize, rng: &mut Rng) -> (Vec<f32>, Vec<u8>) {
    let (cx, cy) = [(0.3, 0.35), (0.7, 0.35), (0.5, 0.3), (0.5, 0.5)][plane];
    let (cx, cy) = (
        cx + 0.05 * (rng.next() - 0.5),
        cy + 0.05 * (rng.next() - 0.5),
    );
    let r = 0.12 + 0.03 * rng.next();
    let mut labels = vec![0u8; SIDE * SIDE];
    let mut image = vec![0f32; SIDE * SIDE];
    for y in 0..SIDE {
        for x in 0..SIDE {
            let (fx, fy) = (x as f32 / SIDE as f32, y as f32 / SIDE as f32);
            let d = ((fx - cx).powi(2) + (fy - cy).powi(2)).sqrt();
            let la = ((fx - cx).powi(2) + (fy - cy - 0.3).powi(2)).sqrt();
            let label = if d < r {
                1
            } else if d < r + 0.06 {
                2
            } else if plane != 3 && la < 0.1 {
                3
            } else {
                0
            };
            labels[y * SIDE + x] = label;
            let base = [0.1, 0.2, 0.8, 0.3][label as usize];
            image[y * SIDE + x] = base + 0.1 * rng.next();
        }
    }
    (image, labels)
}

struct Data {
    latents: Vec<Vec<f32>>,
    labels: Vec<Vec<u8>>,
    planes: Vec<usize>,
}

fn data(per_plane: usize) -> Data {
    let mut rng = Rng(0x9e3779b97f4a7c15);
    let (mut images, mut labels, mut planes) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..4 * per_plane {
        let plane = i % 4;
        let (image, label) = sample(plane, &mut rng);
        images.extend(image);
        labels.push(label);
        planes.push(plane);
    }
    let n = planes.len();
    let images = Tensor::<Flex, 4>::from_data(
        TensorData::new(images, [n, 1, SIDE, SIDE]),
        &Default::default(),
    );
    let latents = thumbnail_latent(images, 16).into_data().convert::<f32>();
    let latents = latents
        .as_slice::<f32>()
        .expect("f32")
        .chunks(256)
        .map(<[f32]>::to_vec)
        .collect();
    Data {
        latents,
        labels,
        planes,
    }
}

fn samples(data: &Data) -> Vec<PriorSample<'_>> {
    data.latents
        .iter()
        .zip(&data.labels)
        .zip(&data.planes)
        .map(|((latent, labels), &plane)| PriorSample {
            latent,
            label_map: labels,
            size: (SIDE, SIDE),
            annotated: [true, true, plane != 3],
            plane: Some(PLANES[plane]),
        })
        .collect()
}

fn config() -> PriorConfig {
    PriorConfig::new()
        .with_side(32)
        .with_extractor(LatentExtractor::Thumbnail { side: 16 })
}

#[test]
fn clusters_recover_the_planes() {
    let data = data(12);
    let prior = FittedPrior::fit(&samples(&data), &config()).expect("fit");
    assert!(prior.purity.purity > 0.9, "{}", prior.purity.markdown());
    assert!((prior.purity.chance - 0.25).abs() < 1e-9);
    // Deterministic for a seed.
    let again = FittedPrior::fit(&samples(&data), &config()).expect("fit");
    assert_eq!(prior, again);
}

#[test]
fn centre_masks_sit_on_the_structures() {
    let data = data(12);
    let prior = FittedPrior::fit(&samples(&data), &config()).expect("fit");
    for k in 0..prior.k {
        let lv = prior.centre_mask(k, 0);
        let la = prior.centre_mask(k, 2);
        let peak = lv.iter().cloned().fold(0.0, f32::max);
        assert!(peak > 0.9, "cluster {k}: LV centre mask peaks at {peak}");
        // The LA mask is empty exactly for the PSAX cluster, and LV and LA do not overlap.
        let overlap: f32 = lv.iter().zip(la).map(|(a, b)| a * b).sum();
        assert!(overlap < 1.0, "cluster {k}: LV and LA overlap {overlap}");
    }
    let empty_la = (0..prior.k).filter(|&k| prior.centre_mask(k, 2).iter().all(|&v| v == 0.0));
    assert_eq!(empty_la.count(), 1, "one cluster (PSAX) has no LA");
}

#[test]
fn batched_prior_equals_the_per_image_prior() {
    let data = data(8);
    let prior = FittedPrior::fit(&samples(&data), &config()).expect("fit");
    let latents: Vec<f32> = data.latents[..3].iter().flatten().copied().collect();
    let latents =
        Tensor::<Flex, 2>::from_data(TensorData::new(latents, [3, 256]), &Default::default());
    let structures = [0, 1, 2];
    let batched = prior.prior_tensor(latents, &structures).expect("prior");
    assert_eq!(batched.dims(), [3, 4, 32, 32]);
    let batched = batched.into_data().convert::<f32>();
    let batched = batched.as_slice::<f32>().expect("f32");
    for (i, &s) in structures.iter().enumerate() {
        let single = prior.prior(&data.latents[i], s).expect("prior");
        let chunk = &batched[i * single.len()..(i + 1) * single.len()];
        let diff = single
            .iter()
            .zip(chunk)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(diff < 1e-5, "sample {i}: {diff}");
    }
}

#[test]
fn class_agnostic_prior_is_one_channel_union() {
    let data = data(8);
    let prior = FittedPrior::fit(
        &samples(&data),
        &config().with_mode(PriorMode::ClassAgnostic),
    )
    .expect("fit");
    assert_eq!(prior.channels(), 1);
    assert_eq!(prior.centre_mask(0, 0), prior.centre_mask(0, 2));
    assert!(prior.centre_mask(0, 0).iter().any(|&v| v > 0.9));
}

#[test]
fn fitted_prior_round_trips_and_bad_artefacts_are_named() {
    let data = data(8);
    let prior = FittedPrior::fit(&samples(&data), &config()).expect("fit");
    let dir = tempfile::tempdir().expect("temp dir");
    prior.save(dir.path()).expect("save");
    assert_eq!(FittedPrior::load(dir.path()).expect("load"), prior);

    std::fs::write(dir.path().join("centre_masks.npy"), b"junk").expect("write");
    let err = FittedPrior::load(dir.path()).expect_err("corrupt masks");
    assert!(err.to_string().contains("centre_masks.npy"), "{err}");
    std::fs::write(dir.path().join("prior.json"), b"{").expect("write");
    let err = FittedPrior::load(dir.path()).expect_err("corrupt json");
    assert!(err.to_string().contains("prior.json"), "{err}");
}

#[test]
fn bad_fitting_inputs_are_errors() {
    let data = data(1);
    let few = samples(&data);
    let err = FittedPrior::fit(&few[..3], &config()).expect_err("fewer images than K");
    assert!(matches!(err, PcMaskError::Fit(_)), "{err}");
    let bad_labels = vec![7u8; SIDE * SIDE];
    let mut bad = samples(&data);
    bad[0].label_map = &bad_labels;
    let err = FittedPrior::fit(&bad, &config()).expect_err("label 7");
    assert!(err.to_string().contains("label 7"), "{err}");
    let err = prior_with_wrong_latent(&data);
    assert!(matches!(err, PcMaskError::Shape(_)), "{err}");
}

fn prior_with_wrong_latent(data: &Data) -> PcMaskError {
    let prior = FittedPrior::fit(&samples(data), &config()).expect("fit");
    prior
        .similarities(&[1.0, 2.0])
        .expect_err("wrong latent length")
}

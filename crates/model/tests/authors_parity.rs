//! State dicts written by the authors' own EchoONE code (`fixtures/generate_authors.py`, their
//! classes at reduced width and depth, seeded random weights) load with no conversion and give
//! their logits for the same image, point and prior: the full model (`authors_small`) and the
//! LFFA-off and PC-Mask-off ablations (`authors_lffa_off`, `authors_pc_mask_off`).

use std::path::PathBuf;

use burn::config::Config;
use burn::tensor::{Int, Tensor, TensorData};
use burn_flex::Flex;
use echoone_model::{EchoOneConfig, EchoOneError, checkpoint_shapes, recognise_config};
use echoone_sam::npy::read_npy;

fn fixture(name: &str) -> PathBuf {
    fixture_in("authors_small", name)
}

fn fixture_in(folder: &str, name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(folder)
        .join(name)
}

fn tensor<const D: usize>(path: PathBuf, shape: [usize; D]) -> Tensor<Flex, D> {
    let array = read_npy(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Tensor::from_data(TensorData::new(array.data, shape), &Default::default())
}

fn max_abs_diff(ours: Tensor<Flex, 4>, theirs: Tensor<Flex, 4>) -> f32 {
    (ours - theirs).abs().max().into_scalar()
}

/// Loads the fixture folder's checkpoint with its `echoone_config.json`, runs its image, point
/// and (PC-Mask on) prior, and checks the logits against the authors' within 1e-5.
fn authors_fixture_matches(folder: &str) -> EchoOneConfig {
    let at = |name: &str| fixture_in(folder, name);
    let config = EchoOneConfig::load(at("echoone_config.json")).expect("config");
    let device = Default::default();
    let (model, report) = config
        .init::<Flex>(&device)
        .expect("model")
        .load_authors_checkpoint(&config, &at("model.pth"))
        .expect("load");
    assert!(report.missing.is_empty() && report.unexpected.is_empty());
    let png = image::open(at("image.png")).expect("image").to_luma8();
    let pixels: Vec<f32> = png.pixels().map(|p| p[0] as f32 / 255.0).collect();
    let images = Tensor::<Flex, 4>::from_data(TensorData::new(pixels, [1, 1, 256, 256]), &device);
    let point = read_npy(at("point.npy")).expect("point").data;
    let points =
        Tensor::<Flex, 3>::from_data(TensorData::new(point[..2].to_vec(), [1, 1, 2]), &device);
    let labels =
        Tensor::<Flex, 2, Int>::from_data(TensorData::new(vec![point[2] as i64], [1, 1]), &device);
    let prior = config
        .pc_mask
        .then(|| tensor(at("prior.npy"), [1, config.prior_k, 128, 128]));
    let out = model
        .forward(images, points, labels, prior)
        .expect("forward");
    let logits = max_abs_diff(
        out.logits,
        tensor(at("low_res_logits.npy"), [1, 1, 128, 128]),
    );
    println!("{folder}: max abs diff, low-res logits {logits:.3e}");
    assert!(logits < 1e-5, "{folder}: low-res logits differ by {logits}");
    match out.coarse_logits {
        Some(coarse) => {
            let coarse = max_abs_diff(coarse, tensor(at("coarse_logits.npy"), [1, 1, 128, 128]));
            println!("{folder}: max abs diff, coarse logits {coarse:.3e}");
            assert!(coarse < 1e-5, "{folder}: coarse logits differ by {coarse}");
        }
        None => assert!(
            !config.pc_mask && !at("coarse_logits.npy").exists(),
            "{folder}: coarse logits expected"
        ),
    }
    config
}

#[test]
fn authors_small_checkpoint_gives_their_logits() {
    let config = authors_fixture_matches("authors_small");
    assert!(config.pc_mask && config.residual_cnn && config.fusion);
}

/// LFFA off as `EchoOneConfig::with_lffa(false)` defines it (plain SAMUS branch, 2-block
/// decoder, no fusion), built from the authors' classes (see `generate_authors.py lffa_off`).
#[test]
fn authors_lffa_off_checkpoint_gives_their_logits() {
    let config = authors_fixture_matches("authors_lffa_off");
    assert!(!config.residual_cnn && !config.fusion && config.decoder_depth == 2);
    assert!(config.pc_mask);
}

/// PC-Mask off: no prior U-Net, SAM's no-mask dense prompt (see `generate_authors.py
/// pc_mask_off`).
#[test]
fn authors_pc_mask_off_checkpoint_gives_their_logits() {
    let config = authors_fixture_matches("authors_pc_mask_off");
    assert!(!config.pc_mask && config.residual_cnn && config.fusion);
}

#[test]
fn a_non_preset_checkpoint_is_not_recognised_and_a_wrong_config_is_refused() {
    let shapes = checkpoint_shapes(&fixture("model.pth")).expect("shapes");
    let err = recognise_config::<Flex>(&shapes, &Default::default()).expect_err("not a preset");
    assert!(err.to_string().contains("--config"), "{err}");
    let config = EchoOneConfig::small();
    let err = config
        .init::<Flex>(&Default::default())
        .expect("model")
        .load_authors_checkpoint(&config, &fixture("model.pth"))
        .expect_err("wrong architecture");
    assert!(
        matches!(err, EchoOneError::Sam(_) | EchoOneError::Checkpoint { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("model.pth"), "{err}");
}

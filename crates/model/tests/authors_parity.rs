//! A state dict written by the authors' own EchoONE code (`fixtures/generate_authors.py`, their
//! classes at reduced width and depth, seeded random weights) loads with no conversion and gives
//! their logits for the same image, point and prior.

use std::path::PathBuf;

use burn::config::Config;
use burn::tensor::{Int, Tensor, TensorData};
use burn_flex::Flex;
use echoone_model::{EchoOneConfig, EchoOneError, checkpoint_shapes, recognise_config};
use echoone_sam::npy::read_npy;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/authors_small")
        .join(name)
}

fn tensor<const D: usize>(name: &str, shape: [usize; D]) -> Tensor<Flex, D> {
    let array = read_npy(fixture(name)).expect(name);
    Tensor::from_data(TensorData::new(array.data, shape), &Default::default())
}

fn max_abs_diff(ours: Tensor<Flex, 4>, theirs: Tensor<Flex, 4>) -> f32 {
    (ours - theirs).abs().max().into_scalar()
}

#[test]
fn authors_small_checkpoint_gives_their_logits() {
    let config = EchoOneConfig::load(fixture("echoone_config.json")).expect("config");
    let device = Default::default();
    let (model, report) = config
        .init::<Flex>(&device)
        .expect("model")
        .load_authors_checkpoint(&config, &fixture("model.pth"))
        .expect("load");
    assert!(report.missing.is_empty() && report.unexpected.is_empty());
    let png = image::open(fixture("image.png")).expect("image").to_luma8();
    let pixels: Vec<f32> = png.pixels().map(|p| p[0] as f32 / 255.0).collect();
    let images = Tensor::<Flex, 4>::from_data(TensorData::new(pixels, [1, 1, 256, 256]), &device);
    let point = read_npy(fixture("point.npy")).expect("point").data;
    let points =
        Tensor::<Flex, 3>::from_data(TensorData::new(point[..2].to_vec(), [1, 1, 2]), &device);
    let labels =
        Tensor::<Flex, 2, Int>::from_data(TensorData::new(vec![point[2] as i64], [1, 1]), &device);
    let prior = tensor("prior.npy", [1, 4, 128, 128]);
    let out = model
        .forward(images, points, labels, Some(prior))
        .expect("forward");
    let coarse = max_abs_diff(
        out.coarse_logits.expect("coarse"),
        tensor("coarse_logits.npy", [1, 1, 128, 128]),
    );
    let logits = max_abs_diff(out.logits, tensor("low_res_logits.npy", [1, 1, 128, 128]));
    println!("max abs diff: low-res logits {logits:.3e}, coarse logits {coarse:.3e}");
    assert!(coarse < 1e-5, "coarse logits differ by {coarse}");
    assert!(logits < 1e-5, "low-res logits differ by {logits}");
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

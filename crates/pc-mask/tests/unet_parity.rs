//! The prior U-Net against the PyTorch layout of the authors' code (`tests/fixtures/generate.py`):
//! their state dict loads with the key remapping, and the outputs match within 1e-4.

use std::path::PathBuf;

use burn::tensor::{Tensor, TensorData, backend::Backend};
use burn_autodiff::Autodiff;
use burn_flex::Flex;
use echoone_pc_mask::{PRIOR_UNET_KEY_REMAP, PriorUNet, PriorUNetConfig};
use echoone_sam::npy::read_npy;
use echoone_sam::{LoadOptions, load_checkpoint};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn tensor<B: Backend>(name: &str) -> Tensor<B, 4> {
    let a = read_npy(fixture(name)).expect("fixture");
    Tensor::from_data(TensorData::new(a.data, a.shape), &Default::default())
}

fn load<B: Backend>() -> PriorUNet<B> {
    let mut net = PriorUNetConfig::new().init::<B>(&Default::default());
    let mut extra_remap: Vec<(String, String)> = PRIOR_UNET_KEY_REMAP
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    extra_remap.push((r"^prior_unet\.".into(), String::new()));
    let options = LoadOptions {
        allow_partial: true,
        extra_remap,
    };
    let report = load_checkpoint(&mut net, fixture("unet.pth"), &options).expect("state dict");
    assert!(report.missing.is_empty(), "missing {:?}", report.missing);
    // PyTorch's BatchNorm counter has no counterpart in burn; nothing else may be left over.
    assert!(
        report
            .unexpected
            .iter()
            .all(|k| k.ends_with("num_batches_tracked")),
        "unexpected {:?}",
        report.unexpected
    );
    net
}

fn max_diff<B: Backend>(a: Tensor<B, 4>, name: &str) -> f32 {
    let expected = read_npy(fixture(name)).expect("fixture");
    assert_eq!(a.dims().to_vec(), expected.shape);
    let data = a.into_data().convert::<f32>();
    data.as_slice::<f32>()
        .expect("f32")
        .iter()
        .zip(&expected.data)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn eval_mode_matches_pytorch() {
    let net = load::<Flex>();
    let diff = max_diff(net.forward(tensor("unet_input.npy")), "unet_eval.npy");
    assert!(diff < 1e-4, "eval-mode output differs by {diff}");
}

#[test]
fn train_mode_matches_pytorch() {
    // Under autodiff burn's BatchNorm uses batch statistics, as PyTorch in train mode.
    let net = load::<Autodiff<Flex>>();
    let diff = max_diff(net.forward(tensor("unet_input.npy")), "unet_train.npy");
    assert!(diff < 1e-4, "train-mode output differs by {diff}");
}

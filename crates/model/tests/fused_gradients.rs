//! The fused kernels change no gradient: one backward of the whole model (every module on) gives
//! the same parameter gradients on burn-flex under autodiff, where `echoone_kernels::dispatch`
//! runs the fused softmax, LayerNorm and GELU nodes, as under another checkpointing strategy,
//! a backend the dispatch does not know, where burn's own ops run.

use std::collections::BTreeMap;
use std::sync::Mutex;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Distribution, ElementConversion, Int, Tensor};
use burn_autodiff::Autodiff;
use burn_autodiff::checkpoint::strategy::BalancedCheckpointing;
use burn_flex::Flex;
use echoone_model::EchoOneConfig;

/// Held for the whole of a test's model run: the backends share one seeded generator and burn
/// draws a parameter's initial values on its first use, inside the forward pass, so two tests
/// running in parallel would otherwise take each other's random numbers.
static SEEDING: Mutex<()> = Mutex::new(());

/// The loss, and every tracked parameter's gradient (flattened) by its place in visit order.
type Gradients = (f32, BTreeMap<usize, Vec<f32>>);

/// Collects the gradients of every tracked float parameter.
struct Collect<'a, B: AutodiffBackend> {
    grads: &'a B::Gradients,
    seen: usize,
    out: BTreeMap<usize, Vec<f32>>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for Collect<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(grad) = param.val().grad(self.grads) {
            let values = grad.into_data().to_vec::<f32>().expect("f32 gradient");
            self.out.insert(self.seen, values);
        }
        self.seen += 1;
    }
}

/// Two seeded images for `config` in [0, 1], each with one positive click.
fn prompts<B: Backend>(
    config: &EchoOneConfig,
    device: &B::Device,
) -> (Tensor<B, 4>, Tensor<B, 3>, Tensor<B, 2, Int>) {
    let side = config.input_size;
    let images =
        Tensor::<B, 4>::random([2, 1, side, side], Distribution::Uniform(0.0, 1.0), device);
    let points = Tensor::<B, 3>::from_floats([[[20.0, 30.0]], [[40.0, 12.0]]], device);
    let labels = Tensor::<B, 2, Int>::ones([2, 1], device);
    (images, points, labels)
}

/// One forward and backward of the tiny EchoONE (every module on, weights seeded) on `B`.
fn gradients<B: AutodiffBackend>() -> Gradients {
    let device = Default::default();
    let _seeding = SEEDING.lock().unwrap_or_else(|e| e.into_inner());
    B::seed(&device, 11);
    let config = EchoOneConfig::tiny();
    let model = config.init::<B>(&device).expect("model");
    let low = config.low_res_size();
    let (images, points, labels) = prompts::<B>(&config, &device);
    let prior = Tensor::<B, 4>::random(
        [2, config.prior_k, low, low],
        Distribution::Uniform(0.0, 1.0),
        &device,
    );
    let out = model
        .forward(images, points, labels, Some(prior))
        .expect("forward");
    let weights = out.logits.random_like(Distribution::Normal(0.0, 1.0));
    let mut loss = (out.logits * weights).sum();
    if let Some(coarse) = out.coarse_logits {
        loss = loss + coarse.powf_scalar(2.0).mean();
    }
    let value = loss.clone().into_scalar().elem::<f32>();
    let grads = loss.backward();
    let mut collect = Collect::<B> {
        grads: &grads,
        seen: 0,
        out: BTreeMap::new(),
    };
    model.visit(&mut collect);
    (value, collect.out)
}

#[test]
fn fused_and_composed_models_have_the_same_gradients() {
    let (fused_loss, fused) = gradients::<Autodiff<Flex>>();
    let (composed_loss, composed) = gradients::<Autodiff<Flex, BalancedCheckpointing>>();
    assert!(
        (fused_loss - composed_loss).abs() <= 1e-4 * composed_loss.abs().max(1.0),
        "loss {fused_loss} fused, {composed_loss} composed"
    );
    assert_eq!(
        fused.keys().collect::<Vec<_>>(),
        composed.keys().collect::<Vec<_>>(),
        "the same parameters get a gradient"
    );
    assert!(fused.len() > 50, "only {} gradients", fused.len());
    let largest = |v: &[f32]| v.iter().fold(0f32, |m, x| m.max(x.abs()));
    // Gradients that are float noise (a sum that cancels) are compared at the model's scale.
    let floor = 1e-5 * composed.values().map(|g| largest(g)).fold(0f32, f32::max);
    for (id, a) in &fused {
        let b = &composed[id];
        let scale = largest(b).max(floor);
        let worst = a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
        assert!(
            worst <= 1e-3 * scale,
            "parameter {id}: gradients differ by {worst} (largest |gradient| {scale})"
        );
    }
}

/// The tiny model's logits (LFFA on, weights seeded) without autodiff on `B`. PC-Mask is off:
/// its U-Net's BatchNorm uses batch statistics whenever autodiff is on, so the two backends
/// compared would run it in different modes.
fn logits<B: Backend>() -> Vec<f32> {
    let device = Default::default();
    let _seeding = SEEDING.lock().unwrap_or_else(|e| e.into_inner());
    B::seed(&device, 11);
    let config = EchoOneConfig {
        pc_mask: false,
        ..EchoOneConfig::tiny()
    };
    let model = config.init::<B>(&device).expect("model");
    let (images, points, labels) = prompts::<B>(&config, &device);
    let out = model
        .forward(images, points, labels, None)
        .expect("forward");
    out.logits.into_data().to_vec::<f32>().expect("f32 logits")
}

/// Inference on burn-flex (fused LayerNorm, GELU and convolutions, attention as GEMMs around
/// the fused softmax, parallel copies) gives the logits burn's composed ops give.
#[test]
fn fused_and_composed_models_have_the_same_inference() {
    let fused = logits::<Flex>();
    let composed = logits::<Autodiff<Flex, BalancedCheckpointing>>();
    let largest = composed.iter().fold(0f32, |m, x| m.max(x.abs()));
    let worst = fused
        .iter()
        .zip(&composed)
        .fold(0f32, |m, (x, y)| m.max((x - y).abs()));
    assert!(
        worst <= 1e-4 * largest.max(1.0),
        "logits differ by {worst} (largest |logit| {largest})"
    );
}

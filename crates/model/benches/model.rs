//! EchoONE speed and peak heap memory on the CPU default backend (burn-flex), batch 1 at 256:
//! forward (inference) and forward + backward (training step without the optimiser, the
//! authors' frozen split) of the small config and ViT-B: `cargo xtask bench model`.
//! PyTorch eager on the authors' model code: `benches/torch_model.py`.

use std::hint::black_box;
use std::time::Duration;

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Int, Tensor};
use burn_autodiff::Autodiff;
use burn_flex::Flex;
use criterion::{Criterion, criterion_group, criterion_main};
use echoone_model::{EchoOne, EchoOneConfig};
use echoone_sam::peak_memory::{Materialise, PeakAlloc, report_peak};

#[global_allocator]
static ALLOCATOR: PeakAlloc = PeakAlloc;

type Inputs<B> = (Tensor<B, 4>, Tensor<B, 3>, Tensor<B, 2, Int>, Tensor<B, 4>);

fn inputs<B: Backend>(k: usize) -> Inputs<B> {
    let device = Default::default();
    B::seed(&device, 1);
    (
        Tensor::random([1, 1, 256, 256], Distribution::Uniform(0.0, 1.0), &device),
        Tensor::from_floats([[[131.0, 97.0]]], &device),
        Tensor::ones([1, 1], &device),
        Tensor::random([1, k, 256, 256], Distribution::Uniform(0.0, 1.0), &device),
    )
}

fn build<B: Backend>(config: &EchoOneConfig) -> EchoOne<B> {
    let model = config
        .init::<B>(&Default::default())
        .expect("config")
        .freeze_as_authors();
    model.visit(&mut Materialise);
    model
}

fn forward(c: &mut Criterion, name: &str, config: &EchoOneConfig) {
    let model = build::<Flex>(config);
    let (images, points, labels, prior) = inputs::<Flex>(config.prior_k);
    let run = || {
        model
            .forward(
                images.clone(),
                points.clone(),
                labels.clone(),
                Some(prior.clone()),
            )
            .expect("forward")
            .logits
            .into_data()
    };
    report_peak(name, run);
    c.bench_function(name, |b| b.iter(run));
}

fn forward_backward(c: &mut Criterion, name: &str, config: &EchoOneConfig) {
    type A = Autodiff<Flex>;
    let model = build::<A>(config);
    let (images, points, labels, prior) = inputs::<A>(config.prior_k);
    let run = || {
        let out = model
            .forward(
                images.clone(),
                points.clone(),
                labels.clone(),
                Some(prior.clone()),
            )
            .expect("forward");
        let coarse = out.coarse_logits.expect("coarse logits");
        let grads = (out.logits.sum() + coarse.sum()).backward();
        black_box(grads)
    };
    report_peak(name, run);
    c.bench_function(name, |b| b.iter(run));
}

fn benches(c: &mut Criterion) {
    let small = EchoOneConfig::small();
    let vit_b = EchoOneConfig::vit_b();
    forward(c, "echoone small fwd", &small);
    forward_backward(c, "echoone small fwd+bwd", &small);
    forward(c, "echoone vit_b fwd", &vit_b);
    forward_backward(c, "echoone vit_b fwd+bwd", &vit_b);
}

criterion_group! {
    name = model;
    config = Criterion::default().sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(15));
    targets = benches
}
criterion_main!(model);

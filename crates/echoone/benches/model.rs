//! EchoONE speed and peak heap memory on the CPU default backend (burn-flex), batch 1 at 256:
//! forward (inference) and forward + backward (training step without the optimiser, the
//! authors' frozen split) of the small config and ViT-B: `cargo xtask bench model`.
//! PyTorch eager on the authors' model code: `benches/torch_model.py`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Int, Tensor};
use burn_autodiff::Autodiff;
use burn_flex::Flex;
use criterion::{Criterion, criterion_group, criterion_main};
use echoone::{EchoOne, EchoOneConfig};

/// The system allocator, counting the current and peak bytes in use.
struct PeakAlloc;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for PeakAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: PeakAlloc = PeakAlloc;

/// Materialises lazily-initialised weights, so that peak figures count activations only.
struct Materialise;

impl<B: Backend> ModuleVisitor<B> for Materialise {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        black_box(param.val());
    }
}

/// Runs `f` once and prints the peak heap growth above what was in use before.
fn report_peak<T>(name: &str, f: impl FnOnce() -> T) {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    black_box(f());
    let peak = PEAK.load(Ordering::Relaxed) - base;
    println!(
        "peak heap {name}: {:.1} MiB",
        peak as f64 / (1024.0 * 1024.0)
    );
}

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

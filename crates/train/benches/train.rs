//! Training throughput and peak memory: one optimiser step (forward, EchoONE loss, backward,
//! Adam update; PC-Mask on, batch 4 at 256 px) on each CPU backend compiled in.
//!
//! ```sh
//! cargo xtask bench train                       # small config, burn-flex, criterion
//! cargo xtask bench train --features ndarray    # adds burn-ndarray
//! cargo xtask bench train --features tch        # adds libtorch on the CPU (docs/training.md)
//! ECHOONE_BENCH_CONFIGS=vit_b ECHOONE_BENCH_STEPS=3 cargo bench -p echoone-train --bench train
//! ```
//!
//! Environment (all optional):
//! - `ECHOONE_BENCH_CONFIGS`: comma list of `small` (every parameter trains, as a run from random
//!   weights) and `vit_b` (SAM ViT-B, the authors' frozen split); default `small`.
//! - `ECHOONE_BENCH_BACKENDS`: comma list among the compiled-in `flex`, `ndarray`, `tch-cpu`;
//!   default all of them.
//! - `ECHOONE_BENCH_STEPS=N`: time N steps by hand (after one warm-up step) and print their
//!   median instead of running criterion, whose minimum of 10 samples plus warm-up takes too
//!   long for ViT-B or burn-ndarray.
//! - `ECHOONE_HEAP=default`: leave glibc's allocator as it is instead of the heap policy
//!   `echoone` sets (`echoone_kernels::heap`), to measure what the policy gains.
//!
//! Samples per second = 4 / the step time. Memory, per step after the first (model and Adam
//! state already allocated): the peak heap growth counted by a global allocator (Rust
//! allocations only: libtorch's own allocations escape it), and the process's peak resident set
//! during the step (`VmHWM` after resetting it through `/proc/self/clear_refs`), absolute and
//! above the resident set of model and Adam state, as `torch_train.py` measures PyTorch: the
//! resident set before the warm-up step plus the Adam state the warm-up allocates (two `f32`
//! moments per trainable parameter). Not the resident set right before the step: what an
//! allocator keeps from earlier steps (all of it under the heap policy of
//! `echoone_kernels::heap`, part of it under glibc's default) would hide in that base.

use std::hint::black_box;
use std::time::{Duration, Instant};

use burn::optim::AdamConfig;
use burn::tensor::backend::AutodiffBackend;
use criterion::{Criterion, criterion_group};
use echoone_data::{Mode, PipelineConfig, SegmentationDataset, Structure, SyntheticConfig};
use echoone_infer::items::{batch, load_items};
use echoone_infer::run_prior::BatchPrior;
use echoone_losses::EchoOneLossConfig;
use echoone_model::EchoOneConfig;
use echoone_pc_mask::{LatentExtractor, PriorConfig};
use echoone_sam::peak_memory::{PeakAlloc, report_peak};
use echoone_train::train_step;

#[global_allocator]
static ALLOCATOR: PeakAlloc = PeakAlloc;

const BATCH: usize = 4;

/// A kB field of `/proc/self/status`, in MiB (None off Linux).
fn status_mib(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Runs `f` once and prints the process's peak resident set during it, absolute and above
/// `base` (MiB), the resident set of model and Adam state.
fn report_peak_rss<T>(name: &str, base: Option<f64>, f: impl FnOnce() -> T) {
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    black_box(f());
    match (reset, base, status_mib("VmHWM:")) {
        (true, Some(base), Some(peak)) => println!(
            "peak rss {name}: {peak:.1} MiB ({:.1} MiB above the {base:.1} MiB of model and Adam state)",
            peak - base
        ),
        _ => println!("peak rss {name}: not available (needs Linux /proc)"),
    }
}

/// The comma list in environment variable `var`, or `default`.
fn env_list(var: &str, default: &[&str]) -> Vec<String> {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => v.split(',').map(|s| s.trim().to_string()).collect(),
        _ => default.iter().map(|s| s.to_string()).collect(),
    }
}

fn step_bench<B: AutodiffBackend>(
    c: &mut Criterion,
    variant: &str,
    backend: &str,
    device: B::Device,
) {
    let (config, authors_split) = match variant {
        "small" => (EchoOneConfig::small(), false),
        "vit_b" => (EchoOneConfig::vit_b(), true),
        other => panic!("ECHOONE_BENCH_CONFIGS: unknown config {other:?} (small, vit_b)"),
    };
    let samples = SyntheticConfig {
        cases: 2,
        ..Default::default()
    }
    .generate(0)
    .expect("synthetic data");
    let ds = SegmentationDataset::new(&samples, PipelineConfig::default(), Mode::Train, 1);
    let items = load_items(&ds, &[0, 5, 10, 15], 2).expect("items");
    let idx: Vec<usize> = items.iter().map(|i| i.meta.sample).collect();
    let structures: Vec<Structure> = items.iter().map(|i| i.structure).collect();
    // The prior's side as training fits it: the side of the low-resolution logits (128).
    let side = config.low_res_size();
    let k = config.prior_k;
    // A uniform fitted prior: the bench measures the network, not the clustering.
    let latents: Vec<Vec<f32>> = (0..samples.len())
        .map(|i| vec![1.0 + i as f32, 1.0])
        .collect();
    let fitted = echoone_train::prior_fit::fit(
        &samples,
        &latents,
        &PriorConfig::new()
            .with_k(k)
            .with_side(side)
            .with_extractor(LatentExtractor::Thumbnail { side: 2 }),
    )
    .expect("prior");
    let prior = BatchPrior {
        fitted: &fitted,
        latents: &latents,
    };
    let loss = EchoOneLossConfig::new().init();
    let mut net = config.init::<B>(&device).expect("model");
    if authors_split {
        net = net.freeze_as_authors();
    }
    let mut model = Some(net);
    // PyTorch's epsilon, as the authors' recipe (speed does not depend on it).
    let mut optim = AdamConfig::new().with_epsilon(1e-8).init();
    let mut run = |model: &mut Option<echoone_model::EchoOne<B>>| {
        let b = batch::<B>(items.clone(), 0, &device);
        let p = prior
            .tensor::<B>(&idx, &structures, &device)
            .expect("prior");
        let m = model.take().expect("model");
        let (m, terms) = train_step(m, &mut optim, b, Some(p), &loss, 1e-4, &[]).expect("step");
        *model = Some(m);
        black_box(terms);
    };
    let label = format!("train step {variant} b{BATCH} {backend}");
    let trainable = model
        .as_ref()
        .map(|m| echoone_model::summary::parameter_summary(m, 1).1.trainable)
        .unwrap_or(0);
    let adam_mib = (2 * trainable * std::mem::size_of::<f32>()) as f64 / (1024.0 * 1024.0);
    let before_warm_up = status_mib("VmRSS:");
    // Warm-up: allocates the Adam state; the figures below are of later steps.
    run(&mut model);
    report_peak(&format!("{label} (above model and optimiser)"), || {
        run(&mut model)
    });
    report_peak_rss(&label, before_warm_up.map(|rss| rss + adam_mib), || {
        run(&mut model)
    });
    let steps = std::env::var("ECHOONE_BENCH_STEPS")
        .ok()
        .map(|s| s.parse::<usize>().expect("ECHOONE_BENCH_STEPS: a number"));
    if let Some(n) = steps {
        let mut times: Vec<f64> = (0..n.max(1))
            .map(|_| {
                let start = Instant::now();
                run(&mut model);
                start.elapsed().as_secs_f64()
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        println!(
            "{label}: median {median:.2} s of {} steps (min {:.2}, max {:.2}), {:.3} samples/s",
            times.len(),
            times[0],
            times[times.len() - 1],
            BATCH as f64 / median
        );
        return;
    }
    let mut group = c.benchmark_group("train_step");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.bench_function(format!("{variant}_b{BATCH}_{backend}"), |bench| {
        bench.iter(|| run(&mut model))
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    let compiled: Vec<&str> = [
        #[cfg(feature = "flex")]
        "flex",
        #[cfg(feature = "ndarray")]
        "ndarray",
        #[cfg(feature = "tch")]
        "tch-cpu",
    ]
    .to_vec();
    let backends = env_list("ECHOONE_BENCH_BACKENDS", &compiled);
    for backend in &backends {
        assert!(
            compiled.contains(&backend.as_str()),
            "ECHOONE_BENCH_BACKENDS: {backend:?} is not compiled in (have {compiled:?}; \
             features ndarray / tch add those)"
        );
    }
    for variant in env_list("ECHOONE_BENCH_CONFIGS", &["small"]) {
        for backend in &backends {
            match backend.as_str() {
                #[cfg(feature = "flex")]
                "flex" => step_bench::<burn_autodiff::Autodiff<burn_flex::Flex>>(
                    c,
                    &variant,
                    backend,
                    Default::default(),
                ),
                #[cfg(feature = "ndarray")]
                "ndarray" => step_bench::<burn_autodiff::Autodiff<burn_ndarray::NdArray>>(
                    c,
                    &variant,
                    backend,
                    Default::default(),
                ),
                #[cfg(feature = "tch")]
                "tch-cpu" => step_bench::<burn_autodiff::Autodiff<burn_tch::LibTorch>>(
                    c,
                    &variant,
                    backend,
                    burn_tch::LibTorchDevice::Cpu,
                ),
                _ => unreachable!(),
            }
        }
    }
}

criterion_group!(train, benches);

fn main() {
    // As `echoone` does (`ECHOONE_HEAP=default` measures glibc's default); before other threads.
    let heap = echoone_kernels::heap::keep_freed_memory_unless_opted_out();
    println!("heap policy: {heap:?}");
    train();
    Criterion::default().configure_from_args().final_summary();
}

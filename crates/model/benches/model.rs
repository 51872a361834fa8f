//! EchoONE speed and peak memory on the CPU default backend (burn-flex), batch 1 at 256:
//! forward (inference) and forward + backward (training step without the optimiser, the
//! authors' frozen split) of the small config and ViT-B: `cargo xtask bench model`.
//! PyTorch eager on the authors' model code: `benches/torch_model.py`.
//!
//! ```sh
//! cargo xtask bench model                                  # criterion, every case
//! ECHOONE_BENCH_CASES="echoone vit_b fwd" ECHOONE_BENCH_STEPS=3 \
//!     cargo bench -p echoone-model --bench model           # by hand, as `bench compare` runs it
//! ```
//!
//! Environment (all optional):
//! - `ECHOONE_BENCH_CASES`: comma list of the cases to run among `echoone small fwd`,
//!   `echoone small fwd+bwd`, `echoone vit_b fwd`, `echoone vit_b fwd+bwd`; default all four.
//! - `ECHOONE_BENCH_STEPS=N`: time N calls by hand (after one warm-up call) and print their
//!   median, `<case>: median X.XXX s of N runs (min A, max B)`, instead of running criterion,
//!   whose 10 samples plus warm-up take long for ViT-B.
//! - `ECHOONE_HEAP=default`: leave glibc's allocator as it is instead of the heap policy
//!   `echoone` sets (`echoone_kernels::heap`), to measure what the policy gains.
//!
//! Memory, per case, during its first call (the warm-up; model built and its weights
//! materialised before it): the peak heap growth counted by a global allocator (`peak heap`, Rust
//! allocations only), and the process's peak resident set (`VmHWM` after resetting it through
//! `/proc/self/clear_refs`; Linux only), absolute and above the resident set right before that
//! call (`peak rss`), as `torch_model.py` measures PyTorch.

use std::hint::black_box;
use std::time::{Duration, Instant};

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Int, Tensor};
use burn_autodiff::Autodiff;
use burn_flex::Flex;
use criterion::Criterion;
use echoone_model::{EchoOne, EchoOneConfig};
use echoone_sam::peak_memory::{Materialise, PeakAlloc, report_peak};

#[global_allocator]
static ALLOCATOR: PeakAlloc = PeakAlloc;

/// The cases, in the order they run.
const CASES: [&str; 4] = [
    "echoone small fwd",
    "echoone small fwd+bwd",
    "echoone vit_b fwd",
    "echoone vit_b fwd+bwd",
];

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

/// A kB field of `/proc/self/status`, in MiB (None off Linux).
fn status_mib(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Runs `f` once and prints its peak heap growth and the process's peak resident set during
/// it, absolute and above the resident set right before it (MiB).
fn report_peaks<T>(name: &str, f: impl FnOnce() -> T) {
    let before = status_mib("VmRSS:");
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    report_peak(name, f);
    match (reset, before, status_mib("VmHWM:")) {
        (true, Some(before), Some(peak)) => println!(
            "peak rss {name}: {peak:.1} MiB ({:.1} MiB above the {before:.1} MiB before the first call)",
            peak - before
        ),
        _ => println!("peak rss {name}: not available (needs Linux /proc)"),
    }
}

/// One case: its peaks during a first (warm-up) call, then `steps` calls timed by hand, or
/// criterion's samples where `steps` is None.
fn measure<T>(c: &mut Criterion, steps: Option<usize>, name: &str, mut run: impl FnMut() -> T) {
    report_peaks(name, &mut run);
    let Some(n) = steps else {
        c.bench_function(name, |b| b.iter(&mut run));
        return;
    };
    let mut times: Vec<f64> = (0..n.max(1))
        .map(|_| {
            let start = Instant::now();
            black_box(run());
            start.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    println!(
        "{name}: median {:.3} s of {} runs (min {:.3}, max {:.3})",
        times[times.len() / 2],
        times.len(),
        times[0],
        times[times.len() - 1]
    );
}

fn forward(c: &mut Criterion, steps: Option<usize>, name: &str, config: &EchoOneConfig) {
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
    measure(c, steps, name, run);
}

fn forward_backward(c: &mut Criterion, steps: Option<usize>, name: &str, config: &EchoOneConfig) {
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
    measure(c, steps, name, run);
}

/// The cases `ECHOONE_BENCH_CASES` names (all of them when unset or empty).
fn selected_cases() -> Vec<String> {
    let cases: Vec<String> = match std::env::var("ECHOONE_BENCH_CASES") {
        Ok(v) if !v.trim().is_empty() => v
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        _ => CASES.iter().map(|s| s.to_string()).collect(),
    };
    for case in &cases {
        assert!(
            CASES.contains(&case.as_str()),
            "ECHOONE_BENCH_CASES: unknown case {case:?} (have {CASES:?})"
        );
    }
    cases
}

fn main() {
    // As `echoone` does (`ECHOONE_HEAP=default` measures glibc's default); before other threads.
    let heap = echoone_kernels::heap::keep_freed_memory_unless_opted_out();
    println!("heap policy: {heap:?}");
    let steps = std::env::var("ECHOONE_BENCH_STEPS").ok().map(|s| {
        s.trim()
            .parse::<usize>()
            .unwrap_or_else(|_| panic!("ECHOONE_BENCH_STEPS: {s:?} is not a number"))
    });
    let cases = selected_cases();
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(15))
        .configure_from_args();
    let (small, vit_b) = (EchoOneConfig::small(), EchoOneConfig::vit_b());
    for case in &cases {
        let config = if case.contains(" small ") {
            &small
        } else {
            &vit_b
        };
        if case.ends_with("fwd+bwd") {
            forward_backward(&mut c, steps, case, config);
        } else {
            forward(&mut c, steps, case, config);
        }
    }
    if steps.is_none() {
        c.final_summary();
    }
}

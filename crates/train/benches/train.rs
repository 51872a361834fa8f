//! Training throughput and peak heap memory: one optimiser step of the small config (batch 4,
//! PC-Mask on, every parameter training) on each CPU backend compiled in: `cargo xtask bench
//! train` (flex), `cargo bench -p echoone-train --features ndarray` adds burn-ndarray.
//! Samples per second = 4 / the step time criterion reports.

use std::hint::black_box;
use std::time::Duration;

use burn::optim::AdamConfig;
use burn::tensor::backend::AutodiffBackend;
use criterion::{Criterion, criterion_group, criterion_main};
use echoone::EchoOneConfig;
use echoone_data::{Mode, PipelineConfig, SegmentationDataset, Structure, SyntheticConfig};
use echoone_losses::EchoOneLossConfig;
use echoone_pc_mask::{FittedPrior, LatentExtractor, PriorConfig, PriorSample};
use echoone_sam::peak_memory::{PeakAlloc, report_peak};
use echoone_train::batches::{batch, load_items};
use echoone_train::prior::BatchPrior;
use echoone_train::train_step;

#[global_allocator]
static ALLOCATOR: PeakAlloc = PeakAlloc;

const BATCH: usize = 4;

fn step_bench<B: AutodiffBackend>(c: &mut Criterion, name: &str, device: B::Device) {
    let config = EchoOneConfig::small();
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
    let side = 128;
    let k = config.prior_k;
    // A uniform fitted prior: the bench measures the network, not the clustering.
    let latents: Vec<Vec<f32>> = (0..samples.len())
        .map(|i| vec![1.0 + i as f32, 1.0])
        .collect();
    let fit: Vec<PriorSample<'_>> = samples
        .iter()
        .zip(&latents)
        .map(|(s, l)| PriorSample {
            latent: l,
            label_map: s.label.as_raw(),
            size: (s.label.height() as usize, s.label.width() as usize),
            annotated: [true; 3],
            plane: None,
        })
        .collect();
    let fitted = FittedPrior::fit(
        &fit,
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
    let mut model = Some(config.init::<B>(&device).expect("model"));
    let mut optim = AdamConfig::new().init();
    let mut run = |model: &mut Option<echoone::EchoOne<B>>| {
        let b = batch::<B>(items.clone(), &device);
        let p = prior
            .tensor::<B>(&idx, &structures, &device)
            .expect("prior");
        let m = model.take().expect("model");
        let (m, terms) = train_step(m, &mut optim, b, Some(p), &loss, 1e-4, &[]).expect("step");
        *model = Some(m);
        black_box(terms);
    };
    run(&mut model);
    report_peak(
        &format!("train step small b{BATCH} {name} (above model and optimiser)"),
        || run(&mut model),
    );
    let mut group = c.benchmark_group("train_step");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.bench_function(format!("small_b{BATCH}_{name}"), |bench| {
        bench.iter(|| run(&mut model))
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    #[cfg(feature = "flex")]
    step_bench::<burn_autodiff::Autodiff<burn_flex::Flex>>(c, "flex", Default::default());
    #[cfg(feature = "ndarray")]
    step_bench::<burn_autodiff::Autodiff<burn_ndarray::NdArray>>(c, "ndarray", Default::default());
    #[cfg(feature = "tch")]
    step_bench::<burn_autodiff::Autodiff<burn_tch::LibTorch>>(
        c,
        "tch-cpu",
        burn_tch::LibTorchDevice::Cpu,
    );
}

criterion_group!(train, benches);
criterion_main!(train);

//! Throughput of the synthetic generator and of the full training pipeline with augmentation.

use burn::data::dataset::Dataset;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use echoone_data::{Mode, PipelineConfig, SegmentationDataset, SyntheticConfig};

fn bench(c: &mut Criterion) {
    let cfg = SyntheticConfig {
        cases: 2,
        ..SyntheticConfig::default()
    };
    let mut g = c.benchmark_group("data");
    g.throughput(Throughput::Elements(1));
    g.bench_function("synthetic_image_256", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % cfg.len();
            cfg.sample(i).ok()
        })
    });
    let samples = cfg.generate(1).unwrap_or_default();
    let ds = SegmentationDataset::new(&samples, PipelineConfig::default(), Mode::Train, 1);
    g.bench_function("train_item_augmented_256", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % ds.len();
            ds.get(i)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! Throughput of the synthetic generator and of the full training pipeline with augmentation:
//! one item, and whole epochs through burn's data loader and `SegBatcher` on one thread and
//! with worker threads.

use std::sync::Arc;

use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataset::Dataset;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use echoone_data::{Mode, PipelineConfig, SegBatcher, SegmentationDataset, SyntheticConfig};

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
    let ds = Arc::new(SegmentationDataset::new(
        &samples,
        PipelineConfig::default(),
        Mode::Train,
        1,
    ));
    g.bench_function("train_item_augmented_256", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % ds.len();
            ds.get(i)
        })
    });
    g.throughput(Throughput::Elements(ds.len() as u64));
    for workers in [0, 2, 4] {
        let name = format!("epoch_batch8_{workers}_workers");
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut builder =
                    DataLoaderBuilder::<burn_flex::Flex, _, _>::new(SegBatcher).batch_size(8);
                if workers > 0 {
                    builder = builder.num_workers(workers);
                }
                let loader = builder.build(ds.clone());
                loader.iter().map(|batch| batch.meta.len()).sum::<usize>()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

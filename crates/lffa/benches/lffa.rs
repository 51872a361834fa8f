//! Forward timings of the LFFA modules at EchoONE ViT-B size (256 input) on the CPU default
//! backend (burn-flex): the CNN branch (residual and plain), and one global block's adapters.

use burn::tensor::{Distribution, Tensor};
use burn_flex::Flex;
use criterion::{Criterion, criterion_group, criterion_main};
use echoone_lffa::{CnnBranchConfig, RefineAdapterConfig, SpaceAdapterConfig};

fn lffa(c: &mut Criterion) {
    let device = Default::default();
    let mut group = c.benchmark_group("lffa");
    group.sample_size(20);
    let image = Tensor::<Flex, 4>::random([1, 3, 256, 256], Distribution::Default, &device);
    for (name, config) in [
        ("cnn_branch_residual_256", CnnBranchConfig::new()),
        ("cnn_branch_plain_256", CnnBranchConfig::samus()),
    ] {
        let branch = config.init::<Flex>(&device);
        group.bench_function(name, |b| {
            b.iter(|| branch.forward(image.clone()).into_data())
        });
    }
    let features = Tensor::<Flex, 4>::random([1, 768, 32, 32], Distribution::Default, &device);
    let refine = RefineAdapterConfig::new(768).init::<Flex>(&device);
    group.bench_function("refine_adapter_32x32x768", |b| {
        b.iter(|| refine.forward(features.clone()).into_data())
    });
    let space = SpaceAdapterConfig::new(768)
        .init::<Flex>(&device)
        .expect("the ViT-B space adapter configuration is valid");
    let tokens = features.clone().permute([0, 2, 3, 1]);
    group.bench_function("space_adapter_32x32x768", |b| {
        b.iter(|| space.forward(tokens.clone(), tokens.clone()).into_data())
    });
    group.finish();
}

criterion_group!(benches, lffa);
criterion_main!(benches);

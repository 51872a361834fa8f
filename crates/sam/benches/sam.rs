//! SAM speed and peak heap memory on the CPU default backend (burn-flex):
//! `cargo xtask bench sam`. PyTorch eager on the same configurations: `benches/torch_sam.py`.

use std::time::Duration;

use burn::tensor::{Distribution, Int, Tensor};
use burn_flex::Flex;
use criterion::{Criterion, criterion_group, criterion_main};
use echoone_sam::peak_memory::{Materialise, PeakAlloc, report_peak};
use echoone_sam::{ImageEncoderConfig, Prompts, SamConfig};

#[global_allocator]
static ALLOCATOR: PeakAlloc = PeakAlloc;

fn encoder(c: &mut Criterion, name: &str, config: ImageEncoderConfig) {
    let device = Default::default();
    let model = config.init::<Flex>(&device).expect("config");
    burn::module::Module::visit(&model, &mut Materialise);
    let side = config.img_size;
    let input =
        Tensor::<Flex, 4>::random([1, 3, side, side], Distribution::Normal(0.0, 1.0), &device);
    report_peak(name, || model.forward(input.clone()).into_data());
    c.bench_function(name, |b| {
        b.iter(|| model.forward(input.clone()).into_data())
    });
}

fn decoder(c: &mut Criterion, name: &str, config: SamConfig) {
    let device = Default::default();
    let model = config.init::<Flex>(&device).expect("config");
    burn::module::Module::visit(&model, &mut Materialise);
    let side = config.prompt_encoder.image_embedding_size;
    let dim = config.prompt_encoder.embed_dim;
    let embedding = Tensor::<Flex, 4>::random(
        [1, dim, side, side],
        Distribution::Normal(0.0, 1.0),
        &device,
    );
    let prompts = Prompts {
        points: Some((
            Tensor::<Flex, 4>::from_floats([[[[300.0, 400.0]]]], &device),
            Tensor::<Flex, 3, Int>::ones([1, 1, 1], &device),
        )),
        boxes: None,
        masks: None,
    };
    let run = || {
        model
            .predict(embedding.clone(), &prompts, true)
            .expect("prediction")
            .low_res_masks
            .into_data()
    };
    report_peak(name, run);
    c.bench_function(name, |b| b.iter(run));
}

/// The EchoONE geometry: 256 input resized to 264, patch 16 with stride 8, 32x32 tokens, the
/// 64x64 ViT-B tables resized at run time.
fn echoone_geometry() -> ImageEncoderConfig {
    ImageEncoderConfig::vit_b()
        .with_img_size(264)
        .with_patch_stride(Some(8))
        .with_table_grid(Some(64))
}

fn benches(c: &mut Criterion) {
    encoder(c, "encoder vit_b 1024", ImageEncoderConfig::vit_b());
    encoder(c, "encoder vit_b echoone 264 stride 8", echoone_geometry());
    decoder(
        c,
        "prompt+decoder vit_b 64x64, 1 point, multimask",
        SamConfig::vit_b(),
    );
    decoder(
        c,
        "prompt+decoder vit_b 32x32, 1 point, multimask",
        SamConfig::with_encoder(echoone_geometry()),
    );
}

criterion_group! {
    name = sam;
    config = Criterion::default().sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(20));
    targets = benches
}
criterion_main!(sam);

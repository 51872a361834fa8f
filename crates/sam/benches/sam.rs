//! SAM speed and peak heap memory on the CPU default backend (burn-flex):
//! `cargo xtask bench sam`. PyTorch eager on the same configurations: `benches/torch_sam.py`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use burn::tensor::{Distribution, Int, Tensor};
use burn_flex::Flex;
use criterion::{Criterion, criterion_group, criterion_main};
use echoone_sam::{ImageEncoderConfig, Prompts, SamConfig};

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

impl<B: burn::tensor::backend::Backend> burn::module::ModuleVisitor<B> for Materialise {
    fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<B, D>>) {
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

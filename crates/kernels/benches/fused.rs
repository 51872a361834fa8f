//! Forward + backward on `Autodiff<Flex>` of the fused ops against the composed burn ops they
//! replace: softmax with bias on attention scores `[4, 4, 1024, 1024]`, LayerNorm on
//! `[4, 32, 32, 768]`, GELU on `[4, 1024, 3072]`, and 3×3 convolutions with padding 1
//! (`dispatch::conv2d` against `Conv2d::forward`) on `[4, 16, 256, 256]` and `[4, 64, 64, 64]`,
//! and the 2×2 stride-2 transposed convolutions of the default training recipe (128 px images,
//! the prior at 32 px, 3 images a replica; `dispatch::conv_transpose2d` against
//! `ConvTranspose2d::forward`): the prior U-Net's `upconv2` `[3, 128, 8, 8]` → 64 channels and
//! `upconv1` `[3, 64, 16, 16]` → 32 (also the mask decoder's `deconv2`), the decoder's `deconv1`
//! `[3, 256, 8, 8]` → 64, and the U-Net's up-convolutions of a 128 px prior for scale,
//! `[3, 128, 32, 32]` → 64 and `[3, 64, 64, 64]` → 32.
//! Like `echoone`, the bench keeps freed memory in the process first
//! (`heap::keep_freed_memory`), so neither side pays page faults for its fresh tensors.

use std::hint::black_box;
use std::time::Duration;

use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::tensor::{Tensor, TensorData, TensorPrimitive};
use burn_autodiff::Autodiff;
use burn_flex::Flex;
use criterion::{Criterion, SamplingMode, criterion_group};
use echoone_kernels::{composed_layer_norm, composed_softmax, dispatch, tensor as fused};

type Ad = Autodiff<Flex>;

/// A deterministic pseudo-random inner tensor in [-amplitude, amplitude) + offset.
fn inner<const D: usize>(
    shape: [usize; D],
    seed: u32,
    amplitude: f32,
    offset: f32,
) -> Tensor<Flex, D> {
    let n: usize = shape.iter().product();
    let mut state = seed.wrapping_mul(0x9E37_79B9) | 1;
    let values: Vec<f32> = (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 8) as f32 / (1u32 << 24) as f32 * 2.0 * amplitude - amplitude + offset
        })
        .collect();
    Tensor::from_data(TensorData::new(values, shape), &Default::default())
}

/// A tracked leaf on `Ad` sharing `t`'s buffer.
fn leaf<const D: usize>(t: &Tensor<Flex, D>) -> Tensor<Ad, D> {
    Tensor::from_inner(t.clone()).require_grad()
}

/// A tensor from a float primitive.
fn from_prim<const D: usize>(p: burn::tensor::ops::FloatTensor<Ad>) -> Tensor<Ad, D> {
    Tensor::from_primitive(TensorPrimitive::Float(p))
}

fn softmax(c: &mut Criterion) {
    let shape = [4, 4, 1024, 1024];
    let (x, bias) = (inner(shape, 1, 4.0, 0.0), inner(shape, 2, 1.0, 0.0));
    let mut g = c.benchmark_group("softmax [4,4,1024,1024] + bias, forward + backward");
    g.bench_function("fused", |b| {
        b.iter(|| {
            let (x, bias) = (leaf(&x), leaf(&bias));
            let y = fused::softmax(x.clone(), Some(bias.clone()), 0.125);
            let grads = y.sum().backward();
            black_box((x.grad(&grads), bias.grad(&grads)))
        })
    });
    g.bench_function("composed", |b| {
        b.iter(|| {
            let (x, bias) = (leaf(&x), leaf(&bias));
            let p = composed_softmax::<Ad>(
                x.clone().into_primitive().tensor(),
                Some(bias.clone().into_primitive().tensor()),
                0.125,
            );
            let grads = from_prim::<4>(p).sum().backward();
            black_box((x.grad(&grads), bias.grad(&grads)))
        })
    });
    g.finish();
}

fn layer_norm(c: &mut Criterion) {
    let shape = [4, 32, 32, 768];
    let x = inner(shape, 3, 2.0, 0.5);
    let (gamma, beta) = (inner([768], 4, 0.5, 1.0), inner([768], 5, 0.5, 0.0));
    let mut g = c.benchmark_group("layer norm [4,32,32,768] + beta, forward + backward");
    g.bench_function("fused", |b| {
        b.iter(|| {
            let (x, gamma, beta) = (leaf(&x), leaf(&gamma), leaf(&beta));
            let y = fused::layer_norm(x.clone(), gamma.clone(), Some(beta.clone()), 1e-6);
            let grads = y.sum().backward();
            black_box((x.grad(&grads), gamma.grad(&grads), beta.grad(&grads)))
        })
    });
    g.bench_function("composed", |b| {
        b.iter(|| {
            let (x, gamma, beta) = (leaf(&x), leaf(&gamma), leaf(&beta));
            let p = composed_layer_norm::<Ad>(
                x.clone().into_primitive().tensor(),
                gamma.clone().into_primitive().tensor(),
                Some(beta.clone().into_primitive().tensor()),
                1e-6,
            );
            let grads = from_prim::<4>(p).sum().backward();
            black_box((x.grad(&grads), gamma.grad(&grads), beta.grad(&grads)))
        })
    });
    g.finish();
}

fn gelu(c: &mut Criterion) {
    let x = inner([4, 1024, 3072], 6, 4.0, 0.0);
    let mut g = c.benchmark_group("gelu [4,1024,3072], forward + backward");
    g.bench_function("fused", |b| {
        b.iter(|| {
            let x = leaf(&x);
            let grads = fused::gelu(x.clone()).sum().backward();
            black_box(x.grad(&grads))
        })
    });
    g.bench_function("composed", |b| {
        b.iter(|| {
            let x = leaf(&x);
            let grads = burn::tensor::activation::gelu(x.clone()).sum().backward();
            black_box(x.grad(&grads))
        })
    });
    g.finish();
}

/// The gradients of a conv's input, weight and bias.
fn conv_grads(conv: &Conv2d<Ad>, x: &Tensor<Ad, 4>, y: Tensor<Ad, 4>) -> impl Sized + use<> {
    let grads = y.sum().backward();
    let bias = conv.bias.as_ref().map(|b| b.val().grad(&grads));
    (x.grad(&grads), conv.weight.val().grad(&grads), bias)
}

fn conv2d(c: &mut Criterion) {
    for (shape, seed) in [([4, 16, 256, 256], 7), ([4, 64, 64, 64], 8)] {
        let channels = shape[1];
        let x = inner(shape, seed, 1.0, 0.0);
        let conv: Conv2d<Ad> = Conv2dConfig::new([channels, channels], [3, 3])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .init(&Default::default());
        let mut g = c.benchmark_group(format!(
            "conv2d 3x3 pad 1 {shape:?} -> {channels}, forward + backward"
        ));
        g.sample_size(10)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(8));
        g.bench_function("fused", |b| {
            b.iter(|| {
                let x = leaf(&x);
                let y = dispatch::conv2d(&conv, x.clone());
                black_box(conv_grads(&conv, &x, y))
            })
        });
        g.bench_function("burn", |b| {
            b.iter(|| {
                let x = leaf(&x);
                let y = conv.forward(x.clone());
                black_box(conv_grads(&conv, &x, y))
            })
        });
        g.finish();
    }
}

/// The gradients of a transposed conv's input, weight and bias.
fn conv_transpose_grads(
    conv: &ConvTranspose2d<Ad>,
    x: &Tensor<Ad, 4>,
    y: Tensor<Ad, 4>,
) -> impl Sized + use<> {
    let grads = y.sum().backward();
    let bias = conv.bias.as_ref().map(|b| b.val().grad(&grads));
    (x.grad(&grads), conv.weight.val().grad(&grads), bias)
}

fn conv_transpose2d(c: &mut Criterion) {
    let cases = [
        ([3, 128, 8, 8], 64, 9),
        ([3, 64, 16, 16], 32, 10),
        ([3, 256, 8, 8], 64, 11),
        ([3, 128, 32, 32], 64, 12),
        ([3, 64, 64, 64], 32, 13),
    ];
    for (shape, out_channels, seed) in cases {
        let x = inner(shape, seed, 1.0, 0.0);
        let conv: ConvTranspose2d<Ad> =
            ConvTranspose2dConfig::new([shape[1], out_channels], [2, 2])
                .with_stride([2, 2])
                .init(&Default::default());
        let mut g = c.benchmark_group(format!(
            "conv_transpose2d 2x2 stride 2 {shape:?} -> {out_channels}, forward + backward"
        ));
        g.sample_size(20)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(6));
        g.bench_function("fused", |b| {
            b.iter(|| {
                let x = leaf(&x);
                let y = dispatch::conv_transpose2d(&conv, x.clone());
                black_box(conv_transpose_grads(&conv, &x, y))
            })
        });
        g.bench_function("burn", |b| {
            b.iter(|| {
                let x = leaf(&x);
                let y = conv.forward(x.clone());
                black_box(conv_transpose_grads(&conv, &x, y))
            })
        });
        g.finish();
    }
}

criterion_group!(benches, softmax, layer_norm, gelu, conv2d, conv_transpose2d);

fn main() {
    echoone_kernels::heap::keep_freed_memory();
    benches();
    Criterion::default().configure_from_args().final_summary();
}

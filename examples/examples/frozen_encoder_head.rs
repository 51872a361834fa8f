//! SAM's image encoder, frozen, under a new head: a 3x3 and a 1x1 convolution that predict the
//! left ventricle from the image embedding, trained with Adam on the built-in synthetic echoes.
//!
//! ```sh
//! # a tiny SAM (128 px, 4 blocks of width 64) with its initial weights: seconds on a CPU
//! cargo run -p echoone-examples --example frozen_encoder_head
//! # official SAM
//! cargo run -p echoone-examples --example frozen_encoder_head -- sam_vit_b_01ec64.pth [vit_b]
//! ```
//!
//! The training code is generic over `B: AutodiffBackend`; `main` picks the backend (burn-flex,
//! the pure-Rust CPU backend). The encoder runs on `B::InnerBackend`, so it holds no gradient.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, ensure};
use burn::backend::Autodiff;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::loss::BinaryCrossEntropyLossConfig;
use burn::nn::{PaddingConfig2d, Relu};
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
use burn::tensor::{ElementConversion, Int, Tensor, TensorData};
use burn_flex::Flex;
use echoone_data::{Structure, SyntheticConfig};
use echoone_sam::{ImageEncoderConfig, LoadOptions, Predictor, Sam, SamConfig, load_checkpoint};
use image::{DynamicImage, imageops};

/// The new head: 3x3 convolution, ReLU, 1x1 convolution to one logit per token, upsampled 4x.
#[derive(Module, Debug)]
struct LvHead<B: Backend> {
    conv: Conv2d<B>,
    relu: Relu,
    out: Conv2d<B>,
}

impl<B: Backend> LvHead<B> {
    fn new(channels: usize, device: &B::Device) -> Self {
        Self {
            conv: Conv2dConfig::new([channels, 32], [3, 3])
                .with_padding(PaddingConfig2d::Same)
                .init(device),
            relu: Relu::new(),
            out: Conv2dConfig::new([32, 1], [1, 1]).init(device),
        }
    }

    /// Logits `[N, 1, 4h, 4w]` of embeddings `[N, C, h, w]`.
    fn forward(&self, embedding: Tensor<B, 4>) -> Tensor<B, 4> {
        let [.., h, w] = embedding.dims();
        let logits = self
            .out
            .forward(self.relu.forward(self.conv.forward(embedding)));
        let bilinear = InterpolateOptions::new(InterpolateMode::Bilinear);
        interpolate(logits, [4 * h, 4 * w], bilinear)
    }
}

/// What to train.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Synthetic cases (each gives 2CH, 3CH, 4CH and PSAX views at ED and ES).
    pub cases: usize,
    /// Adam steps, each on the whole set.
    pub steps: usize,
    /// Learning rate.
    pub lr: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            cases: 4,
            steps: 30,
            lr: 3e-3,
        }
    }
}

/// A tiny SAM (128 px input, 4 blocks of width 64): runs in seconds on a CPU.
pub fn tiny_sam() -> SamConfig {
    SamConfig::with_encoder(
        ImageEncoderConfig::new()
            .with_img_size(128)
            .with_embed_dim(64)
            .with_depth(4)
            .with_num_heads(4)
            .with_window_size(4)
            .with_global_attn_indexes(vec![1, 3]),
    )
}

/// Embeds the synthetic echoes with the frozen encoder, then trains a new head on the LV masks
/// for `settings.steps` Adam steps; returns the loss before each step.
pub fn train<B: AutodiffBackend>(
    sam: Sam<B::InnerBackend>,
    settings: &Settings,
    device: &B::Device,
) -> Result<Vec<f32>> {
    // 1. The frozen encoder: every image embedded once, as SAM's predictor does.
    let echoes = SyntheticConfig {
        cases: settings.cases,
        width: 128,
        height: 128,
        ..SyntheticConfig::default()
    };
    let mut predictor = Predictor::new(sam);
    let (mut embeddings, mut targets) = (Vec::new(), Vec::new());
    for sample in echoes.generate(0)? {
        predictor.set_image(&DynamicImage::ImageLuma8(sample.image).to_rgb8())?;
        let embedding = predictor.features().context("no image embedding")?.clone();
        let side = 4 * embedding.dims()[3] as u32;
        let lv = imageops::resize(&sample.label, side, side, imageops::FilterType::Nearest);
        let lv: Vec<i64> = lv
            .pixels()
            .map(|p| (p[0] == Structure::Lv.label()) as i64)
            .collect();
        let target = TensorData::new(lv, [1, 1, side as usize, side as usize]);
        embeddings.push(Tensor::<B, 4>::from_inner(embedding));
        targets.push(Tensor::<B, 4, Int>::from_data(target, device));
    }
    let (embeddings, targets) = (Tensor::cat(embeddings, 0), Tensor::cat(targets, 0));

    // 2. The new head, trained with Adam on binary cross-entropy.
    let mut head = LvHead::<B>::new(embeddings.dims()[1], device);
    let mut optimizer = AdamConfig::new().init();
    let bce = BinaryCrossEntropyLossConfig::new()
        .with_logits(true)
        .init(device);
    let mut losses = Vec::new();
    for step in 1..=settings.steps {
        let loss = bce.forward(head.forward(embeddings.clone()), targets.clone());
        let value = loss.clone().into_scalar().elem::<f32>();
        ensure!(value.is_finite(), "step {step}: the loss is {value}");
        println!("step {step:3}: loss {value:.4}");
        losses.push(value);
        let grads = GradientsParams::from_grads(loss.backward(), &head);
        head = optimizer.step(settings.lr, head, grads);
    }
    Ok(losses)
}

/// The SAM of the command line: a checkpoint (and its variant, default ViT-B), or the tiny SAM.
fn sam<B: Backend>(args: &[String], device: &B::Device) -> Result<Sam<B>> {
    let Some(checkpoint) = args.first() else {
        return Ok(tiny_sam().init(device)?);
    };
    let variant = args.get(1).map_or("vit_b", String::as_str);
    let mut sam = variant
        .parse::<echoone_sam::SamVariant>()?
        .config()
        .init(device)?;
    load_checkpoint(&mut sam, Path::new(checkpoint), &LoadOptions::default())?;
    Ok(sam)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let device = Default::default();
    Flex::seed(&device, 1234); // the same initial weights on every run
    let result = sam::<Flex>(&args, &device).and_then(|sam| {
        let losses = train::<Autodiff<Flex>>(sam, &Settings::default(), &device)?;
        if let (Some(first), Some(last)) = (losses.first(), losses.last()) {
            println!("loss {first:.4} -> {last:.4}");
        }
        Ok(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

//! `sam`: run official SAM on one image with point/box prompts (wrapped by `cargo xtask sam`).
//!
//! Writes `mask_<i>.png` (at the image's size), `overlay.png`, `low_res_logits.npy`
//! (f32 `[N, 256, 256]`) and `iou_predictions.npy` (f32 `[N]`). Every input is checked before
//! anything is written, and outputs appear all at once (written aside, then moved in place).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, Result, bail, ensure};
use burn::config::Config;
use burn::tensor::Tensor;
use burn_flex::Flex;
use clap::Args;
use echoone_sam::npy::{encode_f32, read_npy};
use echoone_sam::output_folder::png_bytes;
use echoone_sam::prompt_text;
use echoone_sam::{
    LoadOptions, Predictor, Prompt, SamConfig, SamError, SamVariant, load_checkpoint,
};
use image::{GrayImage, Luma, Rgb, RgbImage};

/// Segment an image with official SAM weights and point/box prompts.
#[derive(Args, Debug)]
pub struct SamArgs {
    /// Official SAM checkpoint (`sam_vit_*.pth`) or a safetensors file with the same keys.
    #[arg(long)]
    weights: PathBuf,
    /// SAM architecture of the weights: vit_b, vit_l or vit_h.
    #[arg(long, default_value = "vit_b")]
    arch: String,
    /// A model configuration (JSON, `SamConfig`) for other shapes; overrides `--arch`.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The image (PNG, JPEG); grey images are used as RGB.
    #[arg(long)]
    image: PathBuf,
    /// A point prompt `X,Y[,LABEL]` in pixels (label 1 foreground, the default, or 0 background);
    /// repeat for several points.
    #[arg(long = "point", value_name = "X,Y[,LABEL]")]
    points: Vec<String>,
    /// A box prompt `X0,Y0,X1,Y1` in pixels.
    #[arg(long = "box", value_name = "X0,Y0,X1,Y1")]
    bbox: Option<String>,
    /// Low-resolution mask logits from a previous run (`.npy`, `[1, 256, 256]` or `[256, 256]`).
    #[arg(long)]
    mask_input: Option<PathBuf>,
    /// Return SAM's three multimask outputs instead of the single mask.
    #[arg(long)]
    multimask: bool,
    /// Output folder (created if needed).
    #[arg(long)]
    out: PathBuf,
    /// Accept a checkpoint with missing or unexpected tensors (they are reported).
    #[arg(long)]
    allow_partial: bool,
}

fn parse_prompt(args: &SamArgs, width: u32, height: u32) -> Result<Prompt> {
    let mut prompt = Prompt::default();
    for text in &args.points {
        let ([x, y], label) = prompt_text::point(text, width, height)?;
        prompt.points.push([x, y]);
        prompt.labels.push(label);
    }
    if let Some(text) = &args.bbox {
        let (w, h) = (width as f32, height as f32);
        let inside = |x: f32, y: f32| (0.0..=w).contains(&x) && (0.0..=h).contains(&y);
        let [x0, y0, x1, y1] = prompt_text::numbers(text, "--box")?[..] else {
            bail!("--box `{text}`: expected X0,Y0,X1,Y1");
        };
        ensure!(
            x0 <= x1 && y0 <= y1,
            "--box `{text}`: needs X0 <= X1 and Y0 <= Y1"
        );
        ensure!(
            inside(x0, y0) && inside(x1, y1),
            "--box `{text}` lies outside the {width}x{height} image"
        );
        prompt.bbox = Some([x0, y0, x1, y1]);
    }
    if let Some(path) = &args.mask_input {
        let array = read_npy(path)?;
        let ok = matches!(array.shape[..], [1, 256, 256] | [256, 256]);
        ensure!(
            ok,
            "{}: mask input must be [1, 256, 256] or [256, 256], got {:?}",
            path.display(),
            array.shape
        );
        prompt.mask_input = Some(array.data);
    }
    ensure!(
        !prompt.points.is_empty() || prompt.bbox.is_some() || prompt.mask_input.is_some(),
        "give at least one --point, a --box or a --mask-input"
    );
    Ok(prompt)
}

fn read_image(path: &Path) -> Result<RgbImage> {
    let reader = image::ImageReader::open(path)
        .with_context(|| format!("{}: cannot open image", path.display()))?
        .with_guessed_format()
        .with_context(|| format!("{}: cannot read image", path.display()))?;
    let decoded = reader
        .decode()
        .with_context(|| format!("{}: not a decodable image", path.display()))?;
    ensure!(
        decoded.width() > 0 && decoded.height() > 0,
        "{}: the image is empty",
        path.display()
    );
    Ok(decoded.to_rgb8())
}

/// Colours of the masks in the overlay.
const COLOURS: [[u8; 3]; 3] = [[30, 144, 255], [255, 160, 30], [60, 220, 90]];

fn overlay(image: &RgbImage, masks: &[GrayImage], prompt: &Prompt) -> RgbImage {
    let mut out = image.clone();
    for (mask, colour) in masks.iter().zip(COLOURS.iter().cycle()) {
        for (x, y, pixel) in out.enumerate_pixels_mut() {
            if mask.get_pixel(x, y)[0] > 0 {
                for c in 0..3 {
                    pixel[c] = ((pixel[c] as u16 + colour[c] as u16) / 2) as u8;
                }
            }
        }
    }
    let (w, h) = (out.width() as i64, out.height() as i64);
    let mut put = |x: i64, y: i64, colour: [u8; 3]| {
        if (0..w).contains(&x) && (0..h).contains(&y) {
            out.put_pixel(x as u32, y as u32, Rgb(colour));
        }
    };
    for ([x, y], label) in prompt.points.iter().zip(&prompt.labels) {
        let colour = if *label == 1 {
            [0, 255, 0]
        } else {
            [255, 0, 0]
        };
        let (cx, cy) = (*x as i64, *y as i64);
        for d in -4..=4 {
            put(cx + d, cy, colour);
            put(cx, cy + d, colour);
        }
    }
    if let Some([x0, y0, x1, y1]) = prompt.bbox {
        let (x0, y0, x1, y1) = (x0 as i64, y0 as i64, x1 as i64, y1 as i64);
        for x in x0..=x1 {
            put(x, y0, [255, 255, 0]);
            put(x, y1, [255, 255, 0]);
        }
        for y in y0..=y1 {
            put(x0, y, [255, 255, 0]);
            put(x1, y, [255, 255, 0]);
        }
    }
    out
}

fn to_vec<const D: usize>(tensor: Tensor<Flex, D>) -> Result<Vec<f32>> {
    tensor
        .into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .map_err(|e| anyhow::anyhow!("reading a result tensor: {e:?}"))
}

/// Runs SAM on the image as `args` ask and writes the outputs.
pub fn run(args: SamArgs) -> Result<()> {
    let variant = SamVariant::from_str(&args.arch)?;
    let config = match &args.config {
        Some(path) => SamConfig::load(path)
            .map_err(|e| anyhow::anyhow!("{}: not a SAM configuration: {e}", path.display()))?,
        None => variant.config(),
    };
    let image = read_image(&args.image)?;
    let prompt = parse_prompt(&args, image.width(), image.height())?;

    let device = Default::default();
    let mut model = config.init::<Flex>(&device)?;
    let options = LoadOptions {
        allow_partial: args.allow_partial,
        ..LoadOptions::default()
    };
    let report = load_checkpoint(&mut model, &args.weights, &options).map_err(|e| {
        let hint = match (&e, &args.config) {
            (SamError::CheckpointMismatch { .. }, None) => {
                format!(" (is the checkpoint a {variant} model? see --arch)")
            }
            _ => String::new(),
        };
        anyhow::anyhow!("{e}{hint}")
    })?;
    for key in &report.missing {
        eprintln!("warning: {key} missing from the checkpoint (left at its initial value)");
    }
    for key in &report.unexpected {
        eprintln!("warning: {key} in the checkpoint is not used");
    }

    let mut predictor = Predictor::new(model);
    predictor.set_image(&image)?;
    let prediction = predictor.predict(&prompt, args.multimask)?;

    let [count, low_h, low_w] = prediction.low_res_logits.dims();
    let (width, height) = (image.width(), image.height());
    let logits = to_vec(prediction.masks)?;
    let iou = to_vec(prediction.iou_predictions)?;
    let low_res = to_vec(prediction.low_res_logits)?;
    let plane = (width * height) as usize;
    let masks: Vec<GrayImage> = (0..count)
        .map(|i| {
            let values = &logits[i * plane..(i + 1) * plane];
            GrayImage::from_fn(width, height, |x, y| {
                let v = values[(y * width + x) as usize];
                Luma([if v > 0.0 { 255 } else { 0 }])
            })
        })
        .collect();

    let mut files = Vec::new();
    for (i, mask) in masks.iter().enumerate() {
        let name = format!("mask_{i}.png");
        let bytes = png_bytes(&name, mask.clone())?;
        files.push((name, bytes));
    }
    files.push((
        "overlay.png".into(),
        png_bytes("overlay.png", overlay(&image, &masks, &prompt))?,
    ));
    files.push((
        "low_res_logits.npy".into(),
        encode_f32(&low_res, &[count, low_h, low_w]),
    ));
    files.push(("iou_predictions.npy".into(), encode_f32(&iou, &[count])));
    echoone_sam::output_folder::write_outputs(&args.out, "sam", &files)?;
    for (i, score) in iou.iter().enumerate() {
        println!("mask_{i}.png: predicted IoU {score:.4}");
    }
    println!("wrote {}", args.out.display());
    Ok(())
}

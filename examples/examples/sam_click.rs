//! Official SAM from a `.pth`, one click, one mask.
//!
//! ```sh
//! cargo run -p echoone-examples --example sam_click -- \
//!     sam_vit_b_01ec64.pth echo.png 120 90 [mask.png] [vit_b|vit_l|vit_h|SAM.json]
//! ```
//!
//! Writes the mask (0/255 at the image's size, default `mask.png`) and prints SAM's predicted
//! IoU. The architecture defaults to ViT-B; `SAM.json` is any `SamConfig` saved as JSON.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail, ensure};
use burn::config::Config;
use burn_flex::Flex;
use echoone_sam::{LoadOptions, Predictor, Prompt, SamConfig, SamVariant, load_checkpoint};
use image::GrayImage;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Segments the image at the click of `args` (see the usage above) and writes the mask.
pub fn run(args: &[String]) -> Result<()> {
    let [checkpoint, image, x, y, rest @ ..] = args else {
        bail!("usage: sam_click CHECKPOINT IMAGE X Y [OUT.png] [vit_b|vit_l|vit_h|SAM.json]");
    };
    let out = rest.first().map_or("mask.png", String::as_str);
    let config = match rest.get(1) {
        None => SamConfig::vit_b(),
        Some(json) if json.ends_with(".json") => SamConfig::load(json)
            .map_err(|e| anyhow::anyhow!("{json}: not a SAM configuration: {e}"))?,
        Some(variant) => variant.parse::<SamVariant>()?.config(),
    };

    // The model, with the official weights.
    let mut sam = config.init::<Flex>(&Default::default())?;
    load_checkpoint(&mut sam, Path::new(checkpoint), &LoadOptions::default())?;

    // One foreground click on the image.
    let image = image::open(image).with_context(|| format!("{image}: cannot read the image"))?;
    let (width, height) = (image.width(), image.height());
    let number = |v: &str| {
        v.parse::<f32>()
            .with_context(|| format!("`{v}` is not a number"))
    };
    let click = [number(x)?, number(y)?];
    ensure!(
        (0.0..=width as f32).contains(&click[0]) && (0.0..=height as f32).contains(&click[1]),
        "the click {x},{y} lies outside the {width}x{height} image"
    );
    let mut predictor = Predictor::new(sam);
    predictor.set_image(&image.to_rgb8())?;
    let prompt = Prompt {
        points: vec![click],
        labels: vec![1],
        ..Prompt::default()
    };
    let prediction = predictor.predict(&prompt, false)?;

    // The mask is where the logit is positive.
    let logits = prediction.masks.into_data().into_vec::<f32>()?;
    let pixels = logits
        .iter()
        .map(|&v| if v > 0.0 { 255 } else { 0 })
        .collect();
    let mask = GrayImage::from_raw(width, height, pixels).context("mask of the wrong size")?;
    mask.save(out)
        .with_context(|| format!("{out}: cannot write"))?;
    let iou = prediction.iou_predictions.into_scalar();
    let area = logits.iter().filter(|&&v| v > 0.0).count();
    println!(
        "wrote {out}: {area} of {} pixels, predicted IoU {iou:.3}",
        logits.len()
    );
    Ok(())
}

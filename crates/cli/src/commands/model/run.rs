//! `model run`: one image, one point and a prior through a checkpoint of the authors' EchoONE.
//!
//! Writes `low_res_logits.npy` (f32 `[1, 128, 128]`), `coarse_logits.npy` (PC-Mask on, same
//! shape), `mask.png` (0/255 at the image's size) and `overlay.png`. Every input is checked
//! before anything is written, and the outputs appear all at once.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
use burn::tensor::{Int, Tensor, TensorData};
use burn_flex::Flex;
use clap::Args;
use echoone_model::EchoOneConfig;
use echoone_pc_mask::{FittedPrior, LatentExtractor, thumbnail_latent};
use echoone_sam::npy::{encode_f32, read_npy};
use echoone_sam::output_folder::png_bytes;
use image::imageops::{FilterType, resize};
use image::{GrayImage, Luma};

use super::arch::{ArchArgs, recognise};
use super::output::overlay;

/// Arguments of `model run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// A state dict saved by the authors' EchoONE code (`.pth`; their key names).
    #[arg(long)]
    weights: PathBuf,
    /// The architecture (default: recognised from the checkpoint's tensor shapes).
    #[command(flatten)]
    arch: ArchArgs,
    /// The image (PNG, JPEG), used in grey and resized to the model's input (256).
    #[arg(long)]
    image: PathBuf,
    /// The point prompt `X,Y[,LABEL]` in pixels of the image (label 1 foreground, the default,
    /// or 0 background).
    #[arg(long, value_name = "X,Y[,LABEL]")]
    point: String,
    /// The K-channel prior as the authors' code takes it (`.npy`, `[K, H, W]` or `[1, K, H, W]`,
    /// H and W multiples of 4): centre masks times similarities.
    #[arg(long, conflicts_with = "fitted_prior")]
    prior: Option<PathBuf>,
    /// A fitted PC-Mask prior folder (`prior.json`, `centre_masks.npy`): the prior is computed
    /// for this image.
    #[arg(long)]
    fitted_prior: Option<PathBuf>,
    /// The structure whose centre masks a per-structure fitted prior uses: lv, myo or la.
    #[arg(long, default_value = "lv")]
    structure: String,
    /// Output folder (created if needed).
    #[arg(long)]
    out: PathBuf,
}

type B = Flex;

fn read_grey(path: &Path) -> Result<GrayImage> {
    let decoded = image::ImageReader::open(path)
        .with_context(|| format!("{}: cannot open image", path.display()))?
        .with_guessed_format()
        .with_context(|| format!("{}: cannot read image", path.display()))?
        .decode()
        .with_context(|| format!("{}: not a decodable image", path.display()))?;
    ensure!(
        decoded.width() > 0 && decoded.height() > 0,
        "{}: the image is empty",
        path.display()
    );
    Ok(decoded.to_luma8())
}

fn explicit_prior(path: &Path, k: usize) -> Result<Tensor<B, 4>> {
    let array = read_npy(path)?;
    let (kk, h, w) = match array.shape[..] {
        [kk, h, w] | [1, kk, h, w] => (kk, h, w),
        _ => bail!(
            "{}: the prior must be [K, H, W] or [1, K, H, W], got {:?}",
            path.display(),
            array.shape
        ),
    };
    ensure!(
        kk == k,
        "{}: the prior has {kk} channels, the model takes {k}",
        path.display()
    );
    ensure!(
        h > 0 && w > 0 && h % 4 == 0 && w % 4 == 0,
        "{}: the prior's sides must be multiples of 4 (the U-Net pools twice), got {h}x{w}",
        path.display()
    );
    ensure!(
        array.data.iter().all(|v| v.is_finite()),
        "{}: the prior has non-finite values",
        path.display()
    );
    Ok(Tensor::from_data(
        TensorData::new(array.data, [1, k, h, w]),
        &Default::default(),
    ))
}

fn fitted_prior(
    dir: &Path,
    k: usize,
    images: Tensor<B, 4>,
    structure: &str,
) -> Result<Tensor<B, 4>> {
    let structure = match structure {
        "lv" => 0,
        "myo" => 1,
        "la" => 2,
        other => bail!("--structure `{other}`: expected lv, myo or la"),
    };
    let prior = FittedPrior::load(dir)
        .with_context(|| format!("{}: not a fitted prior folder", dir.display()))?;
    ensure!(
        prior.k == k,
        "{}: the fitted prior has K = {}, the model takes {k}",
        dir.display(),
        prior.k
    );
    let latent = match prior.extractor {
        LatentExtractor::Thumbnail { side } => thumbnail_latent(images, side),
        LatentExtractor::SamEncoder => bail!(
            "{}: this prior's latents come from the SAM encoder, which `model run` does not \
             load; pass the prior itself with --prior",
            dir.display()
        ),
    };
    Ok(prior.prior_tensor(latent, &[structure])?)
}

fn to_vec<const D: usize>(tensor: Tensor<B, D>) -> Result<Vec<f32>> {
    tensor
        .into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .map_err(|e| anyhow::anyhow!("reading a result tensor: {e:?}"))
}

/// Runs the command.
pub fn run(args: &RunArgs) -> Result<()> {
    let config: EchoOneConfig = args.arch.resolve(|| recognise(&args.weights))?;
    let original = read_grey(&args.image)?;
    let (width, height) = original.dimensions();
    let (point, label) = echoone_sam::prompt_text::point(&args.point, width, height)?;
    let side = config.input_size as u32;
    let grey = if (width, height) == (side, side) {
        original.clone()
    } else {
        resize(&original, side, side, FilterType::Triangle)
    };
    let device = Default::default();
    let pixels: Vec<f32> = grey.pixels().map(|p| p[0] as f32 / 255.0).collect();
    let images = Tensor::<B, 4>::from_data(
        TensorData::new(pixels, [1, 1, side as usize, side as usize]),
        &device,
    );
    let prior = match (config.pc_mask, &args.prior, &args.fitted_prior) {
        (true, Some(path), _) => Some(explicit_prior(path, config.prior_k)?),
        (true, None, Some(dir)) => Some(fitted_prior(
            dir,
            config.prior_k,
            images.clone(),
            &args.structure,
        )?),
        (true, None, None) => bail!("PC-Mask is on: give --prior FILE.npy or --fitted-prior DIR"),
        (false, None, None) => None,
        (false, ..) => bail!("PC-Mask is off in this configuration: it takes no prior"),
    };

    let (model, _) = config
        .init::<B>(&device)?
        .load_authors_checkpoint(&config, &args.weights)?;
    let scale = [side as f32 / width as f32, side as f32 / height as f32];
    let points = Tensor::<B, 3>::from_data(
        TensorData::new(vec![point[0] * scale[0], point[1] * scale[1]], [1, 1, 2]),
        &device,
    );
    let labels = Tensor::<B, 2, Int>::from_data(TensorData::new(vec![label], [1, 1]), &device);
    let out = model.forward(images, points, labels, prior)?;

    let low = config.low_res_size();
    let mut files = vec![(
        "low_res_logits.npy".to_string(),
        encode_f32(&to_vec(out.logits)?, &[1, low, low]),
    )];
    if let Some(coarse) = out.coarse_logits {
        files.push((
            "coarse_logits.npy".into(),
            encode_f32(&to_vec(coarse)?, &[1, low, low]),
        ));
    }
    let full = interpolate(
        out.masks,
        [height as usize, width as usize],
        InterpolateOptions::new(InterpolateMode::Bilinear).with_align_corners(false),
    );
    let values = to_vec(full)?;
    let mask = GrayImage::from_fn(width, height, |x, y| {
        Luma([if values[(y * width + x) as usize] > 0.0 {
            255
        } else {
            0
        }])
    });
    files.push((
        "overlay.png".into(),
        png_bytes("overlay.png", overlay(&original, &mask, point, label))?,
    ));
    files.push(("mask.png".into(), png_bytes("mask.png", mask)?));
    echoone_sam::output_folder::write_outputs(&args.out, "model", &files)?;
    let iou = to_vec(out.iou)?;
    println!(
        "mask.png: predicted IoU {:.4}",
        iou.first().copied().unwrap_or(f32::NAN)
    );
    println!("wrote {}", args.out.display());
    Ok(())
}

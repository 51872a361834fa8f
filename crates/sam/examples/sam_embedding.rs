//! Writes the image embedding of one image under an official SAM checkpoint: the `[1, 256, 64,
//! 64]` features `Predictor::set_image` caches (official SAM's `predictor.features`), as f32
//! `.npy`. `cargo xtask parity sam` compares it with the official package's.
//!
//! ```sh
//! cargo run --release -p echoone-sam --example sam_embedding -- \
//!     --weights sam.pth --arch vit_b --image IMG --out embedding.npy
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;

use burn_flex::Flex;
use echoone_sam::npy::encode_f32;
use echoone_sam::{LoadOptions, Predictor, SamVariant, load_checkpoint};

type Error = Box<dyn std::error::Error>;

struct Args {
    checkpoint: PathBuf,
    variant: SamVariant,
    image: PathBuf,
    out: PathBuf,
}

fn parse(mut words: impl Iterator<Item = String>) -> Result<Args, Error> {
    let (mut checkpoint, mut variant, mut image, mut out) = (None, SamVariant::VitB, None, None);
    while let Some(flag) = words.next() {
        let mut value = || words.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--weights" => checkpoint = Some(PathBuf::from(value()?)),
            "--arch" => variant = SamVariant::from_str(&value()?)?,
            "--image" => image = Some(PathBuf::from(value()?)),
            "--out" => out = Some(PathBuf::from(value()?)),
            other => return Err(format!("unknown argument `{other}`").into()),
        }
    }
    let usage =
        "usage: sam_embedding --weights FILE [--arch vit_b|vit_l|vit_h] --image IMG --out FILE.npy";
    Ok(Args {
        checkpoint: checkpoint.ok_or(usage)?,
        variant,
        image: image.ok_or(usage)?,
        out: out.ok_or(usage)?,
    })
}

fn run(args: Args) -> Result<(), Error> {
    let image = image::open(&args.image)
        .map_err(|e| format!("{}: {e}", args.image.display()))?
        .to_rgb8();
    let device = Default::default();
    let mut model = args.variant.config().init::<Flex>(&device)?;
    load_checkpoint(&mut model, &args.checkpoint, &LoadOptions::default())?;
    let mut predictor = Predictor::new(model);
    predictor.set_image(&image)?;
    let features = predictor.features().ok_or("no image embedding")?.clone();
    let shape = features.dims();
    let values = features
        .into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .map_err(|e| format!("reading the embedding: {e:?}"))?;
    std::fs::write(&args.out, encode_f32(&values, &shape))
        .map_err(|e| format!("{}: {e}", args.out.display()))?;
    println!("wrote {} {shape:?}", args.out.display());
    Ok(())
}

fn main() -> ExitCode {
    match parse(std::env::args().skip(1)).and_then(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

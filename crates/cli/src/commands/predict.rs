//! `echoone predict`.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use burn::tensor::backend::AutodiffBackend;
use clap::Args;
use echoone_infer::predict::{Click, Predictor, Prompting, read_input};
use echoone_run::Checkpoint;

use crate::backend::{Devices, Job};

/// Examples shown under `echoone predict --help`.
pub const EXAMPLES: &str = "\
Examples:
  echoone predict --run runs/camus --prompts auto image.png --out pred
  echoone predict --run runs/camus --point LV:120,140 image.png --out pred
  echoone predict --run runs/camus --prompts auto cine.avi --out pred     LV area, beats and EF of a cine";

/// Arguments of `echoone predict`.
#[derive(Args, Debug, Clone)]
pub struct PredictArgs {
    /// The run: a run folder (its best checkpoint) or one of its checkpoint folders.
    #[arg(long)]
    pub run: PathBuf,
    /// Images (PNG, JPEG), NIfTI (2D or 2D+t) or MJPEG AVI videos.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
    /// A click as STRUCTURE:X,Y in input pixels (LV, MYO or LA); repeat for several structures.
    #[arg(long = "point")]
    pub points: Vec<String>,
    /// Clicks: auto takes each structure's click from the model (PC-Mask's coarse mask; no
    /// human click needed), as `eval --prompts auto` does; without it, give --point.
    #[arg(long, conflicts_with = "points", value_parser = ["auto"])]
    pub prompts: Option<String>,
    /// Official SAM weights (only when the prior's latents come from SAM's encoder).
    #[arg(long)]
    pub sam_weights: Option<PathBuf>,
}

impl Job for PredictArgs {
    fn run<B: AutodiffBackend>(self, devices: Devices<B::Device>) -> Result<()> {
        let device = devices.main;
        let prompting = if self.prompts.is_some() {
            Prompting::Auto
        } else if self.points.is_empty() {
            bail!("give clicks with --point STRUCTURE:X,Y, or --prompts auto (the model's own)");
        } else {
            Prompting::Clicks(
                self.points
                    .iter()
                    .map(|p| Click::parse(p))
                    .collect::<echoone_infer::Result<_>>()?,
            )
        };
        // Read every input first: a bad file fails before anything is written.
        let inputs = self
            .inputs
            .iter()
            .map(|p| read_input(p))
            .collect::<echoone_infer::Result<Vec<_>>>()?;
        let ckpt = Checkpoint::open(&self.run)?;
        let predictor =
            Predictor::<B::InnerBackend>::new(ckpt, self.sam_weights.as_deref(), &device)?;
        println!(
            "overlays: LV red, MYO green, LA blue over the grey image; labels 0 background, \
             1 LV, 2 MYO, 3 LA"
        );
        for input in &inputs {
            let written = predictor
                .predict(input, &prompting, &self.out)
                .with_context(|| format!("predicting {}", input.path.display()))?;
            let found: Vec<String> = written
                .found
                .iter()
                .map(|f| {
                    let names: Vec<&str> = f.iter().map(|s| s.name()).collect();
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join("+")
                    }
                })
                .collect();
            println!(
                "{}: {} frame(s), structures found {}; {} files in {}",
                input.path.display(),
                found.len(),
                found.join(", "),
                written.files.len(),
                self.out.display()
            );
            for (k, b) in written.beats.iter().enumerate() {
                let ml = |v: f64| {
                    if v.is_finite() {
                        format!("{v:.1} ml")
                    } else {
                        "? ml (no spacing)".into()
                    }
                };
                println!(
                    "  beat {}: ED frame {}, ES frame {}, EDV {}, ESV {}, single-plane EF {:.1} %",
                    k + 1,
                    b.ed,
                    b.es,
                    ml(b.edv_ml),
                    ml(b.esv_ml),
                    b.ef_pct
                );
            }
        }
        Ok(())
    }
}

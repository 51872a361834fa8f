//! `echoone eval`.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use burn::tensor::backend::AutodiffBackend;
use clap::Args;
use echoone_data::Split;
use echoone_infer::clicks::Prompts;
use echoone_infer::evaluate_run::compare_prompts;
use echoone_infer::{EvalReport, EvalRequest, evaluate_run};
use echoone_run::samples::describe;
use echoone_run::{Checkpoint, select_samples};

use crate::backend::{Devices, Job};

/// Examples shown under `echoone eval --help`.
pub const EXAMPLES: &str = "\
Examples:
  echoone eval --run runs/camus --split test              the run's own test cases
  echoone eval --run runs/camus --dataset hmcqu:/data/HMC-QU --split external
  echoone eval --run runs/camus --split test --prompts both      clicks from the references and from the model";

/// Arguments of `echoone eval`.
#[derive(Args, Debug, Clone)]
pub struct EvalArgs {
    /// The run: a run folder (its best checkpoint) or one of its checkpoint folders.
    #[arg(long)]
    pub run: PathBuf,
    /// Dataset(s) to evaluate on (default: the run's own data, test split).
    #[arg(long = "dataset")]
    pub datasets: Vec<String>,
    /// Split to evaluate: train, val or test (each case keeps the split the run gave it),
    /// external (the cases of --dataset the run never saw) or all (default: all of --dataset,
    /// else test).
    #[arg(long)]
    pub split: Option<String>,
    /// Official SAM weights (only when the prior's latents come from SAM's encoder).
    #[arg(long)]
    pub sam_weights: Option<PathBuf>,
    /// Output folder (default: CHECKPOINT/eval-SPLIT).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Items per forward pass.
    #[arg(long, default_value_t = 8)]
    pub batch_size: usize,
    /// Threads preparing items.
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// Overlays to write.
    #[arg(long, default_value_t = 16)]
    pub overlays: usize,
    /// Threads running batches, each with its own handle on the model (2 keeps both cores of
    /// a CPU busy; the results do not depend on it).
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Clicks: gt (the middle pixel of each structure, today's protocol), auto (the model's
    /// own, from PC-Mask's coarse masks, no ground truth used) or both (side by side in
    /// prompts.md).
    #[arg(long, default_value = "gt")]
    pub prompts: String,
    /// Automatic clicks: rounds of re-clicking deepest inside the model's own mask.
    #[arg(long, default_value_t = 0)]
    pub refine: usize,
    /// Ground-truth clicks: move each by a seeded random offset of up to PX model pixels.
    #[arg(long, default_value_t = 0.0)]
    pub click_jitter: f32,
    /// Seed of the click jitter.
    #[arg(long, default_value_t = 0)]
    pub jitter_seed: u64,
}

/// `train`, `val`, `test` -> that split of the run; `external` -> the cases the run never saw;
/// `all` -> none.
pub fn parse_split(name: &str) -> Result<Option<Split>> {
    match name {
        "all" => Ok(None),
        "external" => Ok(Some(Split::External)),
        _ => match Split::parse(name) {
            Some(s) => Ok(Some(s)),
            None => bail!("--split {name}: expected train, val, test, external or all"),
        },
    }
}

impl Job for EvalArgs {
    fn run<B: AutodiffBackend>(self, devices: Devices<B::Device>) -> Result<()> {
        let (device, fixed_shapes) = (devices.main, devices.fixed_shapes);
        let ckpt = Checkpoint::open(&self.run)?;
        let default_split = if self.datasets.is_empty() {
            "test"
        } else {
            "all"
        };
        let split_name = self.split.as_deref().unwrap_or(default_split);
        let split = parse_split(split_name)?;
        let samples = select_samples(&ckpt, &self.datasets, split)?;
        println!(
            "evaluating {} images by the run's split: {}",
            samples.len(),
            describe(samples.iter().map(|s| s.info.split))
        );
        if split.is_none() && samples.iter().any(|s| s.info.split == Some(Split::Train)) {
            println!(
                "note: some of these images are from the run's training split; their metrics \
                 are in summary.json's per_split section, apart from the others"
            );
        }
        let out = self
            .out
            .clone()
            .unwrap_or_else(|| ckpt.dir.join(format!("eval-{split_name}")));
        let gt = Prompts::GroundTruth {
            jitter_px: self.click_jitter.max(0.0),
            seed: self.jitter_seed,
        };
        let auto = Prompts::Auto {
            refine: self.refine,
        };
        let Some(sources) = Prompts::sources(&self.prompts, gt, auto) else {
            bail!("--prompts {}: expected gt, auto or both", self.prompts);
        };
        // One click source writes into OUT; several each into OUT/<source>.
        let runs: Vec<(Prompts, PathBuf)> = sources
            .iter()
            .map(|&(name, prompts)| {
                let dir = if sources.len() == 1 {
                    out.clone()
                } else {
                    out.join(name)
                };
                (prompts, dir)
            })
            .collect();
        let request = EvalRequest {
            sam_weights: self.sam_weights.clone(),
            batch_size: self.batch_size.max(1),
            workers: self.workers,
            overlays: self.overlays,
            threads: self.threads.max(1),
            fixed_shapes,
        };
        let reports = evaluate_run::<B::InnerBackend>(&ckpt, &samples, &request, &runs, &device)
            .with_context(|| format!("evaluating {}", ckpt.dir.display()))?;
        for ((prompts, dir), report) in runs.iter().zip(&reports) {
            println!("clicks: {}", prompts.name());
            print!("{}", report.pixels.to_markdown());
            println!(
                "\nmean Dice over structures {:.4} on {} items; summaries in {}{}\n",
                report.mean_dice,
                report.items,
                dir.display(),
                if report.millimetres.is_some() {
                    " (millimetres in mm/)"
                } else {
                    ""
                }
            );
            println!(
                "absent structures (empty reference) predicted present over more than 1 % of \
                 the image: {} of {}\n",
                report.absent_predicted, report.absent
            );
        }
        if reports.len() > 1 {
            let table: Vec<(String, &EvalReport)> = runs
                .iter()
                .zip(&reports)
                .map(|((p, _), r)| (p.name(), r))
                .collect();
            let md = compare_prompts(&table);
            let path = out.join("prompts.md");
            std::fs::create_dir_all(&out)?;
            echoone_data::png_io::write_atomic(&path, md.as_bytes())?;
            print!("{md}");
        }
        Ok(())
    }
}

//! `echoone ef`.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use burn::tensor::backend::AutodiffBackend;
use clap::Args;
use echoone_data::{DatasetSpec, SplitPlan};
use echoone_infer::ef::{EfReport, cases_of, compare, measure_sources, write_report};
use echoone_infer::predict::Predictor;
use echoone_metrics::DiscStep;
use echoone_run::samples::describe;
use echoone_run::{Checkpoint, run_samples};

use crate::backend::{Devices, Job};
use crate::commands::eval::parse_split;

/// Examples shown under `echoone ef --help`.
pub const EXAMPLES: &str = "\
Examples:
  echoone ef --dataset camus:/data/CAMUS --out ef         stated volumes against the reference masks
  echoone ef --run runs/camus --split test --out ef       and against the run's own masks";

/// Arguments of `echoone ef`.
#[derive(Args, Debug, Clone)]
pub struct EfArgs {
    /// Dataset (default: the run's own data).
    #[arg(long)]
    pub dataset: Option<String>,
    /// The run (a run folder, or one of its checkpoint folders): adds the volumes of its
    /// predictions, no clicks.
    #[arg(long)]
    pub run: Option<PathBuf>,
    /// Split: train, val or test (with --run, each case keeps the split its run gave it;
    /// without, the default seeded split), external (cases the run never saw) or all.
    #[arg(long, default_value = "all")]
    pub split: String,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
    /// Official SAM weights (only when the prior's latents come from SAM's encoder).
    #[arg(long)]
    pub sam_weights: Option<PathBuf>,
    /// Biplane disc height: camus (one height for ED and ES, the largest of the four masks, as
    /// the CAMUS organisers' script and so its stated volumes) or per-phase (each instant its own,
    /// the guideline method; unbiased when the long axis shortens in systole).
    #[arg(long, default_value = "camus")]
    pub discs: String,
    /// Images per forward pass.
    #[arg(long, default_value_t = 8)]
    pub batch_size: usize,
}

impl Job for EfArgs {
    fn run<B: AutodiffBackend>(self, devices: Devices<B::Device>) -> Result<()> {
        let split = parse_split(&self.split)?;
        let Some(discs) = DiscStep::parse(&self.discs) else {
            bail!("--discs {}: expected camus or per-phase", self.discs);
        };
        let ckpt = self.run.as_deref().map(Checkpoint::open).transpose()?;
        let specs: Vec<String> = match (&self.dataset, &ckpt) {
            (Some(d), _) => vec![d.clone()],
            (None, Some(c)) => c.config.datasets.clone(),
            (None, None) => bail!("give --dataset SPEC (or --run RUN to use its data)"),
        };
        let predictor = match ckpt {
            Some(c) => Some(Predictor::<B::InnerBackend>::new(
                c,
                self.sam_weights.as_deref(),
                &devices.main,
            )?),
            None => None,
        };
        // Each dataset measured apart: its references name its cases only.
        let (mut rows, mut skipped, mut given) = (Vec::new(), Vec::new(), Vec::new());
        for spec in &specs {
            let samples = match &predictor {
                // The split the run gave each case; external for cases it never saw.
                Some(p) => run_samples(p.checkpoint(), std::slice::from_ref(spec))?,
                None => {
                    let mut samples = DatasetSpec::parse(spec)?.load()?;
                    if split.is_some() {
                        echoone_data::split::assign(&mut samples, &SplitPlan::default(), None)?;
                    }
                    samples
                }
            };
            given.extend(samples.iter().map(|s| s.info.split));
            let samples: Vec<_> = samples
                .into_iter()
                .filter(|s| split.is_none() || s.info.split == split)
                .collect();
            if samples.is_empty() {
                continue;
            }
            let references = DatasetSpec::parse(spec)?
                .references()
                .with_context(|| format!("reading the stated volumes of {spec}"))?;
            let (r, s) = measure_sources(
                &samples,
                &references,
                predictor.as_ref(),
                self.batch_size,
                discs,
            )?;
            rows.extend(r);
            skipped.extend(s);
        }
        if rows.is_empty() && skipped.is_empty() {
            bail!(
                "none of the images given is in the {} split ({})",
                self.split,
                describe(given)
            );
        }
        if rows.is_empty() {
            let why = skipped
                .first()
                .map_or_else(|| "the data hold no case".to_string(), |s| s.reason.clone());
            bail!(
                "no case could be measured ({} skipped; first: {why})",
                skipped.len()
            );
        }
        let report = EfReport {
            dataset: specs.join(" "),
            split: self.split.clone(),
            checkpoint: self.run.clone(),
            discs,
            comparisons: compare(&rows),
            cases: cases_of(&rows, &skipped),
            skipped,
            rows,
        };
        let written = write_report(&report, &self.out)?;
        for c in &report.comparisons {
            println!(
                "{} vs {}: n {}, EF MAE {:.2} points, bias {:+.2}, 95 % LoA [{:+.2}, {:+.2}], r {:.3}",
                c.source.name(),
                c.against.name(),
                c.ef_pct.n,
                c.ef_pct.mae,
                c.ef_pct.bias,
                c.ef_pct.loa_low,
                c.ef_pct.loa_high,
                c.ef_pct.pearson_r
            );
        }
        println!(
            "{} rows, {} skipped; {} files in {}",
            report.rows.len(),
            report.skipped.len(),
            written.len(),
            self.out.display()
        );
        Ok(())
    }
}

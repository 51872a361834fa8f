//! `echoone ablate`.

use std::path::Path;

use anyhow::{Context, Result};
use burn::tensor::backend::AutodiffBackend;
use clap::Args;
use echoone_data::Split;
use echoone_infer::{EvalRequest, evaluate_run};
use echoone_run::{Checkpoint, RunBackend, TrainConfig, run_samples};
use echoone_train::ablate::{self, Row, Variant};
use echoone_train::{RunOptions, train_on};

use echoone_infer::clicks::Prompts;
use echoone_run::samples::of_split;

use crate::backend::{Devices, Job};
use crate::commands::train::{TrainArgs, default_out, newest_out, resolve_config, stopped_note};

/// Examples shown under `echoone ablate --help`.
pub const EXAMPLES: &str = "\
Examples:
  echoone ablate                                 the paper's LFFA x PC-Mask grid on the synthetic echoes
  echoone ablate --grid lffa --out runs/ablate-lffa
  echoone ablate --resume                        continue the newest runs/ablate-* grid";

/// Arguments of `echoone ablate`: the training flags plus the grid.
#[derive(Args, Debug, Clone)]
pub struct AblateArgs {
    /// Toggles to vary, every on/off combination (lffa, pc_mask, residual_cnn, fusion).
    #[arg(long, value_delimiter = ',', default_value = "lffa,pc_mask")]
    pub grid: Vec<String>,
    /// Evaluation clicks: gt, auto (the model's own; PC-Mask variants only) or both.
    #[arg(long, default_value = "gt")]
    pub prompts: String,
    /// Training flags shared by every variant (--out is the ablation folder).
    #[command(flatten)]
    pub train: TrainArgs,
}

impl AblateArgs {
    /// On `--resume`, the shared configuration of the ablation in `out`, read from the first
    /// variant that saved one (each variant's toggles are set on top of it), with `--epochs`.
    fn saved_base(&self, out: &Path, variants: &[Variant]) -> Result<Option<TrainConfig>> {
        if !self.train.resume {
            return Ok(None);
        }
        let Some(dir) = variants
            .iter()
            .map(|v| out.join(&v.name))
            .find(|d| d.join("config.json").is_file())
        else {
            return Ok(None);
        };
        // What `train --resume --out DIR` continues with: the saved configuration, --epochs.
        let mut saved = self.train.clone();
        saved.out = Some(dir);
        resolve_config(&saved).map(Some)
    }
}

impl Job for AblateArgs {
    fn run<B: AutodiffBackend>(self, devices: Devices<B::Device>) -> Result<()> {
        let variants = ablate::grid(&self.grid)?;
        let out = match (&self.train.out, self.train.resume) {
            (Some(out), _) => out.clone(),
            (None, true) => newest_out("ablate")?,
            (None, false) => default_out("ablate"),
        };
        let base = match self.saved_base(&out, &variants)? {
            Some(base) => base,
            None => {
                let mut fresh = self.train.clone();
                (fresh.out, fresh.resume) = (None, false);
                resolve_config(&fresh)?
            }
        };
        let on = devices.training(base.replicas);
        // The ablation folder records its backend as a run does, for `ablate --resume`; a
        // folder holding another ablation keeps its own (training its first variant refuses).
        if let Some(named) = &devices.named
            && (self.train.resume || !out.join(RunBackend::FILE).exists())
        {
            std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            named.save(&out)?;
        }
        let mut rows = Vec::new();
        let mut held_out = Split::Test;
        for variant in variants {
            let dir = out.join(&variant.name);
            eprintln!("== ablation {} -> {}", variant.name, dir.display());
            let options = RunOptions {
                out: dir.clone(),
                sam_weights: self.train.sam_weights.clone(),
                resume: self.train.resume,
                stop_after: self.train.stop_after,
                quiet: self.train.quiet,
                dashboard: !self.train.no_dashboard,
                fixed_shapes: devices.fixed_shapes,
                kernels: devices.kernels,
                backend: devices.named.clone(),
                collective: None,
            };
            let run = train_on::<B>(ablate::apply(&base, &variant), &options, &on)
                .with_context(|| format!("training variant {}", variant.name))?;
            if !run.complete {
                let note = stopped_note(&out, run.history.len());
                println!("variant {} {note}", variant.name);
                return Ok(());
            }
            let ckpt = Checkpoint::open(&dir)?;
            // The run's own data, each case in the split the run gave it; the test split, or
            // validation when the data leave none for test.
            let own = run_samples(&ckpt, &[])?;
            if !own.iter().any(|s| s.info.split == Some(Split::Test)) {
                held_out = Split::Val;
            }
            let samples = of_split(own, Some(held_out))?;
            let Some(sources) =
                Prompts::sources(&self.prompts, Prompts::GT, Prompts::Auto { refine: 0 })
            else {
                anyhow::bail!("--prompts {}: expected gt, auto or both", self.prompts);
            };
            let (mut names, mut evals) = (Vec::new(), Vec::new());
            for (name, prompts) in &sources {
                if *name == "auto" && ckpt.prior.is_none() {
                    eprintln!(
                        "variant {} has no PC-Mask: no automatic clicks to evaluate",
                        variant.name
                    );
                    continue;
                }
                let eval_dir = if sources.len() > 1 {
                    dir.join(format!("eval-{held_out}-{name}"))
                } else {
                    dir.join(format!("eval-{held_out}"))
                };
                names.push(*name);
                evals.push((*prompts, eval_dir));
            }
            let request = EvalRequest {
                sam_weights: self.train.sam_weights.clone(),
                batch_size: base.batch_size,
                workers: base.workers,
                overlays: 8,
                threads: on.len(),
                fixed_shapes: devices.fixed_shapes,
            };
            let reports =
                evaluate_run::<B::InnerBackend>(&ckpt, &samples, &request, &evals, &devices.main)
                    .with_context(|| format!("evaluating variant {}", variant.name))?;
            for (name, report) in names.iter().zip(&reports) {
                rows.push(Row::new(
                    variant.clone(),
                    name,
                    ckpt.state.best.map(|b| b.0),
                    &report.pixels,
                ));
            }
            ablate::write(&out, &rows, held_out.name())?;
        }
        print!("{}", ablate::markdown(&rows, held_out.name()));
        println!("\ncomparison in {}", out.join("ablation.md").display());
        Ok(())
    }
}

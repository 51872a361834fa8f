//! Evaluating a saved checkpoint on a dataset: metrics per structure, plane and centre, in
//! pixels and (where the data give a spacing) millimetres, with overlays.

use std::path::{Path, PathBuf};

use burn::tensor::backend::Backend;
use echoone_data::{Mode, Sample};
use echoone_losses::EchoOneLossConfig;
use echoone_metrics::{Summary, write_summary};

use crate::checkpoint::{self, Checkpoint};
use crate::data;
use crate::error::{Result, TrainError};
use crate::evaluate::{EvalOptions, Evaluation, LABELS, evaluate};
use crate::experiment::write_overlays;
use crate::extractor;
use crate::prior::{self, BatchPrior};

/// What to evaluate and where to write it.
#[derive(Debug, Clone)]
pub struct EvalRequest {
    /// Official SAM weights, needed only when the prior's latents come from SAM's encoder.
    pub sam_checkpoint: Option<PathBuf>,
    /// Output folder (`summary.json`, `summary.md`, `mm/`, `overlays/`).
    pub out: PathBuf,
    /// Items per forward pass.
    pub batch_size: usize,
    /// Threads preparing items.
    pub workers: usize,
    /// Overlays to write.
    pub overlays: usize,
    /// Threads running batches, each with its own handle on the model.
    pub threads: usize,
    /// Keep every batch's shapes the same (see [`EvalOptions::fixed_shapes`]).
    pub fixed_shapes: bool,
}

/// The summaries of an evaluation: in pixels, and in millimetres when every sample has a spacing.
pub struct EvalReport {
    /// Metrics in pixels of the model size.
    pub pixels: Summary,
    /// Metrics in millimetres.
    pub millimetres: Option<Summary>,
    /// Mean Dice over structures.
    pub mean_dice: f64,
    /// Items evaluated.
    pub items: usize,
}

/// Evaluates the checkpoint on `samples` and writes the summaries and overlays into `req.out`.
pub fn evaluate_checkpoint<B: Backend>(
    ckpt: &Checkpoint,
    samples: &[Sample],
    req: &EvalRequest,
    device: &B::Device,
) -> Result<EvalReport> {
    if samples.is_empty() {
        return Err(TrainError::Config("no sample to evaluate".into()));
    }
    let config = &ckpt.config;
    let model = checkpoint::load_model::<B>(&config.model, &ckpt.dir, device)?;
    let latents = match &ckpt.prior {
        Some(fitted) => {
            let side = config.model.input_size;
            let ex = extractor::build::<B>(
                fitted.extractor,
                &config.model,
                req.sam_checkpoint.as_deref(),
                device,
            )?;
            Some(ex.latents(&prior::model_images(samples, side), side, device))
        }
        None => None,
    };
    let batch_prior = ckpt
        .prior
        .as_ref()
        .zip(latents.as_deref())
        .map(|(fitted, latents)| BatchPrior { fitted, latents });
    let dataset = data::dataset(samples, config, Mode::Eval);
    let loss = EchoOneLossConfig::new().init();
    let eval = evaluate(
        &model,
        &dataset,
        batch_prior.as_ref(),
        &EvalOptions {
            batch_size: req.batch_size,
            workers: req.workers,
            keep: req.overlays,
            loss: &loss,
            millimetres: true,
            threads: req.threads,
            fixed_shapes: req.fixed_shapes,
        },
        device,
    )?;
    let pixels = eval.summary();
    write_summary(&pixels, &req.out)?;
    let millimetres = eval.cases_mm.as_ref().map(|c| Summary::new(c, &LABELS));
    if let Some(mm) = &millimetres {
        write_summary(mm, &req.out.join("mm"))?;
    }
    write_overlays(&req.out.join("overlays"), &eval.kept)?;
    Ok(EvalReport {
        mean_dice: Evaluation::mean_dice(&pixels),
        items: eval.cases.len(),
        pixels,
        millimetres,
    })
}

/// The samples to evaluate: `specs` when given (all their samples, or one split), else the
/// run's own data and split (`splits.json` of the experiment holding the checkpoint).
pub fn select_samples(
    ckpt: &Checkpoint,
    specs: &[String],
    split: Option<echoone_data::Split>,
) -> Result<Vec<Sample>> {
    let experiment = experiment_of(&ckpt.dir);
    let (specs, splits) = if specs.is_empty() {
        let splits = experiment.map(|e| e.join("splits.json"));
        (ckpt.config.datasets.clone(), splits)
    } else {
        (specs.to_vec(), None)
    };
    let mut samples = Vec::new();
    for spec in &specs {
        samples.extend(echoone_data::DatasetSpec::parse(spec)?.load()?);
    }
    if let Some(split) = split {
        // The run's own splits.json when there is one; else the plan's seeded draw.
        let file = splits.filter(|p| p.is_file());
        echoone_data::split::assign(&mut samples, &ckpt.config.split, file.as_deref())?;
        samples.retain(|s| s.info.split == Some(split));
    }
    Ok(samples)
}

/// The experiment folder holding checkpoint folder `dir` (`EXP/checkpoints/NAME`).
fn experiment_of(dir: &Path) -> Option<PathBuf> {
    let exp = dir.parent()?.parent()?;
    exp.join("config.json").is_file().then(|| exp.to_path_buf())
}

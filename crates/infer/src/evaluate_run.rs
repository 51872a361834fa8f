//! Evaluating a saved checkpoint (the `eval` and `ablate` commands): load the run's model and
//! prior, score it with [`evaluate`](fn@crate::evaluate) once per click source, and write the metrics per
//! structure, plane and centre, in pixels and (where the data give a spacing) millimetres, with
//! overlays.

use std::path::PathBuf;

use burn::tensor::backend::Backend;
use echoone_data::{Mode, Sample, Structure};
use echoone_losses::EchoOneLossConfig;
use echoone_metrics::{Summary, write_summary};

use crate::clicks::Prompts;
use crate::error::{InferError, Result};
use crate::evaluate::{EvalOptions, Evaluation, LABELS, evaluate};
use crate::latent_extractor;
use crate::overlay::write_overlays;
use crate::run_prior::{self, BatchPrior};
use echoone_run::checkpoint::{self, Checkpoint};
use echoone_run::samples;

/// How to evaluate.
#[derive(Debug, Clone)]
pub struct EvalRequest {
    /// Official SAM weights, needed only when the prior's latents come from SAM's encoder.
    pub sam_weights: Option<PathBuf>,
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
    /// Items whose structure is absent from the image.
    pub absent: usize,
    /// Of those, the items predicted present over more than 1 % of the image.
    pub absent_predicted: usize,
}

/// Evaluates the checkpoint on `samples` once per click source of `runs`, each writing its
/// summaries (`summary.json`, `summary.md`, `mm/`) and overlays into its folder; the model is
/// loaded and the prior's latents computed once for all of them.
pub fn evaluate_run<B: Backend>(
    ckpt: &Checkpoint,
    samples: &[Sample],
    req: &EvalRequest,
    runs: &[(Prompts, PathBuf)],
    device: &B::Device,
) -> Result<Vec<EvalReport>> {
    if samples.is_empty() {
        return Err(InferError::Config("no sample to evaluate".into()));
    }
    let config = &ckpt.config;
    let model = checkpoint::load_model::<B>(&config.model, &ckpt.dir, device)?;
    let latents = match &ckpt.prior {
        Some(fitted) => {
            let side = config.model.input_size;
            let ex = latent_extractor::build::<B>(
                fitted.extractor,
                &config.model,
                req.sam_weights.as_deref(),
                device,
            )?;
            Some(ex.latents(&run_prior::model_images(samples, side), side, device))
        }
        None => None,
    };
    let batch_prior = ckpt
        .prior
        .as_ref()
        .zip(latents.as_deref())
        .map(|(fitted, latents)| BatchPrior { fitted, latents });
    let dataset = samples::dataset(samples, config, Mode::Eval);
    let loss = EchoOneLossConfig::new().init();
    let mut reports = Vec::with_capacity(runs.len());
    for (prompts, out) in runs {
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
                prompts: *prompts,
            },
            device,
        )?;
        let pixels = eval.summary();
        write_summary(&pixels, out)?;
        let millimetres = eval.cases_mm.as_ref().map(|c| Summary::new(c, &LABELS));
        if let Some(mm) = &millimetres {
            write_summary(mm, &out.join("mm"))?;
        }
        write_overlays(&out.join("overlays"), &eval.kept)?;
        reports.push(EvalReport {
            mean_dice: Evaluation::mean_dice(&pixels),
            items: eval.cases.len(),
            absent: eval.absent,
            absent_predicted: eval.absent_predicted,
            pixels,
            millimetres,
        });
    }
    Ok(reports)
}

/// `prompts.md`: the Dice of the same checkpoint and data under several click sources, per
/// structure and per plane, each as a ratio to the first (the ground-truth clicks), and how often
/// an absent structure was predicted present.
pub fn compare_prompts(runs: &[(String, &EvalReport)]) -> String {
    use std::fmt::Write as _;
    let mut md = String::from("# Dice by click source\n\n");
    let Some((_, first)) = runs.first() else {
        return md;
    };
    let dice = |r: &EvalReport, plane: Option<&str>, label: &str| -> f64 {
        let stats = match plane {
            Some(p) => r
                .pixels
                .statistics
                .per_plane
                .get(p)
                .and_then(|m| m.get(label)),
            None => r.pixels.statistics.per_label.get(label),
        };
        stats
            .and_then(|s| s.get("Dice"))
            .map_or(f64::NAN, |s| s.mean)
    };
    let names: Vec<&str> = runs.iter().map(|(n, _)| n.as_str()).collect();
    let _ = writeln!(
        md,
        "| plane | structure | {} | {} |",
        names.join(" | "),
        names[1..]
            .iter()
            .map(|n| format!("{n} / {}", names[0]))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(md, "|{}", "---|".repeat(2 + 2 * names.len() - 1));
    let mut planes: Vec<Option<&str>> = vec![None];
    planes.extend(
        first
            .pixels
            .statistics
            .per_plane
            .keys()
            .map(|p| Some(p.as_str())),
    );
    for plane in planes {
        for s in Structure::ALL {
            let label = s.label().to_string();
            let values: Vec<f64> = runs.iter().map(|(_, r)| dice(r, plane, &label)).collect();
            if values.iter().all(|v| v.is_nan()) {
                continue;
            }
            let f = |v: f64| {
                if v.is_finite() {
                    format!("{v:.4}")
                } else {
                    "-".into()
                }
            };
            let ratios: Vec<String> = values[1..].iter().map(|v| f(v / values[0])).collect();
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                plane.unwrap_or("all"),
                s.name(),
                values.iter().map(|&v| f(v)).collect::<Vec<_>>().join(" | "),
                ratios.join(" | ")
            );
        }
    }
    let _ = writeln!(
        md,
        "\nAbsent structures (empty reference) predicted present over more than 1 % of the image:\n"
    );
    for (name, r) in runs {
        let pct = 100.0 * r.absent_predicted as f64 / r.absent.max(1) as f64;
        let _ = writeln!(
            md,
            "- {name}: {} of {} ({pct:.1} %)",
            r.absent_predicted, r.absent
        );
    }
    md
}

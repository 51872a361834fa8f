//! The training loop of the spec: seeded batches of (image, structure) items, the EchoONE loss,
//! Adam (or AdamW with warm-up and poly decay), validation every epoch, `latest` and `best`
//! checkpoints (also every `checkpoint_every` steps inside an epoch), exact resume, the run log
//! (`events.jsonl`, see [`crate::monitor::events`]) and the experiment's reports.
//!
//! This file sets a run up (data, split, PC-Mask prior, model or checkpoint); the training itself
//! is in its parts: `fit` (the loop over the epochs and the run's end), `epoch` (one epoch's
//! steps), `validation` (an epoch's validation and what its end saves), `saving` (checkpoints,
//! mid-epoch ones and stops, and the history files) and `state` (what the loop carries along).

use std::cell::Cell;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use burn::data::dataset::Dataset;
use burn::optim::{AdamConfig, AdamWConfig, Optimizer};
use burn::tensor::backend::AutodiffBackend;
use echoone_data::{Mode, Sample, Split};
use echoone_infer::latent_extractor;
use echoone_infer::run_prior::{self, BatchPrior};
use echoone_model::EchoOne;
use echoone_pc_mask::{FittedPrior, PriorConfig};
use echoone_run::checkpoint::{self, Checkpoint, TrainState};
use echoone_run::config::{OptimizerKind, TrainConfig};
use echoone_run::epoch_history::EpochRecord;
use echoone_run::run_folder::{RunBackend, RunFolder};
use echoone_run::samples::{self, in_split};
use serde_json::json;

use crate::collective::Collective;
use crate::error::{Result, TrainError};
use crate::model_setup;
use crate::monitor::events::RunLog;
use crate::monitor::progress::Progress;
use crate::prior_fit;

mod epoch;
mod fit;
mod saving;
mod state;
mod validation;

/// Adam's epsilon, as PyTorch's (burn's default is 1e-5).
const EPSILON: f32 = 1e-8;

/// How to run: where, from which SAM weights, and whether to resume.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The experiment folder.
    pub out: PathBuf,
    /// Official SAM weights to start from.
    pub sam_weights: Option<PathBuf>,
    /// Continue from the experiment's latest checkpoint.
    pub resume: bool,
    /// Stop after this many epochs of the run (as if killed then; for resume tests).
    pub stop_after: Option<usize>,
    /// Print nothing.
    pub quiet: bool,
    /// Show burn-train's dashboard when stdout and stderr are terminals.
    pub dashboard: bool,
    /// Give every batch the same shapes, for backends that compile kernels per shape: the
    /// images of a training or validation batch padded to the most any batch of the run has
    /// (see [`echoone_infer::items::image_slots`]), the last validation batch filled up. Changes no
    /// result.
    pub fixed_shapes: bool,
    /// The kernels the backend compiled so far, where it compiles them (shown while the run
    /// warms up, and written to `steps.csv`).
    pub kernels: Option<fn() -> usize>,
    /// The backend and device the run trains on, recorded in the run's `backend.json` for the
    /// commands that use its checkpoints (`None`: nothing recorded).
    pub backend: Option<RunBackend>,
    /// The processes this one trains with (see [`crate::collective`]; `None`: alone). Process 0
    /// leads: it alone validates, writes the run folder and prints; the others print nothing
    /// but errors.
    pub collective: Option<Arc<dyn Collective>>,
}

/// What a run ended with.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// The experiment folder.
    pub dir: PathBuf,
    /// Best mean validation Dice and its epoch.
    pub best: Option<(f64, usize)>,
    /// Every epoch's record.
    pub history: Vec<EpochRecord>,
    /// Wall-clock seconds of this invocation.
    pub seconds: f64,
    /// Whether every configured epoch is done (false when stopped early: `--resume` continues).
    pub complete: bool,
}

/// Trains `config` into `options.out` on `device`.
pub fn train<B: AutodiffBackend>(
    config: TrainConfig,
    options: &RunOptions,
    device: &B::Device,
) -> Result<RunSummary> {
    train_on::<B>(config, options, std::slice::from_ref(device))
}

/// Trains `config` into `options.out` on `devices`, data parallel when there are several
/// (see [`crate::parallel`]): each batch of `batch_size` items is split across them and one
/// optimiser step is taken per batch on the first device, which also holds the model, runs
/// validation and writes the checkpoints. With one device this is [`train`].
pub fn train_on<B: AutodiffBackend>(
    config: TrainConfig,
    options: &RunOptions,
    devices: &[B::Device],
) -> Result<RunSummary> {
    config.validate()?;
    // On a thread of its own with a large stack: the model travels by value through the loop's
    // functions, and in a debug build their frames overflow the 2 MiB stack of a test thread or
    // an async runtime's worker.
    std::thread::scope(|scope| {
        let run = std::thread::Builder::new()
            .name("echoone-train".into())
            .stack_size(TRAIN_STACK)
            .spawn_scoped(scope, || match config.optimizer {
                OptimizerKind::Adam => {
                    let optim = adam().init();
                    Run::<B>::start(config, options, devices)?.fit(optim)
                }
                OptimizerKind::AdamW => {
                    let optim = adamw(config.weight_decay).init();
                    Run::<B>::start(config, options, devices)?.fit(optim)
                }
            })
            .map_err(|e| TrainError::Config(format!("cannot start the training thread: {e}")))?;
        run.join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// The stack of the thread a run trains on ([`train_on`]).
const TRAIN_STACK: usize = 256 << 20;

/// Adam with PyTorch's defaults (`torch.optim.Adam`: epsilon [`EPSILON`]).
fn adam() -> AdamConfig {
    AdamConfig::new().with_epsilon(EPSILON)
}

/// AdamW with PyTorch's epsilon and `weight_decay`.
fn adamw(weight_decay: f64) -> AdamWConfig {
    AdamWConfig::new()
        .with_epsilon(EPSILON)
        .with_weight_decay(weight_decay as f32)
}

/// PC-Mask's fitted prior and the latents of the training and validation images.
struct RunPrior {
    fitted: FittedPrior,
    train: Vec<Vec<f32>>,
    val: Vec<Vec<f32>>,
}

/// A run being set up or trained.
struct Run<'a, B: AutodiffBackend> {
    config: TrainConfig,
    options: &'a RunOptions,
    /// The main device: model, optimiser, validation.
    device: &'a B::Device,
    /// Every device a batch is split across (the main one first).
    devices: &'a [B::Device],
    exp: RunFolder,
    train: Vec<Sample>,
    val: Vec<Sample>,
    prior: Option<RunPrior>,
    progress: Progress,
    started: Instant,
    /// Image slots of every training batch (see [`RunOptions::fixed_shapes`]; 0: none).
    image_slots: usize,
    /// Optimiser steps per epoch.
    per_epoch: usize,
    /// `events.jsonl`.
    log: RunLog,
    /// Whether the processes of a multi-process run agreed, in the last step, to stop.
    agreed_stop: Cell<bool>,
}

impl<'a, B: AutodiffBackend> Run<'a, B> {
    /// Prepares the experiment folder, the data, its split and the PC-Mask prior.
    fn start(
        config: TrainConfig,
        options: &'a RunOptions,
        devices: &'a [B::Device],
    ) -> Result<Self> {
        let started = Instant::now();
        let device = devices
            .first()
            .ok_or_else(|| TrainError::Config("no device to train on".into()))?;
        let leader = options.collective.as_ref().is_none_or(|c| c.rank() == 0);
        let progress = Progress::new(
            options.quiet || !leader,
            options.dashboard && leader,
            options.kernels,
        );
        progress.phase("loading the data");
        progress.line(&format!("loading {}", config.datasets.join(", ")));
        let exp = if leader {
            RunFolder::open(&options.out, &config, options.resume)?
        } else {
            RunFolder::follow(&options.out)
        };
        // The data and their split first: a run refused for its data leaves no run behind.
        let (samples, split_record) =
            samples::load_samples(&config.datasets, &config, &exp.splits())?;
        let (train, val) = train_and_val(&samples, &config)?;
        let log = if leader {
            config.save_json(&exp.config())?;
            if let Some(record) = split_record {
                record.write(&exp.splits())?;
            }
            if let Some(backend) = &options.backend {
                backend.save(&exp.dir)?;
            }
            RunLog::open(&exp.events())?
        } else {
            RunLog::silent(&exp.events())
        };
        let per_epoch = steps_per_epoch(
            &config,
            samples::dataset(&train, &config, Mode::Train).len(),
        );
        log.event(
            "started",
            json!({
                "resume": options.resume,
                "epochs": config.epochs,
                "steps_per_epoch": per_epoch,
                "total_steps": per_epoch * config.epochs,
                "checkpoint_every": config.checkpoint_every,
                "devices": devices.len(),
                "processes": options.collective.as_ref().map_or(1, |c| c.size()),
                "backend": options.backend,
            }),
        )?;
        progress.line(&format!(
            "{}: {} training and {} validation images ({} test held out)",
            exp.dir.display(),
            train.len(),
            val.len(),
            samples.len() - train.len() - val.len()
        ));
        if let Some(c) = &options.collective {
            progress.line(&format!(
                "data parallel over {} processes with {} device(s) each: each batch of {} split \
                 across them, one optimiser step per batch",
                c.size(),
                devices.len(),
                config.batch_size
            ));
        } else if devices.len() > 1 {
            progress.line(&format!(
                "data parallel on {} devices: each batch of {} split across them, one \
                 optimiser step per batch",
                devices.len(),
                config.batch_size
            ));
        }
        let mut run = Self {
            config,
            options,
            device,
            devices,
            exp,
            train,
            val,
            prior: None,
            progress,
            started,
            image_slots: 0,
            per_epoch,
            log,
            agreed_stop: Cell::new(false),
        };
        if run.config.model.pc_mask {
            run.prior = Some(run.fit_prior()?);
        }
        Ok(run)
    }

    /// Fits PC-Mask's prior on the training images (or reloads the run's own on resume), and
    /// extracts the latents of the training and validation images.
    fn fit_prior(&self) -> Result<RunPrior> {
        self.progress
            .phase("extracting the images' latents for PC-Mask's prior");
        let side = self.config.model.input_size;
        let sam = self.options.sam_weights.as_deref();
        let kind = latent_extractor::choose(&self.config, sam);
        let extractor =
            latent_extractor::build::<B::InnerBackend>(kind, &self.config.model, sam, self.device)?;
        let images = run_prior::model_images(&self.train, side);
        let train_latents = extractor.latents(&images, side, self.device);
        let val_latents =
            extractor.latents(&run_prior::model_images(&self.val, side), side, self.device);
        let dir = self.exp.prior();
        let fitted = if self.options.resume && dir.join("prior.json").is_file() {
            run_prior::load(&dir)?
        } else {
            self.progress.phase("fitting PC-Mask's prior (k-means)");
            let prior_config = PriorConfig::new()
                .with_k(self.config.model.prior_k)
                .with_seed(self.config.seed)
                .with_mode(self.config.prior_mode)
                .with_side(self.config.model.low_res_size())
                .with_extractor(extractor.kind());
            let fitted = prior_fit::fit(&self.train, &train_latents, &prior_config)?;
            let purity = fitted.purity.markdown();
            if self.leader() {
                fitted.save(&dir)?;
                echoone_data::png_io::write_atomic(&dir.join("purity.md"), purity.as_bytes())?;
            }
            self.progress.line(&format!(
                "PC-Mask prior fitted ({:?}, K = {}), cluster purity against the planes:\n{purity}",
                fitted.extractor, fitted.k
            ));
            fitted
        };
        if fitted.extractor != extractor.kind() {
            return Err(TrainError::file(
                dir.join("prior.json"),
                format!(
                    "fitted with {:?} but this run extracts {:?}",
                    fitted.extractor,
                    extractor.kind()
                ),
            ));
        }
        Ok(RunPrior {
            fitted,
            train: train_latents,
            val: val_latents,
        })
    }

    /// The processes this one trains with, if any.
    fn collective(&self) -> Option<&dyn Collective> {
        self.options.collective.as_deref()
    }

    /// Whether this process leads the run (it alone validates and writes): always, when it
    /// trains alone.
    fn leader(&self) -> bool {
        self.collective().is_none_or(|c| c.rank() == 0)
    }

    /// Why the run should stop at this step boundary, if it should: asked of this process
    /// (a signal, the dashboard) or, in a multi-process run, of any of them in the last step
    /// (all stop at the same step).
    fn stop_reason(&self) -> Option<&'static str> {
        match self.collective() {
            Some(_) if self.agreed_stop.get() => Some("a signal to one of the run's processes"),
            Some(_) => None,
            None => self.progress.stop_reason(),
        }
    }

    /// PC-Mask's prior for the training batches or, with `val`, the validation batches (`None`
    /// without PC-Mask).
    fn batch_prior(&self, val: bool) -> Option<BatchPrior<'_>> {
        self.prior.as_ref().map(|p| BatchPrior {
            fitted: &p.fitted,
            latents: if val { &p.val } else { &p.train },
        })
    }

    /// Builds the model and, on resume, restores model, optimiser and state from the latest
    /// checkpoint.
    fn restore<O>(&self, optim: O) -> Result<(EchoOne<B>, O, TrainState)>
    where
        O: Optimizer<EchoOne<B>, B>,
    {
        self.progress.phase("building the model");
        let latest = self.exp.latest();
        if self.options.resume
            && let Some(dir) = checkpoint::resolve(&latest)
        {
            let ckpt = Checkpoint::open(&dir)?;
            if !ckpt.config.same_run(&self.config) {
                return Err(TrainError::file(
                    ckpt.dir.join("config.json"),
                    "the checkpoint's model or data differ from this run's configuration",
                ));
            }
            let state = &ckpt.state;
            if let Some(p) = &state.position
                && (p.epoch != state.epoch + 1
                    || p.steps > self.per_epoch
                    || p.seed != self.config.seed)
            {
                return Err(TrainError::file(
                    ckpt.dir.join("state.json"),
                    format!(
                        "holds a place inside epoch {} (step {}, seed {}) that this run cannot \
                         continue: {} epochs done, {} steps per epoch, seed {}",
                        p.epoch, p.steps, p.seed, state.epoch, self.per_epoch, self.config.seed
                    ),
                ));
            }
            let model = checkpoint::load_model::<B>(&self.config.model, &ckpt.dir, self.device)?;
            let epoch_step = state.position.as_ref().map_or(0, |p| p.steps);
            let mut note = format!(
                "resumed from {} after epoch {}{}",
                ckpt.dir.display(),
                state.epoch,
                if epoch_step > 0 {
                    format!(" and step {epoch_step} of epoch {}", state.epoch + 1)
                } else {
                    String::new()
                }
            );
            let sam_loaded = self.options.sam_weights.is_some();
            let model = model_setup::freeze(model, self.config.freeze, sam_loaded, &mut note);
            let optim = if ckpt.has_optimizer() {
                optim.load_record(ckpt.optimizer::<B, O::Record>(self.device)?)
            } else {
                optim
            };
            self.progress.line(&note);
            self.log.event(
                "resumed",
                json!({
                    "epoch": ckpt.state.epoch,
                    "step": ckpt.state.step,
                    "epoch_step": epoch_step,
                    "checkpoint": ckpt.dir,
                }),
            )?;
            return Ok((model, optim, ckpt.state));
        }
        let (model, note) = model_setup::build::<B>(
            &self.config,
            self.options.sam_weights.as_deref(),
            self.device,
        )?;
        self.progress.line(&format!("model: {note}"));
        Ok((model, optim, TrainState::default()))
    }

    /// Trains from the current state to the configured number of epochs; an error ends the run
    /// log with `failed`.
    fn fit<O>(mut self, optim: O) -> Result<RunSummary>
    where
        O: Optimizer<EchoOne<B>, B>,
    {
        let result = self.fit_epochs(optim);
        if let Err(e) = &result {
            // The error itself is what matters; a log that cannot be written adds nothing.
            let _ = self.log.event("failed", json!({ "error": e.to_string() }));
        }
        result
    }
}

/// Full batches per epoch (a last partial batch is left out, as PyTorch's `drop_last`, so that
/// every step has the same shapes), at most `steps_per_epoch`; one partial batch when there are
/// fewer items than a batch.
fn steps_per_epoch(config: &TrainConfig, items: usize) -> usize {
    let all = (items / config.batch_size.max(1)).max(1);
    match config.steps_per_epoch {
        0 => all,
        n => n.min(all),
    }
}

/// The training and validation datasets; an error naming the split when one is empty.
pub fn train_and_val(
    samples: &[Sample],
    config: &TrainConfig,
) -> Result<(Vec<Sample>, Vec<Sample>)> {
    let train = in_split(samples, Split::Train);
    let val = in_split(samples, Split::Val);
    for (name, part) in [("training", &train), ("validation", &val)] {
        if part.is_empty() {
            return Err(TrainError::Config(format!(
                "the {name} split is empty ({} samples in all): use more cases or other split \
                 fractions (val {}, test {})",
                samples.len(),
                config.split.val,
                config.split.test
            )));
        }
    }
    Ok((train, val))
}

#[cfg(test)]
mod tests {
    use burn::nn::{Linear, LinearConfig};
    use burn::optim::{GradientsParams, Optimizer};
    use burn::tensor::Tensor;

    use super::*;

    type Ad = burn_autodiff::Autodiff<burn_flex::Flex>;

    /// How far one optimiser step at lr 1 moves the weight of `loss = 1e-6 * w`.
    fn first_step<O: Optimizer<Linear<Ad>, Ad>>(mut optim: O) -> f32 {
        let device = Default::default();
        let linear = LinearConfig::new(1, 1).with_bias(false).init::<Ad>(&device);
        let before: f32 = linear.weight.val().into_scalar();
        let loss = linear
            .forward(Tensor::<Ad, 2>::ones([1, 1], &device))
            .sum()
            .mul_scalar(1e-6);
        let grads = GradientsParams::from_grads(loss.backward(), &linear);
        let linear = optim.step(1.0, linear, grads);
        before - linear.weight.val().into_scalar()
    }

    #[test]
    fn adam_and_adamw_take_pytorchs_epsilon() {
        // The first Adam step is lr * g / (|g| + eps): 0.990 at PyTorch's 1e-8 for g = 1e-6,
        // 0.091 at burn's default 1e-5.
        for (name, moved) in [
            ("Adam", first_step(adam().init())),
            ("AdamW", first_step(adamw(0.0).init())),
        ] {
            assert!((moved - 0.990).abs() < 1e-3, "{name} moved {moved}");
        }
        let burns = first_step(AdamConfig::new().init());
        assert!((burns - 0.091).abs() < 1e-3, "burn's default moved {burns}");
    }
}

//! The training loop of the spec: seeded batches of (image, structure) items, the EchoONE loss,
//! Adam (or AdamW with warm-up and poly decay), validation every epoch, `latest` and `best`
//! checkpoints (also every `checkpoint_every` steps inside an epoch), exact resume, the run log
//! (`events.jsonl`, see [`crate::monitor::events`]) and the experiment's reports.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::data::dataset::Dataset;
use burn::module::AutodiffModule;
use burn::optim::{AdamConfig, AdamWConfig, Optimizer};
use burn::tensor::backend::AutodiffBackend;
use echoone_data::{Mode, Sample, SegItem, SegmentationDataset, Split};
use echoone_losses::{EchoOneLoss, EchoOneLossConfig};
use echoone_metrics::write_summary;
use echoone_model::EchoOne;
use echoone_pc_mask::{FittedPrior, PriorConfig};
use serde_json::json;

use crate::epoch_order::epoch_items;
use crate::error::{Result, TrainError};
use crate::model_setup;
use crate::monitor::events::RunLog;
use crate::monitor::progress::Progress;
use crate::monitor::steps_csv::StepsLog;
use crate::parallel::{parallel_step, shares};
use crate::prior_fit;
use crate::schedule::learning_rate;
use crate::step::StepStatus;
use crate::step::{LossTerms, train_step};
use echoone_infer::clicks::Prompts;
use echoone_infer::evaluate::{EvalOptions, Evaluation, evaluate};
use echoone_infer::items::{batch_with_prior, image_slots, load_items};
use echoone_infer::latent_extractor;
use echoone_infer::overlay::write_overlays;
use echoone_infer::run_prior::{self, BatchPrior};
use echoone_run::checkpoint::{self, Checkpoint, CheckpointParts, EpochPosition, TrainState};
use echoone_run::config::{OptimizerKind, TrainConfig};
use echoone_run::epoch_history::{self, EpochRecord};
use echoone_run::run_folder::{RunBackend, RunFolder};
use echoone_run::samples::{self, in_split};

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
    match config.optimizer {
        OptimizerKind::Adam => {
            let optim = adam().init();
            Run::<B>::start(config, options, devices)?.fit(optim)
        }
        OptimizerKind::AdamW => {
            let optim = adamw(config.weight_decay).init();
            Run::<B>::start(config, options, devices)?.fit(optim)
        }
    }
}

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
        let progress = Progress::new(options.quiet, options.dashboard, options.kernels);
        progress.phase("loading the data");
        progress.line(&format!("loading {}", config.datasets.join(", ")));
        let exp = RunFolder::open(&options.out, &config, options.resume)?;
        // The data and their split first: a run refused for its data leaves no run behind.
        let (samples, split_record) =
            samples::load_samples(&config.datasets, &config, &exp.splits())?;
        let (train, val) = train_and_val(&samples, &config)?;
        config.save_json(&exp.config())?;
        if let Some(record) = split_record {
            record.write(&exp.splits())?;
        }
        if let Some(backend) = &options.backend {
            backend.save(&exp.dir)?;
        }
        let log = RunLog::open(&exp.events())?;
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
        if devices.len() > 1 {
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
            fitted.save(&dir)?;
            let purity = fitted.purity.markdown();
            echoone_data::png_io::write_atomic(&dir.join("purity.md"), purity.as_bytes())?;
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

    /// The body of [`fit`](Self::fit).
    fn fit_epochs<O>(&mut self, optim: O) -> Result<RunSummary>
    where
        O: Optimizer<EchoOne<B>, B>,
    {
        let (mut model, mut optim, mut state) = self.restore(optim)?;
        if !state.history.is_empty() {
            // A kill between saving `latest` and writing these would leave them an epoch behind.
            self.write_history(&state)?;
        }
        let loss_fn = EchoOneLossConfig::new().init();
        let train_ds = samples::dataset(&self.train, &self.config, Mode::Train);
        let val_ds = samples::dataset(&self.val, &self.config, Mode::Eval);
        let per_epoch = self.per_epoch;
        let total_steps = per_epoch * self.config.epochs;
        self.image_slots = self.train_image_slots(&train_ds, per_epoch);
        let train_prior = self.batch_prior(false);
        let val_prior = self.batch_prior(true);
        let mut steps_log = StepsLog::open(&self.exp.dir.join("steps.csv"))?;
        let mut first_step = true;
        let (mut epochs_run, mut steps_run) = (0, 0);
        // Where `--resume` would continue now: (epochs done, steps done in the next).
        let mut latest_at = (state.epoch, state.position.as_ref().map_or(0, |p| p.steps));
        let mut resume_at = state.position.take();
        while state.epoch < self.config.epochs {
            if self.options.stop_after.is_some_and(|n| epochs_run >= n) {
                break;
            }
            let epoch = state.epoch + 1;
            let t0 = Instant::now();
            train_ds.set_epoch(epoch as u64);
            let order = epoch_items(&train_ds, self.config.order, self.config.seed, epoch as u64);
            // A mid-epoch checkpoint's place: its steps are done, its sums carried on.
            let from = resume_at.take().filter(|p| p.epoch == epoch);
            let done_before = from.as_ref().map_or(0, |p| p.steps);
            let earlier_seconds = from.as_ref().map_or(0.0, |p| p.train_seconds);
            let mut sums: BTreeMap<String, f64> =
                from.as_ref().map(EpochPosition::sums).unwrap_or_default();
            let (mut seen, mut lr) = from
                .as_ref()
                .map_or((0, self.config.lr), |p| (p.seen, p.lr));
            let seen_before = seen;
            // The epoch's steps done so far (by this process and any before it).
            let mut epoch_steps = done_before;
            // What a checkpoint after `steps` steps of this epoch keeps of it.
            let seed = self.config.seed;
            let mid_epoch = move |steps, lr, seen, sums: &BTreeMap<String, f64>| {
                EpochPosition {
                    epoch,
                    steps,
                    seed,
                    lr,
                    seen,
                    sums: BTreeMap::new(),
                    train_seconds: earlier_seconds + t0.elapsed().as_secs_f64(),
                }
                .with_sums(sums)
            };
            for (i, idx) in order
                .chunks(self.config.batch_size)
                .take(per_epoch)
                .enumerate()
                .skip(done_before)
            {
                if self.progress.stop_reason().is_some() {
                    break;
                }
                lr = learning_rate(&self.config, state.step, total_steps, per_epoch);
                self.progress.phase(&format!(
                    "epoch {epoch}: step {}/{per_epoch}{}",
                    i + 1,
                    if first_step && self.options.kernels.is_some() {
                        " (the first steps compile the GPU kernels)"
                    } else {
                        ""
                    }
                ));
                let at = json!({ "epoch": epoch, "step": i + 1, "global_step": state.step + 1 });
                self.log.event("step_started", at.clone())?;
                let step_start = Instant::now();
                let items = load_items(&train_ds, idx, self.config.workers)?;
                let (next, losses) =
                    self.step(model, &mut optim, items, train_prior.as_ref(), &loss_fn, lr)?;
                model = next;
                let step_seconds = step_start.elapsed().as_secs_f64();
                let kernels = self.options.kernels.map(|count| count());
                steps_log.write(
                    epoch,
                    i + 1,
                    idx.len(),
                    step_seconds,
                    &self.started,
                    kernels,
                )?;
                if first_step {
                    first_step = false;
                    self.progress.line(&format!(
                        "first step done {:.1} s after the start ({step_seconds:.1} s for the \
                         step itself){}",
                        self.started.elapsed().as_secs_f64(),
                        self.progress.kernels_text()
                    ));
                }
                for (name, v) in &losses {
                    *sums.entry(name.to_string()).or_default() += v * idx.len() as f64;
                }
                let loss = sums.get("loss").copied().unwrap_or(f64::NAN);
                if !loss.is_finite() {
                    return Err(TrainError::Config(format!(
                        "the loss is not finite at epoch {epoch}, step {}: lower the learning rate",
                        i + 1
                    )));
                }
                state.step += 1;
                steps_run += 1;
                seen += idx.len();
                let mut done = at;
                done["loss"] = losses
                    .iter()
                    .find(|(name, _)| *name == "loss")
                    .map_or(json!(null), |(_, v)| json!(v));
                self.log.event("step_done", done)?;
                self.progress.step(&StepStatus {
                    epoch,
                    epochs: self.config.epochs,
                    step: i + 1,
                    steps: per_epoch,
                    items: idx.len(),
                    losses: &losses,
                    totals: &sums,
                    seen,
                    lr,
                    rate: (seen - seen_before) as f64 / t0.elapsed().as_secs_f64(),
                });
                epoch_steps = i + 1;
                let every = self.config.checkpoint_every;
                if every > 0 && state.step % every == 0 && epoch_steps < per_epoch {
                    let position = mid_epoch(epoch_steps, lr, seen, &sums);
                    self.save_position(&model, &optim, &state, position)?;
                    latest_at = (state.epoch, epoch_steps);
                }
            }
            // A stop asked for mid-epoch: the steps done since the last checkpoint are saved
            // first (a stop at the epoch's last step validates and saves the epoch as usual,
            // then stops before the next).
            if let Some(why) = self
                .progress
                .stop_reason()
                .filter(|_| epoch_steps < per_epoch)
            {
                if epoch_steps > 0 && latest_at != (state.epoch, epoch_steps) {
                    let position = mid_epoch(epoch_steps, lr, seen, &sums);
                    self.save_position(&model, &optim, &state, position)?;
                    latest_at = (state.epoch, epoch_steps);
                }
                let (done, steps) = latest_at;
                self.log.event(
                    "stopped",
                    json!({ "by": why, "epoch": done, "epoch_step": steps, "global_step": state.step }),
                )?;
                self.progress.line(&format!(
                    "stopped by {why} during epoch {epoch}: `--resume` continues {}",
                    match (done, steps) {
                        (0, 0) => "from the start: no step was done".to_string(),
                        (_, 0) => format!("from the latest checkpoint, after epoch {done}"),
                        _ => format!(
                            "from the latest checkpoint, after step {steps} of epoch {}",
                            done + 1
                        ),
                    }
                ));
                break;
            }
            let train_seconds = earlier_seconds + t0.elapsed().as_secs_f64();
            self.progress.phase(&format!("validating epoch {epoch}"));
            self.log
                .event("validation_started", json!({ "epoch": epoch }))?;
            let valid = model.valid();
            let eval = evaluate(
                &valid,
                &val_ds,
                val_prior.as_ref(),
                &EvalOptions {
                    batch_size: self.config.batch_size,
                    workers: self.config.workers,
                    keep: self.config.overlays,
                    loss: &loss_fn,
                    millimetres: false,
                    threads: self.devices.len(),
                    fixed_shapes: self.options.fixed_shapes,
                    prompts: Prompts::GT,
                },
                self.device,
            )?;
            let summary = eval.summary();
            let mean_dice = Evaluation::mean_dice(&summary);
            let seen = seen.max(1) as f64;
            let record = EpochRecord {
                epoch,
                lr,
                train_loss: sums.remove("loss").unwrap_or(f64::NAN) / seen,
                train_terms: sums.into_iter().map(|(k, v)| (k, v / seen)).collect(),
                val_loss: eval.loss,
                val_dice: mean_dice,
                val_dice_structure: Evaluation::dice_per_structure(&summary),
                val_dice_plane: eval.dice_per_plane(),
                samples_per_second: seen / train_seconds,
                seconds: earlier_seconds + t0.elapsed().as_secs_f64(),
            };
            self.log.event(
                "epoch_done",
                json!({
                    "epoch": epoch,
                    "steps": per_epoch.saturating_sub(done_before),
                    "steps_per_epoch": per_epoch,
                    "val_dice": mean_dice,
                }),
            )?;
            self.progress.epoch(&record);
            self.progress.phase("saving the checkpoints");
            state.epoch = epoch;
            state.history.push(record);
            write_overlays(&self.exp.overlays(epoch), &eval.kept)?;
            let improved = epoch_history::improves(state.best.map(|(d, _)| d), mean_dice);
            if improved {
                state.best = Some((mean_dice, epoch));
                self.save("best", &self.exp.best(), &model, None::<O::Record>, &state)?;
                write_summary(&summary, &self.exp.dir)?;
            }
            let latest = self.exp.latest();
            self.save("latest", &latest, &model, Some(optim.to_record()), &state)?;
            latest_at = (state.epoch, 0);
            self.write_history(&state)?;
            epochs_run += 1;
        }
        let seconds = self.started.elapsed().as_secs_f64();
        let complete = state.epoch >= self.config.epochs;
        self.log.event(
            "finished",
            json!({
                "steps": steps_run,
                "epochs": epochs_run,
                "epoch": state.epoch,
                "global_step": state.step,
                "complete": complete,
            }),
        )?;
        if let Some((dice, epoch)) = state.best.filter(|_| complete) {
            self.progress.line(&format!(
                "done in {seconds:.0} s: best mean validation Dice {dice:.4} at epoch {epoch}; \
                 artefacts in {}",
                self.exp.dir.display()
            ));
        }
        Ok(RunSummary {
            dir: self.exp.dir.clone(),
            best: state.best,
            history: state.history,
            seconds,
            complete,
        })
    }

    /// One training step on `items`: on the main device, or split across the devices.
    fn step<O>(
        &self,
        model: EchoOne<B>,
        optim: &mut O,
        items: Vec<SegItem>,
        prior: Option<&BatchPrior<'_>>,
        loss_fn: &EchoOneLoss,
        lr: f64,
    ) -> Result<(EchoOne<B>, LossTerms)>
    where
        O: Optimizer<EchoOne<B>, B>,
    {
        let module_lr = &self.config.module_lr;
        if self.devices.len() > 1 {
            let shares = shares::<B>(items, prior, self.devices)?;
            return parallel_step(model, optim, shares, self.device, loss_fn, lr, module_lr);
        }
        let (batch, prior) = batch_with_prior::<B>(items, prior, self.image_slots, self.device)?;
        train_step(model, optim, batch, prior, loss_fn, lr, module_lr)
    }

    /// `metrics.csv` and `curves.png` from the history so far.
    fn write_history(&self, state: &TrainState) -> Result<()> {
        epoch_history::write_csv(&self.exp.metrics_csv(), &state.history)?;
        Ok(epoch_history::write_curves(
            &self.exp.curves(),
            &state.history,
        )?)
    }

    /// The image slots of the training batches with fixed shapes: the most distinct images in
    /// a batch of any epoch of the run (0: no padding).
    fn train_image_slots(&self, dataset: &SegmentationDataset, per_epoch: usize) -> usize {
        if !self.options.fixed_shapes {
            return 0;
        }
        (1..=self.config.epochs as u64)
            .map(|epoch| {
                let order = epoch_items(dataset, self.config.order, self.config.seed, epoch);
                image_slots(
                    dataset,
                    order.chunks(self.config.batch_size).take(per_epoch),
                )
            })
            .max()
            .unwrap_or(0)
    }

    /// Writes the `latest` checkpoint in the middle of an epoch, at `position`.
    fn save_position<O>(
        &self,
        model: &EchoOne<B>,
        optim: &O,
        state: &TrainState,
        position: EpochPosition,
    ) -> Result<()>
    where
        O: Optimizer<EchoOne<B>, B>,
    {
        self.progress.phase(&format!(
            "epoch {}: saving the checkpoint of step {}",
            position.epoch, position.steps
        ));
        let snapshot = TrainState {
            position: Some(position),
            ..state.clone()
        };
        self.save(
            "latest",
            &self.exp.latest(),
            model,
            Some(optim.to_record()),
            &snapshot,
        )
    }

    /// Writes the checkpoint `kind` (`latest`, `best`) into `dir`, each stage in the run log.
    fn save<R: burn::record::Record<B>>(
        &self,
        kind: &str,
        dir: &Path,
        model: &EchoOne<B>,
        optimizer: Option<R>,
        state: &TrainState,
    ) -> Result<()> {
        let at = json!({
            "kind": kind,
            "epoch": state.epoch,
            "epoch_step": state.position.as_ref().map_or(0, |p| p.steps),
            "global_step": state.step,
            "mid_epoch": state.position.is_some(),
        });
        self.log.event("checkpoint_started", at.clone())?;
        checkpoint::save_observed(
            dir,
            model,
            CheckpointParts {
                optimizer,
                state,
                config: &self.config,
                prior: self.prior.as_ref().map(|p| &p.fitted),
            },
            &mut |stage| self.log.event(stage.event(), at.clone()),
        )?;
        self.log.event("checkpoint_written", at)
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

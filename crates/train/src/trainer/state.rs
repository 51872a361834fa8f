//! What training carries from step to step: the run's state between its steps ([`Fit`]: the
//! optimiser, the train state, what the epochs share and what this process did) and the running
//! state of the epoch under way ([`Epoch`]: what a mid-epoch checkpoint saves of it, what its
//! record at the end sums up).

use std::collections::BTreeMap;
use std::time::Instant;

use echoone_data::SegmentationDataset;
use echoone_infer::evaluate::Evaluation;
use echoone_losses::EchoOneLoss;
use echoone_metrics::Summary;
use echoone_run::checkpoint::{EpochPosition, TrainState};
use echoone_run::epoch_history::EpochRecord;

use crate::error::{Result, TrainError};
use crate::monitor::steps_csv::StepsLog;
use crate::step::LossTerms;

/// What the epochs of a run share, from the restored checkpoint to the run's end (all but the
/// model, which each step takes and gives back).
pub(super) struct Fit<O> {
    /// The optimiser.
    pub(super) optim: O,
    /// Epochs and steps done, best Dice and history, as the checkpoints save them.
    pub(super) state: TrainState,
    /// The EchoONE loss.
    pub(super) loss_fn: EchoOneLoss,
    /// The training items.
    pub(super) train_ds: SegmentationDataset,
    /// The validation items.
    pub(super) val_ds: SegmentationDataset,
    /// `steps.csv`.
    pub(super) steps_log: StepsLog,
    /// Whether this process has run no step yet (its first one reports the warm-up).
    pub(super) first_step: bool,
    /// Epochs completed by this process.
    pub(super) epochs_run: usize,
    /// Optimiser steps taken by this process.
    pub(super) steps_run: usize,
    /// Where `--resume` would continue now: (epochs done, steps done in the next).
    pub(super) latest_at: (usize, usize),
    /// The restored checkpoint's place inside an epoch, until the epochs start.
    resume_at: Option<EpochPosition>,
}

impl<O> Fit<O> {
    /// Sets out from the restored `state` with `optim`: nothing run yet by this process, the
    /// checkpoint's place inside an epoch (if any) kept for that epoch.
    pub(super) fn new(
        optim: O,
        mut state: TrainState,
        loss_fn: EchoOneLoss,
        train_ds: SegmentationDataset,
        val_ds: SegmentationDataset,
        steps_log: StepsLog,
    ) -> Self {
        let latest_at = (state.epoch, state.position.as_ref().map_or(0, |p| p.steps));
        let resume_at = state.position.take();
        Self {
            optim,
            state,
            loss_fn,
            train_ds,
            val_ds,
            steps_log,
            first_step: true,
            epochs_run: 0,
            steps_run: 0,
            latest_at,
            resume_at,
        }
    }

    /// Begins the epoch after those done: where the restored checkpoint left it when that was
    /// inside it, else at its start with the learning rate `lr`.
    pub(super) fn next_epoch(&mut self, lr: f64) -> Epoch {
        Epoch::begin(self.state.epoch + 1, self.resume_at.take(), lr)
    }
}

/// The epoch under way: its number, its steps and the running sums of their losses, carried on
/// from a mid-epoch checkpoint when the run resumed inside it.
pub(super) struct Epoch {
    /// The epoch, from 1.
    pub(super) number: usize,
    /// When this process began it.
    started: Instant,
    /// Its steps done before this process (by the process that wrote the checkpoint resumed).
    pub(super) done_before: usize,
    /// Seconds spent on its steps before this process.
    earlier_seconds: f64,
    /// Item-weighted sums of the loss terms so far.
    pub(super) sums: BTreeMap<String, f64>,
    /// Training items seen so far.
    pub(super) seen: usize,
    /// Training items seen before this process.
    seen_before: usize,
    /// The learning rate of the last step (the configured one before any).
    pub(super) lr: f64,
    /// Its steps done so far (by this process and any before it).
    pub(super) steps: usize,
}

impl Epoch {
    /// Begins epoch `number`, at the place `resume_at` when that is inside it (its steps done,
    /// its sums carried on), else at its start with the learning rate `lr`.
    fn begin(number: usize, resume_at: Option<EpochPosition>, lr: f64) -> Self {
        let started = Instant::now();
        let from = resume_at.filter(|p| p.epoch == number);
        let done_before = from.as_ref().map_or(0, |p| p.steps);
        let (seen, lr) = from.as_ref().map_or((0, lr), |p| (p.seen, p.lr));
        Self {
            number,
            started,
            done_before,
            earlier_seconds: from.as_ref().map_or(0.0, |p| p.train_seconds),
            sums: from.as_ref().map(EpochPosition::sums).unwrap_or_default(),
            seen,
            seen_before: seen,
            lr,
            steps: done_before,
        }
    }

    /// Seconds spent on the epoch so far, by this process and any before it.
    pub(super) fn seconds(&self) -> f64 {
        self.earlier_seconds + self.started.elapsed().as_secs_f64()
    }

    /// The steps of the finished epoch that this process ran: of its `per_epoch`, those not done
    /// before.
    pub(super) fn steps_run(&self, per_epoch: usize) -> usize {
        per_epoch.saturating_sub(self.done_before)
    }

    /// The place a checkpoint written now keeps of the epoch (its item order from `seed`).
    pub(super) fn position(&self, seed: u64) -> EpochPosition {
        EpochPosition {
            epoch: self.number,
            steps: self.steps,
            seed,
            lr: self.lr,
            seen: self.seen,
            sums: BTreeMap::new(),
            train_seconds: self.seconds(),
        }
        .with_sums(&self.sums)
    }

    /// Adds step `step`'s `losses` on `items` items; an error when the epoch's loss is no longer
    /// finite.
    pub(super) fn add_step(&mut self, step: usize, losses: &LossTerms, items: usize) -> Result<()> {
        for (name, v) in losses {
            *self.sums.entry(name.to_string()).or_default() += v * items as f64;
        }
        let loss = self.sums.get("loss").copied().unwrap_or(f64::NAN);
        if !loss.is_finite() {
            return Err(TrainError::Config(format!(
                "the loss is not finite at epoch {}, step {step}: lower the learning rate",
                self.number
            )));
        }
        self.seen += items;
        self.steps = step;
        Ok(())
    }

    /// Training items per second over this process's part of the epoch.
    pub(super) fn rate(&self) -> f64 {
        (self.seen - self.seen_before) as f64 / self.started.elapsed().as_secs_f64()
    }

    /// The epoch's record, from its training sums and its validation `eval` (with its
    /// `summary`); `train_seconds`: the seconds of its steps.
    pub(super) fn record(
        mut self,
        train_seconds: f64,
        eval: &Evaluation,
        summary: &Summary,
    ) -> EpochRecord {
        let seconds = self.seconds();
        let seen = self.seen.max(1) as f64;
        EpochRecord {
            epoch: self.number,
            lr: self.lr,
            train_loss: self.sums.remove("loss").unwrap_or(f64::NAN) / seen,
            train_terms: self.sums.into_iter().map(|(k, v)| (k, v / seen)).collect(),
            val_loss: eval.loss,
            val_dice: Evaluation::mean_dice(summary),
            val_dice_structure: Evaluation::dice_per_structure(summary),
            val_dice_plane: eval.dice_per_plane(),
            samples_per_second: seen / train_seconds,
            seconds,
        }
    }
}

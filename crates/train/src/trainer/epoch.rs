//! One epoch's training steps, run until the epoch ends or a stop is asked for: each with its
//! events, its line of `steps.csv` and its progress, and the optimiser step itself.

use std::time::Instant;

use burn::optim::Optimizer;
use burn::tensor::backend::AutodiffBackend;
use echoone_data::SegItem;
use echoone_infer::items::{batch_with_prior, load_items};
use echoone_infer::run_prior::BatchPrior;
use echoone_losses::EchoOneLoss;
use echoone_model::EchoOne;
use serde_json::{Value, json};

use super::Run;
use super::state::{Epoch, Fit};
use crate::epoch_order::epoch_items;
use crate::error::Result;
use crate::parallel::{parallel_step, rank_shares};
use crate::schedule::learning_rate;
use crate::step::{LossTerms, StepStatus, train_step};

impl<B: AutodiffBackend> Run<'_, B> {
    /// Runs the steps of `epoch` not done yet, each saved every `checkpoint_every` steps;
    /// returns the model and who asked for a stop, when one came before the epoch's last step.
    pub(super) fn train_epoch<O>(
        &self,
        mut model: EchoOne<B>,
        fit: &mut Fit<O>,
        epoch: &mut Epoch,
    ) -> Result<(EchoOne<B>, Option<&'static str>)>
    where
        O: Optimizer<EchoOne<B>, B>,
    {
        let number = epoch.number as u64;
        fit.train_ds.set_epoch(number);
        let order = epoch_items(&fit.train_ds, self.config.order, self.config.seed, number);
        for (i, idx) in order
            .chunks(self.config.batch_size)
            .take(self.per_epoch)
            .enumerate()
            .skip(epoch.done_before)
        {
            if self.stop_reason().is_some() {
                break;
            }
            model = self.run_step(model, fit, epoch, i + 1, idx)?;
            if self.leader() && self.checkpoint_due(&fit.state, epoch) {
                self.save_mid_epoch(&model, fit, epoch)?;
            }
        }
        let stop = self.stop_reason().filter(|_| epoch.steps < self.per_epoch);
        Ok((model, stop))
    }

    /// Runs step `step` (from 1) of `epoch` on the training items `idx`, with its events, its
    /// line of `steps.csv` and its progress.
    fn run_step<O>(
        &self,
        model: EchoOne<B>,
        fit: &mut Fit<O>,
        epoch: &mut Epoch,
        step: usize,
        idx: &[usize],
    ) -> Result<EchoOne<B>>
    where
        O: Optimizer<EchoOne<B>, B>,
    {
        let total_steps = self.per_epoch * self.config.epochs;
        epoch.lr = learning_rate(&self.config, fit.state.step, total_steps, self.per_epoch);
        let at = self.step_started(fit, epoch, step)?;
        let step_start = Instant::now();
        let items = load_items(&fit.train_ds, idx, self.config.workers)?;
        let prior = self.batch_prior(false);
        let (optim, loss_fn) = (&mut fit.optim, &fit.loss_fn);
        let (model, losses) = self.step(model, optim, items, prior.as_ref(), loss_fn, epoch.lr)?;
        let step_seconds = step_start.elapsed().as_secs_f64();
        let kernels = self.options.kernels.map(|count| count());
        fit.steps_log.write(
            epoch.number,
            step,
            idx.len(),
            step_seconds,
            &self.started,
            kernels,
        )?;
        if fit.first_step {
            fit.first_step = false;
            self.first_step_done(step_seconds);
        }
        epoch.add_step(step, &losses, idx.len())?;
        fit.state.step += 1;
        fit.steps_run += 1;
        self.step_done(at, epoch, idx.len(), &losses)?;
        Ok(model)
    }

    /// Shows step `step` of `epoch` under way and logs `step_started`; returns the event's fields
    /// (where the step is), which `step_done` repeats.
    fn step_started<O>(&self, fit: &Fit<O>, epoch: &Epoch, step: usize) -> Result<Value> {
        self.progress.phase(&format!(
            "epoch {}: step {step}/{}{}",
            epoch.number,
            self.per_epoch,
            if fit.first_step && self.options.kernels.is_some() {
                " (the first steps compile the GPU kernels)"
            } else {
                ""
            }
        ));
        let at = json!({ "epoch": epoch.number, "step": step, "global_step": fit.state.step + 1 });
        self.log.event("step_started", at.clone())?;
        Ok(at)
    }

    /// Logs `step_done` at `at` with the step's loss, and shows the epoch's progress after the
    /// step (its `losses` on `items` items).
    fn step_done(&self, at: Value, epoch: &Epoch, items: usize, losses: &LossTerms) -> Result<()> {
        let mut done = at;
        done["loss"] = losses
            .iter()
            .find(|(name, _)| *name == "loss")
            .map_or(json!(null), |(_, v)| json!(v));
        self.log.event("step_done", done)?;
        self.progress.step(&StepStatus {
            epoch: epoch.number,
            epochs: self.config.epochs,
            step: epoch.steps,
            steps: self.per_epoch,
            items,
            losses,
            totals: &epoch.sums,
            seen: epoch.seen,
            lr: epoch.lr,
            rate: epoch.rate(),
        });
        Ok(())
    }

    /// Says how long the first step of this process took to come, and the step itself.
    fn first_step_done(&self, step_seconds: f64) {
        self.progress.line(&format!(
            "first step done {:.1} s after the start ({step_seconds:.1} s for the step \
             itself){}",
            self.started.elapsed().as_secs_f64(),
            self.progress.kernels_text()
        ));
    }

    /// One training step on `items`: on the main device, or split across the devices and
    /// processes.
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
        let collective = self.collective();
        if self.devices.len() > 1 || collective.is_some() {
            let (rank, ranks) = collective.map_or((0, 1), |c| (c.rank(), c.size()));
            let shares = rank_shares::<B>(items, prior, self.devices, rank, ranks)?;
            let asked = collective.map(|c| (c, self.progress.stop_reason().is_some()));
            let main = self.device;
            let (model, losses, stop) =
                parallel_step(model, optim, shares, main, loss_fn, lr, module_lr, asked)?;
            if stop {
                self.agreed_stop.set(true);
            }
            return Ok((model, losses));
        }
        let (batch, prior) = batch_with_prior::<B>(items, prior, self.image_slots, self.device)?;
        train_step(model, optim, batch, prior, loss_fn, lr, module_lr)
    }
}

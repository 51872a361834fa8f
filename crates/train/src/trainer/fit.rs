//! The loop over a run's epochs ([`Run::fit_epochs`]): what it sets up once, each epoch's steps,
//! stop, validation and checkpoints in turn, and the run's end.

use burn::optim::Optimizer;
use burn::tensor::backend::AutodiffBackend;
use echoone_data::{Mode, SegmentationDataset};
use echoone_infer::items::image_slots;
use echoone_losses::EchoOneLossConfig;
use echoone_model::EchoOne;
use echoone_run::samples;
use serde_json::json;

use super::state::Fit;
use super::{Run, RunSummary};
use crate::epoch_order::epoch_items;
use crate::error::Result;
use crate::monitor::steps_csv::StepsLog;

impl<B: AutodiffBackend> Run<'_, B> {
    /// The body of [`fit`](Self::fit): the epochs from the restored state on, each trained,
    /// validated and saved, until all are done, `stop_after` of them are run or a stop is asked
    /// for.
    pub(super) fn fit_epochs<O>(&mut self, optim: O) -> Result<RunSummary>
    where
        O: Optimizer<EchoOne<B>, B>,
    {
        let (mut model, mut fit) = self.begin_fit(optim)?;
        while fit.state.epoch < self.config.epochs {
            if self.options.stop_after.is_some_and(|n| fit.epochs_run >= n) {
                break;
            }
            let mut epoch = fit.next_epoch(self.config.lr);
            let (trained, stop) = self.train_epoch(model, &mut fit, &mut epoch)?;
            model = trained;
            if let Some(why) = stop {
                self.stop_mid_epoch(&model, &mut fit, &epoch, why)?;
                break;
            }
            if self.leader() {
                let validated = self.validate(&model, &fit, epoch)?;
                self.save_epoch(&model, &mut fit, validated)?;
            } else {
                // Process 0 validates and saves; the others only keep count.
                fit.state.epoch = epoch.number;
                fit.latest_at = (epoch.number, 0);
                fit.epochs_run += 1;
            }
        }
        self.finish(fit)
    }

    /// Restores model, optimiser and state (see [`restore`](Self::restore)), brings the history
    /// files up to date with them and sets up what the epochs share.
    fn begin_fit<O>(&mut self, optim: O) -> Result<(EchoOne<B>, Fit<O>)>
    where
        O: Optimizer<EchoOne<B>, B>,
    {
        let (model, optim, state) = self.restore(optim)?;
        if self.leader() && !state.history.is_empty() {
            // A kill between saving `latest` and writing these would leave them an epoch behind.
            self.write_history(&state)?;
        }
        let loss_fn = EchoOneLossConfig::new().init();
        let train_ds = samples::dataset(&self.train, &self.config, Mode::Train);
        let val_ds = samples::dataset(&self.val, &self.config, Mode::Eval);
        self.image_slots = self.train_image_slots(&train_ds);
        let steps_path = self.exp.dir.join("steps.csv");
        let steps_log = if self.leader() {
            StepsLog::open(&steps_path)?
        } else {
            StepsLog::silent(&steps_path)
        };
        let fit = Fit::new(optim, state, loss_fn, train_ds, val_ds, steps_log);
        Ok((model, fit))
    }

    /// The image slots of the training batches with fixed shapes: the most distinct images in
    /// a batch of any epoch of the run (0: no padding).
    fn train_image_slots(&self, dataset: &SegmentationDataset) -> usize {
        if !self.options.fixed_shapes {
            return 0;
        }
        (1..=self.config.epochs as u64)
            .map(|epoch| {
                let order = epoch_items(dataset, self.config.order, self.config.seed, epoch);
                image_slots(
                    dataset,
                    order.chunks(self.config.batch_size).take(self.per_epoch),
                )
            })
            .max()
            .unwrap_or(0)
    }

    /// Ends the run (done or stopped): logs `finished`, says where the artefacts are when every
    /// epoch is done, and sums the run up.
    fn finish<O>(&self, fit: Fit<O>) -> Result<RunSummary> {
        let seconds = self.started.elapsed().as_secs_f64();
        let state = fit.state;
        let complete = state.epoch >= self.config.epochs;
        self.log.event(
            "finished",
            json!({
                "steps": fit.steps_run,
                "epochs": fit.epochs_run,
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
}

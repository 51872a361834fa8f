//! The end of an epoch: its validation and record, then what it saves (overlays, the `best`
//! checkpoint when the Dice improves, the `latest` one, `metrics.csv` and the curves).

use burn::module::AutodiffModule;
use burn::optim::Optimizer;
use burn::tensor::backend::AutodiffBackend;
use echoone_infer::clicks::Prompts;
use echoone_infer::evaluate::{EvalOptions, Evaluation, evaluate};
use echoone_infer::overlay::write_overlays;
use echoone_metrics::{Summary, write_summary};
use echoone_model::EchoOne;
use echoone_run::epoch_history::{self, EpochRecord};
use serde_json::json;

use super::Run;
use super::state::{Epoch, Fit};
use crate::error::Result;

/// A validated epoch: its record, and the evaluation its overlays and (when best) the run's
/// summary come from.
pub(super) struct Validated {
    /// The epoch's record.
    record: EpochRecord,
    /// The validation of the epoch's model.
    eval: Evaluation,
    /// Its metrics summary.
    summary: Summary,
}

impl<B: AutodiffBackend> Run<'_, B> {
    /// Validates `model` after the steps of `epoch`, logs `epoch_done` and shows the epoch's
    /// record.
    pub(super) fn validate<O>(
        &self,
        model: &EchoOne<B>,
        fit: &Fit<O>,
        epoch: Epoch,
    ) -> Result<Validated> {
        let train_seconds = epoch.seconds();
        let number = epoch.number;
        self.progress.phase(&format!("validating epoch {number}"));
        self.log
            .event("validation_started", json!({ "epoch": number }))?;
        let valid = model.valid();
        let eval = evaluate(
            &valid,
            &fit.val_ds,
            self.batch_prior(true).as_ref(),
            &EvalOptions {
                batch_size: self.config.batch_size,
                workers: self.config.workers,
                keep: self.config.overlays,
                loss: &fit.loss_fn,
                millimetres: false,
                threads: self.devices.len(),
                fixed_shapes: self.options.fixed_shapes,
                prompts: Prompts::GT,
            },
            self.device,
        )?;
        let summary = eval.summary();
        let steps = epoch.steps_run(self.per_epoch);
        let record = epoch.record(train_seconds, &eval, &summary);
        self.log.event(
            "epoch_done",
            json!({
                "epoch": number,
                "steps": steps,
                "steps_per_epoch": self.per_epoch,
                "val_dice": record.val_dice,
            }),
        )?;
        self.progress.epoch(&record);
        Ok(Validated {
            record,
            eval,
            summary,
        })
    }

    /// Saves a validated epoch: its record into the state, its overlays, the `best` checkpoint
    /// and the summary when its Dice improves on the best, the `latest` checkpoint and the
    /// history files.
    pub(super) fn save_epoch<O>(
        &self,
        model: &EchoOne<B>,
        fit: &mut Fit<O>,
        validated: Validated,
    ) -> Result<()>
    where
        O: Optimizer<EchoOne<B>, B>,
    {
        let Validated {
            record,
            eval,
            summary,
        } = validated;
        let (epoch, mean_dice) = (record.epoch, record.val_dice);
        self.progress.phase("saving the checkpoints");
        let state = &mut fit.state;
        state.epoch = epoch;
        state.history.push(record);
        write_overlays(&self.exp.overlays(epoch), &eval.kept)?;
        if epoch_history::improves(state.best.map(|(d, _)| d), mean_dice) {
            state.best = Some((mean_dice, epoch));
            self.save("best", &self.exp.best(), model, None::<O::Record>, state)?;
            write_summary(&summary, &self.exp.dir)?;
        }
        let latest = self.exp.latest();
        self.save(
            "latest",
            &latest,
            model,
            Some(fit.optim.to_record()),
            &fit.state,
        )?;
        fit.latest_at = (fit.state.epoch, 0);
        self.write_history(&fit.state)?;
        fit.epochs_run += 1;
        Ok(())
    }
}

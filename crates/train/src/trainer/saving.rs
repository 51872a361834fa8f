//! Writing checkpoints and history: each checkpoint with its stages in the run log, the mid-epoch
//! ones (every `checkpoint_every` steps, and at a stop asked for inside an epoch, which it then
//! reports), `metrics.csv` and the curves.

use std::path::Path;

use burn::optim::Optimizer;
use burn::record::Record;
use burn::tensor::backend::AutodiffBackend;
use echoone_model::EchoOne;
use echoone_run::checkpoint::{self, CheckpointParts, TrainState};
use echoone_run::epoch_history;
use serde_json::json;

use super::Run;
use super::state::{Epoch, Fit};
use crate::error::Result;

impl<B: AutodiffBackend> Run<'_, B> {
    /// Whether `checkpoint_every` asks for a checkpoint after the step just done, inside `epoch`
    /// (after its last step the epoch's end saves one anyway).
    pub(super) fn checkpoint_due(&self, state: &TrainState, epoch: &Epoch) -> bool {
        let every = self.config.checkpoint_every;
        every > 0 && state.step.is_multiple_of(every) && epoch.steps < self.per_epoch
    }

    /// Writes the `latest` checkpoint in the middle of `epoch`, at the step it reached:
    /// `--resume` continues from there.
    pub(super) fn save_mid_epoch<O>(
        &self,
        model: &EchoOne<B>,
        fit: &mut Fit<O>,
        epoch: &Epoch,
    ) -> Result<()>
    where
        O: Optimizer<EchoOne<B>, B>,
    {
        let position = epoch.position(self.config.seed);
        self.progress.phase(&format!(
            "epoch {}: saving the checkpoint of step {}",
            position.epoch, position.steps
        ));
        let snapshot = TrainState {
            position: Some(position),
            ..fit.state.clone()
        };
        let latest = self.exp.latest();
        self.save(
            "latest",
            &latest,
            model,
            Some(fit.optim.to_record()),
            &snapshot,
        )?;
        fit.latest_at = (fit.state.epoch, epoch.steps);
        Ok(())
    }

    /// Ends an epoch stopped by `why` before its last step: saves the steps done since the
    /// latest checkpoint, logs `stopped` and says where `--resume` continues (a stop at the
    /// epoch's last step is no such stop: the epoch is validated and saved as usual, and the run
    /// stops before the next).
    pub(super) fn stop_mid_epoch<O>(
        &self,
        model: &EchoOne<B>,
        fit: &mut Fit<O>,
        epoch: &Epoch,
        why: &str,
    ) -> Result<()>
    where
        O: Optimizer<EchoOne<B>, B>,
    {
        if !self.leader() {
            return Ok(());
        }
        if epoch.steps > 0 && fit.latest_at != (fit.state.epoch, epoch.steps) {
            self.save_mid_epoch(model, fit, epoch)?;
        }
        let (done, steps) = fit.latest_at;
        self.log.event(
            "stopped",
            json!({ "by": why, "epoch": done, "epoch_step": steps, "global_step": fit.state.step }),
        )?;
        self.progress.line(&format!(
            "stopped by {why} during epoch {}: `--resume` continues {}",
            epoch.number,
            match (done, steps) {
                (0, 0) => "from the start: no step was done".to_string(),
                (_, 0) => format!("from the latest checkpoint, after epoch {done}"),
                _ => format!(
                    "from the latest checkpoint, after step {steps} of epoch {}",
                    done + 1
                ),
            }
        ));
        Ok(())
    }

    /// Writes the checkpoint `kind` (`latest`, `best`) into `dir`, each stage in the run log.
    pub(super) fn save<R: Record<B>>(
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

    /// `metrics.csv` and `curves.png` from the history so far.
    pub(super) fn write_history(&self, state: &TrainState) -> Result<()> {
        epoch_history::write_csv(&self.exp.metrics_csv(), &state.history)?;
        Ok(epoch_history::write_curves(
            &self.exp.curves(),
            &state.history,
        )?)
    }
}

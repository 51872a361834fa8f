//! Checkpoints: a folder holding the model, the optimiser state, the training state, the run's
//! configuration and its fitted prior, written aside and swapped in so that a kill at any moment
//! leaves either the old checkpoint or the new one, never half of one.

use std::fs;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder, Record, Recorder};
use burn::tensor::backend::Backend;
use echoone_model::{EchoOne, EchoOneConfig};
use echoone_pc_mask::FittedPrior;
use serde::{Deserialize, Serialize};

use crate::config::TrainConfig;
use crate::error::{Result, TrainError};
use crate::history::EpochRecord;

/// Where a run is: epochs done, steps done, the best validation Dice so far and the history.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Epochs completed.
    pub epoch: usize,
    /// Optimiser steps taken.
    pub step: usize,
    /// Best mean validation Dice so far and its epoch.
    pub best: Option<(f64, usize)>,
    /// One record per completed epoch.
    pub history: Vec<EpochRecord>,
}

fn recorder() -> NamedMpkFileRecorder<FullPrecisionSettings> {
    NamedMpkFileRecorder::new()
}

/// File names inside a checkpoint folder.
const MODEL: &str = "model";
const OPTIMIZER: &str = "optimizer";
const STATE: &str = "state.json";
const CONFIG: &str = "config.json";
const PRIOR: &str = "prior";

/// What a checkpoint holds besides the model.
pub struct CheckpointParts<'a, R> {
    /// The optimiser state (latest checkpoints only).
    pub optimizer: Option<R>,
    /// The training state.
    pub state: &'a TrainState,
    /// The run's configuration.
    pub config: &'a TrainConfig,
    /// The fitted prior (PC-Mask on).
    pub prior: Option<&'a FittedPrior>,
}

/// Writes a checkpoint folder `dir` atomically (staged beside it, then swapped in).
pub fn save<B: Backend, R: Record<B>>(
    dir: &Path,
    model: &EchoOne<B>,
    parts: CheckpointParts<'_, R>,
) -> Result<()> {
    let parent = dir
        .parent()
        .ok_or_else(|| TrainError::file(dir, "a checkpoint needs a parent folder"))?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| TrainError::file(dir, "not a folder name"))?;
    let stage = parent.join(format!(".{name}.staging"));
    let old = parent.join(format!(".{name}.old"));
    let io = |path: &Path, e: std::io::Error| TrainError::file(path, e);
    if stage.exists() {
        fs::remove_dir_all(&stage).map_err(|e| io(&stage, e))?;
    }
    fs::create_dir_all(&stage).map_err(|e| io(&stage, e))?;
    model
        .clone()
        .save_file(stage.join(MODEL), &recorder())
        .map_err(|e| TrainError::file(stage.join(MODEL), e))?;
    if let Some(record) = parts.optimizer {
        recorder()
            .record(record, stage.join(OPTIMIZER))
            .map_err(|e| TrainError::file(stage.join(OPTIMIZER), e))?;
    }
    let state = serde_json::to_vec_pretty(parts.state)
        .map_err(|e| TrainError::file(stage.join(STATE), e))?;
    fs::write(stage.join(STATE), state).map_err(|e| io(&stage.join(STATE), e))?;
    parts.config.save_json(&stage.join(CONFIG))?;
    if let Some(prior) = parts.prior {
        prior.save(&stage.join(PRIOR))?;
    }
    if old.exists() {
        fs::remove_dir_all(&old).map_err(|e| io(&old, e))?;
    }
    if dir.exists() {
        fs::rename(dir, &old).map_err(|e| io(dir, e))?;
    }
    fs::rename(&stage, dir).map_err(|e| io(dir, e))?;
    if old.exists() {
        fs::remove_dir_all(&old).map_err(|e| io(&old, e))?;
    }
    Ok(())
}

/// The checkpoint folder to read for `dir`: `dir` itself, or the copy a kill between the two
/// renames of [`save`] left aside.
pub fn resolve(dir: &Path) -> Option<PathBuf> {
    if dir.join(STATE).is_file() {
        return Some(dir.to_path_buf());
    }
    let name = dir.file_name()?.to_string_lossy().into_owned();
    let old = dir.parent()?.join(format!(".{name}.old"));
    old.join(STATE).is_file().then_some(old)
}

/// A checkpoint folder read back: its configuration, state and prior (the weights are loaded
/// into a model with [`load_model`]).
pub struct Checkpoint {
    /// The folder.
    pub dir: PathBuf,
    /// The run's configuration.
    pub config: TrainConfig,
    /// The training state.
    pub state: TrainState,
    /// The fitted prior, when the run used PC-Mask.
    pub prior: Option<FittedPrior>,
}

impl Checkpoint {
    /// Reads the checkpoint at `path`: a checkpoint folder, or an experiment folder (its best
    /// checkpoint, else its latest).
    pub fn open(path: &Path) -> Result<Self> {
        if !path.exists() {
            return Err(TrainError::file(
                path,
                "no such checkpoint or experiment folder",
            ));
        }
        let dir = resolve(path)
            .or_else(|| resolve(&path.join("checkpoints").join("best")))
            .or_else(|| resolve(&path.join("checkpoints").join("latest")))
            .ok_or_else(|| {
                TrainError::file(
                    path,
                    "not a checkpoint: expected state.json here or checkpoints/best inside",
                )
            })?;
        let state_path = dir.join(STATE);
        let text = fs::read(&state_path).map_err(|e| TrainError::file(&state_path, e))?;
        let state: TrainState = serde_json::from_slice(&text)
            .map_err(|e| TrainError::file(&state_path, format!("not a training state: {e}")))?;
        let config = TrainConfig::load_json(&dir.join(CONFIG))?;
        let prior = if config.model.pc_mask {
            Some(FittedPrior::load(&dir.join(PRIOR))?)
        } else {
            None
        };
        if !dir.join(format!("{MODEL}.mpk")).is_file() {
            return Err(TrainError::file(
                dir.join(format!("{MODEL}.mpk")),
                "missing",
            ));
        }
        Ok(Self {
            dir,
            config,
            state,
            prior,
        })
    }

    /// Whether the checkpoint holds an optimiser state.
    pub fn has_optimizer(&self) -> bool {
        self.dir.join(format!("{OPTIMIZER}.mpk")).is_file()
    }

    /// Loads the optimiser state.
    pub fn optimizer<B: Backend, R: Record<B>>(&self, device: &B::Device) -> Result<R> {
        let path = self.dir.join(OPTIMIZER);
        recorder()
            .load(path.clone(), device)
            .map_err(|e| TrainError::file(path.with_extension("mpk"), e))
    }
}

/// Builds the model of `config` and loads the weights of the checkpoint folder `dir`.
pub fn load_model<B: Backend>(
    config: &EchoOneConfig,
    dir: &Path,
    device: &B::Device,
) -> Result<EchoOne<B>> {
    let path = dir.join(MODEL);
    config
        .init::<B>(device)?
        .load_file(path.clone(), &recorder(), device)
        .map_err(|e| {
            TrainError::file(
                path.with_extension("mpk"),
                format!("cannot load these weights into the configured model: {e}"),
            )
        })
}

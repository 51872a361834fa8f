//! Checkpoints: a folder holding the model, the optimiser state, the training state, the run's
//! configuration and its fitted prior, written aside and swapped in so that a kill at any moment
//! leaves either the old checkpoint or the new one, never half of one. A `latest` checkpoint
//! written mid-epoch (`checkpoint_every`) also holds the exact place in the epoch
//! ([`EpochPosition`]), so that `--resume` continues at the next step.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder, Record, Recorder};
use burn::tensor::backend::Backend;
use echoone_model::{EchoOne, EchoOneConfig};
use echoone_pc_mask::FittedPrior;
use serde::{Deserialize, Serialize};

use crate::config::TrainConfig;
use crate::epoch_history::EpochRecord;
use crate::error::{Result, RunError};

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
    /// The place in the epoch under way, when the checkpoint was written mid-epoch (absent in
    /// checkpoints written at the end of an epoch, and in those of earlier versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<EpochPosition>,
}

/// The exact place of a mid-epoch checkpoint in its epoch: with the seed, the epoch fixes the
/// item order, augmentation and clicks (they are functions of (seed, epoch, index)), and the
/// step within it the next batch; the running sums make the epoch's record the uninterrupted
/// one's. Learning rate and optimiser step count follow from [`TrainState::step`] and the
/// optimiser state saved beside it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EpochPosition {
    /// The epoch under way (from 1: one more than the epochs completed).
    pub epoch: usize,
    /// Its optimiser steps done (the next step is `steps + 1`).
    pub steps: usize,
    /// The seed of the epoch's item order (the run's seed).
    pub seed: u64,
    /// The learning rate of the last step done.
    pub lr: f64,
    /// Training items seen in the epoch so far.
    pub seen: usize,
    /// Item-weighted sums of the loss terms so far, as the bits of their `f64` (exact in JSON).
    pub sums: BTreeMap<String, u64>,
    /// Seconds spent on the epoch's steps so far.
    pub train_seconds: f64,
}

impl EpochPosition {
    /// The sums of the loss terms as numbers.
    pub fn sums(&self) -> BTreeMap<String, f64> {
        self.sums
            .iter()
            .map(|(k, v)| (k.clone(), f64::from_bits(*v)))
            .collect()
    }

    /// Stores `sums` bit for bit.
    pub fn with_sums(mut self, sums: &BTreeMap<String, f64>) -> Self {
        self.sums = sums.iter().map(|(k, v)| (k.clone(), v.to_bits())).collect();
        self
    }
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

/// The moments of [`save_observed`] it reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveStage {
    /// Every file of the new checkpoint is written (and synced) in the staging folder.
    Staged,
    /// The previous checkpoint has been moved aside (`.<name>.old`, which [`resolve`] reads);
    /// the new one is not yet in place.
    Swapping,
}

impl SaveStage {
    /// The stage's name in the run log: `checkpoint_staged`, `checkpoint_swapping`.
    pub fn event(self) -> &'static str {
        match self {
            Self::Staged => "checkpoint_staged",
            Self::Swapping => "checkpoint_swapping",
        }
    }
}

/// Writes a checkpoint folder `dir` atomically (staged beside it, then swapped in).
pub fn save<B: Backend, R: Record<B>>(
    dir: &Path,
    model: &EchoOne<B>,
    parts: CheckpointParts<'_, R>,
) -> Result<()> {
    save_observed(dir, model, parts, &mut |_| Ok::<(), RunError>(()))
}

/// [`save`], telling `observe` when each [`SaveStage`] is reached. A kill at any moment leaves a
/// complete checkpoint for [`resolve`]: the previous one or the new one, never neither. An
/// error of `observe` (the caller's, say its log) stops the save and is returned as it is.
pub fn save_observed<B: Backend, R: Record<B>, E: From<RunError>>(
    dir: &Path,
    model: &EchoOne<B>,
    parts: CheckpointParts<'_, R>,
    observe: &mut dyn FnMut(SaveStage) -> std::result::Result<(), E>,
) -> std::result::Result<(), E> {
    let parent = dir
        .parent()
        .ok_or_else(|| RunError::file(dir, "a checkpoint needs a parent folder"))?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| RunError::file(dir, "not a folder name"))?;
    let stage = parent.join(format!(".{name}.staging"));
    let old = parent.join(format!(".{name}.old"));
    let io = |path: &Path, e: std::io::Error| RunError::file(path, e);
    if stage.exists() {
        fs::remove_dir_all(&stage).map_err(|e| io(&stage, e))?;
    }
    fs::create_dir_all(&stage).map_err(|e| io(&stage, e))?;
    model
        .clone()
        .save_file(stage.join(MODEL), &recorder())
        .map_err(|e| RunError::file(stage.join(MODEL), e))?;
    if let Some(record) = parts.optimizer {
        recorder()
            .record(record, stage.join(OPTIMIZER))
            .map_err(|e| RunError::file(stage.join(OPTIMIZER), e))?;
    }
    let state =
        serde_json::to_vec_pretty(parts.state).map_err(|e| RunError::file(stage.join(STATE), e))?;
    fs::write(stage.join(STATE), state).map_err(|e| io(&stage.join(STATE), e))?;
    parts.config.save_json(&stage.join(CONFIG))?;
    if let Some(prior) = parts.prior {
        prior.save(&stage.join(PRIOR)).map_err(RunError::from)?;
    }
    sync_tree(&stage)?;
    observe(SaveStage::Staged)?;
    // A kill between the two renames of an earlier save left the only complete checkpoint
    // aside: put it back before clearing the way, so that one is always there.
    if !dir.join(STATE).is_file() && old.join(STATE).is_file() {
        if dir.exists() {
            fs::remove_dir_all(dir).map_err(|e| io(dir, e))?;
        }
        fs::rename(&old, dir).map_err(|e| io(&old, e))?;
    }
    if old.exists() {
        fs::remove_dir_all(&old).map_err(|e| io(&old, e))?;
    }
    if dir.exists() {
        fs::rename(dir, &old).map_err(|e| io(dir, e))?;
    }
    observe(SaveStage::Swapping)?;
    fs::rename(&stage, dir).map_err(|e| io(dir, e))?;
    sync_dir(parent)?;
    if old.exists() {
        fs::remove_dir_all(&old).map_err(|e| io(&old, e))?;
    }
    Ok(())
}

/// Flushes every file under `dir`, and `dir` itself, to the disk (so that a power cut after the
/// swap cannot leave a checkpoint of empty files).
fn sync_tree(dir: &Path) -> Result<()> {
    let entries = fs::read_dir(dir).map_err(|e| RunError::file(dir, e))?;
    for entry in entries {
        let path = entry.map_err(|e| RunError::file(dir, e))?.path();
        if path.is_dir() {
            sync_tree(&path)?;
        } else {
            fs::File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(|e| RunError::file(&path, e))?;
        }
    }
    sync_dir(dir)
}

/// Flushes a folder's entries to the disk (Unix; elsewhere folders cannot be opened so).
fn sync_dir(dir: &Path) -> Result<()> {
    if cfg!(unix) {
        fs::File::open(dir)
            .and_then(|f| f.sync_all())
            .map_err(|e| RunError::file(dir, e))?;
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
            return Err(RunError::file(
                path,
                "no such checkpoint or experiment folder",
            ));
        }
        let dir = resolve(path)
            .or_else(|| resolve(&path.join("checkpoints").join("best")))
            .or_else(|| resolve(&path.join("checkpoints").join("latest")))
            .ok_or_else(|| {
                RunError::file(
                    path,
                    "not a checkpoint: expected state.json here or checkpoints/best inside",
                )
            })?;
        let state_path = dir.join(STATE);
        let text = fs::read(&state_path).map_err(|e| RunError::file(&state_path, e))?;
        let state: TrainState = serde_json::from_slice(&text)
            .map_err(|e| RunError::file(&state_path, format!("not a training state: {e}")))?;
        let config = TrainConfig::load_json(&dir.join(CONFIG))?;
        let prior = if config.model.pc_mask {
            Some(FittedPrior::load(&dir.join(PRIOR))?)
        } else {
            None
        };
        if !dir.join(format!("{MODEL}.mpk")).is_file() {
            return Err(RunError::file(dir.join(format!("{MODEL}.mpk")), "missing"));
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
        decode(&path, "cannot load this optimiser state", || {
            recorder().load(path.clone(), device)
        })
    }
}

/// Builds the model of `config` and loads the weights of the checkpoint folder `dir`.
pub fn load_model<B: Backend>(
    config: &EchoOneConfig,
    dir: &Path,
    device: &B::Device,
) -> Result<EchoOne<B>> {
    let path = dir.join(MODEL);
    // Boxed in and out of the guarded load: the record's decoder is deep, and a test thread's
    // 2 MiB stack has no room for further copies of the model.
    let model = Box::new(config.init::<B>(device)?);
    let loaded = decode(
        &path,
        "cannot load these weights into the configured model",
        || {
            model
                .load_file(path.clone(), &recorder(), device)
                .map(Box::new)
        },
    )?;
    Ok(*loaded)
}

/// Runs a recorder `load` of `path` (`.mpk` added), its error prefixed with `what` and naming the
/// file. A corrupt file can make burn's decoder panic (a mangled parameter id: "Invalid id."),
/// so a panic is caught and reported as such an error too.
fn decode<T, E: std::fmt::Display>(
    path: &Path,
    what: &str,
    load: impl FnOnce() -> std::result::Result<T, E>,
) -> Result<T> {
    let file = path.with_extension("mpk");
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(load)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(RunError::file(
            file,
            format!("{what}: {}", recorder_message(&e)),
        )),
        Err(_) => Err(RunError::file(
            file,
            format!("{what}: a corrupt file (the decoder gave up)"),
        )),
    }
}

/// A burn recorder error as one line: burn adds a note on record formats of versions before
/// 0.14 to every decoding error (also of a truncated file), which would only mislead here.
fn recorder_message(e: &impl std::fmt::Display) -> String {
    let text = e.to_string();
    let inner = text
        .strip_prefix("Unknown(\"")
        .and_then(|t| t.strip_suffix("\")"))
        .unwrap_or(&text);
    let end = inner
        .find("\\n")
        .or_else(|| inner.find('\n'))
        .unwrap_or(inner.len());
    inner[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mid_epoch_position_keeps_its_sums_bit_for_bit_and_older_states_have_none() {
        let sums: BTreeMap<String, f64> = [
            ("loss".to_string(), 0.1 + 0.2),
            ("main_dice".to_string(), 1.0 / 3.0),
        ]
        .into();
        let state = TrainState {
            step: 4,
            position: Some(
                EpochPosition {
                    epoch: 1,
                    steps: 4,
                    seed: 42,
                    lr: 2e-3,
                    seen: 32,
                    sums: BTreeMap::new(),
                    train_seconds: 1.5,
                }
                .with_sums(&sums),
            ),
            ..Default::default()
        };
        let text = serde_json::to_string(&state).unwrap();
        let back: TrainState = serde_json::from_str(&text).unwrap();
        assert_eq!(back, state);
        let restored = back.position.unwrap().sums();
        for (k, v) in &sums {
            assert_eq!(restored[k].to_bits(), v.to_bits(), "{k}");
        }
        // A state of an end-of-epoch checkpoint, or of a version before positions, has none
        // and writes none.
        let older: TrainState =
            serde_json::from_str(r#"{"epoch": 2, "step": 12, "best": null, "history": []}"#)
                .unwrap();
        assert_eq!(older.position, None);
        assert!(!serde_json::to_string(&older).unwrap().contains("position"));
    }

    #[test]
    fn a_recorder_error_is_one_line_without_burns_note() {
        let burn = "Unknown(\"InvalidDataRead(Kind(UnexpectedEof))\\nThe internal data format \
                    has changed since version 0.14.0.\\n\")";
        assert_eq!(
            recorder_message(&burn),
            "InvalidDataRead(Kind(UnexpectedEof))"
        );
        assert_eq!(recorder_message(&"File not found"), "File not found");
    }
}

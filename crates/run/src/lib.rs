//! The EchoONE run folder, read and written in one place: its configuration (`config.json`),
//! the split of every case (`splits.json`), the backend it trained on (`backend.json`), the
//! per-epoch history (`metrics.csv`, `curves.png`) and its checkpoints (model, optimiser, state,
//! fitted prior). Training writes it (`echoone-train`); everything that uses a trained model
//! reads it (`echoone-infer`). The layout is drawn in [`run_folder`] and docs/run-folder.md.

pub mod checkpoint;
pub mod config;
pub mod epoch_history;
pub mod error;
pub mod run_folder;
pub mod samples;

pub use checkpoint::{Checkpoint, TrainState};
pub use config::{
    ExtractorChoice, FreezePolicy, ItemOrder, ModuleLr, OptimizerKind, Schedule, TrainConfig,
};
pub use epoch_history::EpochRecord;
pub use error::{Result, RunError};
pub use run_folder::{RunBackend, RunFolder};
pub use samples::{run_samples, select_samples};

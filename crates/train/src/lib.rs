//! EchoONE training and the workflows around it: the training loop with validation, checkpoints
//! and exact resume, evaluation, prediction and ablations, generic over the burn backend (the
//! `echoone` binary picks it by cargo feature).

pub mod ablate;
pub mod batches;
pub mod checkpoint;
pub mod checkpoint_eval;
pub mod clicks;
pub mod config;
pub mod dashboard;
pub mod data;
pub mod ef;
pub mod error;
pub mod experiment;
pub mod extractor;
pub mod history;
pub mod model;
pub mod model_eval;
pub mod overlay;
pub mod parallel;
pub mod predict;
pub mod prior;
pub mod progress;
pub mod run_log;
pub mod run_splits;
pub mod schedule;
pub mod step;
pub mod steps_log;
pub mod stop;
pub mod trainer;
pub mod video;

pub use checkpoint::{Checkpoint, TrainState};
pub use checkpoint_eval::{EvalReport, EvalRequest, evaluate_checkpoint};
pub use config::{
    ExtractorChoice, FreezePolicy, ItemOrder, ModuleLr, OptimizerKind, Schedule, TrainConfig,
};
pub use error::{Result, TrainError};
pub use experiment::{Experiment, RunBackend};
pub use history::EpochRecord;
pub use model_eval::{EvalOptions, Evaluation, evaluate};
pub use parallel::{Share, parallel_step, shares};
pub use run_splits::{run_samples, select_samples};
pub use step::{LossTerms, train_step};
pub use trainer::{RunOptions, RunSummary, train, train_on};

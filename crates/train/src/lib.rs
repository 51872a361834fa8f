//! EchoONE training, generic over the burn backend: the training loop with validation (through
//! `echoone-infer`), checkpoints and exact resume, data parallelism over devices, learning-rate
//! schedules, the PC-Mask prior fit, monitoring (dashboard, events, step times) and ablations.
//! The run folder it writes is `echoone-run`'s; the `echoone` command is `echoone-cli`.

pub mod ablate;
pub mod collective;
pub mod epoch_order;
pub mod error;
pub mod model_setup;
pub mod monitor;
pub mod parallel;
pub mod param_graph;
pub mod prior_fit;
pub mod schedule;
pub mod step;
pub mod stop;
pub mod trainer;

pub use collective::Collective;
pub use error::{Result, TrainError};
pub use parallel::{Share, parallel_step, rank_shares, shares};
pub use step::{LossTerms, train_step};
pub use trainer::{RunOptions, RunSummary, train, train_on};

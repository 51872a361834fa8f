//! Everything that uses a trained EchoONE without training it, generic over the burn backend:
//! a run's model and prior loaded for inference, evaluation with ground-truth or automatic
//! clicks, prediction on images, NIfTI volumes and videos (LV area, beats), LV volumes and EF
//! from predictions, and overlays. Training uses it for its validation.

pub mod beats;
pub mod clicks;
pub mod ef;
pub mod error;
pub mod evaluate;
pub mod evaluate_run;
pub mod items;
pub mod latent_extractor;
pub mod lv_mask;
pub mod overlay;
pub mod predict;
pub mod run_prior;

pub use error::{InferError, Result};
pub use evaluate::{EvalOptions, Evaluation, evaluate};
pub use evaluate_run::{EvalReport, EvalRequest, evaluate_run};

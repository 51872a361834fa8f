//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while evaluating, predicting or measuring with a trained model.
#[derive(Debug, thiserror::Error)]
pub enum InferError {
    /// A configuration value or request is out of range or inconsistent.
    #[error("bad configuration: {0}")]
    Config(String),
    /// A file could not be read, written or parsed.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The run folder or one of its checkpoints could not be read.
    #[error(transparent)]
    Run(#[from] echoone_run::RunError),
    /// A dataset could not be loaded or is unusable.
    #[error(transparent)]
    Data(#[from] echoone_data::DataError),
    /// The model rejected its configuration or input.
    #[error(transparent)]
    Model(#[from] echoone_model::EchoOneError),
    /// PC-Mask could not be loaded or applied.
    #[error(transparent)]
    Prior(#[from] echoone_pc_mask::PcMaskError),
    /// The loss rejected its input (the validation loss).
    #[error(transparent)]
    Loss(#[from] echoone_losses::LossError),
    /// The metrics rejected their input.
    #[error(transparent)]
    Metrics(#[from] echoone_metrics::MetricsError),
    /// Loading SAM weights failed.
    #[error(transparent)]
    Sam(#[from] echoone_sam::SamError),
}

impl InferError {
    /// An error about `path`.
    pub fn file(path: impl Into<PathBuf>, message: impl std::fmt::Display) -> Self {
        Self::File {
            path: path.into(),
            message: message.to_string(),
        }
    }
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, InferError>;

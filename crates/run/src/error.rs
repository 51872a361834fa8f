//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while reading or writing a run folder.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A configuration value is out of range or inconsistent.
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
    /// A dataset could not be loaded or is unusable.
    #[error(transparent)]
    Data(#[from] echoone_data::DataError),
    /// The model rejected its configuration.
    #[error(transparent)]
    Model(#[from] echoone_model::EchoOneError),
    /// The fitted prior of a checkpoint could not be read.
    #[error(transparent)]
    Prior(#[from] echoone_pc_mask::PcMaskError),
}

impl RunError {
    /// An error about `path`.
    pub fn file(path: impl Into<PathBuf>, message: impl std::fmt::Display) -> Self {
        Self::File {
            path: path.into(),
            message: message.to_string(),
        }
    }
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, RunError>;

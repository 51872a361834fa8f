//! The error type of echoone-pc-mask.

use std::path::PathBuf;

/// Everything that can go wrong in echoone-pc-mask.
#[derive(Debug, thiserror::Error)]
pub enum PcMaskError {
    /// Clustering was asked of data that cannot be clustered.
    #[error("cannot fit the prior: {0}")]
    Fit(String),
    /// k-means failed inside linfa.
    #[error("k-means failed: {0}")]
    KMeans(String),
    /// A latent vector or label map has the wrong size.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// A fitted-prior folder could not be read or written.
    #[error("{path}: {message}")]
    Artefact {
        /// The file at fault.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// Result alias of echoone-pc-mask.
pub type Result<T> = std::result::Result<T, PcMaskError>;

//! The error type of echoone-sam.

use std::path::PathBuf;

/// Everything that can go wrong in echoone-sam, each variant naming what and where.
#[derive(Debug, thiserror::Error)]
pub enum SamError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// A checkpoint file is not a readable PyTorch or safetensors state dict.
    #[error("{path}: not a readable SAM checkpoint: {message}")]
    CheckpointFormat {
        /// The checkpoint file.
        path: PathBuf,
        /// What the reader reported.
        message: String,
    },
    /// A checkpoint's tensors do not match the model (missing, unexpected or mis-shaped keys).
    #[error("{path}: checkpoint does not match the model\n{report}")]
    CheckpointMismatch {
        /// The checkpoint file.
        path: PathBuf,
        /// The keys at fault, one per line.
        report: String,
    },
    /// An image could not be decoded.
    #[error("{path}: cannot read image: {message}")]
    Image {
        /// The image file.
        path: PathBuf,
        /// What the decoder reported.
        message: String,
    },
    /// A `.npy` file is malformed or holds an unsupported type.
    #[error("{path}: bad .npy file: {message}")]
    Npy {
        /// The `.npy` file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A prompt (point, box or mask input) is invalid.
    #[error("invalid prompt: {0}")]
    Prompt(String),
    /// A model configuration is inconsistent.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The predictor was asked for masks before an image was set.
    #[error("no image set: call Predictor::set_image first")]
    NoImage,
}

/// Result alias of echoone-sam.
pub type Result<T> = std::result::Result<T, SamError>;

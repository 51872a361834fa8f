//! The error type of the echoone crate.

/// Everything that can go wrong when building or running EchoONE.
#[derive(Debug, thiserror::Error)]
pub enum EchoOneError {
    /// The configuration is inconsistent.
    #[error("invalid EchoONE configuration: {0}")]
    Config(String),
    /// An input has the wrong shape or is missing.
    #[error("invalid input: {0}")]
    Input(String),
    /// A checkpoint cannot be read or does not fit the model.
    #[error("{path}: {message}")]
    Checkpoint {
        /// The checkpoint file.
        path: std::path::PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A SAM part failed.
    #[error(transparent)]
    Sam(#[from] echoone_sam::SamError),
    /// An LFFA part failed.
    #[error(transparent)]
    Lffa(#[from] echoone_lffa::LffaError),
}

/// Result alias of the echoone crate.
pub type Result<T> = std::result::Result<T, EchoOneError>;

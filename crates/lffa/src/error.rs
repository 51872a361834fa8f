//! The error type of echoone-lffa.

/// Everything that can go wrong in echoone-lffa.
#[derive(Debug, thiserror::Error)]
pub enum LffaError {
    /// A module configuration is inconsistent.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Input tensors have shapes the module cannot combine.
    #[error("shape mismatch: {0}")]
    Shape(String),
}

/// Result alias of echoone-lffa.
pub type Result<T> = std::result::Result<T, LffaError>;

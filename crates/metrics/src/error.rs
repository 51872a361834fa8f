//! The one error type of this crate.

use std::path::PathBuf;

/// Everything that can go wrong while reading label maps or computing and writing metrics.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// Two masks or label maps that must share a shape do not.
    #[error("shape mismatch: {what} is {left:?} but {right:?} was expected")]
    ShapeMismatch {
        /// What was compared.
        what: String,
        /// The shape found.
        left: [usize; 2],
        /// The shape expected.
        right: [usize; 2],
    },
    /// A buffer does not hold `height * width` values.
    #[error("a {height}x{width} grid needs {expected} values, got {got}")]
    BufferLength {
        /// Rows.
        height: usize,
        /// Columns.
        width: usize,
        /// `height * width`.
        expected: usize,
        /// Values supplied.
        got: usize,
    },
    /// A pixel spacing that is not a positive finite number.
    #[error("invalid spacing {0:?}: each value must be a positive finite number of mm")]
    InvalidSpacing(Vec<f64>),
    /// A label-map file could not be read or decoded.
    #[error("{path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The two folders handed to the folder evaluation do not pair up or cannot be read.
    #[error("{0}")]
    Folder(String),
    /// A measurement (LV volume, long axis) that the mask does not allow.
    #[error("{0}")]
    Measure(String),
    /// An output file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Shorthand for results with [`MetricsError`].
pub type Result<T> = std::result::Result<T, MetricsError>;

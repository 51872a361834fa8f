//! The one error type of this crate.

use std::path::{Path, PathBuf};

/// Everything that can go wrong while drawing or writing a figure; each names the output file.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The figure or its path cannot be written as asked (no chart, size, path).
    #[error("{}: {reason}", path.display())]
    Invalid {
        /// The PNG file asked for.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// plotters failed to draw the figure.
    #[error("{}: cannot draw the figure: {reason}", path.display())]
    Draw {
        /// The PNG file asked for.
        path: PathBuf,
        /// plotters' message.
        reason: String,
    },
    /// A file could not be written or renamed into place.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file (PNG or SVG) that could not be written.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl PlotError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            Self::Invalid { path, .. } | Self::Draw { path, .. } | Self::Io { path, .. } => path,
        }
    }

    /// What went wrong, without the path (for callers that keep the path in their own error).
    pub fn reason(&self) -> String {
        match self {
            Self::Invalid { reason, .. } => reason.clone(),
            Self::Draw { reason, .. } => format!("cannot draw the figure: {reason}"),
            Self::Io { source, .. } => source.to_string(),
        }
    }
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, PlotError>;

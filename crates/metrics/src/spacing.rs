//! Physical pixel spacing along the two array axes.

use crate::error::{MetricsError, Result};

/// Physical size (mm) of one step along array axis 0 (rows) and axis 1 (columns).
///
/// This is MONAI's `spacing` for a 2-D array: `spacing[i]` scales axis `i`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Spacing {
    /// Size of one step along axis 0 (from one row to the next).
    pub axis0: f64,
    /// Size of one step along axis 1 (from one column to the next).
    pub axis1: f64,
}

impl Spacing {
    /// A checked spacing: both values must be positive and finite.
    pub fn new(axis0: f64, axis1: f64) -> Result<Self> {
        let ok = |v: f64| v.is_finite() && v > 0.0;
        if ok(axis0) && ok(axis1) {
            Ok(Self { axis0, axis1 })
        } else {
            Err(MetricsError::InvalidSpacing(vec![axis0, axis1]))
        }
    }

    /// Unit spacing: distances in pixels.
    pub fn unit() -> Self {
        Self {
            axis0: 1.0,
            axis1: 1.0,
        }
    }
}

impl Default for Spacing {
    fn default() -> Self {
        Self::unit()
    }
}

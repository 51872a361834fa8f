//! Pixel counts of a prediction against a reference, and Dice and IoU from them.

use crate::error::{MetricsError, Result};
use crate::grid::BinaryMask;

/// The confusion counts of a binary prediction against a binary reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Confusion {
    /// Foreground in both.
    pub tp: usize,
    /// Foreground in the prediction only.
    pub fp: usize,
    /// Foreground in the reference only.
    pub fn_: usize,
    /// Background in both.
    pub tn: usize,
}

impl Confusion {
    /// Counts `pred` against `reference`; their shapes must match.
    pub fn count(pred: &BinaryMask, reference: &BinaryMask) -> Result<Self> {
        if pred.shape() != reference.shape() {
            return Err(MetricsError::ShapeMismatch {
                what: "prediction mask".into(),
                left: pred.shape(),
                right: reference.shape(),
            });
        }
        let mut c = Self::default();
        for (&p, &r) in pred.data().iter().zip(reference.data()) {
            match (p, r) {
                (true, true) => c.tp += 1,
                (true, false) => c.fp += 1,
                (false, true) => c.fn_ += 1,
                (false, false) => c.tn += 1,
            }
        }
        Ok(c)
    }

    /// Reference foreground pixels.
    pub fn n_ref(&self) -> usize {
        self.tp + self.fn_
    }

    /// Prediction foreground pixels.
    pub fn n_pred(&self) -> usize {
        self.tp + self.fp
    }

    /// `2 TP / (2 TP + FP + FN)`; NaN when both masks are empty, 0 when only one is.
    pub fn dice(&self) -> f64 {
        let denom = 2 * self.tp + self.fp + self.fn_;
        if denom == 0 {
            f64::NAN
        } else {
            (2 * self.tp) as f64 / denom as f64
        }
    }

    /// `TP / (TP + FP + FN)`; NaN when both masks are empty, 0 when only one is.
    pub fn iou(&self) -> f64 {
        let denom = self.tp + self.fp + self.fn_;
        if denom == 0 {
            f64::NAN
        } else {
            self.tp as f64 / denom as f64
        }
    }
}

//! Symmetric surface distances and the distances built on them: HD95, HD, ASSD.
//!
//! Follows MONAI 1.6.1 (`compute_hausdorff_distance`, `compute_average_surface_distance`,
//! `symmetric=True`): boundary pixels by 4-connected erosion, exact Euclidean distances in
//! physical units rounded to `f32`, the percentile by `torch.quantile` (linear interpolation,
//! in `f32`) per direction, and the larger of the two directions.

use crate::boundary::{boundary_in_box, union_bounding_box};
use crate::edt::query_distances;
use crate::error::{MetricsError, Result};
use crate::grid::BinaryMask;
use crate::spacing::Spacing;

/// Distances from each boundary pixel of one mask to the nearest boundary pixel of the other.
#[derive(Debug, Clone, PartialEq)]
pub enum SurfaceDistances {
    /// Both masks are empty: no distances at all.
    BothEmpty,
    /// Exactly one mask is empty: every distance is infinite.
    OneEmpty,
    /// Both masks have foreground.
    Both {
        /// From each prediction boundary pixel to the reference boundary (row-major order).
        pred_to_ref: Vec<f32>,
        /// From each reference boundary pixel to the prediction boundary (row-major order).
        ref_to_pred: Vec<f32>,
    },
}

impl SurfaceDistances {
    /// Computes the symmetric surface distances of `pred` and `reference` with `spacing`.
    pub fn compute(pred: &BinaryMask, reference: &BinaryMask, spacing: Spacing) -> Result<Self> {
        if pred.shape() != reference.shape() {
            return Err(MetricsError::ShapeMismatch {
                what: "prediction mask".into(),
                left: pred.shape(),
                right: reference.shape(),
            });
        }
        let Some(bb) = union_bounding_box(pred, reference) else {
            return Ok(Self::BothEmpty);
        };
        let edges_pred = boundary_in_box(pred, &bb);
        let edges_ref = boundary_in_box(reference, &bb);
        let (h, w) = (bb.height(), bb.width());
        let s = (spacing.axis0, spacing.axis1);
        let to_ref = query_distances(&edges_ref, &edges_pred, h, w, s);
        let to_pred = query_distances(&edges_pred, &edges_ref, h, w, s);
        Ok(match (to_ref, to_pred) {
            (Some(a), Some(b)) => Self::Both {
                pred_to_ref: a.into_iter().map(|d| d as f32).collect(),
                ref_to_pred: b.into_iter().map(|d| d as f32).collect(),
            },
            _ => Self::OneEmpty,
        })
    }

    /// The `percentile` (0..=100) Hausdorff distance; 95 gives HD95.
    ///
    /// NaN when both masks are empty, +inf when exactly one is (MONAI 1.6.1 returns NaN there
    /// for a percentile because `torch.quantile` interpolates inf - inf; the maximum is inf).
    pub fn hausdorff_percentile(&self, percentile: f64) -> f64 {
        match self {
            Self::BothEmpty => f64::NAN,
            Self::OneEmpty => f64::INFINITY,
            Self::Both {
                pred_to_ref,
                ref_to_pred,
            } => {
                let q = (percentile / 100.0) as f32;
                let a = torch_quantile(&mut pred_to_ref.clone(), q);
                let b = torch_quantile(&mut ref_to_pred.clone(), q);
                f64::from(a.max(b))
            }
        }
    }

    /// The Hausdorff distance (maximum of both directions).
    pub fn hausdorff(&self) -> f64 {
        match self {
            Self::BothEmpty => f64::NAN,
            Self::OneEmpty => f64::INFINITY,
            Self::Both {
                pred_to_ref,
                ref_to_pred,
            } => pred_to_ref
                .iter()
                .chain(ref_to_pred)
                .fold(0.0f32, |m, &d| m.max(d))
                .into(),
        }
    }

    /// The average symmetric surface distance: mean over both directions' distances together.
    pub fn average_symmetric(&self) -> f64 {
        match self {
            Self::BothEmpty => f64::NAN,
            Self::OneEmpty => f64::INFINITY,
            Self::Both {
                pred_to_ref,
                ref_to_pred,
            } => {
                let n = pred_to_ref.len() + ref_to_pred.len();
                let sum: f64 = pred_to_ref
                    .iter()
                    .chain(ref_to_pred)
                    .map(|&d| f64::from(d))
                    .sum();
                sum / n as f64
            }
        }
    }
}

/// `torch.quantile(x, q)` with linear interpolation, computed in `f32` as PyTorch does.
///
/// `values` must be non-empty and is reordered.
fn torch_quantile(values: &mut [f32], q: f32) -> f32 {
    let last = values.len() - 1;
    let rank = q * last as f32;
    let below = (rank.floor() as usize).min(last);
    let above = (rank.ceil() as usize).min(last);
    let weight = rank - below as f32;
    let (_, &mut lo, upper) = values.select_nth_unstable_by(below, f32::total_cmp);
    let hi = if above == below {
        lo
    } else {
        upper.iter().copied().fold(f32::INFINITY, f32::min)
    };
    if weight.abs() < 0.5 {
        lo + weight * (hi - lo)
    } else {
        hi - (hi - lo) * (1.0 - weight)
    }
}

//! Every metric of one structure in one case, and of every label of a label map.

use std::collections::BTreeMap;

use crate::error::{MetricsError, Result};
use crate::grid::{BinaryMask, LabelMap};
use crate::overlap::Confusion;
use crate::spacing::Spacing;
use crate::surface::SurfaceDistances;

/// The metrics of one structure (binary mask pair) in one case.
///
/// Distances are in the units of the spacing (mm, or pixels with unit spacing).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StructureMetrics {
    /// Dice coefficient; NaN when both masks are empty.
    pub dice: f64,
    /// Intersection over union; NaN when both masks are empty.
    pub iou: f64,
    /// 95th-percentile symmetric Hausdorff distance; NaN both empty, inf one empty.
    pub hd95: f64,
    /// Symmetric Hausdorff distance (maximum); NaN both empty, inf one empty.
    pub hd: f64,
    /// Average symmetric surface distance; NaN both empty, inf one empty.
    pub assd: f64,
    /// The pixel counts behind Dice and IoU.
    pub confusion: Confusion,
}

/// Computes every metric of `pred` against `reference`.
pub fn evaluate_masks(
    pred: &BinaryMask,
    reference: &BinaryMask,
    spacing: Spacing,
) -> Result<StructureMetrics> {
    let confusion = Confusion::count(pred, reference)?;
    let surface = SurfaceDistances::compute(pred, reference, spacing)?;
    Ok(StructureMetrics {
        dice: confusion.dice(),
        iou: confusion.iou(),
        hd95: surface.hausdorff_percentile(95.0),
        hd: surface.hausdorff(),
        assd: surface.average_symmetric(),
        confusion,
    })
}

/// Computes every metric for each of `labels` in two label maps of the same shape.
pub fn evaluate_labels(
    pred: &LabelMap,
    reference: &LabelMap,
    labels: &[u32],
    spacing: Spacing,
) -> Result<BTreeMap<u32, StructureMetrics>> {
    if pred.shape() != reference.shape() {
        return Err(MetricsError::ShapeMismatch {
            what: "prediction label map".into(),
            left: pred.shape(),
            right: reference.shape(),
        });
    }
    labels
        .iter()
        .map(|&l| {
            Ok((
                l,
                evaluate_masks(&pred.mask(l), &reference.mask(l), spacing)?,
            ))
        })
        .collect()
}

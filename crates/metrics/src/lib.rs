//! Segmentation metrics that match MONAI: Dice, IoU, HD95, HD and ASSD on binary masks and
//! label maps with an optional anisotropic pixel spacing, their aggregation, and the
//! nnU-Net-style `summary.json`.
//!
//! Empty masks follow MONAI and every output says so: Dice and IoU are NaN when both masks are
//! empty; HD95, HD and ASSD are +inf when exactly one is empty and NaN when both are.

mod boundary;
mod edt;
mod error;
mod evaluate;
mod folder;
mod grid;
mod markdown;
mod overlap;
mod read;
mod spacing;
mod stats;
mod summary;
mod surface;

pub use boundary::boundary;
pub use error::{MetricsError, Result};
pub use evaluate::{StructureMetrics, evaluate_labels, evaluate_masks};
pub use folder::{evaluate_folders, write_summary};
pub use grid::{BinaryMask, Grid, LabelMap};
pub use overlap::Confusion;
pub use read::{LabelFile, LabelFormat, read_label_file};
pub use spacing::Spacing;
pub use stats::Stats;
pub use summary::{
    CaseJson, CaseResult, LabelJson, Metric, MetricStats, Nullable, Statistics, Summary,
};
pub use surface::SurfaceDistances;

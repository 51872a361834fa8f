//! Segmentation metrics that match MONAI: Dice, IoU, HD95, HD and ASSD on binary masks and
//! label maps with an optional anisotropic pixel spacing, their aggregation, and the
//! nnU-Net-style `summary.json`; left-ventricular volumes and ejection fraction by the method of
//! discs as the CAMUS organisers measure them, and Bland-Altman agreement with a reference.
//!
//! Empty masks follow MONAI and every output says so: Dice and IoU are NaN when both masks are
//! empty; HD95, HD and ASSD are +inf when exactly one is empty and NaN when both are.

mod agreement;
mod boundary;
mod components;
mod contour;
mod deepest;
mod discs;
mod edt;
mod error;
mod evaluate;
mod folder;
mod grid;
mod isotropic;
mod markdown;
mod overlap;
mod read;
mod spacing;
mod stats;
mod summary;
mod surface;

pub use agreement::Agreement;
pub use boundary::boundary;
pub use components::largest_component_filled;
pub use contour::contours;
pub use deepest::deepest_point;
pub use discs::{
    DISCS, DiscProfile, DiscStep, Volumes, biplane, biplane_volume_ml, disc_profile, single_plane,
    single_plane_volume_ml,
};
pub use error::{MetricsError, Result};
pub use evaluate::{StructureMetrics, evaluate_labels, evaluate_masks};
pub use folder::{evaluate_folders, write_summary};
pub use grid::{BinaryMask, Grid, LabelMap};
pub use isotropic::isotropic;
pub use overlap::Confusion;
pub use read::{LabelFile, LabelFormat, read_label_file};
pub use spacing::Spacing;
pub use stats::Stats;
pub use summary::{
    CaseJson, CaseResult, LabelJson, Metric, MetricStats, Nullable, Statistics, Summary,
};
pub use surface::SurfaceDistances;

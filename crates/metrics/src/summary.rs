//! The evaluation summary: nnU-Net's `summary.json` layout plus NaN/inf-aware statistics.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::evaluate::StructureMetrics;
use crate::spacing::Spacing;
use crate::stats::{Stats, finite_or_null};

/// The five reported metrics, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Dice coefficient.
    Dice,
    /// Intersection over union.
    IoU,
    /// 95th-percentile symmetric Hausdorff distance.
    HD95,
    /// Symmetric Hausdorff distance.
    HD,
    /// Average symmetric surface distance.
    ASSD,
}

impl Metric {
    /// All metrics in report order.
    pub const ALL: [Metric; 5] = [Self::Dice, Self::IoU, Self::HD95, Self::HD, Self::ASSD];

    /// The key used in `summary.json`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Dice => "Dice",
            Self::IoU => "IoU",
            Self::HD95 => "HD95",
            Self::HD => "HD",
            Self::ASSD => "ASSD",
        }
    }

    /// This metric's value in `m`.
    pub fn of(self, m: &StructureMetrics) -> f64 {
        match self {
            Self::Dice => m.dice,
            Self::IoU => m.iou,
            Self::HD95 => m.hd95,
            Self::HD => m.hd,
            Self::ASSD => m.assd,
        }
    }
}

/// One evaluated case: the file pair, its spacing, optional groups and per-label metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseResult {
    /// The reference (ground-truth) file.
    pub reference_file: String,
    /// The prediction file.
    pub prediction_file: String,
    /// The spacing the distances were computed with.
    pub spacing: Spacing,
    /// The echo plane (e.g. "2CH", "4CH"), when known.
    pub plane: Option<String>,
    /// The dataset or centre, when known.
    pub centre: Option<String>,
    /// The split the case belongs to (train, val, test, or external to the run), when known.
    pub split: Option<String>,
    /// The metrics of each label.
    pub metrics: BTreeMap<u32, StructureMetrics>,
}

/// The evaluation summary, serialized as `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Per case: files, spacing, groups and every metric of every label.
    pub metric_per_case: Vec<CaseJson>,
    /// Per label, the mean of each metric over cases (finite values only, as nnU-Net's `mean`).
    pub mean: BTreeMap<String, BTreeMap<&'static str, Nullable>>,
    /// Per metric, the mean over labels of the per-label means (labels without one left out).
    pub foreground_mean: BTreeMap<&'static str, Nullable>,
    /// Mean, std, median and the NaN/inf counts, per label, pooled, per plane, per centre and
    /// per split.
    pub statistics: Statistics,
    /// How empty masks, units and exclusions are handled.
    pub conventions: BTreeMap<&'static str, &'static str>,
}

/// A number that is written as JSON `null` when it is not finite.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Nullable(#[serde(serialize_with = "finite_or_null")] pub f64);

/// One entry of `metric_per_case`.
#[derive(Debug, Clone, Serialize)]
pub struct CaseJson {
    /// The reference (ground-truth) file.
    pub reference_file: String,
    /// The prediction file.
    pub prediction_file: String,
    /// Spacing along array axes 0 and 1.
    pub spacing: [f64; 2],
    /// The echo plane, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plane: Option<String>,
    /// The dataset or centre, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub centre: Option<String>,
    /// The split of the case, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split: Option<String>,
    /// Per label ("1", "2", ...), every metric and the pixel counts.
    pub metrics: BTreeMap<String, LabelJson>,
}

/// The metrics of one label in one case, as written to JSON.
#[derive(Debug, Clone, Serialize)]
#[allow(non_snake_case)]
pub struct LabelJson {
    /// Dice coefficient (null when both masks are empty).
    pub Dice: Nullable,
    /// Intersection over union (null when both masks are empty).
    pub IoU: Nullable,
    /// 95th-percentile Hausdorff distance (null when a mask is empty).
    pub HD95: Nullable,
    /// Hausdorff distance (null when a mask is empty).
    pub HD: Nullable,
    /// Average symmetric surface distance (null when a mask is empty).
    pub ASSD: Nullable,
    /// Reference foreground pixels.
    pub n_ref: usize,
    /// Prediction foreground pixels.
    pub n_pred: usize,
    /// True positives.
    pub TP: usize,
    /// False positives.
    pub FP: usize,
    /// False negatives.
    pub FN: usize,
    /// True negatives.
    pub TN: usize,
}

/// Per-metric statistics keyed by metric name.
pub type MetricStats = BTreeMap<&'static str, Stats>;

/// The statistics sections of the summary.
#[derive(Debug, Clone, Serialize)]
pub struct Statistics {
    /// Per label.
    pub per_label: BTreeMap<String, MetricStats>,
    /// All (case, label) values pooled.
    pub foreground: MetricStats,
    /// Per plane, then per label (empty when no case names a plane).
    pub per_plane: BTreeMap<String, BTreeMap<String, MetricStats>>,
    /// Per dataset/centre, then per label (empty when no case names one).
    pub per_centre: BTreeMap<String, BTreeMap<String, MetricStats>>,
    /// Per split, then per label (absent when no case names one).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub per_split: BTreeMap<String, BTreeMap<String, MetricStats>>,
}

const CONVENTIONS: [(&str, &str); 6] = [
    (
        "empty_masks",
        "Dice and IoU are NaN when reference and prediction are both empty (0 when only one is); \
         HD95, HD and ASSD are inf when exactly one is empty and NaN when both are (MONAI).",
    ),
    (
        "non_finite",
        "NaN and inf are written as null in metric_per_case, mean and foreground_mean; every \
         mean, std and median leaves them out, and statistics counts them in n_nan and n_inf.",
    ),
    (
        "surface_distances",
        "Boundary pixels as MONAI get_mask_edges (4-connected erosion, image border is \
         background); exact Euclidean distances in spacing units; HD95 is the larger of the two \
         directions' 95th percentiles (torch.quantile, linear), as MONAI \
         compute_hausdorff_distance(percentile=95); ASSD is the mean of both directions' \
         distances together, as MONAI compute_average_surface_distance(symmetric=True).",
    ),
    (
        "units",
        "Distances are in the units of spacing: mm when a spacing is given or read from a \
         NIfTI header, pixels otherwise.",
    ),
    (
        "std",
        "Population standard deviation (ddof = 0) over the finite values.",
    ),
    (
        "foreground_mean",
        "Mean over labels of the per-label means (labels without a finite mean left out); \
         statistics.foreground pools every (case, label) value instead.",
    ),
];

impl Summary {
    /// Aggregates `cases` over `labels`.
    pub fn new(cases: &[CaseResult], labels: &[u32]) -> Self {
        let per_label = per_label_stats(cases.iter(), labels);
        let mean: BTreeMap<String, BTreeMap<&'static str, Nullable>> = per_label
            .iter()
            .map(|(l, stats)| {
                let means = stats.iter().map(|(k, s)| (*k, Nullable(s.mean))).collect();
                (l.clone(), means)
            })
            .collect();
        let foreground_mean = Metric::ALL
            .iter()
            .map(|m| {
                let label_means = mean.values().map(|per| per[m.name()].0);
                (m.name(), Nullable(Stats::of(label_means).mean))
            })
            .collect();
        let foreground = Metric::ALL
            .iter()
            .map(|&m| {
                let values = cases.iter().flat_map(|c| {
                    labels
                        .iter()
                        .filter_map(|l| c.metrics.get(l))
                        .map(move |s| m.of(s))
                });
                (m.name(), Stats::of(values))
            })
            .collect();
        let grouped = |key: fn(&CaseResult) -> Option<&String>| {
            let mut names: Vec<&String> = cases.iter().filter_map(key).collect();
            names.sort();
            names.dedup();
            names
                .into_iter()
                .map(|name| {
                    let members = cases.iter().filter(|c| key(c) == Some(name));
                    (name.clone(), per_label_stats(members, labels))
                })
                .collect()
        };
        Self {
            metric_per_case: cases.iter().map(case_json).collect(),
            mean,
            foreground_mean,
            statistics: Statistics {
                per_label,
                foreground,
                per_plane: grouped(|c| c.plane.as_ref()),
                per_centre: grouped(|c| c.centre.as_ref()),
                per_split: grouped(|c| c.split.as_ref()),
            },
            conventions: CONVENTIONS.into_iter().collect(),
        }
    }

    /// The summary as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the summary has string keys only")
    }
}

fn per_label_stats<'a>(
    cases: impl Iterator<Item = &'a CaseResult> + Clone,
    labels: &[u32],
) -> BTreeMap<String, MetricStats> {
    labels
        .iter()
        .map(|l| {
            let stats = Metric::ALL
                .iter()
                .map(|&m| {
                    let values = cases
                        .clone()
                        .filter_map(|c| c.metrics.get(l))
                        .map(|s| m.of(s));
                    (m.name(), Stats::of(values))
                })
                .collect();
            (l.to_string(), stats)
        })
        .collect()
}

fn case_json(c: &CaseResult) -> CaseJson {
    CaseJson {
        reference_file: c.reference_file.clone(),
        prediction_file: c.prediction_file.clone(),
        spacing: [c.spacing.axis0, c.spacing.axis1],
        plane: c.plane.clone(),
        centre: c.centre.clone(),
        split: c.split.clone(),
        metrics: c
            .metrics
            .iter()
            .map(|(l, m)| {
                let k = &m.confusion;
                let json = LabelJson {
                    Dice: Nullable(m.dice),
                    IoU: Nullable(m.iou),
                    HD95: Nullable(m.hd95),
                    HD: Nullable(m.hd),
                    ASSD: Nullable(m.assd),
                    n_ref: k.n_ref(),
                    n_pred: k.n_pred(),
                    TP: k.tp,
                    FP: k.fp,
                    FN: k.fn_,
                    TN: k.tn,
                };
                (l.to_string(), json)
            })
            .collect(),
    }
}

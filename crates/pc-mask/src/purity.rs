//! How the clusters line up with known plane labels.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

/// Reads a ratio that JSON wrote as `null` (NaN: no labelled image) back as NaN.
fn nan_from_null<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Option::<f64>::deserialize(d).map(|v| v.unwrap_or(f64::NAN))
}

/// Cluster-by-plane counts and the purity they give.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PurityReport {
    /// For each cluster, the number of images of each plane.
    pub counts: Vec<BTreeMap<String, usize>>,
    /// Fraction of images whose plane is their cluster's majority plane (1 = clusters are planes).
    #[serde(deserialize_with = "nan_from_null")]
    pub purity: f64,
    /// Purity of the trivial clustering that puts everything in one cluster (the chance level).
    #[serde(deserialize_with = "nan_from_null")]
    pub chance: f64,
    /// Number of labelled images counted.
    pub labelled: usize,
}

impl PurityReport {
    /// Builds the report from cluster assignments and plane labels (`None`: unlabelled, skipped).
    pub fn new(k: usize, assignments: &[usize], planes: &[Option<String>]) -> Self {
        let mut counts = vec![BTreeMap::<String, usize>::new(); k];
        let mut totals = BTreeMap::<String, usize>::new();
        for (&cluster, plane) in assignments.iter().zip(planes) {
            if let (Some(plane), Some(row)) = (plane, counts.get_mut(cluster)) {
                *row.entry(plane.clone()).or_default() += 1;
                *totals.entry(plane.clone()).or_default() += 1;
            }
        }
        let labelled: usize = totals.values().sum();
        let majority: usize = counts
            .iter()
            .map(|row| row.values().max().copied().unwrap_or(0))
            .sum();
        let ratio = |x: usize| {
            if labelled == 0 {
                f64::NAN
            } else {
                x as f64 / labelled as f64
            }
        };
        Self {
            purity: ratio(majority),
            chance: ratio(totals.values().max().copied().unwrap_or(0)),
            labelled,
            counts,
        }
    }

    /// A Markdown table: one row per cluster, one column per plane, then purity and chance.
    pub fn markdown(&self) -> String {
        let planes: Vec<&String> = {
            let mut all: Vec<&String> = self.counts.iter().flat_map(|r| r.keys()).collect();
            all.sort();
            all.dedup();
            all
        };
        let mut text = format!(
            "| cluster | {} |\n|---|{}\n",
            planes
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join(" | "),
            "---|".repeat(planes.len())
        );
        for (i, row) in self.counts.iter().enumerate() {
            let cells: Vec<String> = planes
                .iter()
                .map(|p| row.get(*p).copied().unwrap_or(0).to_string())
                .collect();
            text.push_str(&format!("| {i} | {} |\n", cells.join(" | ")));
        }
        text.push_str(&format!(
            "\npurity {:.3} over {} labelled images (chance {:.3})\n",
            self.purity, self.labelled, self.chance
        ));
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_without_plane_labels_round_trips_through_json() {
        let report = PurityReport::new(2, &[0, 1], &[None, None]);
        assert!(report.purity.is_nan() && report.chance.is_nan());
        let text = serde_json::to_string(&report).expect("serialise");
        let back: PurityReport = serde_json::from_str(&text).expect("deserialise");
        assert!(back.purity.is_nan() && back.chance.is_nan());
        assert_eq!(back.labelled, 0);
    }
}

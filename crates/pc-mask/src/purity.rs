//! How the clusters line up with known plane labels.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Cluster-by-plane counts and the purity they give.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PurityReport {
    /// For each cluster, the number of images of each plane.
    pub counts: Vec<BTreeMap<String, usize>>,
    /// Fraction of images whose plane is their cluster's majority plane (1 = clusters are planes).
    pub purity: f64,
    /// Purity of the trivial clustering that puts everything in one cluster (the chance level).
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

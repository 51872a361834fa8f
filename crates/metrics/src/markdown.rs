//! The evaluation summary as a Markdown report.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::stats::Stats;
use crate::summary::{Metric, MetricStats, Summary};

impl Summary {
    /// The summary as Markdown: one table per grouping, with the excluded counts in every row.
    pub fn to_markdown(&self) -> String {
        let mut out = String::from("# Segmentation metrics\n\n");
        let _ = writeln!(
            out,
            "{} case(s). Each cell: mean ± std (median) over the finite values; `excluded` counts \
             the values left out as NaN / inf.\n",
            self.metric_per_case.len()
        );
        out.push_str("## Per label\n\n");
        table(&mut out, "label", &self.statistics.per_label);
        out.push_str("\n## All labels pooled\n\n");
        let pooled = BTreeMap::from([("all".to_owned(), self.statistics.foreground.clone())]);
        table(&mut out, "labels", &pooled);
        for (title, groups) in [
            ("plane", &self.statistics.per_plane),
            ("centre", &self.statistics.per_centre),
            ("split", &self.statistics.per_split),
        ] {
            for (name, per_label) in groups {
                let _ = writeln!(out, "\n## {title} {name}\n");
                table(&mut out, "label", per_label);
            }
        }
        out.push_str("\n## Conventions\n\n");
        for (key, text) in &self.conventions {
            let _ = writeln!(out, "- {key}: {text}");
        }
        out
    }
}

fn table(out: &mut String, first: &str, rows: &BTreeMap<String, MetricStats>) {
    let _ = write!(out, "| {first} |");
    for m in Metric::ALL {
        let _ = write!(out, " {} | {} excluded |", m.name(), m.name());
    }
    out.push_str("\n|---|");
    out.push_str(&"---|---|".repeat(Metric::ALL.len()));
    out.push('\n');
    for (name, stats) in rows {
        let _ = write!(out, "| {name} |");
        for m in Metric::ALL {
            match stats.get(m.name()) {
                Some(s) => {
                    let _ = write!(out, " {} | {} / {} |", cell(s), s.n_nan, s.n_inf);
                }
                None => out.push_str(" - | - |"),
            }
        }
        out.push('\n');
    }
}

fn cell(s: &Stats) -> String {
    if s.n == 0 {
        "n/a".to_owned()
    } else {
        format!("{:.4} ± {:.4} ({:.4})", s.mean, s.std, s.median)
    }
}

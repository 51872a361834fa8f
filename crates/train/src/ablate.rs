//! Ablations: the same data, split and seed trained under several module toggles, each best
//! checkpoint evaluated on the held-out split, and one comparison table.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use echoone_metrics::{Stats, Summary};
use serde::Serialize;

use crate::error::{Result, TrainError};
use echoone_run::config::TrainConfig;

/// The boolean toggles an ablation grid can vary.
pub const TOGGLES: [&str; 4] = ["lffa", "pc_mask", "residual_cnn", "fusion"];

/// The metrics compared.
const METRICS: [&str; 3] = ["Dice", "IoU", "HD95"];

/// One configuration of the grid.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Variant {
    /// Folder-safe name, e.g. `lffa-on_pc_mask-off`.
    pub name: String,
    /// Each toggle and its value.
    pub toggles: Vec<(String, bool)>,
}

/// Every on/off combination of `toggles` (the paper's 2x2 for `lffa,pc_mask`), all-on first.
pub fn grid(toggles: &[String]) -> Result<Vec<Variant>> {
    if toggles.is_empty() || toggles.len() > TOGGLES.len() {
        return Err(TrainError::Config(format!(
            "an ablation grid varies 1 to {} of {TOGGLES:?}",
            TOGGLES.len()
        )));
    }
    for t in toggles {
        if !TOGGLES.contains(&t.as_str()) || toggles.iter().filter(|u| *u == t).count() > 1 {
            return Err(TrainError::Config(format!(
                "ablation toggle {t:?}: expected distinct names from {TOGGLES:?}"
            )));
        }
    }
    let n = toggles.len();
    Ok((0..1usize << n)
        .map(|mask| {
            let values: Vec<(String, bool)> = toggles
                .iter()
                .enumerate()
                .map(|(i, t)| (t.clone(), mask >> (n - 1 - i) & 1 == 0))
                .collect();
            let name = values
                .iter()
                .map(|(t, on)| format!("{t}-{}", if *on { "on" } else { "off" }))
                .collect::<Vec<_>>()
                .join("_");
            Variant {
                name,
                toggles: values,
            }
        })
        .collect())
}

/// `base` with the variant's toggles applied.
pub fn apply(base: &TrainConfig, variant: &Variant) -> TrainConfig {
    let mut config = base.clone();
    for (toggle, on) in &variant.toggles {
        let model = config.model.clone();
        config.model = match toggle.as_str() {
            "lffa" => model.with_lffa(*on),
            "pc_mask" => model.with_pc_mask(*on),
            "residual_cnn" => model.with_residual_cnn(*on),
            _ => model.with_fusion(*on),
        };
    }
    config
}

/// Mean and std of one metric.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct MeanStd {
    /// Mean over finite values (NaN when none).
    pub mean: f64,
    /// Population std.
    pub std: f64,
    /// Values used.
    pub n: usize,
}

impl From<&Stats> for MeanStd {
    fn from(s: &Stats) -> Self {
        Self {
            mean: s.mean,
            std: s.std,
            n: s.n,
        }
    }
}

/// One row of the comparison: a variant's held-out metrics.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// The variant.
    pub variant: Variant,
    /// Where the evaluation clicks came from (`gt`, `auto`, ...).
    pub clicks: String,
    /// Best mean validation Dice during training.
    pub best_val_dice: Option<f64>,
    /// Per structure, per metric.
    pub structures: BTreeMap<String, BTreeMap<String, MeanStd>>,
    /// Per plane (structures pooled), per metric.
    pub planes: BTreeMap<String, BTreeMap<String, MeanStd>>,
    /// Every (item, structure) pooled, per metric.
    pub overall: BTreeMap<String, MeanStd>,
}

fn structure_name(label: &str) -> String {
    label
        .parse::<u8>()
        .ok()
        .and_then(echoone_data::Structure::from_label)
        .map_or_else(|| label.to_string(), |s| s.name().to_string())
}

fn pick(stats: &BTreeMap<&'static str, Stats>) -> BTreeMap<String, MeanStd> {
    METRICS
        .iter()
        .filter_map(|m| stats.get(m).map(|s| (m.to_string(), MeanStd::from(s))))
        .collect()
}

impl Row {
    /// The row of `variant` from its held-out summary with clicks from `clicks`.
    pub fn new(
        variant: Variant,
        clicks: &str,
        best_val_dice: Option<f64>,
        summary: &Summary,
    ) -> Self {
        let st = &summary.statistics;
        let structures = st
            .per_label
            .iter()
            .map(|(l, s)| (structure_name(l), pick(s)))
            .collect();
        let planes = st
            .per_plane
            .keys()
            .map(|plane| {
                let pooled = METRICS
                    .iter()
                    .map(|m| {
                        let values = summary
                            .metric_per_case
                            .iter()
                            .filter(|c| c.plane.as_ref() == Some(plane))
                            .flat_map(|c| c.metrics.values())
                            .map(|l| match *m {
                                "Dice" => l.Dice.0,
                                "IoU" => l.IoU.0,
                                _ => l.HD95.0,
                            });
                        (m.to_string(), MeanStd::from(&Stats::of(values)))
                    })
                    .collect();
                (plane.clone(), pooled)
            })
            .collect();
        Self {
            variant,
            clicks: clicks.to_string(),
            best_val_dice,
            structures,
            planes,
            overall: pick(&st.foreground),
        }
    }
}

fn cell(v: Option<&MeanStd>) -> String {
    match v {
        Some(v) if v.mean.is_finite() => format!("{:.4} ± {:.4}", v.mean, v.std),
        _ => "–".into(),
    }
}

/// The comparison as Markdown: one table per metric, a row per variant, a column per structure
/// and plane, and the overall mean.
pub fn markdown(rows: &[Row], split: &str) -> String {
    let mut out = format!(
        "# Ablation\n\nHeld-out {split} split; each cell mean ± std over (image, structure) \
         items; clicks from the ground truth (`gt`) or from the model alone (`auto`, PC-Mask \
         variants only). HD95 in pixels at the model size. Dice and IoU are NaN when both masks \
         are empty (an absent structure predicted absent) and HD95 is inf when one is; both are \
         left out of the means (the NaN rule is nnU-Net's; MONAI's `DiceMetric` by default \
         leaves out every empty reference).\n"
    );
    let mut columns: Vec<(bool, String)> = Vec::new();
    for r in rows {
        for s in r.structures.keys() {
            if !columns.contains(&(true, s.clone())) {
                columns.push((true, s.clone()));
            }
        }
        for p in r.planes.keys() {
            if !columns.contains(&(false, p.clone())) {
                columns.push((false, p.clone()));
            }
        }
    }
    for metric in METRICS {
        let _ = write!(out, "\n## {metric}\n\n| variant | clicks | best val Dice |");
        for (_, c) in &columns {
            let _ = write!(out, " {c} |");
        }
        out.push_str(" overall |\n|---|---|---|");
        out.push_str(&"---|".repeat(columns.len() + 1));
        out.push('\n');
        for r in rows {
            let best = r.best_val_dice.map_or("–".into(), |d| format!("{d:.4}"));
            let _ = write!(out, "| {} | {} | {best} |", r.variant.name, r.clicks);
            for (is_structure, c) in &columns {
                let group = if *is_structure {
                    &r.structures
                } else {
                    &r.planes
                };
                let _ = write!(out, " {} |", cell(group.get(c).and_then(|m| m.get(metric))));
            }
            let _ = writeln!(out, " {} |", cell(r.overall.get(metric)));
        }
    }
    out
}

/// Writes `ablation.md` and `ablation.json` into `dir`.
pub fn write(dir: &Path, rows: &[Row], split: &str) -> Result<()> {
    let json = serde_json::to_string_pretty(&serde_json::json!({ "split": split, "rows": rows }))
        .map_err(|e| TrainError::file(dir.join("ablation.json"), e))?;
    echoone_data::png_io::write_atomic(&dir.join("ablation.json"), json.as_bytes())?;
    echoone_data::png_io::write_atomic(&dir.join("ablation.md"), markdown(rows, split).as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use echoone_model::EchoOneConfig;

    #[test]
    fn the_default_grid_is_the_papers_two_by_two() {
        let g = grid(&["lffa".into(), "pc_mask".into()]).unwrap();
        let names: Vec<&str> = g.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "lffa-on_pc_mask-on",
                "lffa-on_pc_mask-off",
                "lffa-off_pc_mask-on",
                "lffa-off_pc_mask-off"
            ]
        );
        let base = TrainConfig::new(EchoOneConfig::small());
        let off = apply(&base, &g[3]);
        assert!(!off.model.pc_mask && !off.model.fusion && !off.model.residual_cnn);
        assert_eq!(off.model.decoder_depth, 2);
        let on = apply(&base, &g[0]);
        assert!(on.same_run(&base));
        assert!(grid(&["dropout".into()]).is_err());
        assert!(grid(&["lffa".into(), "lffa".into()]).is_err());
    }
}

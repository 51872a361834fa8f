//! Agreement of each measured source with the reference (or with the masks when the dataset
//! states no reference), and the files that report it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use echoone_data::Split;
use echoone_metrics::{Agreement, DiscStep};
use echoone_plot::{Chart, Colour, Figure, RefLine, Series, SeriesStyle};
use serde::Serialize;

use super::cases::{CaseVolumes, Skipped, Source};
use crate::error::{InferError, Result};

/// How one source agrees with another over the cases both measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// The measured source.
    pub source: Source,
    /// What it is compared with.
    pub against: Source,
    /// EF, percent points.
    pub ef_pct: Agreement,
    /// EDV, ml (cases where both give it).
    pub edv_ml: Agreement,
    /// ESV, ml.
    pub esv_ml: Agreement,
}

/// Everything `ef` measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EfReport {
    /// The dataset specification.
    pub dataset: String,
    /// The split measured (`all` for every case).
    pub split: String,
    /// The checkpoint of the predictions, when there are some.
    pub checkpoint: Option<PathBuf>,
    /// The biplane disc height rule.
    pub discs: DiscStep,
    /// Masks and predictions against the reference; predictions against the masks.
    pub comparisons: Vec<Comparison>,
    /// Every case with its dataset and split (the run's, or external to it).
    pub cases: Vec<CaseSplit>,
    /// Cases a source could not measure.
    pub skipped: Vec<Skipped>,
    /// Every case's values.
    #[serde(skip)]
    pub rows: Vec<CaseVolumes>,
}

/// A case of the report and its split.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct CaseSplit {
    /// The dataset.
    pub dataset: String,
    /// The case id.
    pub case: String,
    /// The split (`train`, `val`, `test`, `external`), when assigned.
    pub split: Option<Split>,
}

/// Every case of `rows` and `skipped`, once each, sorted.
pub fn cases_of(rows: &[CaseVolumes], skipped: &[Skipped]) -> Vec<CaseSplit> {
    let all = rows
        .iter()
        .map(|r| (&r.dataset, &r.case, r.split))
        .chain(skipped.iter().map(|s| (&s.dataset, &s.case, s.split)));
    let set: BTreeSet<CaseSplit> = all
        .map(|(dataset, case, split)| CaseSplit {
            dataset: dataset.clone(),
            case: case.clone(),
            split,
        })
        .collect();
    set.into_iter().collect()
}

/// The comparisons of `rows`: masks and predicted against reference, predicted against masks,
/// each made where both sources measured at least one common case.
pub fn compare(rows: &[CaseVolumes]) -> Vec<Comparison> {
    let pairs = [
        (Source::Masks, Source::Reference),
        (Source::Predicted, Source::Reference),
        (Source::Predicted, Source::Masks),
    ];
    pairs
        .into_iter()
        .filter_map(|(source, against)| {
            let matched = matched(rows, source, against);
            (!matched.is_empty()).then(|| Comparison {
                source,
                against,
                ef_pct: Agreement::of(matched.iter().map(|(a, b)| (a.ef_pct, b.ef_pct))),
                edv_ml: Agreement::of(matched.iter().map(|(a, b)| (a.edv_ml, b.edv_ml))),
                esv_ml: Agreement::of(matched.iter().map(|(a, b)| (a.esv_ml, b.esv_ml))),
            })
        })
        .collect()
}

/// The rows of `source` paired with the row of `against` for the same case.
fn matched(
    rows: &[CaseVolumes],
    source: Source,
    against: Source,
) -> Vec<(&CaseVolumes, &CaseVolumes)> {
    rows.iter()
        .filter(|r| r.source == source)
        .filter_map(|r| {
            rows.iter()
                .find(|o| o.source == against && o.dataset == r.dataset && o.case == r.case)
                .map(|o| (r, o))
        })
        .collect()
}

/// Writes `volumes.csv`, `ef.json`, `bland_altman.png` (+ `.svg`, when a comparison exists) and
/// `summary.md` into `out`; returns the paths written.
pub fn write_report(report: &EfReport, out: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out).map_err(|e| InferError::file(out, e))?;
    let mut written = Vec::new();
    let mut csv = String::from("case,source,edv_ml,esv_ml,ef_pct,method,dataset,split\n");
    for r in &report.rows {
        let v = |x: f64| {
            if x.is_finite() {
                format!("{x:.2}")
            } else {
                String::new()
            }
        };
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},{},{}",
            r.case,
            r.source.name(),
            v(r.edv_ml),
            v(r.esv_ml),
            v(r.ef_pct),
            r.method.name(),
            r.dataset,
            r.split.map_or("", |s| s.name())
        );
    }
    written.push(write_text(&out.join("volumes.csv"), &csv)?);
    let json = serde_json::to_string_pretty(report).map_err(|e| InferError::file(out, e))?;
    written.push(write_text(&out.join("ef.json"), &(json + "\n"))?);
    let plot = out.join("bland_altman.png");
    let has_plot = !report.comparisons.is_empty();
    if has_plot {
        let w = bland_altman(report)
            .write(&plot)
            .map_err(|e| InferError::file(&plot, e.reason()))?;
        written.extend([w.png, w.svg]);
    }
    written.push(write_text(
        &out.join("summary.md"),
        &summary(report, has_plot),
    )?);
    Ok(written)
}

/// `text` into `path`, atomically.
fn write_text(path: &Path, text: &str) -> Result<PathBuf> {
    echoone_data::png_io::write_atomic(path, text.as_bytes())?;
    Ok(path.to_path_buf())
}

/// One panel per comparison against the first reference available: difference against mean EF,
/// with the bias and the 95 % limits of agreement.
fn bland_altman(report: &EfReport) -> Figure {
    let charts = report
        .comparisons
        .iter()
        .enumerate()
        .map(|(k, c)| {
            let points: Vec<(f64, f64)> = matched(&report.rows, c.source, c.against)
                .into_iter()
                .map(|(r, o)| ((r.ef_pct + o.ef_pct) / 2.0, r.ef_pct - o.ef_pct))
                .collect();
            let a = &c.ef_pct;
            Chart::new(
                format!(
                    "EF: {} vs {} (n = {})",
                    c.source.name(),
                    c.against.name(),
                    a.n
                ),
                format!(
                    "mean of {} and {} EF (%)",
                    c.source.name(),
                    c.against.name()
                ),
                format!(
                    "{} - {} EF (percent points)",
                    c.source.name(),
                    c.against.name()
                ),
            )
            .with_series(Series::new(
                "cases",
                points,
                SeriesStyle::Points,
                Colour::palette(k),
            ))
            .with_hline(RefLine::new(a.bias, format!("bias {:+.2}", a.bias)))
            .with_hline(RefLine::new(a.loa_high, format!("+1.96 SD {:+.2}", a.loa_high)).dashed())
            .with_hline(RefLine::new(a.loa_low, format!("-1.96 SD {:+.2}", a.loa_low)).dashed())
        })
        .collect();
    Figure::new(charts)
}

/// `summary.md`: the agreement table, the method, and the skipped cases.
fn summary(report: &EfReport, has_plot: bool) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# LV volumes and ejection fraction\n");
    let _ = writeln!(
        md,
        "Dataset `{}`, split `{}`.",
        report.dataset, report.split
    );
    let mut per_split: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &report.cases {
        *per_split
            .entry(c.split.map_or("unassigned", |s| s.name()))
            .or_insert(0) += 1;
    }
    let per_split: Vec<String> = per_split.iter().map(|(s, n)| format!("{n} {s}")).collect();
    let _ = writeln!(
        md,
        "Cases by split: {} (every case's split: `volumes.csv`, `ef.json`).",
        per_split.join(", ")
    );
    if let Some(c) = &report.checkpoint {
        let _ = writeln!(
            md,
            "Predictions: `{}`, clicks from PC-Mask alone.",
            c.display()
        );
    }
    let count = |s: Source| report.rows.iter().filter(|r| r.source == s).count();
    let _ = writeln!(
        md,
        "\nCases measured: reference {}, masks {}, predicted {}; skipped {} (listed below).\n",
        count(Source::Reference),
        count(Source::Masks),
        count(Source::Predicted),
        report.skipped.len()
    );
    if report.comparisons.is_empty() {
        let _ = writeln!(md, "No two sources share a case: nothing to compare.\n");
    } else {
        let _ = writeln!(
            md,
            "| source | against | n | EF MAE (points) | EF bias | EF 95 % LoA | EF r | EDV MAE (ml) | ESV MAE (ml) |"
        );
        let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|");
        let f = |x: f64| {
            if x.is_finite() {
                format!("{x:.2}")
            } else {
                "-".into()
            }
        };
        for c in &report.comparisons {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | [{}, {}] | {} | {} | {} |",
                c.source.name(),
                c.against.name(),
                c.ef_pct.n,
                f(c.ef_pct.mae),
                f(c.ef_pct.bias),
                f(c.ef_pct.loa_low),
                f(c.ef_pct.loa_high),
                f(c.ef_pct.pearson_r),
                f(c.edv_ml.mae),
                f(c.esv_ml.mae)
            );
        }
        if has_plot {
            let _ = writeln!(md, "\n![Bland-Altman plots of EF](bland_altman.png)");
        }
    }
    let rule = match report.discs {
        DiscStep::Camus => {
            "one disc height for ED and ES, the largest of the four masks (the CAMUS script)"
        }
        DiscStep::PerPhase => "each instant the larger disc height of its two views",
    };
    let _ = writeln!(
        md,
        "\nMethod of discs as the CAMUS organisers' script: isotropic resampling, annulus as the \
         longest straight stretch of the LV contour, apex farthest from its midpoint, 20 discs; \
         biplane (2CH x 4CH; {rule}) where a case has both views at ED and ES, else single plane. \
         Differences are source minus `against`."
    );
    if !report.skipped.is_empty() {
        let _ = writeln!(
            md,
            "\n## Skipped\n\n| dataset | case | split | source | reason |\n|---|---|---|---|---|"
        );
        for s in &report.skipped {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} |",
                s.dataset,
                s.case,
                s.split.map_or("-", |s| s.name()),
                s.source.name(),
                s.reason
            );
        }
    }
    md
}

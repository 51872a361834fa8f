//! Evaluating a folder of predictions against a folder of references, paired by file name
//! (as nnU-Net's `evaluate_folder`), and writing `summary.json` and `summary.md`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::error::{MetricsError, Result};
use crate::evaluate::evaluate_labels;
use crate::read::{LabelFile, label_files, read_label_file};
use crate::spacing::Spacing;
use crate::summary::{CaseResult, Summary};

/// Evaluates every label map of `pred_dir` against the file of the same name in `gt_dir`.
///
/// `spacing_xy` overrides the spacing as (x, y): x is the column axis of a PNG and the first
/// (i) axis of a NIfTI image. Without it, a NIfTI file uses its reference's header spacing and
/// a PNG unit spacing (pixels). `labels` defaults to every non-zero label found in either
/// folder. Unpaired, unreadable or mismatched files are one error naming all of them.
pub fn evaluate_folders(
    pred_dir: &Path,
    gt_dir: &Path,
    spacing_xy: Option<(f64, f64)>,
    labels: Option<&[u32]>,
) -> Result<Summary> {
    if let Some((x, y)) = spacing_xy {
        Spacing::new(x, y)?;
    }
    let gt = label_files(gt_dir)?;
    let pred = label_files(pred_dir)?;
    pair_names(&gt, &pred, gt_dir, pred_dir)?;
    let mut problems = Vec::new();
    let mut pairs = Vec::new();
    for ((name, gt_path), (_, pred_path)) in gt.iter().zip(&pred) {
        let (g, p) = (read_label_file(gt_path), read_label_file(pred_path));
        match (g, p) {
            (Ok(g), Ok(p)) => {
                if g.map.shape() != p.map.shape() {
                    problems.push(format!(
                        "{name}: prediction {} is {:?} but reference {} is {:?}",
                        pred_path.display(),
                        p.map.shape(),
                        gt_path.display(),
                        g.map.shape()
                    ));
                    continue;
                }
                match case_spacing(&g, spacing_xy) {
                    Ok(s) => pairs.push((name, gt_path, pred_path, g, p, s)),
                    Err(reason) => problems.push(format!("{}: {reason}", gt_path.display())),
                }
            }
            (g, p) => problems.extend(
                [g.err(), p.err()]
                    .into_iter()
                    .flatten()
                    .map(|e| e.to_string()),
            ),
        }
    }
    if !problems.is_empty() {
        return Err(MetricsError::Folder(format!(
            "{} problem(s) in {} / {}:\n  {}",
            problems.len(),
            pred_dir.display(),
            gt_dir.display(),
            problems.join("\n  ")
        )));
    }
    let labels: Vec<u32> = match labels {
        Some(l) => l.to_vec(),
        None => {
            let mut found = BTreeSet::new();
            for (.., g, p, _) in &pairs {
                found.extend(g.map.labels());
                found.extend(p.map.labels());
            }
            found.into_iter().collect()
        }
    };
    let mut cases = Vec::with_capacity(pairs.len());
    for (_, gt_path, pred_path, g, p, spacing) in &pairs {
        let metrics: BTreeMap<_, _> = evaluate_labels(&p.map, &g.map, &labels, *spacing)?;
        cases.push(CaseResult {
            reference_file: gt_path.display().to_string(),
            prediction_file: pred_path.display().to_string(),
            spacing: *spacing,
            plane: None,
            centre: None,
            split: None,
            metrics,
        });
    }
    Ok(Summary::new(&cases, &labels))
}

fn pair_names(
    gt: &[(String, std::path::PathBuf)],
    pred: &[(String, std::path::PathBuf)],
    gt_dir: &Path,
    pred_dir: &Path,
) -> Result<()> {
    let g: BTreeSet<&String> = gt.iter().map(|(n, _)| n).collect();
    let p: BTreeSet<&String> = pred.iter().map(|(n, _)| n).collect();
    let only_gt: Vec<&str> = g.difference(&p).map(|s| s.as_str()).collect();
    let only_pred: Vec<&str> = p.difference(&g).map(|s| s.as_str()).collect();
    let mut msg = Vec::new();
    if gt.is_empty() {
        msg.push(format!(
            "no .png, .nii or .nii.gz file in reference folder {}",
            gt_dir.display()
        ));
    }
    if !only_gt.is_empty() {
        msg.push(format!(
            "no prediction in {} for: {}",
            pred_dir.display(),
            only_gt.join(", ")
        ));
    }
    if !only_pred.is_empty() {
        msg.push(format!(
            "no reference in {} for: {}",
            gt_dir.display(),
            only_pred.join(", ")
        ));
    }
    if msg.is_empty() {
        Ok(())
    } else {
        Err(MetricsError::Folder(msg.join("\n")))
    }
}

fn case_spacing(
    g: &LabelFile,
    spacing_xy: Option<(f64, f64)>,
) -> std::result::Result<Spacing, String> {
    if let Some((x, y)) = spacing_xy {
        let (x_axis, _) = g.format.xy_axes();
        let (a0, a1) = if x_axis == 0 { (x, y) } else { (y, x) };
        return Spacing::new(a0, a1).map_err(|e| e.to_string());
    }
    match g.format {
        crate::read::LabelFormat::Png => Ok(Spacing::unit()),
        crate::read::LabelFormat::Nifti => g.spacing.ok_or_else(|| {
            "the NIfTI header's pixdim[1..3] is not a positive spacing; pass --spacing".to_owned()
        }),
    }
}

/// Writes `summary.json` and `summary.md` into `out_dir` (created if needed), both or neither.
pub fn write_summary(summary: &Summary, out_dir: &Path) -> Result<()> {
    let write_err = |path: &Path, source| MetricsError::Write {
        path: path.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(out_dir).map_err(|e| write_err(out_dir, e))?;
    let files = [
        ("summary.json", summary.to_json()),
        ("summary.md", summary.to_markdown()),
    ];
    let mut staged = Vec::new();
    for (name, text) in &files {
        let tmp = out_dir.join(format!(".{name}.tmp"));
        if let Err(e) = std::fs::write(&tmp, text) {
            for (t, _) in &staged {
                let _ = std::fs::remove_file(t);
            }
            let _ = std::fs::remove_file(&tmp);
            return Err(write_err(&tmp, e));
        }
        staged.push((tmp, out_dir.join(name)));
    }
    for (tmp, dst) in &staged {
        std::fs::rename(tmp, dst).map_err(|e| write_err(dst, e))?;
    }
    Ok(())
}

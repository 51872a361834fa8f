//! `metrics`: evaluates a folder of predicted label maps against a folder of references.
//!
//! Files are paired by name (PNG or NIfTI); writes `summary.json` (nnU-Net layout) and
//! `summary.md` into `--out`, or nothing at all when any input is wrong.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use echoone_metrics::{Metric, evaluate_folders, write_summary};

/// Dice, IoU, HD95, HD and ASSD of predicted label maps, MONAI-exact.
#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// Folder of predicted label maps (.png, .nii, .nii.gz).
    #[arg(long)]
    pred: PathBuf,
    /// Folder of reference label maps with the same file names.
    #[arg(long)]
    gt: PathBuf,
    /// Pixel spacing in mm as SX,SY (x = PNG column axis / NIfTI first axis); default: the
    /// reference NIfTI header, or 1,1 (pixels) for PNG.
    #[arg(long, value_name = "SX,SY")]
    spacing: Option<String>,
    /// Labels to evaluate, e.g. 1,2,3; default: every non-zero label present.
    #[arg(long, value_name = "L1,L2,...")]
    labels: Option<String>,
    /// Output folder for summary.json and summary.md.
    #[arg(long)]
    out: PathBuf,
}

fn parse_spacing(text: &str) -> Result<(f64, f64)> {
    let values: Vec<f64> = text
        .split(',')
        .map(|v| v.trim().parse::<f64>())
        .collect::<std::result::Result<_, _>>()
        .with_context(|| format!("--spacing {text:?}: expected two numbers SX,SY"))?;
    match values[..] {
        [x, y] if x.is_finite() && y.is_finite() && x > 0.0 && y > 0.0 => Ok((x, y)),
        _ => bail!("--spacing {text:?}: expected two positive numbers SX,SY"),
    }
}

fn parse_labels(text: &str) -> Result<Vec<u32>> {
    let labels: Vec<u32> = text
        .split(',')
        .map(|v| v.trim().parse::<u32>())
        .collect::<std::result::Result<_, _>>()
        .with_context(|| format!("--labels {text:?}: expected non-negative integers L1,L2,..."))?;
    if labels.is_empty() {
        bail!("--labels is empty");
    }
    Ok(labels)
}

/// Evaluates the folders as `args` ask and writes the summaries.
pub fn run(args: MetricsArgs) -> Result<()> {
    let spacing = args.spacing.as_deref().map(parse_spacing).transpose()?;
    let labels = args.labels.as_deref().map(parse_labels).transpose()?;
    let summary = evaluate_folders(&args.pred, &args.gt, spacing, labels.as_deref())?;
    write_summary(&summary, &args.out)?;
    println!(
        "{} case(s); per-label mean over finite values [NaN/inf excluded]:",
        summary.metric_per_case.len()
    );
    for (label, stats) in &summary.statistics.per_label {
        let mut line = format!("  label {label}:");
        for m in Metric::ALL {
            if let Some(s) = stats.get(m.name()) {
                line += &format!(" {} {:.4} [{}/{}]", m.name(), s.mean, s.n_nan, s.n_inf);
            }
        }
        println!("{line}");
    }
    println!(
        "wrote {} and {}",
        args.out.join("summary.json").display(),
        args.out.join("summary.md").display()
    );
    Ok(())
}

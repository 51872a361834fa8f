//! The per-epoch record of a run, written as `metrics.csv` and drawn as `curves.png` (and
//! `curves.svg`).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use echoone_plot::{Chart, Colour, Corner, Figure, RefLine, Series, SeriesStyle};
use serde::{Deserialize, Serialize};

use crate::error::{Result, RunError};

/// What one epoch measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Learning rate at the epoch's last step.
    pub lr: f64,
    /// Mean training loss (the weighted total).
    pub train_loss: f64,
    /// Mean of each unweighted training loss term (`main_bce`, `main_dice`, `coarse_*`).
    pub train_terms: BTreeMap<String, f64>,
    /// Mean validation loss.
    pub val_loss: f64,
    /// Mean validation Dice over structures (the model-selection score).
    pub val_dice: f64,
    /// Mean validation Dice per structure (`LV`, `MYO`, `LA`).
    pub val_dice_structure: BTreeMap<String, f64>,
    /// Mean validation Dice per plane.
    pub val_dice_plane: BTreeMap<String, f64>,
    /// Training samples per second over the epoch.
    pub samples_per_second: f64,
    /// Wall-clock seconds of the epoch (training and validation).
    pub seconds: f64,
}

impl EpochRecord {
    /// The validation Dice of each structure as text: `LA 0.733, LV 0.883, MYO 0.823`.
    pub fn dice_per_structure_text(&self) -> String {
        let per: Vec<String> = self
            .val_dice_structure
            .iter()
            .map(|(k, v)| format!("{k} {v:.3}"))
            .collect();
        per.join(", ")
    }
}

/// Writes `metrics.csv` (one row per epoch; the columns of the first record) atomically.
pub fn write_csv(path: &Path, history: &[EpochRecord]) -> Result<()> {
    let Some(first) = history.first() else {
        return Ok(());
    };
    let mut out = String::from("epoch,lr,train_loss");
    for k in first.train_terms.keys() {
        let _ = write!(out, ",train_{k}");
    }
    out.push_str(",val_loss,val_dice");
    for k in first.val_dice_structure.keys() {
        let _ = write!(out, ",val_dice_{k}");
    }
    for k in first.val_dice_plane.keys() {
        let _ = write!(out, ",val_dice_{k}");
    }
    out.push_str(",samples_per_second,seconds\n");
    let num = |v: Option<&f64>| v.map_or(String::new(), |v| format!("{v:.6}"));
    for r in history {
        let _ = write!(out, "{},{:e},{:.6}", r.epoch, r.lr, r.train_loss);
        for k in first.train_terms.keys() {
            let _ = write!(out, ",{}", num(r.train_terms.get(k)));
        }
        let _ = write!(out, ",{:.6},{:.6}", r.val_loss, r.val_dice);
        for k in first.val_dice_structure.keys() {
            let _ = write!(out, ",{}", num(r.val_dice_structure.get(k)));
        }
        for k in first.val_dice_plane.keys() {
            let _ = write!(out, ",{}", num(r.val_dice_plane.get(k)));
        }
        let _ = writeln!(out, ",{:.3},{:.1}", r.samples_per_second, r.seconds);
    }
    Ok(echoone_data::png_io::write_atomic(path, out.as_bytes())?)
}

/// The structures drawn on the Dice panel, in legend order.
const STRUCTURES: [&str; 3] = ["LV", "MYO", "LA"];
/// Up to this many epochs, each point of a curve is marked with a dot.
const MARKED_EPOCHS: usize = 60;

/// Whether a mean validation Dice of `dice` replaces the best so far (`best`): it is finite and
/// higher, so the first of equal epochs stays best.
pub fn improves(best: Option<f64>, dice: f64) -> bool {
    dice.is_finite() && best.is_none_or(|b| dice > b)
}

/// The epoch the trainer keeps as `best`: the first with the highest finite mean validation
/// Dice ([`improves`]).
pub fn best_epoch(history: &[EpochRecord]) -> Option<usize> {
    let mut best: Option<(f64, usize)> = None;
    for r in history {
        if improves(best.map(|(d, _)| d), r.val_dice) {
            best = Some((r.val_dice, r.epoch));
        }
    }
    best.map(|(_, epoch)| epoch)
}

/// Draws `curves.png` and `curves.svg` beside it: loss per epoch on the left (training and
/// validation, the weighted BCE + Dice total), validation Dice per epoch on the right (mean and
/// LV, MYO, LA, 0 to 1), the best epoch ([`best_epoch`]) marked on both.
pub fn write_curves(path: &Path, history: &[EpochRecord]) -> Result<()> {
    let style = if history.len() <= MARKED_EPOCHS {
        SeriesStyle::LineWithMarkers
    } else {
        SeriesStyle::Line
    };
    let curve = |name: &str, value: &dyn Fn(&EpochRecord) -> f64, colour: Colour| {
        let points = history.iter().map(|r| (r.epoch as f64, value(r))).collect();
        Series::new(name, points, style, colour)
    };
    let mut loss = Chart::new("Loss per epoch", "epoch", "loss (weighted BCE + Dice)")
        .with_x_ticks(history.len().clamp(1, 10))
        .with_series(curve(
            "training loss",
            &|r| r.train_loss,
            Colour::palette(0),
        ))
        .with_series(curve(
            "validation loss",
            &|r| r.val_loss,
            Colour::palette(1),
        ));
    let mut dice = Chart::new("Validation Dice per epoch", "epoch", "Dice")
        .with_x_ticks(history.len().clamp(1, 10))
        .with_y_range(0.0, 1.0)
        .with_legend(Corner::LowerRight);
    for (structure, colour) in STRUCTURES.into_iter().zip([0, 2, 3]) {
        let value = |r: &EpochRecord| {
            let dice = r.val_dice_structure.get(structure);
            dice.copied().unwrap_or(f64::NAN)
        };
        dice = dice.with_series(curve(structure, &value, Colour::palette(colour)));
    }
    // Last, so that the mean is drawn over the structures.
    dice = dice.with_series(curve("mean Dice", &|r| r.val_dice, Colour::BLACK));
    if let Some(epoch) = best_epoch(history) {
        let line = RefLine::new(epoch as f64, format!("best epoch {epoch}")).dashed();
        loss = loss.with_vline(line.clone());
        dice = dice.with_vline(line);
    }
    Figure::new(vec![loss, dice])
        .write(path)
        .map_err(|e| RunError::file(e.path(), e.reason()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(epoch: usize, val_dice: f64) -> EpochRecord {
        let per = |d: f64| {
            [("LA", d - 0.05), ("LV", d + 0.05), ("MYO", d)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect()
        };
        EpochRecord {
            epoch,
            lr: 1e-4,
            train_loss: 1.0 / epoch as f64,
            train_terms: BTreeMap::from([("main_bce".to_string(), 0.1)]),
            val_loss: 1.2 / epoch as f64,
            val_dice,
            val_dice_structure: per(val_dice),
            val_dice_plane: BTreeMap::from([("A4C".to_string(), val_dice)]),
            samples_per_second: 10.0,
            seconds: 1.0,
        }
    }

    /// A 50-epoch history whose best mean Dice (0.9) is at epoch 37, tied at 45, with a NaN.
    fn history() -> Vec<EpochRecord> {
        (1..=50)
            .map(|e| {
                let dice = match e {
                    37 | 45 => 0.9,
                    12 => f64::NAN,
                    _ => 0.8 - 0.3 / e as f64,
                };
                record(e, dice)
            })
            .collect()
    }

    #[test]
    fn the_best_epoch_is_the_first_with_the_highest_finite_mean_dice() {
        assert_eq!(best_epoch(&history()), Some(37));
        assert_eq!(best_epoch(&[record(1, f64::NAN)]), None);
        assert_eq!(best_epoch(&[]), None);
    }

    #[test]
    fn curves_are_written_as_png_and_svg_with_every_series_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("curves.png");
        write_curves(&path, &history()).unwrap();
        let png = std::fs::read(&path).unwrap();
        assert!(png.starts_with(b"\x89PNG"));
        let svg = std::fs::read_to_string(dir.path().join("curves.svg")).unwrap();
        for text in [
            "Loss per epoch",
            "Validation Dice per epoch",
            "loss (weighted BCE + Dice)",
            "training loss",
            "validation loss",
            "mean Dice",
            "LV",
            "MYO",
            "LA",
            "best epoch 37",
        ] {
            assert!(
                svg.contains(&format!(">\n{text}\n</text>")),
                "{text} missing"
            );
        }
    }

    #[test]
    fn curves_of_no_epoch_or_one_epoch_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("curves.png");
        write_curves(&path, &[]).unwrap();
        let svg = std::fs::read_to_string(dir.path().join("curves.svg")).unwrap();
        assert!(svg.contains("Loss per epoch") && !svg.contains("best epoch"));
        write_curves(&path, &[record(1, 0.5)]).unwrap();
        let svg = std::fs::read_to_string(dir.path().join("curves.svg")).unwrap();
        assert!(svg.contains(">\nbest epoch 1\n</text>"));
    }

    #[test]
    fn a_curves_path_that_cannot_be_written_is_a_file_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("curves.png");
        match write_curves(&path, &history()) {
            Err(RunError::File { path: p, .. }) => assert_eq!(p, path),
            other => panic!("{other:?}"),
        }
    }
}

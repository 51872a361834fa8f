//! The per-epoch record of a run, written as `metrics.csv` and drawn as `curves.png`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use image::{Rgb, RgbImage};
use serde::{Deserialize, Serialize};

use crate::error::Result;

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

/// Colours of the curves: training loss, validation loss, mean Dice, then one per structure.
pub const COLOURS: [(&str, [u8; 3]); 6] = [
    ("train loss", [220, 60, 50]),
    ("validation loss", [240, 160, 40]),
    ("mean Dice", [30, 30, 30]),
    ("LV Dice", [50, 110, 220]),
    ("MYO Dice", [40, 170, 80]),
    ("LA Dice", [170, 70, 190]),
];

const PANEL: (u32, u32) = (480, 300);
const MARGIN: u32 = 30;

fn panel(img: &mut RgbImage, x0: u32, series: &[(&[f64], [u8; 3])], y_max: f64) {
    let (w, h) = PANEL;
    let grey = Rgb([200, 200, 200]);
    let (left, top, right, bottom) = (x0 + MARGIN, MARGIN, x0 + w - 10, h - MARGIN);
    for x in left..=right {
        img.put_pixel(x, bottom, Rgb([0, 0, 0]));
    }
    for y in top..=bottom {
        img.put_pixel(left, y, Rgb([0, 0, 0]));
    }
    for tick in 1..=4 {
        let y = bottom - (bottom - top) * tick / 4;
        for x in (left + 1..=right).step_by(4) {
            img.put_pixel(x, y, grey);
        }
    }
    for (values, colour) in series {
        let n = values.len();
        let point = |i: usize, v: f64| {
            let fx = if n > 1 {
                i as f64 / (n - 1) as f64
            } else {
                0.5
            };
            let fy = (v / y_max).clamp(0.0, 1.0);
            (
                left as f64 + fx * (right - left) as f64,
                bottom as f64 - fy * (bottom - top) as f64,
            )
        };
        let finite: Vec<(usize, f64)> = values
            .iter()
            .copied()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .collect();
        for pair in finite.windows(2) {
            let (a, b) = (point(pair[0].0, pair[0].1), point(pair[1].0, pair[1].1));
            let steps = ((b.0 - a.0).abs().max((b.1 - a.1).abs()) as usize).max(1);
            for s in 0..=steps {
                let t = s as f64 / steps as f64;
                let (x, y) = (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1));
                dot(img, x, y, *colour, 1);
            }
        }
        for &(i, v) in &finite {
            let (x, y) = point(i, v);
            dot(img, x, y, *colour, 2);
        }
    }
}

fn dot(img: &mut RgbImage, x: f64, y: f64, colour: [u8; 3], r: i64) {
    for dy in -r..=r {
        for dx in -r..=r {
            let (px, py) = (x.round() as i64 + dx, y.round() as i64 + dy);
            if px >= 0 && py >= 0 && (px as u32) < img.width() && (py as u32) < img.height() {
                img.put_pixel(px as u32, py as u32, Rgb(colour));
            }
        }
    }
}

/// Draws `curves.png`: losses per epoch on the left (scaled to the largest), Dice per epoch on
/// the right (0 to 1, grid every 0.25). The colours are [`COLOURS`], listed in `summary.md`.
pub fn write_curves(path: &Path, history: &[EpochRecord]) -> Result<()> {
    let mut img = RgbImage::from_pixel(2 * PANEL.0, PANEL.1, Rgb([255, 255, 255]));
    let train: Vec<f64> = history.iter().map(|r| r.train_loss).collect();
    let val: Vec<f64> = history.iter().map(|r| r.val_loss).collect();
    let top = train
        .iter()
        .chain(&val)
        .copied()
        .filter(|v| v.is_finite())
        .fold(1e-6, f64::max);
    panel(
        &mut img,
        0,
        &[(&train, COLOURS[0].1), (&val, COLOURS[1].1)],
        top * 1.05,
    );
    let mean: Vec<f64> = history.iter().map(|r| r.val_dice).collect();
    let per: Vec<Vec<f64>> = ["LV", "MYO", "LA"]
        .iter()
        .map(|s| {
            history
                .iter()
                .map(|r| r.val_dice_structure.get(*s).copied().unwrap_or(f64::NAN))
                .collect()
        })
        .collect();
    let mut series: Vec<(&[f64], [u8; 3])> = vec![(&mean, COLOURS[2].1)];
    for (values, (_, colour)) in per.iter().zip(&COLOURS[3..]) {
        series.push((values, *colour));
    }
    panel(&mut img, PANEL.0, &series, 1.0);
    crate::overlay::write_png(path, &img)
}

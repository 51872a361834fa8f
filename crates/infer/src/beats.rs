//! A segmented echo sequence as a cardiologist reads it: the LV area of every frame, end-diastole
//! (largest LV) and end-systole (smallest LV) of each beat, and each beat's single-plane volumes
//! and ejection fraction by the method of discs.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use echoone_metrics::{Spacing, disc_profile, largest_component_filled, single_plane};
use echoone_plot::{Chart, Colour, Figure, Series, SeriesStyle};
use image::GrayImage;

use crate::error::{InferError, Result};
use crate::lv_mask::lv_mask;

/// One beat: its end-diastolic and end-systolic frames and the single-plane volumes there.
#[derive(Debug, Clone, PartialEq)]
pub struct Beat {
    /// End-diastolic frame (largest LV of the beat), from 0.
    pub ed: usize,
    /// End-systolic frame (smallest LV after `ed`), from 0.
    pub es: usize,
    /// End-diastolic volume, ml (NaN without a pixel spacing).
    pub edv_ml: f64,
    /// End-systolic volume, ml (NaN without a pixel spacing).
    pub esv_ml: f64,
    /// Ejection fraction, percent (square pixels assumed without a spacing; NaN when a mask
    /// cannot be measured).
    pub ef_pct: f64,
}

/// The ED/ES frame pairs of an LV area curve: the curve is split into high (diastolic) and low
/// (systolic) stretches around the middle of its range, with a hysteresis of 10 % of the range
/// so that noise does not split a stretch; each high stretch followed by a low one is a beat,
/// ED its largest frame and ES the smallest frame of the low stretch after it. An ED on the first
/// frame or an ES on the last counts only when it reaches 80 % of the half-range from the
/// middle: otherwise the true extremum lies outside the sequence.
pub fn beats(area: &[f64]) -> Vec<(usize, usize)> {
    let (lo, hi) = area
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
        return Vec::new();
    }
    let (mid, band) = ((lo + hi) / 2.0, 0.1 * (hi - lo));
    // Stretches of one state: (high?, first frame, last frame).
    let mut stretches: Vec<(bool, usize, usize)> = Vec::new();
    let mut state = area[0] >= mid;
    for (i, &v) in area.iter().enumerate() {
        if state && v < mid - band {
            state = false;
        } else if !state && v > mid + band {
            state = true;
        }
        match stretches.last_mut() {
            Some(last) if last.0 == state => last.2 = i,
            _ => stretches.push((state, i, i)),
        }
    }
    let arg = |from: usize, to: usize, better: fn(f64, f64) -> bool| {
        (from..=to).fold(
            from,
            |best, i| if better(area[i], area[best]) { i } else { best },
        )
    };
    let last = area.len() - 1;
    let reached = |i: usize| (area[i] - mid).abs() >= 0.8 * (hi - lo) / 2.0;
    stretches
        .windows(2)
        .filter(|w| w[0].0 && !w[1].0)
        .map(|w| {
            (
                arg(w[0].1, w[0].2, |a, b| a > b),
                arg(w[1].1, w[1].2, |a, b| a < b),
            )
        })
        .filter(|&(ed, es)| (ed != 0 || reached(ed)) && (es != last || reached(es)))
        .collect()
}

/// LV (label 1) area of each label map, in mm^2 with a spacing [x, y], else in pixels.
pub fn lv_areas(labels: &[GrayImage], spacing: Option<[f64; 2]>) -> Vec<f64> {
    let pixel = spacing.map_or(1.0, |[x, y]| x * y);
    labels
        .iter()
        .map(|l| l.as_raw().iter().filter(|&&v| v == 1).count() as f64 * pixel)
        .collect()
}

/// The beats of a segmented sequence with their volumes and EF (each LV mask measured on its
/// largest blob with the holes filled).
pub fn measure_beats(labels: &[GrayImage], spacing: Option<[f64; 2]>) -> Vec<Beat> {
    let area = lv_areas(labels, spacing);
    let metric = spacing.and_then(|[x, y]| Spacing::new(y, x).ok());
    let volume = |frame: usize| {
        let mask = lv_mask(&labels[frame]);
        // Measured on the largest LV blob with its holes filled.
        disc_profile(
            &largest_component_filled(&mask),
            metric.unwrap_or_else(Spacing::unit),
        )
        .ok()
    };
    beats(&area)
        .into_iter()
        .map(|(ed, es)| {
            let (edv, esv, ef) = match (volume(ed), volume(es)) {
                (Some(a), Some(b)) => {
                    let v = single_plane(&a, &b);
                    let ml = |x: f64| if metric.is_some() { x } else { f64::NAN };
                    (ml(v.edv_ml), ml(v.esv_ml), v.ef_pct())
                }
                _ => (f64::NAN, f64::NAN, f64::NAN),
            };
            Beat {
                ed,
                es,
                edv_ml: edv,
                esv_ml: esv,
                ef_pct: ef,
            }
        })
        .collect()
}

/// Writes `<stem>_lv_area.csv` (frame, LV area, ED/ES mark), `<stem>_lv_area.png` (+ `.svg`)
/// and `<stem>_beats.csv` into `out`; returns the files written. `labels` are the label maps
/// `beats` were measured on (the area is of label 1).
pub fn write_video_report(
    out: &Path,
    stem: &str,
    labels: &[GrayImage],
    spacing: Option<[f64; 2]>,
    beats: &[Beat],
) -> Result<Vec<PathBuf>> {
    let area = lv_areas(labels, spacing);
    let unit = if spacing.is_some() { "mm2" } else { "px" };
    let mark = |f: usize| {
        if beats.iter().any(|b| b.ed == f) {
            "ED"
        } else if beats.iter().any(|b| b.es == f) {
            "ES"
        } else {
            ""
        }
    };
    let mut csv = format!("frame,lv_area_{unit},phase\n");
    for (f, a) in area.iter().enumerate() {
        let _ = writeln!(csv, "{f},{a:.2},{}", mark(f));
    }
    let area_csv = out.join(format!("{stem}_lv_area.csv"));
    echoone_data::png_io::write_atomic(&area_csv, csv.as_bytes())?;
    let mut csv = String::from("beat,ed_frame,es_frame,edv_ml,esv_ml,ef_pct\n");
    let v = |x: f64| {
        if x.is_finite() {
            format!("{x:.2}")
        } else {
            String::new()
        }
    };
    for (k, b) in beats.iter().enumerate() {
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{}",
            k + 1,
            b.ed,
            b.es,
            v(b.edv_ml),
            v(b.esv_ml),
            v(b.ef_pct)
        );
    }
    let beats_csv = out.join(format!("{stem}_beats.csv"));
    echoone_data::png_io::write_atomic(&beats_csv, csv.as_bytes())?;
    let at = |frames: Vec<usize>| -> Vec<(f64, f64)> {
        frames.into_iter().map(|f| (f as f64, area[f])).collect()
    };
    let y_label = if spacing.is_some() {
        "LV area (mm²)"
    } else {
        "LV area (pixels)"
    };
    let chart = Chart::new(format!("LV area of {stem} per frame"), "frame", y_label)
        .with_series(Series::new(
            "LV area",
            area.iter()
                .enumerate()
                .map(|(f, &a)| (f as f64, a))
                .collect(),
            SeriesStyle::LineWithMarkers,
            Colour::palette(0),
        ))
        .with_series(Series::new(
            "end-diastole (ED)",
            at(beats.iter().map(|b| b.ed).collect()),
            SeriesStyle::Points,
            Colour::palette(1),
        ))
        .with_series(Series::new(
            "end-systole (ES)",
            at(beats.iter().map(|b| b.es).collect()),
            SeriesStyle::Points,
            Colour::palette(2),
        ));
    let png = out.join(format!("{stem}_lv_area.png"));
    let w = Figure::new(vec![chart])
        .write(&png)
        .map_err(|e| InferError::file(&png, e.reason()))?;
    Ok(vec![area_csv, w.png, w.svg, beats_csv])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_each_beats_largest_and_smallest_frame() {
        // Two full beats of 20 frames (ED 15 and 35, ES 25 and 45) in 50 frames that start and
        // end mid-systole, with jitter that must not split a stretch.
        let area: Vec<f64> = (0..50)
            .map(|f| {
                let phase = (f as f64 + 5.0) / 20.0 * std::f64::consts::TAU;
                1000.0 + 300.0 * phase.cos() + if f % 2 == 0 { 8.0 } else { -8.0 }
            })
            .collect();
        let b = beats(&area);
        assert_eq!(b.len(), 2, "{b:?}");
        for ((ed, es), (ed_true, es_true)) in b.into_iter().zip([(15, 25), (35, 45)]) {
            assert!(ed.abs_diff(ed_true) <= 1, "ED {ed}");
            assert!(es.abs_diff(es_true) <= 1, "ES {es}");
        }
        // Starting at ED itself keeps the first beat (its ED within a frame of the start).
        let from_ed = beats(&area[15..]);
        assert_eq!(from_ed.len(), 2, "{from_ed:?}");
        assert!(from_ed[0].0 <= 1, "{from_ed:?}");
    }

    #[test]
    fn a_flat_curve_has_no_beat() {
        assert!(beats(&[5.0; 10]).is_empty());
        assert!(beats(&[]).is_empty());
    }
}

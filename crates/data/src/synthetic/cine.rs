//! Synthetic cine loops: one view of one case over whole heart cycles, the LV contracting with
//! the case's true ejection fraction, and their files (CAMUS-like `.nii.gz` sequence, its label
//! sequence and an `Info`-style `.cfg`).
//!
//! A beat of `n` frames starts at end-diastole (contraction 0); the contraction rises as a raised
//! cosine to 1 (end-systole) at frame `s = round(0.38 n)` and falls back the same way over the
//! remaining `n - s` frames: `c(k) = (1 - cos(pi k / s)) / 2` for `k <= s`, else
//! `(1 + cos(pi (k - s) / (n - s))) / 2`.

use std::ops::RangeInclusive;
use std::path::Path;

use image::GrayImage;

use super::{LvTruth, SyntheticConfig};
use crate::error::{DataError, Result};
use crate::nifti_io::write_u8;
use crate::png_io::write_atomic;
use crate::sample::Plane;

/// Frames a beat that [`SyntheticConfig::cine`] accepts.
pub const FRAMES_PER_BEAT: RangeInclusive<usize> = 20..=40;
/// Beats that [`SyntheticConfig::cine`] accepts.
const BEATS: RangeInclusive<usize> = 1..=20;
/// Fraction of the cycle in systole.
const SYSTOLE: f64 = 0.38;
/// Offset of the speckle streams of cine frames (the ED and ES images use 1 and 2).
const FRAME_NOISE: u64 = 1000;

/// A synthetic cine loop of one view with its labels, phases and the case's true volumes.
#[derive(Debug, Clone, PartialEq)]
pub struct Cine {
    /// The grey frames, in time order.
    pub frames: Vec<GrayImage>,
    /// The label map of each frame (0 background, 1 LV, 2 MYO, 3 LA).
    pub labels: Vec<GrayImage>,
    /// Pixel spacing [x, y] in mm.
    pub spacing: [f64; 2],
    /// The end-diastolic frames (contraction 0), one a beat, 0-based.
    pub ed_frames: Vec<usize>,
    /// The end-systolic frames (contraction 1), one a beat, 0-based.
    pub es_frames: Vec<usize>,
    /// The contraction of each frame, from 0 (end-diastole) to 1 (end-systole).
    pub contraction: Vec<f64>,
    /// The case's true EDV, ESV and EF.
    pub truth: LvTruth,
}

/// The frame of end-systole in a beat of `n` frames.
fn systole_frames(n: usize) -> usize {
    (SYSTOLE * n as f64).round() as usize
}

/// The contraction at frame `k` of a beat of `n` frames (see the module documentation).
fn contraction(k: usize, n: usize) -> f64 {
    let s = systole_frames(n);
    let half_cosine = |x: f64| 0.5 * (1.0 - (std::f64::consts::PI * x).cos());
    if k <= s {
        half_cosine(k as f64 / s as f64)
    } else {
        1.0 - half_cosine((k - s) as f64 / (n - s) as f64)
    }
}

impl SyntheticConfig {
    /// A cine loop of `beats` heart cycles of `frames` frames each (20 to 40) of view `plane` of
    /// case `case`: the pose and scanner of that view, the LV contracting with the case's true
    /// ejection fraction, every frame with its own speckle. Frame `b * frames` is the ED frame
    /// and `b * frames + round(0.38 frames)` the ES frame of beat `b`.
    pub fn cine(&self, case: usize, plane: Plane, frames: usize, beats: usize) -> Result<Cine> {
        self.check_case(case)?;
        if plane == Plane::Unknown {
            return Err(DataError::Invalid(
                "synthetic: cannot draw the `unknown` plane".into(),
            ));
        }
        if !FRAMES_PER_BEAT.contains(&frames) || !BEATS.contains(&beats) {
            return Err(DataError::Invalid(format!(
                "synthetic cine: {frames} frames a beat and {beats} beats; expected {} to {} \
                 frames a beat and {} to {} beats",
                FRAMES_PER_BEAT.start(),
                FRAMES_PER_BEAT.end(),
                BEATS.start(),
                BEATS.end()
            )));
        }
        let n = frames * beats;
        let contraction: Vec<f64> = (0..n).map(|k| contraction(k % frames, frames)).collect();
        let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
        let chunk = n.div_ceil(threads.min(n));
        let mut rendered: Vec<Option<(GrayImage, GrayImage, f64)>> = vec![None; n];
        std::thread::scope(|scope| {
            for (t, slots) in rendered.chunks_mut(chunk).enumerate() {
                let contraction = &contraction;
                scope.spawn(move || {
                    for (i, slot) in slots.iter_mut().enumerate() {
                        let k = t * chunk + i;
                        let noise = FRAME_NOISE + k as u64;
                        *slot = Some(self.render(case, plane, contraction[k], noise));
                    }
                });
            }
        });
        let (mut images, mut labels, mut spacing) = (Vec::new(), Vec::new(), 0.0);
        for (k, r) in rendered.into_iter().enumerate() {
            let (image, label, s) =
                r.ok_or_else(|| DataError::Invalid(format!("synthetic cine: frame {k} failed")))?;
            images.push(image);
            labels.push(label);
            spacing = s;
        }
        Ok(Cine {
            frames: images,
            labels,
            spacing: [spacing, spacing],
            ed_frames: (0..beats).map(|b| b * frames).collect(),
            es_frames: (0..beats)
                .map(|b| b * frames + systole_frames(frames))
                .collect(),
            contraction,
            truth: self.truth(case)?,
        })
    }
}

/// Writes `cine` to `dir` (created if missing) as `<stem>.nii.gz` (u8 frames along the third
/// axis, spacing in the header), `<stem>_gt.nii.gz` (the labels) and `<stem>.cfg` (CAMUS `Info`
/// lines: `ED` and `ES` of the first beat, 1-based, `NbFrame`, then `EDV`, `ESV` in ml and `EF`
/// in percent).
pub fn write_cine(cine: &Cine, dir: &Path, stem: &str) -> Result<()> {
    if stem.is_empty() || stem.contains(['/', '\\']) {
        return Err(DataError::Invalid(format!("bad cine file stem {stem:?}")));
    }
    let (Some(ed), Some(es)) = (cine.ed_frames.first(), cine.es_frames.first()) else {
        return Err(DataError::Invalid(format!(
            "cine {stem}: no ED or ES frame to write"
        )));
    };
    std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
    write_u8(
        &dir.join(format!("{stem}.nii.gz")),
        &cine.frames,
        Some(cine.spacing),
    )?;
    write_u8(
        &dir.join(format!("{stem}_gt.nii.gz")),
        &cine.labels,
        Some(cine.spacing),
    )?;
    let t = &cine.truth;
    let info = format!(
        "ED: {}\nES: {}\nNbFrame: {}\nEDV: {:.3}\nESV: {:.3}\nEF: {:.3}\n",
        ed + 1,
        es + 1,
        cine.frames.len(),
        t.edv_ml,
        t.esv_ml,
        t.ef_pct
    );
    write_atomic(&dir.join(format!("{stem}.cfg")), info.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> SyntheticConfig {
        super::super::tests::small()
    }

    #[test]
    fn contraction_is_zero_at_ed_one_at_es_and_smooth() {
        for n in [20, 27, 40] {
            let s = systole_frames(n);
            assert_eq!(contraction(0, n), 0.0);
            assert_eq!(contraction(s, n), 1.0);
            assert!((0.35..=0.4).contains(&(s as f64 / n as f64)), "{n}");
            let c: Vec<f64> = (0..=n).map(|k| contraction(k, n)).collect();
            assert!(c[..=s].windows(2).all(|w| w[0] < w[1]));
            assert!(c[s..].windows(2).all(|w| w[0] > w[1]));
            assert!(c[n].abs() < 1e-12, "the next beat starts at ED");
        }
    }

    #[test]
    fn lv_is_largest_at_ed_and_smallest_at_es() {
        let cfg = cfg();
        for plane in [Plane::FourChamber, Plane::TwoChamber, Plane::ShortAxis] {
            let cine = cfg.cine(1, plane, 20, 2).unwrap();
            assert_eq!(cine.frames.len(), 40);
            assert_eq!(cine.ed_frames, vec![0, 20]);
            assert_eq!(cine.es_frames, vec![8, 28]);
            let lv: Vec<usize> = cine
                .labels
                .iter()
                .map(|l| l.as_raw().iter().filter(|&&v| v == 1).count())
                .collect();
            for beat in 0..2 {
                let range = beat * 20..(beat + 1) * 20;
                let max = range.clone().max_by_key(|&k| lv[k]).unwrap();
                let min = range.min_by_key(|&k| lv[k]).unwrap();
                assert!(
                    max.abs_diff(cine.ed_frames[beat]) <= 1
                        || max.abs_diff(cine.ed_frames[beat] + 20) <= 1,
                    "{plane}: largest LV at {max}: {lv:?}"
                );
                assert!(
                    min.abs_diff(cine.es_frames[beat]) <= 1,
                    "{plane}: smallest LV at {min}: {lv:?}"
                );
            }
            assert_ne!(
                cine.frames[0], cine.frames[20],
                "each frame has its own speckle"
            );
            assert_eq!(cine.labels[0], cine.labels[20]);
        }
    }

    #[test]
    fn rejects_bad_cines() {
        let cfg = cfg();
        assert!(cfg.cine(0, Plane::FourChamber, 19, 1).is_err());
        assert!(cfg.cine(0, Plane::FourChamber, 41, 1).is_err());
        assert!(cfg.cine(0, Plane::FourChamber, 30, 0).is_err());
        assert!(cfg.cine(2, Plane::FourChamber, 30, 1).is_err());
        assert!(cfg.cine(0, Plane::Unknown, 30, 1).is_err());
    }

    #[test]
    fn written_cine_reads_back() {
        let cfg = cfg();
        let cine = cfg.cine(0, Plane::FourChamber, 20, 1).unwrap();
        let dir = tempfile::tempdir().unwrap();
        write_cine(&cine, dir.path(), "synth0001_4CH").unwrap();
        let images = crate::nifti_io::read(&dir.path().join("synth0001_4CH.nii.gz")).unwrap();
        let labels = crate::nifti_io::read(&dir.path().join("synth0001_4CH_gt.nii.gz")).unwrap();
        assert_eq!((images.width, images.height, images.frames), (96, 96, 20));
        let spacing = images.spacing.unwrap();
        for s in spacing.iter().chain(&labels.spacing.unwrap()) {
            assert!(
                (s - cine.spacing[0]).abs() < 1e-5,
                "{spacing:?} {:?}",
                cine.spacing
            );
        }
        for k in 0..20 {
            assert_eq!(images.image(k).unwrap(), cine.frames[k], "frame {k}");
            assert_eq!(labels.labels(k).unwrap(), cine.labels[k], "labels {k}");
        }
        let info = std::fs::read_to_string(dir.path().join("synth0001_4CH.cfg")).unwrap();
        let lines: Vec<&str> = info.lines().collect();
        assert_eq!(lines[..3], ["ED: 1", "ES: 9", "NbFrame: 20"]);
        let ef: f64 = lines[5].strip_prefix("EF: ").unwrap().parse().unwrap();
        assert!((ef - cine.truth.ef_pct).abs() < 1e-3);
        assert!(write_cine(&cine, dir.path(), "a/b").is_err());
    }
}

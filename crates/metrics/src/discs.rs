//! Left-ventricular volumes by the method of discs (Simpson's rule), measured on masks the way
//! the CAMUS organisers' evaluation script measures them:
//!
//! 1. the mask is resampled to square pixels (the finer spacing; [`isotropic`]);
//! 2. its first contour is traced as scikit-image traces it ([`contours`]);
//! 3. the mitral annulus is the longest straight stretch of the contour: a chord from a contour
//!    point to an earlier one that lies to its right within 45 degrees of the image's x axis,
//!    with no contour point between them farther than 8 pixels from the chord;
//! 4. the apex is the contour point farthest from the annulus midpoint; the long axis joins them;
//! 5. 20 discs along the long axis: at each, the width of the mask across the axis, walked
//!    outwards from 8 pixels on each side in half-pixel steps until the mask ends.
//!
//! Biplane volume: `pi / 4 * h * sum(a_i * b_i)` over the two views' diameters, with the disc
//! height `h` chosen by [`DiscStep`]: the CAMUS script takes the largest step of the four masks
//! (2CH and 4CH at ED and ES) for both instants, which inflates ESV by the long-axis shortening
//! (ED length / ES length); the guideline method gives each instant the larger step of its own two
//! views. Single plane: `pi / 4 * h * sum(a_i^2)` with the view's own step (EchoNet-Dynamic's A4C
//! method).

use crate::contour::contours;
use crate::error::{MetricsError, Result};
use crate::grid::BinaryMask;
use crate::isotropic::isotropic;
use crate::spacing::Spacing;

/// Number of discs along the long axis.
pub const DISCS: usize = 20;

/// The long axis of one LV mask and its disc diameters.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscProfile {
    /// Width of the mask across the long axis at each disc, base first, in mm.
    pub diameters_mm: Vec<f64>,
    /// Long-axis length / [`DISCS`], in mm.
    pub step_mm: f64,
    /// Long-axis length (annulus midpoint to apex), in mm.
    pub length_mm: f64,
}

/// The disc height of biplane volumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DiscStep {
    /// One height for ED and ES, the largest of the four masks' (the CAMUS organisers' script).
    Camus,
    /// Each instant the larger height of its own two views (the guideline method of discs).
    PerPhase,
}

impl DiscStep {
    /// Parses `camus` or `per-phase`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "camus" => Some(Self::Camus),
            "per-phase" => Some(Self::PerPhase),
            _ => None,
        }
    }

    /// The name: camus or per-phase.
    pub fn name(self) -> &'static str {
        match self {
            Self::Camus => "camus",
            Self::PerPhase => "per-phase",
        }
    }
}

/// End-diastolic and end-systolic LV volumes.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Volumes {
    /// End-diastolic volume, ml.
    pub edv_ml: f64,
    /// End-systolic volume, ml.
    pub esv_ml: f64,
}

impl Volumes {
    /// Ejection fraction in percent, `100 (EDV - ESV) / EDV` (NaN when EDV is not positive).
    pub fn ef_pct(&self) -> f64 {
        if self.edv_ml > 0.0 {
            100.0 * (self.edv_ml - self.esv_ml) / self.edv_ml
        } else {
            f64::NAN
        }
    }
}

/// The disc profile of an LV mask with pixel `spacing`; fails on an empty mask or one whose
/// contour has no straight stretch to take for the mitral annulus.
pub fn disc_profile(mask: &BinaryMask, spacing: Spacing) -> Result<DiscProfile> {
    let (mask, iso) = isotropic(mask, spacing);
    let contour = contours(&mask).into_iter().next().ok_or_else(|| {
        MetricsError::Measure("the LV mask is empty: no contour to measure".into())
    })?;
    let (i, j) = annulus(&contour).ok_or_else(|| {
        MetricsError::Measure(
            "no straight stretch of the LV contour to take for the mitral annulus".into(),
        )
    })?;
    let mid = contour[j + ((i - j) as f64 / 2.0).round_ties_even() as usize];
    let (mut length, mut apex) = (0.0, mid);
    for &p in &contour {
        let d = norm(sub(mid, p));
        if length < d {
            length = d;
            apex = p;
        }
    }
    let direction = sub(apex, mid);
    let n = norm(direction);
    let normal = [-direction[1] / n, direction[0] / n];
    let diameters_mm = (0..DISCS)
        .map(|k| {
            let f = k as f64 * (1.0 / DISCS as f64);
            let on_axis = [mid[0] + direction[0] * f, mid[1] + direction[1] * f];
            let across =
                edge(&mask, on_axis, normal) + edge(&mask, on_axis, [-normal[0], -normal[1]]);
            across * iso
        })
        .collect();
    Ok(DiscProfile {
        diameters_mm,
        step_mm: length * iso / DISCS as f64,
        length_mm: length * iso,
    })
}

/// Biplane volume (ml) of one instant from its 2CH and 4CH profiles and the common disc step.
pub fn biplane_volume_ml(two_ch: &DiscProfile, four_ch: &DiscProfile, step_mm: f64) -> f64 {
    let sum: f64 = two_ch
        .diameters_mm
        .iter()
        .zip(&four_ch.diameters_mm)
        .map(|(a, b)| a * b)
        .sum();
    sum * step_mm * std::f64::consts::PI / 4.0 / 1000.0
}

/// Single-plane volume (ml) of one profile, with its own step.
pub fn single_plane_volume_ml(profile: &DiscProfile) -> f64 {
    biplane_volume_ml(profile, profile, profile.step_mm)
}

/// Biplane ED and ES volumes from the four profiles (`[ED, ES]` of each view), with the disc
/// height chosen by `step`.
pub fn biplane(two_ch: [&DiscProfile; 2], four_ch: [&DiscProfile; 2], step: DiscStep) -> Volumes {
    let largest = |ps: &[&DiscProfile]| ps.iter().map(|p| p.step_mm).fold(0.0, f64::max);
    let (ed_step, es_step) = match step {
        DiscStep::Camus => {
            let all = largest(&[two_ch[0], two_ch[1], four_ch[0], four_ch[1]]);
            (all, all)
        }
        DiscStep::PerPhase => (
            largest(&[two_ch[0], four_ch[0]]),
            largest(&[two_ch[1], four_ch[1]]),
        ),
    };
    Volumes {
        edv_ml: biplane_volume_ml(two_ch[0], four_ch[0], ed_step),
        esv_ml: biplane_volume_ml(two_ch[1], four_ch[1], es_step),
    }
}

/// Single-plane ED and ES volumes of one view.
pub fn single_plane(ed: &DiscProfile, es: &DiscProfile) -> Volumes {
    Volumes {
        edv_ml: single_plane_volume_ml(ed),
        esv_ml: single_plane_volume_ml(es),
    }
}

/// The ends `(i, j)`, `j < i`, of the longest straight stretch of the contour.
fn annulus(contour: &[[f64; 2]]) -> Option<(usize, usize)> {
    let mut best: Option<(usize, usize)> = None;
    let mut best_length = 0.0;
    for i in 2..contour.len() {
        let p = contour[i];
        for j in 0..i {
            let q = contour[j];
            let diff = sub(q, p);
            if diff[0].atan2(diff[1]).to_degrees().abs() > 45.0 {
                continue;
            }
            let length = norm(sub(p, q));
            // Only a longer chord can win; checking that first changes nothing in the result.
            if length <= best_length {
                continue;
            }
            let chord = sub(q, p);
            let straight = contour[j + 1..i].iter().all(|&x| {
                let to = sub(p, x);
                (chord[0] * to[1] - chord[1] * to[0]).abs() / norm(chord) <= 8.0
            });
            if straight {
                best_length = length;
                best = Some((i, j));
            }
        }
    }
    best
}

/// Distance (pixels) from `from` along the unit vector `dir` to the first pixel outside the
/// mask or the image, from 8 pixels out in half-pixel steps.
fn edge(mask: &BinaryMask, from: [f64; 2], dir: [f64; 2]) -> f64 {
    let mut distance = 8.0;
    loop {
        let r = (from[0] + distance * dir[0]).round_ties_even();
        let c = (from[1] + distance * dir[1]).round_ties_even();
        if r < 0.0 || c < 0.0 || !mask.get(r as usize, c as usize) {
            return distance;
        }
        distance += 0.5;
    }
}

fn sub(a: [f64; 2], b: [f64; 2]) -> [f64; 2] {
    [a[0] - b[0], a[1] - b[1]]
}

fn norm(a: [f64; 2]) -> f64 {
    (a[0] * a[0] + a[1] * a[1]).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An upright half-ellipse: apex at the top, flat base at the bottom row `base`.
    fn half_ellipse(rows: usize, cols: usize, base: usize, length: f64, half: f64) -> BinaryMask {
        let mut m = BinaryMask::empty(rows, cols);
        let cx = cols as f64 / 2.0;
        for r in 0..rows {
            for c in 0..cols {
                let u = (base as f64 - r as f64) / length;
                let v = (c as f64 + 0.5 - cx) / half;
                if (0.0..=1.0).contains(&u) && u * u + v * v <= 1.0 {
                    m.set(r, c, true);
                }
            }
        }
        m
    }

    #[test]
    fn a_half_ellipsoid_measures_close_to_its_volume() {
        // Half of a prolate spheroid with semi-axes 80 and 25 mm at 0.5 mm pixels:
        // 2/3 pi a^2 L = 104.7 ml.
        let m = half_ellipse(220, 140, 200, 160.0, 50.0);
        let p = disc_profile(&m, Spacing::new(0.5, 0.5).unwrap()).unwrap();
        assert!((p.length_mm - 80.0).abs() < 1.5, "length {}", p.length_mm);
        let v = single_plane_volume_ml(&p);
        let truth = 2.0 / 3.0 * std::f64::consts::PI * 25.0 * 25.0 * 80.0 / 1000.0;
        assert!((v - truth).abs() / truth < 0.05, "{v} ml vs {truth} ml");
    }

    #[test]
    fn anisotropic_pixels_give_the_same_volume() {
        let square = half_ellipse(220, 140, 200, 160.0, 50.0);
        let tall = half_ellipse(110, 140, 100, 80.0, 50.0);
        let a = single_plane_volume_ml(
            &disc_profile(&square, Spacing::new(0.5, 0.5).unwrap()).unwrap(),
        );
        let b =
            single_plane_volume_ml(&disc_profile(&tall, Spacing::new(1.0, 0.5).unwrap()).unwrap());
        assert!((a - b).abs() / a < 0.03, "{a} vs {b}");
    }

    #[test]
    fn an_empty_mask_is_an_error() {
        let e = disc_profile(&BinaryMask::empty(10, 10), Spacing::unit()).unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");
    }

    #[test]
    fn the_camus_step_inflates_esv_by_the_shortening_and_per_phase_does_not() {
        let ed = disc_profile(&half_ellipse(220, 140, 200, 160.0, 50.0), Spacing::unit()).unwrap();
        let es = disc_profile(&half_ellipse(220, 140, 200, 120.0, 40.0), Spacing::unit()).unwrap();
        let camus = biplane([&ed, &es], [&ed, &es], DiscStep::Camus);
        let own = biplane([&ed, &es], [&ed, &es], DiscStep::PerPhase);
        assert_eq!(camus.edv_ml, own.edv_ml);
        let ratio = camus.esv_ml / own.esv_ml;
        assert!(
            (ratio - ed.step_mm / es.step_mm).abs() < 1e-12 && ratio > 1.3,
            "{ratio}"
        );
        assert_eq!(DiscStep::parse("per-phase"), Some(DiscStep::PerPhase));
        assert_eq!(
            DiscStep::parse(DiscStep::Camus.name()),
            Some(DiscStep::Camus)
        );
    }

    #[test]
    fn ef_of_volumes() {
        let v = Volumes {
            edv_ml: 120.0,
            esv_ml: 48.0,
        };
        assert!((v.ef_pct() - 60.0).abs() < 1e-12);
        assert!(
            Volumes {
                edv_ml: 0.0,
                esv_ml: 0.0
            }
            .ef_pct()
            .is_nan()
        );
    }
}

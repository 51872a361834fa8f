//! Where evaluation clicks come from: the ground truth (the middle pixel of the structure,
//! optionally moved by a seeded jitter, as an imprecise human click), or the model alone (the
//! point deepest inside PC-Mask's coarse mask of the structure, optionally refined on the
//! model's own mask).

use burn::tensor::Tensor;
use burn::tensor::backend::Backend;
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
use echoone_data::Structure;
use echoone_data::prompt::Point;
use echoone_data::rng::Rng;
use echoone_metrics::{BinaryMask, deepest_point};
use echoone_model::EchoOne;

/// A coarse mask covering less than this fraction of the image (1 %) means the structure is
/// absent (when it may be: see [`may_be_absent`]).
pub const ABSENT_FRACTION: f64 = 0.01;

/// Where evaluation clicks come from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Prompts {
    /// The ground-truth click, moved by up to `jitter_px` model pixels (0: not moved).
    GroundTruth {
        /// Largest offset, in pixels of the model input.
        jitter_px: f32,
        /// Seed of the offsets.
        seed: u64,
    },
    /// The model's own click: deepest inside PC-Mask's coarse mask, then `refine` rounds each
    /// clicking deepest inside the previous prediction.
    Auto {
        /// Refinement rounds.
        refine: usize,
    },
}

impl Prompts {
    /// Ground-truth clicks as they are.
    pub const GT: Prompts = Prompts::GroundTruth {
        jitter_px: 0.0,
        seed: 0,
    };

    /// The click sources `--prompts` names: `gt` (`[gt]`), `auto` (`[auto]`) or `both`
    /// (`[gt, auto]`), each with its short name; `None` for anything else.
    pub fn sources(name: &str, gt: Prompts, auto: Prompts) -> Option<Vec<(&'static str, Prompts)>> {
        match name {
            "gt" => Some(vec![("gt", gt)]),
            "auto" => Some(vec![("auto", auto)]),
            "both" => Some(vec![("gt", gt), ("auto", auto)]),
            _ => None,
        }
    }

    /// A short name for reports: `gt`, `gt+jitter 4px`, `auto`, `auto+2 refinements`.
    pub fn name(&self) -> String {
        match *self {
            Prompts::GroundTruth { jitter_px, .. } if jitter_px > 0.0 => {
                format!("gt+jitter {jitter_px}px")
            }
            Prompts::GroundTruth { .. } => "gt".into(),
            Prompts::Auto { refine: 0 } => "auto".into(),
            Prompts::Auto { refine } => format!("auto+{refine} refinements"),
        }
    }
}

/// PC-Mask's coarse logits `[B, low, low]` (flattened) for `prior` `[B, K, ..]`, `None` when the
/// model has no prior U-Net.
pub fn coarse_logits<B: Backend>(
    model: &EchoOne<B>,
    prior: Tensor<B, 4>,
    low: usize,
) -> Option<Vec<f32>> {
    let unet = model.prior_unet.as_ref()?;
    let coarse = interpolate(
        unet.forward(prior),
        [low, low],
        InterpolateOptions::new(InterpolateMode::Bilinear).with_align_corners(false),
    );
    Some(coarse.into_data().iter::<f32>().collect())
}

/// Whether `structure` can be missing from an echo plane EchoONE segments: LV and MYO show on
/// every one (2CH, 3CH, 4CH, PSAX), LA is absent from PSAX.
pub fn may_be_absent(structure: Structure) -> bool {
    structure == Structure::La
}

/// The click deepest inside one structure's coarse logits (`low` x `low`), in pixels of a
/// `side` x `side` image. When the coarse mask covers less than [`ABSENT_FRACTION`] of the image
/// the structure is absent (`None`) if it [`may_be_absent`]; otherwise the click goes deepest
/// inside the top 2 % of its coarse logits, where the model places it even below threshold.
pub fn coarse_click(
    logits: &[f32],
    low: usize,
    side: usize,
    structure: Structure,
) -> Option<(f32, f32)> {
    let mut mask: Vec<bool> = logits.iter().map(|&v| v > 0.0).collect();
    let area = mask.iter().filter(|&&v| v).count() as f64 / mask.len().max(1) as f64;
    if area < ABSENT_FRACTION {
        if may_be_absent(structure) {
            return None;
        }
        let mut sorted = logits.to_vec();
        sorted.sort_by(|a, b| b.total_cmp(a));
        let top = sorted.get(sorted.len() / 50).copied()?;
        mask = logits.iter().map(|&v| v >= top).collect();
    }
    let (r, c, _) = deepest_point(&BinaryMask::new(low, low, mask).ok()?)?;
    let scale = side as f32 / low as f32;
    Some((
        (c as f32 + 0.5) * scale - 0.5,
        (r as f32 + 0.5) * scale - 0.5,
    ))
}

/// The click deepest inside a predicted mask (`side` x `side`), `None` for an empty mask.
pub fn mask_click(mask: &[bool], side: usize) -> Option<(f32, f32)> {
    let (r, c, _) = deepest_point(&BinaryMask::new(side, side, mask.to_vec()).ok()?)?;
    Some((c as f32, r as f32))
}

/// `point` moved by a seeded offset drawn uniformly in the disc of radius `px`, kept inside the
/// `side` x `side` image; `key` makes each item's offset its own.
pub fn jitter(point: Point, px: f32, side: usize, seed: u64, key: &[u64]) -> Point {
    if px <= 0.0 {
        return point;
    }
    let mut rng = Rng::derive(seed, key);
    let radius = px * rng.range(0.0, 1.0).sqrt();
    let angle = rng.range(0.0, std::f32::consts::TAU);
    let max = side.saturating_sub(1) as f32;
    Point {
        x: (point.x + radius * angle.cos()).clamp(0.0, max),
        y: (point.y + radius * angle.sin()).clamp(0.0, max),
        label: point.label,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_coarse_ring_is_clicked_in_its_wall_and_only_la_can_be_absent() {
        // A 16x16 ring (radii 3..6 around (8, 8)): the click lies in the wall, not the hole.
        let logits: Vec<f32> = (0..256)
            .map(|i| {
                let (r, c) = ((i / 16) as f32 - 7.5, (i % 16) as f32 - 7.5);
                let d = (r * r + c * c).sqrt();
                if (3.0..=6.0).contains(&d) { 1.0 } else { -1.0 }
            })
            .collect();
        let (x, y) = coarse_click(&logits, 16, 64, Structure::Myo).unwrap();
        let d = ((x - 31.5).powi(2) + (y - 31.5).powi(2)).sqrt() / 4.0;
        assert!(
            (3.0..=6.0).contains(&d),
            "click {x},{y} is {d} coarse pixels from the centre"
        );
        // A speck: LA is absent; MYO, never absent, is clicked where its logits peak.
        let mut speck = vec![-1.0; 400 * 400];
        speck[0] = 1.0;
        assert_eq!(coarse_click(&speck, 400, 400, Structure::La), None);
        // Logits below zero everywhere, peaking at (row 6, column 13) of a 20x20 grid.
        let faint: Vec<f32> = (0..400)
            .map(|i| {
                let (r, c) = ((i / 20) as f32, (i % 20) as f32);
                -1.0 - ((r - 6.0).powi(2) + (c - 13.0).powi(2)) / 50.0
            })
            .collect();
        let (x, y) = coarse_click(&faint, 20, 20, Structure::Myo).unwrap();
        assert!((x - 13.0).abs() <= 1.0 && (y - 6.0).abs() <= 1.0, "{x},{y}");
    }

    #[test]
    fn jitter_stays_within_its_radius_and_the_image_and_is_seeded() {
        let p = Point {
            x: 10.0,
            y: 1.0,
            label: 1,
        };
        for k in 0..200 {
            let q = jitter(p, 4.0, 64, 7, &[k]);
            assert!(((q.x - p.x).powi(2) + (q.y - p.y).powi(2)).sqrt() <= 4.0 + 1e-4);
            assert!(q.y >= 0.0 && q.label == 1);
            assert_eq!(q, jitter(p, 4.0, 64, 7, &[k]));
        }
        assert_ne!(jitter(p, 4.0, 64, 7, &[1]), jitter(p, 4.0, 64, 8, &[1]));
        let auto = Prompts::Auto { refine: 0 };
        let both = Prompts::sources("both", Prompts::GT, auto).unwrap();
        assert_eq!(both, vec![("gt", Prompts::GT), ("auto", auto)]);
        assert!(Prompts::sources("none", Prompts::GT, auto).is_none());
        assert_eq!(jitter(p, 0.0, 64, 7, &[1]), p);
    }
}

//! The four training augmentations of the authors' code, each applied with its own probability:
//! gamma, rotation, scale-then-crop and contrast. They run on the image at model size (values in
//! 0..=255) and its label map together.

use serde::{Deserialize, Serialize};

use crate::resize::{Plane32, bilinear, nearest};
use crate::rng::Rng;

/// Probabilities and ranges of the augmentations (defaults: the authors').
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AugmentConfig {
    /// Probability of the gamma change, gamma drawn from {1.0, 1.1, ..., 2.4}.
    pub p_gamma: f32,
    /// Probability of a rotation by up to `max_rotation_deg` either way.
    pub p_rotate: f32,
    /// Largest rotation in degrees.
    pub max_rotation_deg: f32,
    /// Probability of a zoom by U(1, `max_scale`) then a random crop back to size.
    pub p_scale: f32,
    /// Largest zoom factor.
    pub max_scale: f32,
    /// Probability of a contrast change by a factor in `contrast`.
    pub p_contrast: f32,
    /// Range of the contrast factor.
    pub contrast: [f32; 2],
}

impl AugmentConfig {
    /// No augmentation: every probability zero, the ranges as in the default.
    pub fn none() -> Self {
        Self {
            p_gamma: 0.0,
            p_rotate: 0.0,
            p_scale: 0.0,
            p_contrast: 0.0,
            ..Self::default()
        }
    }
}

impl Default for AugmentConfig {
    fn default() -> Self {
        Self {
            p_gamma: 0.5,
            p_rotate: 0.5,
            max_rotation_deg: 30.0,
            p_scale: 0.5,
            max_scale: 1.3,
            p_contrast: 0.5,
            contrast: [0.8, 2.0],
        }
    }
}

/// Gamma change: `255 (v / 255)^(1 / g)`.
pub fn gamma(image: &mut Plane32, g: f32) {
    let inv = 1.0 / g;
    image
        .data
        .iter_mut()
        .for_each(|v| *v = 255.0 * (*v / 255.0).clamp(0.0, 1.0).powf(inv));
}

/// Contrast change as torchvision's `adjust_contrast`: blend with the mean grey by `factor`.
pub fn contrast(image: &mut Plane32, factor: f32) {
    let mean = image.data.iter().sum::<f32>() / image.data.len().max(1) as f32;
    image
        .data
        .iter_mut()
        .for_each(|v| *v = (factor * *v + (1.0 - factor) * mean).clamp(0.0, 255.0));
}

/// Rotation by `degrees` (counter-clockwise on screen) about the centre; image bilinear, labels
/// nearest, zero outside.
pub fn rotate(image: &mut Plane32, label: &mut [u8], degrees: f32) {
    let (w, h) = (image.width, image.height);
    let (s, c) = degrees.to_radians().sin_cos();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let mut out = vec![0.0f32; w * h];
    let mut out_label = vec![0u8; w * h];
    for y in 0..h {
        for x in 0..w {
            let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
            // Inverse map: rotate the destination point back by -angle (y axis points down).
            let sx = c * dx - s * dy + cx - 0.5;
            let sy = s * dx + c * dy + cy - 0.5;
            if sx <= -1.0 || sy <= -1.0 || sx >= w as f32 || sy >= h as f32 {
                continue;
            }
            let (nx, ny) = (sx.round(), sy.round());
            if nx >= 0.0 && ny >= 0.0 && (nx as usize) < w && (ny as usize) < h {
                out_label[y * w + x] = label[ny as usize * w + nx as usize];
            }
            let (x0, y0) = (sx.floor(), sy.floor());
            let (a, b) = (sx - x0, sy - y0);
            let px = |xx: f32, yy: f32| -> f32 {
                if xx < 0.0 || yy < 0.0 || xx as usize >= w || yy as usize >= h {
                    0.0
                } else {
                    image.data[yy as usize * w + xx as usize]
                }
            };
            out[y * w + x] = (1.0 - b) * ((1.0 - a) * px(x0, y0) + a * px(x0 + 1.0, y0))
                + b * ((1.0 - a) * px(x0, y0 + 1.0) + a * px(x0 + 1.0, y0 + 1.0));
        }
    }
    image.data = out;
    label.copy_from_slice(&out_label);
}

/// Zoom by `factor` >= 1 (image bilinear, labels nearest) then crop back to size at offset
/// (`left`, `top`) in the zoomed image.
pub fn scale_crop(image: &mut Plane32, label: &mut [u8], factor: f32, left: usize, top: usize) {
    let (w, h) = (image.width, image.height);
    let (zw, zh) = (
        ((w as f32 * factor) as usize).max(w),
        ((h as f32 * factor) as usize).max(h),
    );
    let (left, top) = (left.min(zw - w), top.min(zh - h));
    let zoomed = bilinear(image, zw, zh);
    let zoomed_label = nearest(label, w, h, zw, zh);
    for y in 0..h {
        let row = (y + top) * zw + left;
        image.data[y * w..(y + 1) * w].copy_from_slice(&zoomed.data[row..row + w]);
        label[y * w..(y + 1) * w].copy_from_slice(&zoomed_label[row..row + w]);
    }
}

/// Applies each augmentation of `config` with its probability, drawing from `rng`.
pub fn augment(image: &mut Plane32, label: &mut [u8], config: &AugmentConfig, rng: &mut Rng) {
    if rng.chance(config.p_gamma) {
        gamma(image, 1.0 + 0.1 * rng.below(15) as f32);
    }
    if rng.chance(config.p_rotate) {
        let d = config.max_rotation_deg;
        rotate(image, label, rng.range(-d, d));
    }
    if rng.chance(config.p_scale) {
        let f = rng.range(1.0, config.max_scale.max(1.0));
        let (zw, zh) = (
            (image.width as f32 * f) as usize,
            (image.height as f32 * f) as usize,
        );
        let left = rng.below(zw.saturating_sub(image.width) + 1);
        let top = rng.below(zh.saturating_sub(image.height) + 1);
        scale_crop(image, label, f, left, top);
    }
    if rng.chance(config.p_contrast) {
        contrast(image, rng.range(config.contrast[0], config.contrast[1]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square() -> (Plane32, Vec<u8>) {
        let (w, h) = (32, 32);
        let mut label = vec![0u8; w * h];
        let mut data = vec![10.0f32; w * h];
        for y in 4..12 {
            for x in 20..28 {
                label[y * w + x] = 1;
                data[y * w + x] = 200.0;
            }
        }
        (
            Plane32 {
                width: w,
                height: h,
                data,
            },
            label,
        )
    }

    #[test]
    fn gamma_and_contrast_follow_their_formulas() {
        let mut p = Plane32 {
            width: 2,
            height: 1,
            data: vec![63.75, 255.0],
        };
        gamma(&mut p, 2.0);
        assert!((p.data[0] - 127.5).abs() < 1e-3 && (p.data[1] - 255.0).abs() < 1e-3);
        let mut p = Plane32 {
            width: 2,
            height: 1,
            data: vec![100.0, 200.0],
        };
        contrast(&mut p, 2.0);
        assert_eq!(p.data, vec![50.0, 250.0]);
    }

    #[test]
    fn rotation_moves_image_and_label_together() {
        let (mut img, mut label) = square();
        rotate(&mut img, &mut label, 90.0);
        let count = label.iter().filter(|&&v| v == 1).count();
        assert_eq!(count, 64);
        // The square at top right moves to the top left under a counter-clockwise quarter turn.
        let (w, mut sx, mut sy) = (32, 0, 0);
        for (i, _) in label.iter().enumerate().filter(|(_, v)| **v == 1) {
            sx += i % w;
            sy += i / w;
            assert!(img.data[i] > 150.0);
        }
        assert!(
            sx / 64 < 16 && sy / 64 < 16,
            "centre {} {}",
            sx / 64,
            sy / 64
        );
    }

    #[test]
    fn scale_crop_grows_the_structure() {
        let (mut img, mut label) = square();
        scale_crop(&mut img, &mut label, 1.25, 4, 0);
        let count = label.iter().filter(|&&v| v == 1).count();
        assert_eq!(count, 100);
        assert!(
            label
                .iter()
                .zip(&img.data)
                .all(|(l, v)| (*l == 1) <= (*v > 100.0))
        );
    }

    #[test]
    fn augment_is_deterministic_by_rng() {
        let (img, label) = square();
        let run = |seed| {
            let (mut i, mut l) = (img.clone(), label.clone());
            augment(
                &mut i,
                &mut l,
                &AugmentConfig::default(),
                &mut Rng::new(seed),
            );
            (i, l)
        };
        assert_eq!(run(4), run(4));
        assert!((0..8).any(|s| run(s) != run(4)));
    }
}

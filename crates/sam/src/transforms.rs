//! SAM's `ResizeLongestSide`, with the pixel-exact bilinear resize of Pillow that the official
//! predictor uses (torchvision `resize` on a PIL image).

use image::RgbImage;

/// Fixed-point precision of Pillow's 8-bit resampling.
const PRECISION_BITS: u32 = 32 - 8 - 2;

/// Resizes images, points and boxes so that the longest image side is `target_length`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResizeLongestSide {
    /// The length of the longest side after resizing.
    pub target_length: usize,
}

impl ResizeLongestSide {
    /// A transform to `target_length` (the model's input size).
    pub fn new(target_length: usize) -> Self {
        Self { target_length }
    }

    /// The `(height, width)` an image of `(height, width)` is resized to.
    pub fn preprocess_shape(&self, height: usize, width: usize) -> (usize, usize) {
        let scale = self.target_length as f64 / height.max(width) as f64;
        let new_h = (height as f64 * scale + 0.5) as usize;
        let new_w = (width as f64 * scale + 0.5) as usize;
        (new_h, new_w)
    }

    /// Resizes an RGB image exactly as SAM's `apply_image` (Pillow bilinear, antialiased).
    pub fn apply_image(&self, image: &RgbImage) -> RgbImage {
        let (height, width) = (image.height() as usize, image.width() as usize);
        let (new_h, new_w) = self.preprocess_shape(height, width);
        pil_bilinear_resize(image, new_w, new_h)
    }

    /// Maps `(x, y)` pixel coordinates of an image of `original_size = (h, w)` to the resized
    /// image.
    pub fn apply_coords(
        &self,
        coords: &[[f32; 2]],
        original_size: (usize, usize),
    ) -> Vec<[f32; 2]> {
        let (old_h, old_w) = original_size;
        let (new_h, new_w) = self.preprocess_shape(old_h, old_w);
        let sx = new_w as f64 / old_w as f64;
        let sy = new_h as f64 / old_h as f64;
        coords
            .iter()
            .map(|[x, y]| [(*x as f64 * sx) as f32, (*y as f64 * sy) as f32])
            .collect()
    }

    /// Maps a box `(x0, y0, x1, y1)` of an image of `original_size = (h, w)` to the resized image.
    pub fn apply_box(&self, bbox: [f32; 4], original_size: (usize, usize)) -> [f32; 4] {
        let corners = self.apply_coords(&[[bbox[0], bbox[1]], [bbox[2], bbox[3]]], original_size);
        [corners[0][0], corners[0][1], corners[1][0], corners[1][1]]
    }
}

/// Pillow's resampling coefficients for one axis: for each output pixel, the first input pixel,
/// the number of input pixels, and their fixed-point weights.
struct Coefficients {
    bounds: Vec<(usize, usize)>,
    weights: Vec<Vec<i32>>,
}

fn bilinear_filter(x: f64) -> f64 {
    let x = x.abs();
    if x < 1.0 { 1.0 - x } else { 0.0 }
}

fn coefficients(in_size: usize, out_size: usize) -> Coefficients {
    let scale = in_size as f64 / out_size as f64;
    let filter_scale = scale.max(1.0);
    let support = filter_scale; // the bilinear filter's support is 1
    let mut bounds = Vec::with_capacity(out_size);
    let mut weights = Vec::with_capacity(out_size);
    for xx in 0..out_size {
        let center = (xx as f64 + 0.5) * scale;
        // Pillow rounds with a C cast (truncation towards zero), then clamps.
        let xmin = ((center - support + 0.5) as i64).max(0) as usize;
        let xmax = ((center + support + 0.5) as i64).min(in_size as i64) as usize;
        let count = xmax.saturating_sub(xmin);
        let raw: Vec<f64> = (0..count)
            .map(|x| bilinear_filter((x as f64 + xmin as f64 - center + 0.5) / filter_scale))
            .collect();
        let total: f64 = raw.iter().sum();
        let fixed = raw
            .iter()
            .map(|w| {
                let w = if total != 0.0 { w / total } else { *w };
                let scaled = w * (1u32 << PRECISION_BITS) as f64;
                if w < 0.0 {
                    (scaled - 0.5) as i32
                } else {
                    (scaled + 0.5) as i32
                }
            })
            .collect();
        bounds.push((xmin, count));
        weights.push(fixed);
    }
    Coefficients { bounds, weights }
}

fn clip8(value: i64) -> u8 {
    (value >> PRECISION_BITS).clamp(0, 255) as u8
}

/// Resizes like Pillow's `Image.resize(size, Image.BILINEAR)` on an RGB image: a separable,
/// antialiased triangle filter in 8-bit fixed point, horizontal pass first.
pub fn pil_bilinear_resize(image: &RgbImage, out_w: usize, out_h: usize) -> RgbImage {
    let (in_w, in_h) = (image.width() as usize, image.height() as usize);
    if (in_w, in_h) == (out_w, out_h) {
        return image.clone();
    }
    let src = image.as_raw();
    let half = 1i64 << (PRECISION_BITS - 1);
    // Horizontal pass (skipped by Pillow when the width does not change).
    let (mid, mid_w) = if in_w != out_w {
        let coeffs = coefficients(in_w, out_w);
        let mut mid = vec![0u8; out_w * in_h * 3];
        for y in 0..in_h {
            for (xx, ((xmin, count), weights)) in
                coeffs.bounds.iter().zip(&coeffs.weights).enumerate()
            {
                for c in 0..3 {
                    let mut acc = half;
                    for (k, w) in weights.iter().take(*count).enumerate() {
                        acc += src[(y * in_w + xmin + k) * 3 + c] as i64 * *w as i64;
                    }
                    mid[(y * out_w + xx) * 3 + c] = clip8(acc);
                }
            }
        }
        (mid, out_w)
    } else {
        (src.clone(), in_w)
    };
    // Vertical pass (skipped by Pillow when the height does not change).
    let mut out = RgbImage::new(out_w as u32, out_h as u32);
    let buffer: &mut [u8] = &mut out;
    if in_h != out_h {
        let coeffs = coefficients(in_h, out_h);
        for (yy, ((ymin, count), weights)) in coeffs.bounds.iter().zip(&coeffs.weights).enumerate()
        {
            for x in 0..mid_w {
                for c in 0..3 {
                    let mut acc = half;
                    for (k, w) in weights.iter().take(*count).enumerate() {
                        acc += mid[((ymin + k) * mid_w + x) * 3 + c] as i64 * *w as i64;
                    }
                    buffer[(yy * mid_w + x) * 3 + c] = clip8(acc);
                }
            }
        }
    } else {
        buffer.copy_from_slice(&mid);
    }
    out
}

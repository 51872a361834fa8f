//! Resizing: images bilinear with half-pixel centres (PyTorch `align_corners=False`, OpenCV
//! `INTER_LINEAR`, no antialiasing), label maps nearest with half-pixel centres (PIL `NEAREST`,
//! as the authors' loader resizes PIL masks).

/// A float grey plane, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Plane32 {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Row-major pixel values.
    pub data: Vec<f32>,
}

impl Plane32 {
    /// The 8-bit `image` as floats in 0..=255.
    pub fn from_gray(image: &image::GrayImage) -> Self {
        Self {
            width: image.width() as usize,
            height: image.height() as usize,
            data: image.as_raw().iter().map(|&v| v as f32).collect(),
        }
    }
}

/// Source coordinate of destination index `i` under half-pixel centres.
fn source(i: usize, scale: f32) -> f32 {
    ((i as f32 + 0.5) * scale - 0.5).max(0.0)
}

/// Bilinear resize of `src` to `width` x `height`.
pub fn bilinear(src: &Plane32, width: usize, height: usize) -> Plane32 {
    if src.width == width && src.height == height {
        return src.clone();
    }
    let sx = src.width as f32 / width as f32;
    let sy = src.height as f32 / height as f32;
    let xs: Vec<(usize, usize, f32)> = (0..width)
        .map(|x| {
            let f = source(x, sx);
            let x0 = (f as usize).min(src.width - 1);
            ((x0), (x0 + 1).min(src.width - 1), f - x0 as f32)
        })
        .collect();
    let mut data = Vec::with_capacity(width * height);
    for y in 0..height {
        let f = source(y, sy);
        let y0 = (f as usize).min(src.height - 1);
        let y1 = (y0 + 1).min(src.height - 1);
        let b = f - y0 as f32;
        let (r0, r1) = (&src.data[y0 * src.width..], &src.data[y1 * src.width..]);
        for &(x0, x1, a) in &xs {
            let top = r0[x0] + a * (r0[x1] - r0[x0]);
            let bottom = r1[x0] + a * (r1[x1] - r1[x0]);
            data.push(top + b * (bottom - top));
        }
    }
    Plane32 {
        width,
        height,
        data,
    }
}

/// Nearest resize of a `src_w` x `src_h` label map to `width` x `height`.
pub fn nearest(src: &[u8], src_w: usize, src_h: usize, width: usize, height: usize) -> Vec<u8> {
    if src_w == width && src_h == height {
        return src.to_vec();
    }
    let xs: Vec<usize> = (0..width)
        .map(|x| (((x as f64 + 0.5) * src_w as f64 / width as f64) as usize).min(src_w - 1))
        .collect();
    let mut out = Vec::with_capacity(width * height);
    for y in 0..height {
        let sy = (((y as f64 + 0.5) * src_h as f64 / height as f64) as usize).min(src_h - 1);
        let row = &src[sy * src_w..(sy + 1) * src_w];
        out.extend(xs.iter().map(|&x| row[x]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bilinear_matches_half_pixel_reference() {
        // torch.nn.functional.interpolate([[0, 10], [20, 30]], size=4, mode="bilinear",
        // align_corners=False) -> rows [0, 2.5, 7.5, 10], [5, 7.5, 12.5, 15], ...
        let src = Plane32 {
            width: 2,
            height: 2,
            data: vec![0.0, 10.0, 20.0, 30.0],
        };
        let out = bilinear(&src, 4, 4);
        let want = [
            0.0, 2.5, 7.5, 10.0, 5.0, 7.5, 12.5, 15.0, 15.0, 17.5, 22.5, 25.0, 20.0, 22.5, 27.5,
            30.0,
        ];
        for (a, b) in out.data.iter().zip(want) {
            assert!((a - b).abs() < 1e-5, "{:?}", out.data);
        }
    }

    #[test]
    fn nearest_uses_pixel_centres() {
        let src: Vec<u8> = (0..6).collect();
        assert_eq!(nearest(&src, 6, 1, 3, 1), vec![1, 3, 5]);
        assert_eq!(nearest(&src, 6, 1, 12, 1)[..4], [0, 0, 1, 1]);
        assert_eq!(nearest(&[1, 2, 3, 4], 2, 2, 2, 2), vec![1, 2, 3, 4]);
    }
}

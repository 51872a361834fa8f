//! The overlay of the result files.

use image::{GrayImage, Rgb, RgbImage};

/// The grey image in colour with the mask blended in blue and the point marked (green for
/// foreground, red for background).
pub fn overlay(image: &GrayImage, mask: &GrayImage, point: [f32; 2], label: i64) -> RgbImage {
    let mut out = RgbImage::from_fn(image.width(), image.height(), |x, y| {
        let v = image.get_pixel(x, y)[0];
        let m = mask.get_pixel(x, y)[0] > 0;
        let blend = |c: u8| ((v as u16 + c as u16) / 2) as u8;
        if m {
            Rgb([blend(30), blend(144), blend(255)])
        } else {
            Rgb([v, v, v])
        }
    });
    let colour = if label == 1 { [0, 255, 0] } else { [255, 0, 0] };
    let (w, h) = (out.width() as i64, out.height() as i64);
    let (cx, cy) = (point[0] as i64, point[1] as i64);
    for d in -4..=4 {
        for (x, y) in [(cx + d, cy), (cx, cy + d)] {
            if (0..w).contains(&x) && (0..h).contains(&y) {
                out.put_pixel(x as u32, y as u32, Rgb(colour));
            }
        }
    }
    out
}

//! Overlay pictures: the grey image with the prediction tinted red, the reference outlined in
//! green and the click as a yellow cross.

use std::path::Path;

use image::{Rgb, RgbImage};

use crate::error::{InferError, Result};
use crate::evaluate::KeptItem;

/// One picture's content, all `size x size` row-major.
pub struct OverlayInput<'a> {
    /// Side of the square image.
    pub size: usize,
    /// Grey image in [0, 1].
    pub image: &'a [f32],
    /// Predicted mask.
    pub prediction: &'a [bool],
    /// Reference mask, when there is one.
    pub reference: Option<&'a [u8]>,
    /// The click (x, y) and whether it is a foreground click.
    pub point: Option<(f32, f32, bool)>,
}

/// Draws the overlay.
pub fn draw(input: &OverlayInput<'_>) -> RgbImage {
    let s = input.size;
    let mut img = RgbImage::new(s as u32, s as u32);
    for (i, (&v, &p)) in input.image.iter().zip(input.prediction).enumerate() {
        let g = (v.clamp(0.0, 1.0) * 255.0) as u8;
        let px = if p {
            Rgb([g / 2 + 127, g / 2, g / 2])
        } else {
            Rgb([g, g, g])
        };
        img.put_pixel((i % s) as u32, (i / s) as u32, px);
    }
    if let Some(reference) = input.reference {
        let on = |x: usize, y: usize| reference[y * s + x] != 0;
        for y in 0..s {
            for x in 0..s {
                let edge = on(x, y)
                    && (x == 0
                        || y == 0
                        || x + 1 == s
                        || y + 1 == s
                        || !on(x - 1, y)
                        || !on(x + 1, y)
                        || !on(x, y - 1)
                        || !on(x, y + 1));
                if edge {
                    img.put_pixel(x as u32, y as u32, Rgb([40, 230, 60]));
                }
            }
        }
    }
    if let Some((px, py, fg)) = input.point {
        let colour = if fg {
            Rgb([255, 230, 0])
        } else {
            Rgb([0, 200, 255])
        };
        let (cx, cy) = (px.round() as i64, py.round() as i64);
        for d in -3..=3i64 {
            for (x, y) in [(cx + d, cy), (cx, cy + d)] {
                if x >= 0 && y >= 0 && (x as usize) < s && (y as usize) < s {
                    img.put_pixel(x as u32, y as u32, colour);
                }
            }
        }
    }
    img
}

/// Writes an RGB picture as PNG, atomically.
pub fn write_png(path: &Path, img: &RgbImage) -> Result<()> {
    let mut bytes = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Png,
    )
    .map_err(|e| InferError::file(path, e))?;
    Ok(echoone_data::png_io::write_atomic(path, &bytes)?)
}
/// The caption of the overlay pictures, written beside them as `README.md`.
pub const OVERLAY_CAPTION: &str = "Overlays `NN_<image>_<structure>.png`, at the model's input \
size: the prediction of the structure tinted red, the reference outlined in green, the click a \
yellow cross (cyan for a background click, given when the structure is absent).\n";

/// Writes one overlay per kept item into `dir`, named `NN_<stem>_<structure>.png`, and their
/// caption ([`OVERLAY_CAPTION`]) as `README.md`.
pub fn write_overlays(dir: &Path, kept: &[KeptItem]) -> Result<()> {
    if kept.is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(|e| InferError::file(dir, e))?;
    echoone_data::png_io::write_atomic(&dir.join("README.md"), OVERLAY_CAPTION.as_bytes())?;
    for (i, k) in kept.iter().enumerate() {
        let item = &k.item;
        let picture = draw(&OverlayInput {
            size: item.size,
            image: &item.image,
            prediction: &k.prediction,
            reference: Some(&item.target),
            point: Some((item.point.x, item.point.y, item.point.label == 1)),
        });
        let name = format!("{i:02}_{}_{}.png", item.meta.stem, item.structure.name());
        write_png(&dir.join(name), &picture)?;
    }
    Ok(())
}

//! Contact sheets: a grid of samples with their label maps overlaid in colour
//! (LV red, MYO green, LA blue).

use image::{Rgb, RgbImage};

use crate::error::Result;
use crate::png_io::write_atomic;
use crate::resize::{Plane32, bilinear, nearest};
use crate::sample::Sample;

/// Overlay colour of each label value.
const COLOURS: [[f32; 3]; 4] = [
    [0.0, 0.0, 0.0],
    [255.0, 60.0, 60.0],
    [60.0, 220.0, 60.0],
    [70.0, 120.0, 255.0],
];

/// A grid of up to `max` samples, each resized to `tile` x `tile`, masks blended at 40 %.
pub fn contact_sheet(samples: &[Sample], max: usize, tile: usize) -> RgbImage {
    let chosen: Vec<&Sample> = if samples.len() <= max {
        samples.iter().collect()
    } else {
        (0..max)
            .map(|i| &samples[i * samples.len() / max])
            .collect()
    };
    let cols = (chosen.len() as f64).sqrt().ceil().max(1.0) as usize;
    let rows = chosen.len().div_ceil(cols).max(1);
    let mut sheet = RgbImage::new((cols * tile) as u32, (rows * tile) as u32);
    for (k, s) in chosen.iter().enumerate() {
        let (w, h) = (s.image.width() as usize, s.image.height() as usize);
        let img = bilinear(&Plane32::from_gray(&s.image), tile, tile);
        let lab = nearest(s.label.as_raw(), w, h, tile, tile);
        let (ox, oy) = ((k % cols) * tile, (k / cols) * tile);
        for y in 0..tile {
            for x in 0..tile {
                let g = img.data[y * tile + x].clamp(0.0, 255.0);
                let l = lab[y * tile + x] as usize & 3;
                let px = if l == 0 {
                    [g; 3]
                } else {
                    let c = COLOURS[l];
                    [
                        0.6 * g + 0.4 * c[0],
                        0.6 * g + 0.4 * c[1],
                        0.6 * g + 0.4 * c[2],
                    ]
                };
                sheet.put_pixel(
                    (ox + x) as u32,
                    (oy + y) as u32,
                    Rgb(px.map(|v| v.round() as u8)),
                );
            }
        }
    }
    sheet
}

/// Writes `sheet` as PNG to `path`, atomically.
pub fn write_sheet(path: &std::path::Path, sheet: &RgbImage) -> Result<()> {
    let mut bytes = Vec::new();
    sheet
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .map_err(|e| crate::DataError::Invalid(format!("cannot encode PNG: {e}")))?;
    write_atomic(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::SyntheticConfig;

    #[test]
    fn sheet_tiles_samples_and_colours_masks() {
        let samples = SyntheticConfig {
            cases: 1,
            width: 64,
            height: 64,
            ..Default::default()
        }
        .generate(0)
        .unwrap();
        let sheet = contact_sheet(&samples, 16, 32);
        assert_eq!(sheet.dimensions(), (3 * 32, 3 * 32));
        let reddish = sheet
            .pixels()
            .filter(|p| p[0] as i32 > p[1] as i32 + 40 && p[0] as i32 > p[2] as i32 + 40)
            .count();
        assert!(reddish > 100);
    }
}

//! A 2D image or 2D+t sequence read from a medical format, in upright row-major order
//! (x fastest, then y, then frame), with its pixel spacing.

use std::path::{Path, PathBuf};

use image::GrayImage;

use crate::error::{DataError, Result};

/// Pixels of one file: `frames` planes of `width` x `height`, values as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Volume {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// Frames (1 for a still image).
    pub frames: usize,
    /// Pixel spacing [x, y] in mm, when the header gives a positive one.
    pub spacing: Option<[f64; 2]>,
    /// Values, x fastest.
    pub data: Vec<f32>,
    /// The file it came from, for error messages.
    pub path: PathBuf,
}

impl Volume {
    /// Checks that `dims` (x, y[, frames]) describe an image and that `data` fills it.
    pub fn new(
        path: &Path,
        dims: &[usize],
        spacing: Option<[f64; 2]>,
        data: Vec<f32>,
    ) -> Result<Self> {
        let extra = dims
            .iter()
            .skip(3)
            .try_fold(1usize, |a, &d| a.checked_mul(d));
        if dims.len() < 2 || dims[0] == 0 || dims[1] == 0 || extra != Some(1) {
            return Err(DataError::format(
                path,
                format!("expected a 2D image or 2D+t sequence, found dimensions {dims:?}"),
            ));
        }
        let frames = dims.get(2).copied().unwrap_or(1).max(1);
        let n = dims[0]
            .checked_mul(dims[1])
            .and_then(|p| p.checked_mul(frames));
        if n != Some(data.len()) {
            let n = n.map_or_else(|| "more than fit in memory".into(), |n| n.to_string());
            return Err(DataError::format(
                path,
                format!(
                    "{} values for dimensions {dims:?} ({n} expected)",
                    data.len()
                ),
            ));
        }
        Ok(Self {
            width: dims[0],
            height: dims[1],
            frames,
            spacing: spacing.filter(|s| s.iter().all(|v| v.is_finite() && *v > 0.0)),
            data,
            path: path.to_path_buf(),
        })
    }

    fn plane(&self, frame: usize) -> Result<&[f32]> {
        if frame >= self.frames {
            return Err(DataError::format(
                &self.path,
                format!("frame {frame} out of range ({} frames)", self.frames),
            ));
        }
        let n = self.width * self.height;
        Ok(&self.data[frame * n..(frame + 1) * n])
    }

    /// Frame `frame` as an 8-bit image: values in 0..=255 are rounded; a file whose values
    /// leave that range is rescaled linearly from its own min..max.
    pub fn image(&self, frame: usize) -> Result<GrayImage> {
        let plane = self.plane(frame)?;
        let (lo, hi) = self
            .data
            .iter()
            .fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        let (offset, scale) = if lo >= 0.0 && hi <= 255.0 {
            (0.0, 1.0)
        } else {
            (lo, 255.0 / (hi - lo).max(f32::MIN_POSITIVE))
        };
        let pixels = plane
            .iter()
            .map(|v| ((v - offset) * scale).round().clamp(0.0, 255.0) as u8)
            .collect();
        self.gray(pixels)
    }

    /// Frame `frame` as a label map; every value must be a whole number in 0..=255.
    pub fn labels(&self, frame: usize) -> Result<GrayImage> {
        let plane = self.plane(frame)?;
        if let Some(bad) = plane
            .iter()
            .find(|v| v.fract() != 0.0 || **v < 0.0 || **v > 255.0)
        {
            return Err(DataError::format(
                &self.path,
                format!(
                    "label value {bad} is not a class index (expected 0 background, 1 LV, 2 MYO, 3 LA)"
                ),
            ));
        }
        self.gray(plane.iter().map(|&v| v as u8).collect())
    }

    fn gray(&self, pixels: Vec<u8>) -> Result<GrayImage> {
        GrayImage::from_raw(self.width as u32, self.height as u32, pixels)
            .ok_or_else(|| DataError::format(&self.path, "image too large"))
    }
}

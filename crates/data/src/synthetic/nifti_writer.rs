//! Writing 8-bit 2D+t sequences as gzipped NIfTI-1 (`.nii.gz`), voxel (i, j, t) = column i,
//! row j of frame t, as [`crate::nifti_io::read`] reads them back.

use std::io::Write;
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;
use image::GrayImage;

use crate::error::{DataError, Result};
use crate::png_io::write_atomic;

/// Size of the NIfTI-1 header.
const HEADER: usize = 348;
/// Offset of the voxels: the header and the empty extension flag.
const VOX_OFFSET: usize = HEADER + 4;
/// NIfTI data type code of unsigned 8-bit voxels.
const UINT8: i16 = 2;
/// `xyzt_units`: millimetres and seconds.
const MM_AND_SECONDS: u8 = 2 | 8;

/// The little-endian header of a `width` x `height` x `frames` u8 volume with pixel `spacing`.
fn header(width: usize, height: usize, frames: usize, spacing: [f64; 2]) -> Vec<u8> {
    let mut h = vec![0u8; VOX_OFFSET];
    let mut put =
        |offset: usize, bytes: &[u8]| h[offset..offset + bytes.len()].copy_from_slice(bytes);
    put(0, &(HEADER as i32).to_le_bytes());
    put(38, b"r");
    let dims = [3, width, height, frames, 1, 1, 1, 1];
    for (k, d) in dims.iter().enumerate() {
        put(40 + 2 * k, &(*d as u16).to_le_bytes());
    }
    put(70, &UINT8.to_le_bytes());
    put(72, &8i16.to_le_bytes());
    let pixdim = [
        1.0,
        spacing[0] as f32,
        spacing[1] as f32,
        1.0,
        1.0,
        1.0,
        1.0,
        1.0,
    ];
    for (k, d) in pixdim.iter().enumerate() {
        put(76 + 4 * k, &d.to_le_bytes());
    }
    put(108, &(VOX_OFFSET as f32).to_le_bytes());
    put(112, &1.0f32.to_le_bytes());
    put(123, &[MM_AND_SECONDS]);
    put(344, b"n+1\0");
    h
}

/// Writes `frames` (all of one size) as a u8 NIfTI-1 volume `[W, H, T]` with pixel `spacing`
/// (mm) to `path` (gzipped), atomically.
pub(crate) fn write_u8(path: &Path, frames: &[GrayImage], spacing: [f64; 2]) -> Result<()> {
    let first = frames
        .first()
        .ok_or_else(|| DataError::Invalid(format!("{}: no frame to write", path.display())))?;
    let (w, h) = first.dimensions();
    if frames.iter().any(|f| f.dimensions() != (w, h)) {
        return Err(DataError::Invalid(format!(
            "{}: frames of different sizes",
            path.display()
        )));
    }
    if w > u16::MAX as u32 || h > u16::MAX as u32 || frames.len() > u16::MAX as usize {
        return Err(DataError::Invalid(format!(
            "{}: {w}x{h}x{} is too large for NIfTI-1",
            path.display(),
            frames.len()
        )));
    }
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    let io = |e| DataError::io(path, e);
    gz.write_all(&header(w as usize, h as usize, frames.len(), spacing))
        .map_err(io)?;
    for f in frames {
        gz.write_all(f.as_raw()).map_err(io)?;
    }
    write_atomic(path, &gz.finish().map_err(io)?)
}

//! NIfTI-1 (`.nii`, `.nii.gz`) images through the `nifti` crate, read and written. Voxel (i, j)
//! is column i, row j, as ITK and the CAMUS viewers show it.

use std::path::Path;

use image::GrayImage;
use ndarray::ShapeBuilder;
use nifti::{IntoNdArray, NiftiObject, ReaderOptions};

use crate::error::{DataError, Result};
use crate::volume::Volume;

/// Reads a 2D image or 2D+t sequence.
pub fn read(path: &Path) -> Result<Volume> {
    if !path.exists() {
        return Err(DataError::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "file not found"),
        ));
    }
    let bad =
        |e: nifti::NiftiError| DataError::format(path, format!("not a readable NIfTI file: {e}"));
    let obj = ReaderOptions::new().read_file(path).map_err(bad)?;
    let header = obj.header();
    let ndim = header.dim[0].clamp(1, 7) as usize;
    let dims: Vec<usize> = header.dim[1..=ndim].iter().map(|&d| d as usize).collect();
    let spacing = [header.pixdim[1] as f64, header.pixdim[2] as f64];
    let array = obj.into_volume().into_ndarray::<f32>().map_err(bad)?;
    // The array is in Fortran order (x fastest): its memory order is the upright raster.
    let data = match array.as_slice_memory_order() {
        Some(s) => s.to_vec(),
        None => array.t().iter().copied().collect(),
    };
    Volume::new(path, &dims, Some(spacing), data)
}

/// Writes `frames` (all one size) as a u8 NIfTI-1 volume, `[W, H]` for one frame and
/// `[W, H, T]` for several, voxel (i, j) = column i, row j as [`read`] reads it back, with pixel
/// `spacing` [x, y] in mm (1 when unknown); atomically, compressed when the name ends in `.gz`.
pub fn write_u8(path: &Path, frames: &[GrayImage], spacing: Option<[f64; 2]>) -> Result<()> {
    let fail = |reason: String| DataError::format(path, reason);
    let (w, h) = frames
        .first()
        .map(|f| (f.width() as usize, f.height() as usize))
        .ok_or_else(|| fail("no frame to write".into()))?;
    if frames
        .iter()
        .any(|f| (f.width() as usize, f.height() as usize) != (w, h))
    {
        return Err(fail("frames of different sizes".into()));
    }
    let data: Vec<u8> = frames
        .iter()
        .flat_map(|f| f.as_raw().iter().copied())
        .collect();
    let array = ndarray::Array3::from_shape_vec((w, h, frames.len()).f(), data)
        .map_err(|e| fail(e.to_string()))?;
    let mut header = nifti::NiftiHeader::default();
    let [sx, sy] = spacing.unwrap_or([1.0, 1.0]);
    header.pixdim = [1.0, sx as f32, sy as f32, 1.0, 1.0, 1.0, 1.0, 1.0];
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".tmp-{}-{name}", std::process::id()));
    let writer = nifti::writer::WriterOptions::new(&tmp).reference_header(&header);
    let result = if frames.len() == 1 {
        writer.write_nifti(&array.index_axis(ndarray::Axis(2), 0))
    } else {
        writer.write_nifti(&array)
    };
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail(format!("cannot write NIfTI: {e}")));
    }
    std::fs::rename(&tmp, path).map_err(|e| DataError::io(path, e))
}

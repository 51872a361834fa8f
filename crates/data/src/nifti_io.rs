//! NIfTI-1 (`.nii`, `.nii.gz`) images through the `nifti` crate. Voxel (i, j) is column i,
//! row j, as ITK and the CAMUS viewers show it.

use std::path::Path;

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

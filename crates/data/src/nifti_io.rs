//! NIfTI-1 (`.nii`, `.nii.gz`) images through the `nifti` crate, read and written. Voxel (i, j)
//! is column i, row j, as ITK and the CAMUS viewers show it.

use std::io::Read;
use std::path::Path;

use image::GrayImage;
use ndarray::ShapeBuilder;
use nifti::{InMemNiftiVolume, IntoNdArray, NiftiHeader, NiftiType};

use crate::error::{DataError, Result};
use crate::volume::Volume;

/// The most voxel data one file may claim: 1 GiB, far above any echocardiography sequence. A
/// header claiming more is refused before anything of that size is allocated.
pub const MAX_DATA_BYTES: usize = 1 << 30;

/// Size of the NIfTI-1 header plus its 4-byte extension flag.
const HEADER_BYTES: usize = 352;

/// Reads a 2D image or 2D+t sequence (`.nii`, or gzip-compressed `.nii.gz`). The header is
/// checked before the volume is read: a supported scalar data type whose `bitpix` agrees, 1 to 7
/// dimensions, and no more voxel data than the file holds (uncompressed) or than
/// [`MAX_DATA_BYTES`]; so a corrupt or hostile header gives an error naming the file, never a
/// panic or a huge allocation.
pub fn read(path: &Path) -> Result<Volume> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    let bad = |m: String| DataError::format(path, format!("not a readable NIfTI file: {m}"));
    let gz = bytes.starts_with(&[0x1f, 0x8b]);
    let mut source: Box<dyn Read + '_> = if gz {
        Box::new(flate2::read::GzDecoder::new(bytes.as_slice()))
    } else {
        Box::new(bytes.as_slice())
    };
    let corrupt = |e: std::io::Error| bad(format!("corrupt gzip data: {e}"));
    let mut data = Vec::new();
    source
        .by_ref()
        .take(HEADER_BYTES as u64)
        .read_to_end(&mut data)
        .map_err(corrupt)?;
    if data.len() < 348 {
        return Err(bad(format!(
            "{} bytes, the NIfTI-1 header alone has 348",
            data.len()
        )));
    }
    let header = NiftiHeader::from_reader(&data[..348])
        .map_err(|e| bad(format!("bad NIfTI-1 header: {e}")))?;
    if &header.magic != b"n+1\0" {
        return Err(bad(
            "magic is not \"n+1\" (only single-file NIfTI-1 is read, not .hdr/.img pairs)".into(),
        ));
    }
    let datatype = header.data_type().ok().filter(|t| {
        use NiftiType::*;
        matches!(
            t,
            Uint8 | Int8 | Int16 | Uint16 | Int32 | Uint32 | Int64 | Uint64 | Float32 | Float64
        )
    });
    let Some(datatype) = datatype else {
        return Err(bad(format!(
            "unsupported NIfTI data type {} (expected a real scalar type)",
            header.datatype
        )));
    };
    let element = datatype.size_of();
    if header.bitpix as i32 != 8 * element as i32 {
        return Err(bad(format!(
            "bitpix {} disagrees with data type {datatype:?} ({} bits)",
            header.bitpix,
            8 * element
        )));
    }
    let dims: Vec<usize> = header
        .dim()
        .map_err(|e| bad(format!("bad dimensions {:?}: {e}", header.dim)))?
        .iter()
        .map(|&d| d as usize)
        .collect();
    let claimed = dims
        .iter()
        .try_fold(element, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= MAX_DATA_BYTES)
        .ok_or_else(|| {
            bad(format!(
                "dimensions {dims:?} of {element}-byte voxels exceed the {} MiB this reader accepts",
                MAX_DATA_BYTES >> 20
            ))
        })?;
    let offset = header.vox_offset;
    if !offset.is_finite() || !(0.0..=MAX_DATA_BYTES as f32).contains(&offset) {
        return Err(bad(format!("bad vox_offset {offset}")));
    }
    // Single files keep their data at or after byte 352 (a smaller offset means 352).
    let offset = (offset as usize).max(HEADER_BYTES);
    let end = offset + claimed;
    if gz {
        let want = (end - data.len()) as u64;
        source.take(want).read_to_end(&mut data).map_err(corrupt)?;
    } else {
        drop(source);
        data = bytes;
    }
    if data.len() < end {
        return Err(bad(format!(
            "truncated: dimensions {dims:?} of {element}-byte voxels need {end} bytes, the file holds {}",
            data.len()
        )));
    }
    let spacing = [header.pixdim[1] as f64, header.pixdim[2] as f64];
    let volume = InMemNiftiVolume::from_reader(&data[offset..end], &header)
        .map_err(|e| bad(e.to_string()))?;
    let array = volume
        .into_ndarray::<f32>()
        .map_err(|e| bad(e.to_string()))?;
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

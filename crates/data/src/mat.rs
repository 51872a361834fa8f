//! Stacks of binary masks from MATLAB v5 `.mat` files (read with the matfile crate), as HMC-QU
//! stores its ground truth: one numeric array of `frames x height x width` (written from NumPy,
//! e.g. by `scipy.io.savemat`) or `height x width x frames` (written by MATLAB).

use std::path::Path;

use matfile::{MatFile, NumericData};

use crate::error::{DataError, Result};

/// Binary masks (values 0/1), each `width` x `height`, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct MaskStack {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// One mask per frame.
    pub frames: Vec<Vec<u8>>,
}

fn values(data: &NumericData) -> Vec<f64> {
    fn conv<T: Copy + Into<f64>>(v: &[T]) -> Vec<f64> {
        v.iter().map(|&x| x.into()).collect()
    }
    match data {
        NumericData::Int8 { real, .. } => conv(real),
        NumericData::UInt8 { real, .. } => conv(real),
        NumericData::Int16 { real, .. } => conv(real),
        NumericData::UInt16 { real, .. } => conv(real),
        NumericData::Int32 { real, .. } => conv(real),
        NumericData::UInt32 { real, .. } => conv(real),
        NumericData::Int64 { real, .. } => real.iter().map(|&x| x as f64).collect(),
        NumericData::UInt64 { real, .. } => real.iter().map(|&x| x as f64).collect(),
        NumericData::Single { real, .. } => conv(real),
        NumericData::Double { real, .. } => real.clone(),
    }
}

/// Reads the mask array of `path` (the variable `name`, or the file's only numeric array) as
/// `frames` binary masks: non-zero is foreground. A 2-D array is one frame.
pub fn read_masks(path: &Path, name: &str, frames: usize) -> Result<MaskStack> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    if bytes.len() >= 128 && bytes[126..128] == [0x49, 0x4D] && bytes[124..126] == [0x00, 0x02] {
        return Err(DataError::format(
            path,
            "MAT v7.3 (HDF5) is not read; save it with -v7 or scipy.io.savemat",
        ));
    }
    let parsed = std::panic::catch_unwind(|| MatFile::parse(bytes.as_slice()));
    let mat = match parsed {
        Ok(Ok(m)) => m,
        Ok(Err(e)) => {
            return Err(DataError::format(
                path,
                format!("not a readable MATLAB v5 .mat file: {e}"),
            ));
        }
        Err(_) => {
            return Err(DataError::format(
                path,
                "corrupt MATLAB .mat file (the reader gave up)",
            ));
        }
    };
    let array = match mat.find_by_name(name) {
        Some(a) => a,
        None if mat.arrays().len() == 1 => &mat.arrays()[0],
        None => {
            let names: Vec<&str> = mat.arrays().iter().map(|a| a.name()).collect();
            return Err(DataError::format(
                path,
                format!("no mask array {name:?} (numeric arrays found: {names:?})"),
            ));
        }
    };
    let dims = array.size().clone();
    let wrong = || {
        DataError::format(
            path,
            format!(
                "mask array {:?} has dimensions {dims:?}; expected {frames} frames as [{frames}, H, W] or [H, W, {frames}]",
                array.name()
            ),
        )
    };
    let v = values(array.data());
    if v.iter().any(|x| !x.is_finite() || *x < 0.0) {
        return Err(DataError::format(
            path,
            format!(
                "mask array {:?} holds negative or non-finite values",
                array.name()
            ),
        ));
    }
    // Column-major (the first dimension varies fastest): the strides of frame, row and column.
    let (height, width, [sk, sy, sx]) = match *dims.as_slice() {
        [h, w] if frames == 1 => (h, w, [0, 1, h]),
        [n, h, w] if n == frames => (h, w, [1, n, n.saturating_mul(h)]),
        [h, w, n] if n == frames => (h, w, [h.saturating_mul(w), 1, h]),
        _ => return Err(wrong()),
    };
    let total = width
        .checked_mul(height)
        .and_then(|p| p.checked_mul(frames));
    if width == 0 || height == 0 || total != Some(v.len()) {
        return Err(wrong());
    }
    let stack = (0..frames)
        .map(|k| {
            (0..height * width)
                .map(|i| (v[k * sk + (i / width) * sy + (i % width) * sx] != 0.0) as u8)
                .collect()
        })
        .collect();
    Ok(MaskStack {
        width,
        height,
        frames: stack,
    })
}

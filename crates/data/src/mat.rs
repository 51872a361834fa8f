//! Stacks of binary masks from MATLAB v5 `.mat` files (read with the matfile crate), as HMC-QU
//! stores its ground truth: one numeric array of `frames x height x width` (written from NumPy,
//! e.g. by `scipy.io.savemat`) or `height x width x frames` (written by MATLAB).

use std::io::Read;
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

/// The most a compressed variable may inflate to (256 MiB), checked before it is parsed.
pub const MAX_INFLATED_BYTES: u64 = 256 << 20;

/// Checks the data elements of the MAT v5 file `bytes`, and those nested in its matrices and
/// compressed variables: each must fit in what holds it, and a compressed one must inflate to
/// at most [`MAX_INFLATED_BYTES`]; so the parser never follows a size the file cannot back.
fn validate(path: &Path, bytes: &[u8]) -> Result<()> {
    if bytes.len() < 128 {
        return Err(DataError::format(
            path,
            format!(
                "not a MATLAB v5 .mat file: {} bytes, the header alone has 128",
                bytes.len()
            ),
        ));
    }
    let big = match &bytes[126..128] {
        b"IM" => false,
        b"MI" => true,
        _ => {
            return Err(DataError::format(
                path,
                "not a MATLAB v5 .mat file (no IM/MI endian mark at byte 126)",
            ));
        }
    };
    elements(path, &bytes[128..], big, 0)
}

/// How deep matrices and compressed variables may nest (cells of structs of cells...).
const MAX_NESTING: usize = 8;

/// Checks the sequence of data elements `bytes` (see [`validate`]), `depth` levels deep.
fn elements(path: &Path, bytes: &[u8], big: bool, depth: usize) -> Result<()> {
    let bad = |m: String| DataError::format(path, m);
    if depth > MAX_NESTING {
        return Err(bad("corrupt: variables nested too deep".into()));
    }
    let word = |at: usize| {
        let w = [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
        if big {
            u32::from_be_bytes(w)
        } else {
            u32::from_le_bytes(w)
        }
    };
    let mut at = 0;
    while at < bytes.len() {
        let left = bytes.len() - at;
        if left < 8 {
            return Err(bad(format!(
                "truncated: {left} bytes left for a data element tag of 8 (nesting level {depth})"
            )));
        }
        let kind = word(at);
        if kind >> 16 != 0 {
            // Small data element: type and size in one word, the data in the next.
            at += 8;
            continue;
        }
        let size = word(at + 4) as usize;
        if size > left - 8 {
            return Err(bad(format!(
                "truncated or corrupt: a data element claims {size} bytes where {} remain (nesting level {depth})",
                left - 8
            )));
        }
        let body = &bytes[at + 8..at + 8 + size];
        match kind {
            14 => elements(path, body, big, depth + 1)?,
            15 => {
                let mut inflated = Vec::new();
                flate2::read::ZlibDecoder::new(body)
                    .take(MAX_INFLATED_BYTES + 1)
                    .read_to_end(&mut inflated)
                    .map_err(|e| bad(format!("corrupt compressed variable: {e}")))?;
                if inflated.len() as u64 > MAX_INFLATED_BYTES {
                    return Err(bad(format!(
                        "a compressed variable inflates to more than {} MiB",
                        MAX_INFLATED_BYTES >> 20
                    )));
                }
                elements(path, &inflated, big, depth + 1)?;
            }
            _ => {}
        }
        // Compressed variables are not padded; other elements end on an 8-byte boundary.
        at += if kind == 15 {
            8 + size
        } else {
            ((8 + size).div_ceil(8) * 8).min(left)
        };
    }
    Ok(())
}

/// Parses the MAT v5 file `bytes` read from `path`, after [`validate`]; a panic of the parser
/// on a file that passes is turned into an error naming the file.
pub(crate) fn parse(path: &Path, bytes: &[u8]) -> Result<MatFile> {
    if bytes.len() >= 128 && bytes[126..128] == [0x49, 0x4D] && bytes[124..126] == [0x00, 0x02] {
        return Err(DataError::format(
            path,
            "MAT v7.3 (HDF5) is not read; save it with -v7 or scipy.io.savemat",
        ));
    }
    validate(path, bytes)?;
    match std::panic::catch_unwind(|| MatFile::parse(bytes)) {
        Ok(Ok(m)) => Ok(m),
        Ok(Err(e)) => Err(DataError::format(
            path,
            format!("not a readable MATLAB v5 .mat file: {e}"),
        )),
        Err(_) => Err(DataError::format(
            path,
            "corrupt MATLAB .mat file (the reader gave up)",
        )),
    }
}

/// Reads the mask array of `path` (the variable `name`, or the file's only numeric array) as
/// `frames` binary masks: non-zero is foreground. A 2-D array is one frame.
pub fn read_masks(path: &Path, name: &str, frames: usize) -> Result<MaskStack> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    let mat = parse(path, &bytes)?;
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

//! MetaImage (`.mhd` header + `.raw`/`.zraw` data), as written by ITK/SimpleITK: the older
//! CAMUS release. Data is x fastest, so images come out upright.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use crate::error::{DataError, Result};
use crate::volume::Volume;

/// The most pixel data one image may claim: 1 GiB, far above any echocardiography sequence. A
/// header claiming more is refused before anything is read or inflated.
pub const MAX_DATA_BYTES: usize = 1 << 30;

/// Reads a MetaImage header and its data file; the header's claimed size is checked (at most
/// [`MAX_DATA_BYTES`], and no more than the data holds) before the data is decoded.
pub fn read(path: &Path) -> Result<Volume> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    let bad = |m: String| DataError::format(path, m);
    let mut fields: HashMap<String, String> = HashMap::new();
    let mut header_len = 0;
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        header_len += line.len();
        let text = std::str::from_utf8(line).map_err(|_| {
            bad("not a MetaImage header (binary data before ElementDataFile)".into())
        })?;
        let Some((key, value)) = text.split_once('=') else {
            continue;
        };
        let key = key.trim().to_string();
        let done = key == "ElementDataFile";
        fields.insert(key, value.trim().to_string());
        if done {
            break;
        }
    }
    let get = |k: &str| {
        fields
            .get(k)
            .ok_or_else(|| bad(format!("MetaImage header has no {k}")))
    };
    let numbers = |k: &str| -> Result<Vec<f64>> {
        get(k)?
            .split_whitespace()
            .map(|v| {
                v.parse::<f64>()
                    .map_err(|_| bad(format!("{k}: not a number: {v:?}")))
            })
            .collect()
    };
    let dims: Vec<usize> = numbers("DimSize")?
        .iter()
        .map(|&v| {
            (v.fract() == 0.0 && (1.0..=u32::MAX as f64).contains(&v))
                .then_some(v as usize)
                .ok_or_else(|| bad(format!("DimSize: {v} is not a size of at least 1")))
        })
        .collect::<Result<_>>()?;
    let channels = fields.get("ElementNumberOfChannels").map_or(Ok(1.0), |v| {
        v.parse::<f64>()
            .map_err(|_| bad("bad ElementNumberOfChannels".into()))
    })?;
    if channels != 1.0 {
        return Err(bad(format!(
            "{channels} channels per pixel (expected grey)"
        )));
    }
    let spacing = numbers("ElementSpacing")
        .or_else(|_| numbers("ElementSize"))
        .ok()
        .filter(|s| s.len() >= 2)
        .map(|s| [s[0], s[1]]);
    let msb = ["BinaryDataByteOrderMSB", "ElementByteOrderMSB"]
        .iter()
        .any(|k| {
            fields
                .get(*k)
                .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        });
    let compressed = fields
        .get("CompressedData")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let element = get("ElementType")?.clone();
    let size = match element.as_str() {
        "MET_UCHAR" | "MET_CHAR" => 1,
        "MET_USHORT" | "MET_SHORT" => 2,
        "MET_UINT" | "MET_INT" | "MET_FLOAT" => 4,
        "MET_DOUBLE" => 8,
        other => return Err(bad(format!("unsupported ElementType {other}"))),
    };
    // The claimed size is checked before any data is read or inflated.
    let n = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n.checked_mul(size).is_some_and(|b| b <= MAX_DATA_BYTES))
        .ok_or_else(|| {
            bad(format!(
                "DimSize {dims:?} of {element} exceeds the {} MiB this reader accepts",
                MAX_DATA_BYTES >> 20
            ))
        })?;
    let data_file = get("ElementDataFile")?.clone();
    let (raw_path, mut raw) = if data_file.eq_ignore_ascii_case("LOCAL") {
        (path.to_path_buf(), bytes[header_len..].to_vec())
    } else {
        let p = path.parent().unwrap_or(Path::new(".")).join(&data_file);
        let b = std::fs::read(&p).map_err(|e| {
            DataError::format(
                &p,
                format!("cannot read the ElementDataFile of {}: {e}", path.display()),
            )
        })?;
        (p, b)
    };
    if let Some(skip) = fields
        .get("HeaderSize")
        .and_then(|v| v.parse::<usize>().ok())
    {
        raw = raw.get(skip..).unwrap_or_default().to_vec();
    }
    if compressed {
        // Inflate no more than the header's size claims: a zlib bomb stops there.
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(&raw[..])
            .take((n * size) as u64)
            .read_to_end(&mut out)
            .map_err(|e| DataError::format(&raw_path, format!("corrupt zlib data: {e}")))?;
        raw = out;
    }
    if raw.len() < n * size {
        return Err(DataError::format(
            &raw_path,
            format!(
                "truncated: {} bytes for {dims:?} {element} ({} expected)",
                raw.len(),
                n * size
            ),
        ));
    }
    let word = |c: &[u8]| -> [u8; 8] {
        let mut w = [0u8; 8];
        if msb {
            c.iter().rev().enumerate().for_each(|(i, b)| w[i] = *b);
        } else {
            w[..c.len()].copy_from_slice(c);
        }
        w
    };
    let data: Vec<f32> = raw[..n * size]
        .chunks_exact(size)
        .map(|c| {
            let w = word(c);
            match element.as_str() {
                "MET_UCHAR" => w[0] as f32,
                "MET_CHAR" => w[0] as i8 as f32,
                "MET_USHORT" => u16::from_le_bytes([w[0], w[1]]) as f32,
                "MET_SHORT" => i16::from_le_bytes([w[0], w[1]]) as f32,
                "MET_UINT" => u32::from_le_bytes([w[0], w[1], w[2], w[3]]) as f32,
                "MET_INT" => i32::from_le_bytes([w[0], w[1], w[2], w[3]]) as f32,
                "MET_FLOAT" => f32::from_le_bytes([w[0], w[1], w[2], w[3]]),
                _ => f64::from_le_bytes(w) as f32,
            }
        })
        .collect();
    Volume::new(path, &dims, spacing, data)
}

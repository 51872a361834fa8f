//! Minimal NumPy `.npy` reading and writing (version 1.0, little-endian, C order).

use std::fs;
use std::path::Path;

use crate::error::{Result, SamError};

/// An n-dimensional array read from a `.npy` file, converted to `f32`.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    /// The shape, outermost axis first.
    pub shape: Vec<usize>,
    /// The values in C order.
    pub data: Vec<f32>,
}

/// Serialises `data` with `shape` as a float32 `.npy` file's bytes.
pub fn encode_f32(data: &[f32], shape: &[usize]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_text = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape_text}, }}");
    // Magic (6) + version (2) + header length (2) + header, padded to 64 bytes with '\n' last.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut bytes = Vec::with_capacity(10 + header.len() + data.len() * 4);
    bytes.extend_from_slice(b"\x93NUMPY\x01\x00");
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for value in data {
        bytes.extend_from_slice(&value.to_le_bytes());
    }
    bytes
}

fn header_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let start = header.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = header[start..].trim_start().strip_prefix(':')?.trim_start();
    if let Some(inner) = rest.strip_prefix('(') {
        return inner.find(')').map(|end| &inner[..end]);
    }
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    Some(rest[..end].trim().trim_matches('\''))
}

/// Reads a `.npy` file of float32/64, (u)int8/32/64 or bool values as `f32`.
pub fn read_npy(path: impl AsRef<Path>) -> Result<NpyArray> {
    let path = path.as_ref();
    let bad = |message: String| SamError::Npy {
        path: path.to_path_buf(),
        message,
    };
    let bytes = fs::read(path).map_err(|source| SamError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad("missing the \\x93NUMPY magic".into()));
    }
    let (header_len, offset) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(bad(format!("unsupported format version {v}"))),
    };
    let header = bytes
        .get(offset..offset + header_len)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or_else(|| bad("truncated or non-UTF-8 header".into()))?;
    let descr = header_value(header, "descr").ok_or_else(|| bad("no descr".into()))?;
    if header_value(header, "fortran_order") != Some("False") {
        return Err(bad("only C-order arrays are supported".into()));
    }
    let shape_text = header_value(header, "shape").ok_or_else(|| bad("no shape".into()))?;
    let shape = shape_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| bad(format!("bad shape ({shape_text})")))
        })
        .collect::<Result<Vec<_>>>()?;
    let body = &bytes[offset + header_len..];
    let width: usize = match descr {
        "<f4" | "<i4" | "<u4" => 4,
        "<f8" | "<i8" | "<u8" => 8,
        "|u1" | "|i1" | "|b1" => 1,
        other => return Err(bad(format!("unsupported dtype {other}"))),
    };
    // Checked against the data present before anything of the claimed size is allocated.
    let expected = shape
        .iter()
        .try_fold(width, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| bad(format!("shape {shape:?} overflows the address space")))?;
    if body.len() != expected {
        return Err(bad(format!(
            "expected {expected} data bytes for shape {shape:?}, found {}",
            body.len()
        )));
    }
    let data = body
        .chunks_exact(width)
        .map(|c| match descr {
            "<f4" => f32::from_le_bytes([c[0], c[1], c[2], c[3]]),
            "<i4" => i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f32,
            "<u4" => u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f32,
            "<f8" => f64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f32,
            "<i8" => i64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f32,
            "<u8" => u64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f32,
            "|i1" => c[0] as i8 as f32,
            _ => c[0] as f32,
        })
        .collect();
    Ok(NpyArray { shape, data })
}

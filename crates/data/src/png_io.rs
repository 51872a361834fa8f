//! Reading 8-bit grey PNGs (and PNG or JPEG images as grey) within limits set by the file size,
//! writing PNGs, and writing any file atomically (temp file, then rename).

use std::io::Write;
use std::path::Path;

use image::GrayImage;

use crate::error::{DataError, Result};

/// Writes `bytes` to `path` through a temporary file in the same folder, so that `path` is
/// either absent or complete.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let dir = dir.unwrap_or_else(|| Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| DataError::Invalid(format!("{}: not a file path", path.display())))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&tmp);
        return Err(DataError::io(path, e));
    }
    std::fs::rename(&tmp, path).map_err(|e| DataError::io(path, e))
}

/// Encodes `image` as an 8-bit grey PNG.
pub fn encode_png(image: &GrayImage) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .map_err(|e| DataError::Invalid(format!("cannot encode PNG: {e}")))?;
    Ok(out)
}

/// Writes `image` to `path` as an 8-bit grey PNG, atomically.
pub fn write_png(path: &Path, image: &GrayImage) -> Result<()> {
    write_atomic(path, &encode_png(image)?)
}

/// Decoder limits for an image file (PNG or JPEG) of `len` bytes: deflate expands at most
/// 1032:1 and baseline JPEG less, so pixels beyond that (plus 1 MiB of slack) cannot be in the
/// file, and a header claiming them is refused before the decoder allocates them; never more
/// than 512 MiB.
fn decode_limits(len: usize) -> image::Limits {
    let mut limits = image::Limits::default();
    let cap = len
        .saturating_mul(1032)
        .saturating_add(1 << 20)
        .min(512 << 20);
    limits.max_alloc = Some(cap as u64);
    limits
}

/// Reads a PNG as 8-bit grey; colour is converted to luma, 16-bit is rejected (not an echo
/// export this crate knows).
pub fn read_png(path: &Path) -> Result<GrayImage> {
    let img = decode(path, Some(image::ImageFormat::Png), "PNG")?;
    match img {
        image::DynamicImage::ImageLuma8(g) => Ok(g),
        image::DynamicImage::ImageRgb8(_)
        | image::DynamicImage::ImageRgba8(_)
        | image::DynamicImage::ImageLumaA8(_) => Ok(img.to_luma8()),
        other => Err(DataError::format(
            path,
            format!(
                "unsupported PNG pixel type {:?} (expected 8-bit grey)",
                other.color()
            ),
        )),
    }
}

/// Reads a PNG or JPEG (any format `image` recognises from the bytes) as 8-bit grey: colour is
/// converted to luma and 16-bit scaled down.
pub fn read_gray_image(path: &Path) -> Result<GrayImage> {
    Ok(decode(path, None, "image")?.to_luma8())
}

/// Decodes the image file `path` (as `format`, or guessed from its bytes) within
/// [`decode_limits`]; `what` names the format in the error.
fn decode(
    path: &Path,
    format: Option<image::ImageFormat>,
    what: &str,
) -> Result<image::DynamicImage> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    let mut reader = image::ImageReader::new(std::io::Cursor::new(&bytes));
    match format {
        Some(format) => reader.set_format(format),
        None => {
            reader = reader
                .with_guessed_format()
                .map_err(|e| DataError::io(path, e))?;
        }
    }
    reader.limits(decode_limits(bytes.len()));
    reader
        .decode()
        .map_err(|e| DataError::format(path, format!("not a readable {what}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_corrupt_file_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.png");
        let mut img = GrayImage::new(5, 3);
        img.put_pixel(4, 2, image::Luma([200]));
        write_png(&p, &img).unwrap();
        assert_eq!(read_png(&p).unwrap(), img);
        let bytes = std::fs::read(&p).unwrap();
        let bad = dir.path().join("bad.png");
        std::fs::write(&bad, &bytes[..bytes.len() / 2]).unwrap();
        let e = read_png(&bad).unwrap_err().to_string();
        assert!(e.contains("bad.png") && e.contains("PNG"), "{e}");
        let e = read_png(&dir.path().join("missing.png"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing.png"), "{e}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}

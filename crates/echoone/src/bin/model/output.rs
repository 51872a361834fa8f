//! Output files: PNG encoding, the overlay, and writing a folder's files all at once.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};
use image::{GrayImage, Rgb, RgbImage};

/// PNG bytes of an image.
pub fn png(image: impl Into<image::DynamicImage>) -> Result<Vec<u8>> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    image
        .into()
        .write_to(&mut bytes, image::ImageFormat::Png)
        .context("encoding a PNG")?;
    Ok(bytes.into_inner())
}

/// The grey image in colour with the mask blended in blue and the point marked (green for
/// foreground, red for background).
pub fn overlay(image: &GrayImage, mask: &GrayImage, point: [f32; 2], label: i64) -> RgbImage {
    let mut out = RgbImage::from_fn(image.width(), image.height(), |x, y| {
        let v = image.get_pixel(x, y)[0];
        let m = mask.get_pixel(x, y)[0] > 0;
        let blend = |c: u8| ((v as u16 + c as u16) / 2) as u8;
        if m {
            Rgb([blend(30), blend(144), blend(255)])
        } else {
            Rgb([v, v, v])
        }
    });
    let colour = if label == 1 { [0, 255, 0] } else { [255, 0, 0] };
    let (w, h) = (out.width() as i64, out.height() as i64);
    let (cx, cy) = (point[0] as i64, point[1] as i64);
    for d in -4..=4 {
        for (x, y) in [(cx + d, cy), (cx, cy + d)] {
            if (0..w).contains(&x) && (0..h).contains(&y) {
                out.put_pixel(x as u32, y as u32, Rgb(colour));
            }
        }
    }
    out
}

/// Writes `files` into `out` as a whole: into a fresh folder beside it that is then renamed
/// (when `out` is new), or into a staging folder inside it whose files are then moved in.
pub fn write_outputs(out: &Path, files: Vec<(String, Vec<u8>)>) -> Result<()> {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let fresh = !out.exists();
    let staging = if fresh {
        parent.join(format!(".{name}.model-{}", std::process::id()))
    } else {
        ensure!(
            out.is_dir(),
            "{}: exists and is not a folder",
            out.display()
        );
        out.join(format!(".model-{}", std::process::id()))
    };
    fs::create_dir_all(&staging)
        .with_context(|| format!("{}: cannot create output folder", staging.display()))?;
    let result = (|| -> Result<()> {
        for (file, bytes) in &files {
            let path = staging.join(file);
            fs::write(&path, bytes).with_context(|| format!("{}: cannot write", path.display()))?;
        }
        if fresh {
            fs::rename(&staging, out)
                .with_context(|| format!("{}: cannot create output folder", out.display()))?;
        } else {
            for (file, _) in &files {
                fs::rename(staging.join(file), out.join(file))
                    .with_context(|| format!("{}: cannot write", out.join(file).display()))?;
            }
            fs::remove_dir(&staging).ok();
        }
        Ok(())
    })();
    if result.is_err() {
        fs::remove_dir_all(&staging).ok();
    }
    result
}

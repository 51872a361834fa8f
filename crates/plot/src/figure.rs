//! A figure: charts side by side, written as PNG and SVG.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use plotters::prelude::*;

use crate::draw::draw_figure;
use crate::{Chart, PlotError, Result, font};

/// The smallest panel that leaves room for title, axis labels and ticks, in pixels.
const MIN_PANEL: (u32, u32) = (300, 200);
/// The largest figure side, in pixels.
const MAX_SIDE: u32 = 8192;

/// One or more charts side by side.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Figure {
    /// The panels, left to right.
    pub charts: Vec<Chart>,
    /// Width and height in pixels; `None`: 800x600 for one chart, 600x500 per chart otherwise.
    pub size: Option<(u32, u32)>,
}

/// The files [`Figure::write`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The PNG, at the path asked for.
    pub png: PathBuf,
    /// The SVG beside it (the same path with the extension `svg`).
    pub svg: PathBuf,
}

impl Figure {
    /// A figure of `charts`, left to right, at the default size.
    pub fn new(charts: Vec<Chart>) -> Self {
        Self { charts, size: None }
    }

    /// The same figure at `width` x `height` pixels.
    pub fn with_size(mut self, width: u32, height: u32) -> Self {
        self.size = Some((width, height));
        self
    }

    /// Width and height in pixels: [`Figure::size`] or the default for the number of charts.
    pub fn dimensions(&self) -> (u32, u32) {
        self.size.unwrap_or(match self.charts.len() {
            0 | 1 => (800, 600),
            n => (
                600 * u32::try_from(n).unwrap_or(u32::MAX).min(MAX_SIDE),
                500,
            ),
        })
    }

    /// Writes the figure to `path` as PNG and to `path` with the extension `svg` as SVG, each
    /// to a temporary file in the same folder renamed into place; returns both paths.
    pub fn write(&self, path: &Path) -> Result<Written> {
        let invalid = |reason: &str| PlotError::Invalid {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        };
        let svg_path = path.with_extension("svg");
        if path.file_name().is_none() || svg_path == path {
            return Err(invalid("not a file path for a PNG (and an SVG beside it)"));
        }
        if self.charts.is_empty() {
            return Err(invalid("a figure needs at least one chart"));
        }
        let (width, height) = self.dimensions();
        let panels = u32::try_from(self.charts.len()).unwrap_or(u32::MAX);
        if width / panels < MIN_PANEL.0 || height < MIN_PANEL.1 {
            return Err(invalid(&format!(
                "{width}x{height} pixels is too small for {panels} chart(s): each needs {}x{}",
                MIN_PANEL.0, MIN_PANEL.1
            )));
        }
        if width > MAX_SIDE || height > MAX_SIDE {
            return Err(invalid(&format!(
                "{width}x{height} pixels is larger than {MAX_SIDE} on a side"
            )));
        }
        if !font::ensure_registered() {
            return Err(invalid("the embedded DejaVu Sans font could not be loaded"));
        }
        let draw_error = |reason: String| PlotError::Draw {
            path: path.to_path_buf(),
            reason,
        };
        let mut svg = String::new();
        draw_figure(
            &SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area(),
            &self.charts,
        )
        .map_err(|e| draw_error(e.to_string()))?;
        let mut rgb = vec![255; width as usize * height as usize * 3];
        draw_figure(
            &BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area(),
            &self.charts,
        )
        .map_err(|e| draw_error(e.to_string()))?;
        let png = encode_png(&rgb, width, height).map_err(|e| draw_error(e.to_string()))?;
        write_atomic(path, &png)?;
        write_atomic(&svg_path, svg.as_bytes())?;
        Ok(Written {
            png: path.to_path_buf(),
            svg: svg_path,
        })
    }
}

/// An 8-bit RGB PNG of `rgb` (row-major, `width * height * 3` bytes).
fn encode_png(
    rgb: &[u8],
    width: u32,
    height: u32,
) -> std::result::Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(rgb)?;
    writer.finish()?;
    Ok(out)
}

/// Writes `bytes` to a new temporary file beside `path`, flushed to disk, and renames it to
/// `path`; the temporary file is removed on failure.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let io = |source| PlotError::Io {
        path: path.to_path_buf(),
        source,
    };
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = path.with_file_name(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let write = |file: &mut File| file.write_all(bytes).and_then(|()| file.sync_all());
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(io)?;
    let result = write(&mut file).and_then(|()| std::fs::rename(&tmp, path));
    drop(file);
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}

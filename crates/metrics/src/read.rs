//! Reading label maps from PNG and NIfTI files.
//!
//! Array axes follow each format's own reader: a PNG is `[rows, columns]` (axis 0 is y, as
//! PIL/imageio give it); a NIfTI image is `[i, j]` (axis 0 is x, as nibabel gives it), with its
//! spacing from the header's `pixdim[1]`, `pixdim[2]`.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use nifti::{IntoNdArray, NiftiHeader, NiftiObject, ReaderOptions};

use crate::error::{MetricsError, Result};
use crate::grid::LabelMap;
use crate::spacing::Spacing;

/// A file format that holds a 2-D label map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelFormat {
    /// PNG, grayscale or indexed, 1 to 16 bits (RGB only when R = G = B).
    Png,
    /// NIfTI-1 (`.nii` or `.nii.gz`) with every dimension after the second equal to 1.
    Nifti,
}

impl LabelFormat {
    /// The format a file name announces, `None` for other files.
    pub fn of(path: &Path) -> Option<Self> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        if name.ends_with(".png") {
            Some(Self::Png)
        } else if name.ends_with(".nii") || name.ends_with(".nii.gz") {
            Some(Self::Nifti)
        } else {
            None
        }
    }

    /// The array axes that `x` and `y` name in this format: `(axis of x, axis of y)`.
    pub fn xy_axes(self) -> (usize, usize) {
        match self {
            Self::Png => (1, 0),
            Self::Nifti => (0, 1),
        }
    }
}

/// A label map read from a file, with the spacing the file states (NIfTI only).
#[derive(Debug, Clone, PartialEq)]
pub struct LabelFile {
    /// The labels.
    pub map: LabelMap,
    /// The file's format.
    pub format: LabelFormat,
    /// The header spacing (NIfTI), `None` for PNG.
    pub spacing: Option<Spacing>,
}

/// Reads a PNG or NIfTI label map; every problem is an error naming the file.
pub fn read_label_file(path: &Path) -> Result<LabelFile> {
    let fail = |reason: String| MetricsError::Read {
        path: path.to_path_buf(),
        reason,
    };
    match LabelFormat::of(path) {
        Some(LabelFormat::Png) => Ok(LabelFile {
            map: read_png(path).map_err(fail)?,
            format: LabelFormat::Png,
            spacing: None,
        }),
        Some(LabelFormat::Nifti) => {
            let (map, spacing) = read_nifti(path).map_err(fail)?;
            Ok(LabelFile {
                map,
                format: LabelFormat::Nifti,
                spacing,
            })
        }
        None => Err(fail(
            "not a label map: the name must end in .png, .nii or .nii.gz".into(),
        )),
    }
}

fn read_png(path: &Path) -> std::result::Result<LabelMap, String> {
    let file = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let file_len = file
        .metadata()
        .map_err(|e| format!("cannot open: {e}"))?
        .len();
    let mut decoder = png::Decoder::new(BufReader::new(file));
    decoder.set_transformations(png::Transformations::IDENTITY);
    let mut reader = decoder
        .read_info()
        .map_err(|e| format!("not a readable PNG: {e}"))?;
    let size = reader
        .output_buffer_size()
        .ok_or("PNG too large for this machine")?;
    // Deflate expands at most 1032:1, so a header claiming more pixels than that (plus 1 MiB of
    // slack) is refused before the buffer is allocated.
    let most = usize::try_from(file_len)
        .unwrap_or(usize::MAX)
        .saturating_mul(1032)
        .saturating_add(1 << 20);
    if size > most {
        let info = reader.info();
        return Err(format!(
            "the header claims {}x{} pixels ({size} bytes), more than a {file_len}-byte PNG can hold",
            info.width, info.height
        ));
    }
    let mut buf = vec![0u8; size];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| format!("corrupt PNG data: {e}"))?;
    let (width, height) = (info.width as usize, info.height as usize);
    let channels = match info.color_type {
        png::ColorType::Grayscale | png::ColorType::Indexed => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
    };
    let bits = info.bit_depth as usize;
    let sample = |line: &[u8], index: usize| -> u32 {
        match bits {
            16 => u32::from(u16::from_be_bytes([line[2 * index], line[2 * index + 1]])),
            8 => u32::from(line[index]),
            _ => {
                let bit = index * bits;
                let shift = 8 - bits - bit % 8;
                u32::from((line[bit / 8] >> shift) & ((1u8 << bits) - 1))
            }
        }
    };
    let mut data = Vec::with_capacity(width * height);
    for (row, line) in buf.chunks_exact(info.line_size).take(height).enumerate() {
        for col in 0..width {
            let first = sample(line, col * channels);
            if channels >= 3 {
                let (g, b) = (
                    sample(line, col * channels + 1),
                    sample(line, col * channels + 2),
                );
                if g != first || b != first {
                    return Err(format!(
                        "colour PNG: pixel (row {row}, column {col}) is RGB ({first}, {g}, {b}); \
                         a label map must be grayscale, indexed, or RGB with R = G = B"
                    ));
                }
            }
            data.push(first);
        }
    }
    LabelMap::new(height, width, data).map_err(|e| e.to_string())
}

fn read_nifti(path: &Path) -> std::result::Result<(LabelMap, Option<Spacing>), String> {
    // The header is checked before the nifti crate reads the voxels, whose buffers it sizes from
    // the header: a bitpix that disagrees with the data type made it panic, and a claimed size
    // beyond what the file holds would be allocated.
    let header =
        NiftiHeader::from_file(path).map_err(|e| format!("not a readable NIfTI file: {e}"))?;
    let rank = usize::from(header.dim[0]);
    if !(2..=7).contains(&rank) {
        return Err(format!("NIfTI dim[0] = {rank}: expected 2 to 7 dimensions"));
    }
    let dims: Vec<usize> = header.dim[1..=rank]
        .iter()
        .map(|&d| usize::from(d))
        .collect();
    if dims[2..].iter().any(|&d| d != 1) {
        return Err(format!(
            "NIfTI image of shape {dims:?} is not 2-D: every dimension after the second must be 1"
        ));
    }
    let element = header
        .data_type()
        .map_err(|e| format!("NIfTI data type {}: {e}", header.datatype))?
        .size_of();
    if i64::from(header.bitpix) != 8 * element as i64 {
        return Err(format!(
            "NIfTI bitpix {} disagrees with data type {} ({} bits)",
            header.bitpix,
            header.datatype,
            8 * element
        ));
    }
    let file_len = std::fs::metadata(path)
        .map_err(|e| format!("cannot open: {e}"))?
        .len();
    let file_len = usize::try_from(file_len).unwrap_or(usize::MAX);
    // Deflate expands at most 1032:1 (plus 1 MiB of slack for the header and small files).
    let holds = if path.to_string_lossy().to_ascii_lowercase().ends_with(".gz") {
        file_len.saturating_mul(1032).saturating_add(1 << 20)
    } else {
        file_len
    };
    let claimed = dims[0].saturating_mul(dims[1]).saturating_mul(element);
    if claimed > holds {
        return Err(format!(
            "the header claims {dims:?} voxels of {element} bytes, more than a {file_len}-byte \
             file holds"
        ));
    }
    let object = ReaderOptions::new()
        .read_file(path)
        .map_err(|e| format!("not a readable NIfTI file: {e}"))?;
    let volume = object
        .into_volume()
        .into_ndarray::<f64>()
        .map_err(|e| format!("cannot decode NIfTI voxels: {e}"))?;
    let (nx, ny) = (dims[0], dims[1]);
    let mut data = Vec::with_capacity(nx * ny);
    for (index, &v) in volume.iter().enumerate() {
        if !(v >= 0.0 && v.fract() == 0.0 && v <= f64::from(u32::MAX)) {
            return Err(format!(
                "voxel {index} (row-major over {dims:?}) is {v}: labels must be non-negative integers"
            ));
        }
        data.push(v as u32);
    }
    let spacing = Spacing::new(f64::from(header.pixdim[1]), f64::from(header.pixdim[2])).ok();
    let map = LabelMap::new(nx, ny, data).map_err(|e| e.to_string())?;
    Ok((map, spacing))
}

/// The files of a folder that hold label maps, by file name, sorted.
pub(crate) fn label_files(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| MetricsError::Folder(format!("cannot read folder {}: {e}", dir.display())))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| {
            MetricsError::Folder(format!("cannot read folder {}: {e}", dir.display()))
        })?;
        let path = entry.path();
        if path.is_file()
            && LabelFormat::of(&path).is_some()
            && let Some(name) = path.file_name().and_then(|n| n.to_str())
        {
            files.push((name.to_owned(), path.clone()));
        }
    }
    files.sort();
    Ok(files)
}

//! HMC-QU as downloaded: apical four-chamber videos `HMC-QU/A4C/<ECHO>.avi`, the ground truth of
//! the LV wall for one cardiac cycle `LV Ground-truth Segmentation Masks/Mask_<ECHO>.mat` (array
//! `predicted`, one mask per frame of the cycle) and `A4C.xlsx`, whose `ECHO` column names the
//! recordings. The sheet gives each cycle in one of three layouts (see [`SheetLayout`]); header
//! names are matched ignoring case, spaces and punctuation. The earlier release (`HMC_QU.xlsx`,
//! videos under `HMC-QU Echos/HMC-QU Echos/`, columns `Reference Frame` and `End of Cycle`) is
//! read too. Rows whose "LV Wall Ground-truth Segmentation Masks" cell lacks a mark, and rows
//! without a mask file, are skipped and counted in the [`Report`].
//!
//! Every frame of every annotated cycle becomes a sample with only the myocardium annotated
//! (label 2): the video frame's luma, resized bilinearly to the mask's size (the masks were drawn
//! on frames resized that way), and the mask. Phases are not given; `frame` is the 0-based frame
//! of the video. The case id is the ECHO name without spaces (`ES0001 _4CH_1` -> `ES0001_4CH_1`).

use std::path::{Path, PathBuf};

use calamine::{Data, Reader};
use image::GrayImage;
use serde_json::{Value, json};

use crate::avi::AviVideo;
use crate::error::{DataError, Result};
use crate::resize::{Plane32, bilinear};
use crate::sample::{Plane, Sample, SampleInfo, Structure, StructureSet};

/// The folder of the ground-truth masks.
const MASK_DIR: &str = "LV Ground-truth Segmentation Masks";

/// How the sheet gives each recording's cardiac cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SheetLayout {
    /// `Start` and `End` (first and last frame from 1) in a row under "One cardiac-cycle frames".
    StartEnd,
    /// One "One cardiac-cycle frames" column with the first frame (from 1); the mask file gives
    /// the cycle's length.
    FirstFrame,
    /// The earlier release's `Reference Frame` and `End of Cycle` columns.
    ReferenceEnd,
}

impl SheetLayout {
    /// The layout's name: `start-end`, `first-frame` or `reference-end`.
    pub fn name(self) -> &'static str {
        match self {
            SheetLayout::StartEnd => "start-end",
            SheetLayout::FirstFrame => "first-frame",
            SheetLayout::ReferenceEnd => "reference-end",
        }
    }
}

/// What reading HMC-QU found in its sheet: the layout, and the recordings read and skipped.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The sheet read.
    pub sheet: PathBuf,
    /// Its layout.
    pub layout: SheetLayout,
    /// Recordings whose cycle became samples.
    pub read: usize,
    /// Rows skipped: no mark in the "LV Wall Ground-truth Segmentation Masks" column.
    pub unmarked: usize,
    /// Rows skipped: marked (or no mark column) but without frames for the cycle.
    pub without_cycle: usize,
    /// Rows skipped: no `Mask_<ECHO>.mat`.
    pub without_mask: usize,
}

impl Report {
    /// The report as JSON (`sheet`, `sheet_layout`, `recordings_read` and `skipped` counts).
    pub fn to_json(&self) -> Value {
        json!({
            "sheet": self.sheet.display().to_string(),
            "sheet_layout": self.layout.name(),
            "recordings_read": self.read,
            "skipped": {
                "unmarked": self.unmarked,
                "without_cycle": self.without_cycle,
                "without_mask": self.without_mask,
            },
        })
    }
}

/// One row of the sheet that names a recording.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    /// The row number in the sheet, from 1.
    number: usize,
    echo: String,
    /// Whether the mask column marks it (true without a mask column).
    marked: bool,
    /// The first and, where the sheet gives it, last frame of the cycle (from 1).
    cycle: Option<(u32, Option<u32>)>,
}

/// The first of `candidates` that exists, else an error naming them.
fn first_existing(root: &Path, candidates: &[&str], what: &str) -> Result<PathBuf> {
    candidates
        .iter()
        .map(|c| root.join(c))
        .find(|p| p.exists())
        .ok_or_else(|| {
            DataError::format(
                root,
                format!("no {what} (looked for {})", candidates.join(", ")),
            )
        })
}

fn text(cell: &Data) -> String {
    match cell {
        Data::String(s) => s.trim().to_string(),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

/// A header name lower-cased, with only its letters and digits: `One cardiac-cycle frames`
/// and ` one CARDIAC cycle frames` both give `onecardiaccycleframes`.
fn key(cell: &Data) -> String {
    text(cell)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether a mask-column cell marks the row as annotated: any mark but empty, a dash, 0, no.
fn is_mark(cell: &Data) -> bool {
    let t = text(cell).to_lowercase();
    !matches!(
        t.as_str(),
        "" | "-" | "\u{2013}" | "\u{2014}" | "0" | "no" | "n" | "false"
    )
}

fn number(cell: &Data) -> Option<u32> {
    let v = match cell {
        Data::Float(f) => *f,
        Data::Int(i) => *i as f64,
        Data::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    (v.fract() == 0.0 && v >= 1.0 && v <= u32::MAX as f64).then_some(v as u32)
}

/// The sheet's layout and its rows naming a recording.
fn read_sheet(path: &Path) -> Result<(SheetLayout, Vec<Row>)> {
    let mut book = calamine::open_workbook_auto(path)
        .map_err(|e| DataError::format(path, format!("not a readable spreadsheet: {e}")))?;
    let range = match book.worksheet_range("A4C") {
        Ok(r) => r,
        Err(_) => book
            .worksheet_range_at(0)
            .ok_or_else(|| DataError::format(path, "spreadsheet without sheets"))?
            .map_err(|e| DataError::format(path, format!("cannot read the first sheet: {e}")))?,
    };
    let rows: Vec<&[Data]> = range.rows().collect();
    // The first row at or after `from` (looking `span` rows) with a cell whose key is one of
    // `keys`, and that cell's column.
    let find = |keys: &[&str], from: usize, span: usize| {
        rows.iter()
            .enumerate()
            .skip(from)
            .take(span)
            .find_map(|(r, row)| {
                row.iter()
                    .position(|c| keys.contains(&key(c).as_str()))
                    .map(|c| (r, c))
            })
    };
    let (header, echo_col) = find(&["echo"], 0, 10)
        .ok_or_else(|| DataError::format(path, "no ECHO column header in its first rows"))?;
    let mask_col = rows[header].iter().position(|c| {
        let k = key(c);
        k.contains("segmentationmask") || k.starts_with("lvwall")
    });
    let cycle_col = find(&["onecardiaccycleframes"], header, 1).map(|(_, c)| c);
    let starts = find(&["start"], header, 3);
    let ends = find(&["end"], header, 3);
    let references = find(&["referenceframe"], header, 3);
    let cycle_ends = find(&["endofcycle"], header, 3);
    let (layout, first, cols) = match (starts, ends, references, cycle_ends, cycle_col) {
        (Some((r, s)), Some((_, e)), ..) => (SheetLayout::StartEnd, r, (s, Some(e))),
        (_, _, Some((r, s)), Some((_, e)), _) => (SheetLayout::ReferenceEnd, r, (s, Some(e))),
        (.., Some(c)) => (SheetLayout::FirstFrame, header, (c, None)),
        _ => {
            return Err(DataError::format(
                path,
                "no cycle columns: expected \"One cardiac-cycle frames\" (the first frame, or \
                 Start and End under it) or \"Reference Frame\" and \"End of Cycle\"",
            ));
        }
    };
    let mut out = Vec::new();
    for (r, row) in rows.iter().enumerate().skip(first.max(header) + 1) {
        let cell = |c: usize| row.get(c).unwrap_or(&Data::Empty);
        let echo = text(cell(echo_col));
        if echo.is_empty() {
            continue;
        }
        let number_of = |c: usize| match cell(c) {
            Data::Empty => Ok(None),
            Data::String(s) if s.trim().is_empty() => Ok(None),
            other => number(other).map(Some).ok_or_else(|| {
                DataError::format(
                    path,
                    format!(
                        "row {} ({echo}): {:?} is not a frame number from 1",
                        r + 1,
                        text(other)
                    ),
                )
            }),
        };
        let marked = mask_col.is_none_or(|c| is_mark(cell(c)));
        let cycle = if marked {
            let start = number_of(cols.0)?;
            let end = cols.1.map(number_of).transpose()?;
            match (start, end) {
                (Some(s), None) if layout == SheetLayout::FirstFrame => Some((s, None)),
                (Some(s), Some(Some(e))) if e >= s => Some((s, Some(e))),
                (Some(s), Some(Some(e))) => {
                    return Err(DataError::format(
                        path,
                        format!("row {} ({echo}): End {e} before Start {s}", r + 1),
                    ));
                }
                (None, None | Some(None)) => None,
                _ => {
                    return Err(DataError::format(
                        path,
                        format!(
                            "row {} ({echo}): the cycle's first or last frame is missing",
                            r + 1
                        ),
                    ));
                }
            }
        } else {
            None
        };
        out.push(Row {
            number: r + 1,
            echo,
            marked,
            cycle,
        });
    }
    Ok((layout, out))
}

/// The number of frames in the mask file at `path`: the axis of `[frames, H, W]` (as NumPy
/// writes it) or `[H, W, frames]` (as MATLAB does) that is not one of two equal sides, else the
/// first; a file that cannot be parsed gets the mask reader's own error.
fn mask_frames(path: &Path) -> Result<usize> {
    let dims = std::fs::read(path).ok().and_then(|bytes| {
        let mat = crate::mat::parse(path, &bytes).ok()?;
        let array = match mat.find_by_name("predicted") {
            Some(a) => a,
            None if mat.arrays().len() == 1 => &mat.arrays()[0],
            None => return None,
        };
        Some(array.size().clone())
    });
    match dims.as_deref() {
        Some([_, _]) => Ok(1),
        Some(&[a, b, c]) if a == b && b != c => Ok(c),
        Some(&[a, _, _]) => Ok(a),
        _ => crate::mat::read_masks(path, "predicted", 1).map(|s| s.frames.len()),
    }
}

/// Reads every frame of every annotated cycle, in sheet order.
pub fn read(root: &Path) -> Result<Vec<Sample>> {
    read_with_report(root).map(|(samples, _)| samples)
}

/// Reads every frame of every annotated cycle, in sheet order, with what the sheet held.
pub fn read_with_report(root: &Path) -> Result<(Vec<Sample>, Report)> {
    let sheet = first_existing(
        root,
        &["A4C.xlsx", "HMC-QU/A4C.xlsx", "HMC_QU.xlsx"],
        "A4C.xlsx",
    )?;
    let videos = first_existing(
        root,
        &["HMC-QU/A4C", "A4C", "HMC-QU Echos/HMC-QU Echos"],
        "A4C video folder",
    )?;
    let masks = first_existing(root, &[MASK_DIR, &format!("HMC-QU/{MASK_DIR}")], MASK_DIR)?;
    let (layout, rows) = read_sheet(&sheet)?;
    let mut report = Report {
        sheet: sheet.clone(),
        layout,
        read: 0,
        unmarked: 0,
        without_cycle: 0,
        without_mask: 0,
    };
    let mut out = Vec::new();
    for row in &rows {
        let Some((start, end)) = row.cycle else {
            if row.marked {
                report.without_cycle += 1;
            } else {
                report.unmarked += 1;
            }
            continue;
        };
        let mask_path = masks.join(format!("Mask_{}.mat", row.echo));
        if !mask_path.is_file() {
            report.without_mask += 1;
            continue;
        }
        let video_path = videos.join(format!("{}.avi", row.echo));
        if !video_path.is_file() {
            return Err(DataError::format(
                &video_path,
                format!(
                    "missing video of {} (row {} of {}; its mask is {})",
                    row.echo,
                    row.number,
                    sheet.display(),
                    mask_path.display()
                ),
            ));
        }
        let count = match end {
            Some(end) => (end - start + 1) as usize,
            None => mask_frames(&mask_path)?,
        };
        if count == 0 {
            return Err(DataError::format(
                &mask_path,
                "the mask array holds no frames",
            ));
        }
        let end = start as usize + count - 1;
        let stack = crate::mat::read_masks(&mask_path, "predicted", count)?;
        let video = AviVideo::read(&video_path)?;
        if end > video.len() {
            return Err(DataError::format(
                &video_path,
                format!(
                    "row {} of {} gives the cycle {start}..{end} but the video has {} frames",
                    row.number,
                    sheet.display(),
                    video.len()
                ),
            ));
        }
        let case: String = row.echo.split_whitespace().collect();
        for (k, mask) in stack.frames.into_iter().enumerate() {
            let frame = start - 1 + k as u32;
            let image = resize_to(&video.frame(frame as usize)?, stack.width, stack.height);
            let label: Vec<u8> = mask.iter().map(|&m| m * Structure::Myo.label()).collect();
            let label = GrayImage::from_raw(stack.width as u32, stack.height as u32, label)
                .ok_or_else(|| DataError::format(&mask_path, "mask size overflow"))?;
            let mut info = SampleInfo::new("hmcqu", case.clone());
            info.plane = Plane::FourChamber;
            info.frame = Some(frame);
            let annotated = StructureSet::of(&[Structure::Myo]);
            out.push(Sample::new(image, label, annotated, info, &mask_path)?);
        }
        report.read += 1;
    }
    if out.is_empty() {
        return Err(DataError::format(
            &masks,
            format!(
                "no Mask_<ECHO>.mat for any marked recording with a cycle in {} ({} layout; \
                 skipped {} unmarked, {} without frames, {} without a mask file)",
                sheet.display(),
                layout.name(),
                report.unmarked,
                report.without_cycle,
                report.without_mask
            ),
        ));
    }
    Ok((out, report))
}

/// `image` resized bilinearly (half-pixel centres) to `width` x `height`, rounded.
fn resize_to(image: &GrayImage, width: usize, height: usize) -> GrayImage {
    let out = bilinear(&Plane32::from_gray(image), width, height);
    let pixels = out
        .data
        .iter()
        .map(|v| v.round().clamp(0.0, 255.0) as u8)
        .collect();
    GrayImage::from_raw(width as u32, height as u32, pixels).unwrap_or_default()
}

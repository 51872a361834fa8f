//! HMC-QU as downloaded: apical four-chamber videos `HMC-QU/A4C/<ECHO>.avi`, the ground truth of
//! the LV wall for one cardiac cycle `LV Ground-truth Segmentation Masks/Mask_<ECHO>.mat` (array
//! `predicted`, one mask per frame of the cycle) and `A4C.xlsx`, whose `ECHO` column names the
//! recordings and whose "One cardiac-cycle frames" `Start` and `End` columns give the cycle's first
//! and last frame (counted from 1). The earlier release (`HMC_QU.xlsx`, videos under
//! `HMC-QU Echos/HMC-QU Echos/`, columns `Reference Frame` and `End of Cycle`) is read too.
//!
//! Every frame of every annotated cycle becomes a sample with only the myocardium annotated
//! (label 2): the video frame's luma, resized bilinearly to the mask's size (the masks were drawn
//! on frames resized that way), and the mask. Phases are not given; `frame` is the 0-based frame
//! of the video. The case id is the ECHO name without spaces (`ES0001 _4CH_1` -> `ES0001_4CH_1`).

use std::path::{Path, PathBuf};

use calamine::{Data, Reader};
use image::GrayImage;

use crate::avi::AviVideo;
use crate::error::{DataError, Result};
use crate::resize::{Plane32, bilinear};
use crate::sample::{Plane, Sample, SampleInfo, Structure, StructureSet};

/// The folder of the ground-truth masks.
const MASK_DIR: &str = "LV Ground-truth Segmentation Masks";

/// One annotated recording of `A4C.xlsx`.
#[derive(Debug, Clone, PartialEq)]
struct Cycle {
    echo: String,
    start: u32,
    end: u32,
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
        _ => String::new(),
    }
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

/// The recordings of the sheet with a cycle (Start and End both given).
fn cycles(path: &Path) -> Result<Vec<Cycle>> {
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
    // The first row at or after `from` (looking `span` rows) with a cell reading one of `labels`.
    let find = |labels: &[&str], from: usize, span: usize| {
        rows.iter()
            .enumerate()
            .skip(from)
            .take(span)
            .find_map(|(r, row)| {
                row.iter()
                    .position(|c| labels.iter().any(|l| text(c).eq_ignore_ascii_case(l)))
                    .map(|c| (r, c))
            })
    };
    let (header, echo_col) = find(&["ECHO"], 0, 10)
        .ok_or_else(|| DataError::format(path, "no ECHO column header in its first rows"))?;
    let missing = |what: &str| {
        DataError::format(
            path,
            format!("no {what:?} column under \"One cardiac-cycle frames\""),
        )
    };
    let (start_row, start_col) =
        find(&["Start", "Reference Frame"], header, 3).ok_or_else(|| missing("Start"))?;
    let (_, end_col) = find(&["End", "End of Cycle"], header, 3).ok_or_else(|| missing("End"))?;
    let mut out = Vec::new();
    for (r, row) in rows.iter().enumerate().skip(start_row.max(header) + 1) {
        let echo = row.get(echo_col).map(text).unwrap_or_default();
        if echo.is_empty() {
            continue;
        }
        let cell = |c: usize| row.get(c).unwrap_or(&Data::Empty);
        let (start, end) = (number(cell(start_col)), number(cell(end_col)));
        let (Some(start), Some(end)) = (start, end) else {
            if matches!(cell(start_col), Data::Empty) && matches!(cell(end_col), Data::Empty) {
                continue;
            }
            return Err(DataError::format(
                path,
                format!(
                    "row {} ({echo}): Start/End must be frame numbers from 1",
                    r + 1
                ),
            ));
        };
        if end < start {
            return Err(DataError::format(
                path,
                format!("row {} ({echo}): End {end} before Start {start}", r + 1),
            ));
        }
        out.push(Cycle { echo, start, end });
    }
    Ok(out)
}

/// Reads every frame of every annotated cycle, in sheet order.
pub fn read(root: &Path) -> Result<Vec<Sample>> {
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
    let cycles = cycles(&sheet)?;
    let mut out = Vec::new();
    for cycle in &cycles {
        let mask_path = masks.join(format!("Mask_{}.mat", cycle.echo));
        if !mask_path.is_file() {
            continue;
        }
        let video_path = videos.join(format!("{}.avi", cycle.echo));
        if !video_path.is_file() {
            return Err(DataError::format(
                &video_path,
                format!(
                    "missing video of {} (its mask is {})",
                    cycle.echo,
                    mask_path.display()
                ),
            ));
        }
        let count = (cycle.end - cycle.start + 1) as usize;
        let stack = crate::mat::read_masks(&mask_path, "predicted", count)?;
        let video = AviVideo::read(&video_path)?;
        if cycle.end as usize > video.len() {
            return Err(DataError::format(
                &video_path,
                format!(
                    "{} gives the cycle {}..{} but the video has {} frames",
                    sheet.display(),
                    cycle.start,
                    cycle.end,
                    video.len()
                ),
            ));
        }
        let case: String = cycle.echo.split_whitespace().collect();
        for (k, mask) in stack.frames.into_iter().enumerate() {
            let frame = cycle.start - 1 + k as u32;
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
    }
    if out.is_empty() {
        return Err(DataError::format(
            &masks,
            format!(
                "no Mask_<ECHO>.mat for any recording with a cycle in {}",
                sheet.display()
            ),
        ));
    }
    Ok(out)
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

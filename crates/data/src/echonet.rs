//! EchoNet-Dynamic as downloaded: `FileList.csv` (one row per video, its `Split` column TRAIN, VAL
//! or TEST), `VolumeTracings.csv` (per traced frame, the long axis then pairs of endocardial
//! points `X1,Y1,X2,Y2`) and `Videos/<FileName>.avi` (112x112 Motion-JPEG, apical four-chamber).
//!
//! Every traced frame of a listed video becomes a sample with only the LV annotated. The mask is
//! rasterised as EchoNet's own code does: the polygon of the points `(X1, Y1)[1:]` followed by
//! `(X2, Y2)[1:]` reversed, coordinates rounded half to even (`np.rint`), filled with
//! `skimage.draw.polygon` semantics (boundary included). The traced frame whose mask has the
//! largest area is ED and the one with the smallest is ES; EchoNet's code takes the last and the
//! first traced frame instead, which agrees whenever the file lists the smaller tracing first.
//! Equal areas fall back to that file order. A video with a single traced frame gives one sample
//! without a phase.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use image::GrayImage;

use crate::avi::AviVideo;
use crate::error::{DataError, Result};
use crate::sample::{Phase, Plane, Sample, SampleInfo, Split, Structure, StructureSet};

/// One row of `FileList.csv` that matters here.
struct Listed {
    name: String,
    split: Option<Split>,
}

/// The tracings of one video: per traced frame (in file order) its `X1, Y1, X2, Y2` points.
type Tracings = Vec<(u32, Vec<[f64; 4]>)>;

pub(crate) fn open_csv(path: &Path) -> Result<csv::Reader<std::fs::File>> {
    let file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    Ok(csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(file))
}

/// The column index of each of `names` in the header of `path`.
pub(crate) fn columns<R: std::io::Read>(
    path: &Path,
    reader: &mut csv::Reader<R>,
    names: &[&str],
) -> Result<Vec<usize>> {
    let header = reader
        .headers()
        .map_err(|e| DataError::format(path, format!("cannot read the CSV header: {e}")))?
        .clone();
    names
        .iter()
        .map(|n| {
            header
                .iter()
                .position(|h| h.eq_ignore_ascii_case(n))
                .ok_or_else(|| DataError::format(path, format!("no column {n:?} in the header")))
        })
        .collect()
}

/// The video name without its `.avi` extension (FileList omits it, VolumeTracings keeps it).
pub(crate) fn video_key(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".avi") {
        name[..name.len() - 4].to_string()
    } else {
        name.to_string()
    }
}

fn file_list(path: &Path) -> Result<Vec<Listed>> {
    let mut reader = open_csv(path)?;
    let cols = columns(path, &mut reader, &["FileName"])?;
    let split_col = columns(path, &mut reader, &["Split"]).ok().map(|c| c[0]);
    let mut out = Vec::new();
    for (row, record) in reader.records().enumerate() {
        let record =
            record.map_err(|e| DataError::format(path, format!("row {}: {e}", row + 2)))?;
        let name = record.get(cols[0]).unwrap_or_default();
        if name.is_empty() {
            return Err(DataError::format(
                path,
                format!("row {}: empty FileName", row + 2),
            ));
        }
        let split = match split_col.and_then(|c| record.get(c)) {
            None | Some("") => None,
            Some(s) => Some(Split::parse(s).ok_or_else(|| {
                DataError::format(
                    path,
                    format!(
                        "row {}: unknown split {s:?} (expected TRAIN, VAL or TEST)",
                        row + 2
                    ),
                )
            })?),
        };
        out.push(Listed {
            name: video_key(name),
            split,
        });
    }
    Ok(out)
}

fn tracings(path: &Path) -> Result<HashMap<String, Tracings>> {
    let mut reader = open_csv(path)?;
    let cols = columns(
        path,
        &mut reader,
        &["FileName", "X1", "Y1", "X2", "Y2", "Frame"],
    )?;
    let mut out: HashMap<String, Tracings> = HashMap::new();
    for (row, record) in reader.records().enumerate() {
        let line = row + 2;
        let record = record.map_err(|e| DataError::format(path, format!("row {line}: {e}")))?;
        let field = |k: usize| record.get(cols[k]).unwrap_or_default();
        let number = |k: usize| {
            field(k)
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| {
                    DataError::format(path, format!("row {line}: bad number {:?}", field(k)))
                })
        };
        let point = [number(1)?, number(2)?, number(3)?, number(4)?];
        let frame: u32 = field(5).parse().map_err(|_| {
            DataError::format(path, format!("row {line}: bad frame {:?}", field(5)))
        })?;
        let video = out.entry(video_key(field(0))).or_default();
        match video.iter_mut().find(|(f, _)| *f == frame) {
            Some((_, points)) => points.push(point),
            None => video.push((frame, vec![point])),
        }
    }
    Ok(out)
}

/// The LV mask (values 0/1) of one tracing on a `width` x `height` frame.
pub fn trace_mask(points: &[[f64; 4]], width: usize, height: usize) -> Vec<u8> {
    let tail = points.get(1..).unwrap_or_default();
    let (mut rows, mut cols) = (Vec::new(), Vec::new());
    for p in tail {
        cols.push(p[0].round_ties_even());
        rows.push(p[1].round_ties_even());
    }
    for p in tail.iter().rev() {
        cols.push(p[2].round_ties_even());
        rows.push(p[3].round_ties_even());
    }
    crate::polygon::fill(&rows, &cols, width, height)
}

/// The phase of each traced frame: largest mask ED, smallest ES (ties in file order), none for
/// a single tracing.
fn phases(areas: &[usize]) -> Vec<Option<Phase>> {
    let mut out = vec![None; areas.len()];
    if areas.len() < 2 {
        return out;
    }
    // max_by_key keeps the last maximum, min_by_key the first minimum.
    let ed = (0..areas.len()).max_by_key(|&i| areas[i]).unwrap_or(0);
    let es = (0..areas.len())
        .filter(|&i| i != ed)
        .min_by_key(|&i| areas[i])
        .unwrap_or(0);
    out[ed] = Some(Phase::Ed);
    out[es] = Some(Phase::Es);
    out
}

/// The video file of `name` under `Videos/` (or the root), with `.avi` in any case.
fn video_path(root: &Path, name: &str) -> PathBuf {
    let dir = if root.join("Videos").is_dir() {
        root.join("Videos")
    } else {
        root.to_path_buf()
    };
    let plain = dir.join(format!("{name}.avi"));
    if plain.is_file() {
        return plain;
    }
    let upper = dir.join(format!("{name}.AVI"));
    if upper.is_file() { upper } else { plain }
}

/// Reads every traced frame of every video listed in `FileList.csv`, in list order; videos
/// without tracings are skipped, as are tracings of videos the list does not name.
pub fn read(root: &Path) -> Result<Vec<Sample>> {
    let list_path = root.join("FileList.csv");
    let trace_path = root.join("VolumeTracings.csv");
    for p in [&list_path, &trace_path] {
        if !p.is_file() {
            return Err(DataError::format(
                p,
                "missing: an EchoNet-Dynamic folder holds FileList.csv, VolumeTracings.csv and Videos/",
            ));
        }
    }
    let listed = file_list(&list_path)?;
    let traced = tracings(&trace_path)?;
    let mut out = Vec::new();
    for entry in &listed {
        let Some(frames) = traced.get(&entry.name) else {
            continue;
        };
        let path = video_path(root, &entry.name);
        if !path.is_file() {
            return Err(DataError::format(
                &path,
                format!(
                    "missing video of {} (listed in {} and traced in {})",
                    entry.name,
                    list_path.display(),
                    trace_path.display()
                ),
            ));
        }
        let video = AviVideo::read(&path)?;
        let mut images: Vec<(u32, GrayImage, Vec<u8>)> = Vec::new();
        for (frame, points) in frames {
            if *frame as usize >= video.len() {
                return Err(DataError::format(
                    &path,
                    format!(
                        "{} traces frame {frame} but the video has {} frames",
                        trace_path.display(),
                        video.len()
                    ),
                ));
            }
            let image = video.frame(*frame as usize)?;
            let (w, h) = (image.width() as usize, image.height() as usize);
            images.push((*frame, image, trace_mask(points, w, h)));
        }
        let areas: Vec<usize> = images
            .iter()
            .map(|(_, _, m)| m.iter().filter(|&&v| v != 0).count())
            .collect();
        for ((frame, image, mask), phase) in images.into_iter().zip(phases(&areas)) {
            let (w, h) = image.dimensions();
            let label = GrayImage::from_raw(w, h, mask)
                .ok_or_else(|| DataError::format(&path, "mask size mismatch"))?;
            let mut info = SampleInfo::new("echonet", entry.name.clone());
            info.plane = Plane::FourChamber;
            info.phase = phase;
            info.frame = Some(frame);
            info.split = entry.split;
            let annotated = StructureSet::of(&[Structure::Lv]);
            out.push(Sample::new(image, label, annotated, info, &path)?);
        }
    }
    if out.is_empty() {
        return Err(DataError::format(
            &list_path,
            "no listed video has a tracing in VolumeTracings.csv",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_tracing_is_ed_smallest_es_ties_in_file_order() {
        use Phase::{Ed, Es};
        assert_eq!(phases(&[10, 20]), vec![Some(Es), Some(Ed)]);
        assert_eq!(phases(&[20, 10]), vec![Some(Ed), Some(Es)]);
        assert_eq!(phases(&[7, 7]), vec![Some(Es), Some(Ed)]);
        assert_eq!(phases(&[5, 9, 3]), vec![None, Some(Ed), Some(Es)]);
        assert_eq!(phases(&[5]), vec![None]);
    }

    #[test]
    fn tracing_uses_points_after_the_first_and_rounds_half_to_even() {
        // Long axis (ignored), then two chords: x1 2.5 -> 2, x2 5.5 -> 6.
        let pts = [
            [0.0, 0.0, 9.0, 9.0],
            [2.5, 1.0, 5.5, 1.0],
            [2.5, 3.0, 5.5, 3.0],
        ];
        let m = trace_mask(&pts, 8, 5);
        let on: Vec<(usize, usize)> = (0..40)
            .filter(|&i| m[i] == 1)
            .map(|i| (i % 8, i / 8))
            .collect();
        assert_eq!(on.len(), 15);
        assert!(on.contains(&(2, 1)) && on.contains(&(6, 3)) && !on.contains(&(7, 2)));
    }
}

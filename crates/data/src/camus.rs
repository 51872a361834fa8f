//! CAMUS: the NIfTI release (`database_nifti/patientXXXX/patientXXXX_{2CH,4CH}_{ED,ES}[_gt].nii.gz`,
//! `Info_{2CH,4CH}.cfg`, official split files `database_split/subgroup_{training,validation,testing}.txt`)
//! and the older MetaImage release (`training|testing/patientXXXX/..._{ED,ES}[_gt].mhd`).
//! ED and ES frames with a ground truth become samples; [`read_with_half_sequences`] adds the
//! frames between them from `..._half_sequence[_gt].nii.gz` (ED to ES, one mask per frame).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::{DataError, Result};
use crate::sample::{Phase, Plane, Sample, SampleInfo, Split, StructureSet};
use crate::volume::Volume;

/// The folders that may hold `patient*` folders, for a given root.
fn patient_parents(root: &Path) -> Vec<PathBuf> {
    ["database_nifti", "training", "testing", "."]
        .iter()
        .map(|d| root.join(d))
        .filter(|d| d.is_dir())
        .collect()
}

/// The official split of each patient, from `database_split/` beside or above the root.
fn official_splits(root: &Path) -> Result<HashMap<String, Split>> {
    let mut out = HashMap::new();
    let dirs = [root.join("database_split"), root.join("../database_split")];
    let Some(dir) = dirs.iter().find(|d| d.is_dir()) else {
        return Ok(out);
    };
    for (file, split) in [
        ("subgroup_training.txt", Split::Train),
        ("subgroup_validation.txt", Split::Val),
        ("subgroup_testing.txt", Split::Test),
    ] {
        let path = dir.join(file);
        if !path.exists() {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|e| DataError::io(&path, e))?;
        for name in text.split_whitespace() {
            out.insert(name.to_string(), split);
        }
    }
    Ok(out)
}

/// One `key: value` line of an `Info_<view>.cfg`, trimmed, with its 1-based line number.
pub(crate) struct InfoLine {
    /// Line number, from 1.
    pub line: usize,
    /// The key (`ED`, `ES`, `LVef`, ...).
    pub key: String,
    /// The value.
    pub value: String,
}

/// The `key: value` lines of `Info_<view>.cfg` in file order (none when the file is absent).
pub(crate) fn info(path: &Path) -> Result<Vec<InfoLine>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
    Ok(text
        .lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let (k, v) = l.split_once(':')?;
            Some(InfoLine {
                line: i + 1,
                key: k.trim().to_string(),
                value: v.trim().to_string(),
            })
        })
        .collect())
}

/// The 0-based frame that `key` (`ED`, `ES`) of `cfg` names (1-based there; the last line with
/// that key wins).
fn info_frame(cfg: &[InfoLine], key: &str) -> Option<u32> {
    cfg.iter()
        .rev()
        .find(|l| l.key == key)
        .and_then(|l| l.value.parse::<u32>().ok())
        .map(|f| f.saturating_sub(1))
}

fn read_volume(path: &Path) -> Result<Volume> {
    if path.extension().is_some_and(|e| e == "mhd") {
        crate::mhd::read(path)
    } else {
        crate::nifti_io::read(path)
    }
}

/// The file `<dir>/<stem>` with the first extension that exists (.nii.gz, .nii, .mhd).
fn find(dir: &Path, stem: &str) -> Option<PathBuf> {
    [".nii.gz", ".nii", ".mhd"]
        .iter()
        .map(|ext| dir.join(format!("{stem}{ext}")))
        .find(|p| p.is_file())
}

/// Reads every ED/ES image that has a ground truth, in patient, view, phase order.
pub fn read(root: &Path) -> Result<Vec<Sample>> {
    read_all(root, false)
}

/// Like [`read`], plus, after each view's ED and ES, the inner frames of its half sequence
/// (ED to ES) where both `_half_sequence` and `_half_sequence_gt` exist; they have no phase.
pub fn read_with_half_sequences(root: &Path) -> Result<Vec<Sample>> {
    read_all(root, true)
}

/// The inner frames (first and last are the ED and ES files) of the half sequence `stem`.
fn half_sequence(dir: &Path, stem: &str, template: &SampleInfo) -> Result<Vec<Sample>> {
    let (Some(img), Some(gt)) = (
        find(dir, &format!("{stem}_half_sequence")),
        find(dir, &format!("{stem}_half_sequence_gt")),
    ) else {
        return Ok(Vec::new());
    };
    let (images, labels) = (read_volume(&img)?, read_volume(&gt)?);
    if images.frames != labels.frames {
        return Err(DataError::format(
            &gt,
            format!(
                "{} frames but its image sequence has {}",
                labels.frames, images.frames
            ),
        ));
    }
    let ed = template.frame.unwrap_or(0);
    let mut out = Vec::new();
    for k in 1..images.frames.saturating_sub(1) {
        let mut info = template.clone();
        info.phase = None;
        info.frame = Some(ed + k as u32);
        info.spacing = images.spacing;
        let (image, label) = (images.image(k)?, labels.labels(k)?);
        out.push(Sample::new(image, label, StructureSet::ALL, info, &gt)?);
    }
    Ok(out)
}

/// The `patient*` folders under `root`, sorted by name; none is an error.
pub(crate) fn patient_dirs(root: &Path) -> Result<Vec<PathBuf>> {
    let mut patients: Vec<PathBuf> = Vec::new();
    for parent in patient_parents(root) {
        let entries = std::fs::read_dir(&parent).map_err(|e| DataError::io(&parent, e))?;
        for e in entries.filter_map(|e| e.ok()) {
            let p = e.path();
            let name = e.file_name().to_string_lossy().to_string();
            if p.is_dir()
                && name.starts_with("patient")
                && !patients.iter().any(|q| q.ends_with(&name))
            {
                patients.push(p);
            }
        }
    }
    patients.sort_by_key(|p| p.file_name().map(|n| n.to_os_string()));
    if patients.is_empty() {
        return Err(DataError::format(
            root,
            "no patient folders (expected database_nifti/patientXXXX or training/patientXXXX)",
        ));
    }
    Ok(patients)
}

fn read_all(root: &Path, half_sequences: bool) -> Result<Vec<Sample>> {
    let splits = official_splits(root)?;
    let patients = patient_dirs(root)?;
    let mut out = Vec::new();
    for dir in patients {
        let patient = dir
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        for (view, plane) in [("2CH", Plane::TwoChamber), ("4CH", Plane::FourChamber)] {
            let cfg = info(&dir.join(format!("Info_{view}.cfg")))?;
            for phase in [Phase::Ed, Phase::Es] {
                let stem = format!("{patient}_{view}_{}", phase.name());
                let gt = find(&dir, &format!("{stem}_gt"));
                let img = find(&dir, &stem);
                let (img, gt) = match (img, gt) {
                    (Some(i), Some(g)) => (i, g),
                    (None, Some(g)) => {
                        return Err(DataError::format(
                            g,
                            format!("ground truth without its image {stem}"),
                        ));
                    }
                    _ => continue,
                };
                let image_vol = read_volume(&img)?;
                let label_vol = read_volume(&gt)?;
                let image = image_vol.image(0)?;
                let label = label_vol.labels(0)?;
                let mut meta = SampleInfo::new("camus", patient.clone());
                meta.plane = plane;
                meta.phase = Some(phase);
                meta.spacing = image_vol.spacing;
                meta.split = splits.get(&patient).copied();
                meta.frame = info_frame(&cfg, phase.name());
                out.push(Sample::new(image, label, StructureSet::ALL, meta, &gt)?);
            }
            if half_sequences {
                let mut template = SampleInfo::new("camus", patient.clone());
                template.plane = plane;
                template.split = splits.get(&patient).copied();
                template.frame = info_frame(&cfg, "ED");
                let stem = format!("{patient}_{view}");
                out.extend(half_sequence(&dir, &stem, &template)?);
            }
        }
    }
    Ok(out)
}
